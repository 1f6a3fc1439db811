package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// benchBody is the request of the peer benchmark (docs/performance.md).
const benchBody = `{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}`

// benchFleet returns the benchmarks' fixture: the unlimited profile, the
// default tenant and app (roles to submit and read), n generated machines
// and minidump.ps1 in the library.
func benchFleet(tb testing.TB, n int) *fixture.Set {
	tb.Helper()
	set, err := fixture.Parse("bench.yaml", []byte(fmt.Sprintf(`
profile: unlimited
tenants:
  - id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
    apps:
      - {clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7, clientSecret: s, displayName: Bench, roles: [Machine.LiveResponse, Machine.Read.All]}
    generateMachines: %d
    library:
      - {fileName: minidump.ps1, content: "x"}
`, n)))
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// BenchmarkSubmit measures the full path of a submit through the handler:
// token check, rate limit, spec validation, state change, response. Each
// iteration uses a fresh machine (one active action per machine).
func BenchmarkSubmit(b *testing.B) {
	n := b.N + 1
	set := benchFleet(b, n)
	var ids []string
	for _, m := range set.Tenants[0].Machines {
		ids = append(ids, m.ID)
	}
	srv, err := emulator.New(emulator.Options{Fixtures: set, Clock: clock.Manual})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	_, tok, err := srv.Authority().Mint(identityDefault())
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/api/machines/"+ids[i]+"/runliveresponse", strings.NewReader(benchBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
