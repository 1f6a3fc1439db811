package emulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

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

// submitFleet is how many machines BenchmarkSubmit goes round: enough for
// a live heap of the size the load benchmark has (bench/run uses 400,000),
// small enough to build in a few seconds.
const submitFleet = 100_000

// benchWriter is a minimal http.ResponseWriter, reused from one request to
// the next, so that a benchmark counts the emulator's allocations and not
// a recorder's.
type benchWriter struct {
	header http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *benchWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// reset makes w ready for the next request.
func (w *benchWriter) reset() {
	clear(w.header)
	w.status, w.n = 0, 0
}

// benchRequest is one request, reused: reset points it at path with body,
// as net/http would hand a fresh one to the handler.
type benchRequest struct {
	req    *http.Request
	url    url.URL
	body   strings.Reader
	header http.Header
}

func newBenchRequest(method, token string) *benchRequest {
	br := &benchRequest{header: http.Header{}}
	br.header.Set("Authorization", "Bearer "+token)
	if method == http.MethodPost {
		br.header.Set("Content-Type", "application/json")
	}
	br.req = httptest.NewRequest(method, "/", nil)
	br.req.Host = "127.0.0.1:8080"
	return br
}

// reset makes the request method path with body (empty: none). The
// emulator changes the request's body, URL and headers as it goes: they
// are set anew each time.
func (br *benchRequest) reset(path, body string) *http.Request {
	r := br.req
	br.url = url.URL{Path: path}
	r.URL, r.RequestURI = &br.url, path
	clear(r.Header)
	for k, v := range br.header {
		r.Header[k] = v
	}
	r.GetBody, r.Form, r.PostForm = nil, nil, nil
	if body == "" {
		r.Body, r.ContentLength = http.NoBody, 0
		return r
	}
	br.body.Reset(body)
	r.Body, r.ContentLength = io.NopCloser(&br.body), int64(len(body))
	return r
}

// benchServer is an emulator on a manual clock with the unlimited profile
// and n generated machines (benchFleet), its handler, a token of the
// fleet's app and the machines' ids.
func benchServer(tb testing.TB, n int) (*emulator.Server, http.Handler, string, []string) {
	tb.Helper()
	set := benchFleet(tb, n)
	ids := make([]string, 0, n)
	for _, m := range set.Tenants[0].AllMachines() {
		ids = append(ids, m.ID)
	}
	srv, err := emulator.New(emulator.Options{Fixtures: set, Clock: clock.Manual})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	_, tok, err := srv.Authority().Mint(identityDefault())
	if err != nil {
		tb.Fatal(err)
	}
	return srv, srv.Handler(), tok.AccessToken, ids
}

// BenchmarkSubmit measures the emulator's own cost of a POST
// runliveresponse through the whole handler stack (the one bench/run
// loads): path canonicalization, control guard, metrics, journal, token
// check, faults, rate limit, spec validation, permission, state change,
// response. It goes round a fleet of submitFleet machines, as bench/run
// does, so that no machine gets a second live response; when it has been
// round, the clock is moved on (untimed) so that every action finishes.
// --profile unlimited's options: no rate limit, no session limit.
// The request and the response writer are reused: allocs/op are the
// emulator's.
func BenchmarkSubmit(b *testing.B) {
	srv, h, tok, ids := benchServer(b, submitFleet)
	paths := make([]string, len(ids))
	for i, id := range ids {
		paths[i] = "/api/machines/" + id + "/runliveresponse"
	}
	br := newBenchRequest(http.MethodPost, tok)
	w := &benchWriter{header: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(paths)
		if k == 0 && i > 0 {
			b.StopTimer()
			// Every action of the last round finishes (a RunScript is cut
			// at 10 minutes); the token, an hour old, is renewed.
			srv.Clock().Advance(time.Hour)
			_, t, err := srv.Authority().Mint(identityDefault())
			if err != nil {
				b.Fatal(err)
			}
			br = newBenchRequest(http.MethodPost, t.AccessToken)
			b.StartTimer()
		}
		w.reset()
		h.ServeHTTP(w, br.reset(paths[k], benchBody))
		if w.status != http.StatusCreated {
			b.Fatalf("POST %s: status %d", paths[k], w.status)
		}
	}
}

// BenchmarkGetMachineAction measures GET /api/machineactions/{id} of an
// existing action through the whole handler stack, on the fleet of
// BenchmarkSubmit.
func BenchmarkGetMachineAction(b *testing.B) {
	_, h, tok, ids := benchServer(b, submitFleet)
	post := newBenchRequest(http.MethodPost, tok)
	w := &benchWriter{header: http.Header{}}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, post.reset("/api/machines/"+ids[0]+"/runliveresponse", benchBody))
	if rec.Code != http.StatusCreated {
		b.Fatalf("POST: status %d: %s", rec.Code, rec.Body)
	}
	var action struct{ ID string }
	if err := json.Unmarshal(rec.Body.Bytes(), &action); err != nil || action.ID == "" {
		b.Fatalf("POST: no action id in %s (%v)", rec.Body, err)
	}
	path := "/api/machineactions/" + action.ID
	get := newBenchRequest(http.MethodGet, tok)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.reset()
		h.ServeHTTP(w, get.reset(path, ""))
		if w.status != http.StatusOK || w.n == 0 {
			b.Fatalf("GET %s: status %d, %d bytes", path, w.status, w.n)
		}
	}
}

// BenchmarkListMachinesOfAFleet measures GET /api/machines, the default
// page of 10,000, on a fleet of 400,000 generated machines: what one page
// of the list costs when the fleet is large.
func BenchmarkListMachinesOfAFleet(b *testing.B) {
	_, h, tok, _ := benchServer(b, 400_000)
	get := newBenchRequest(http.MethodGet, tok)
	w := &benchWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, get.reset("/api/machines", ""))
		if w.status != http.StatusOK || w.n == 0 {
			b.Fatalf("GET /api/machines: status %d, %d bytes", w.status, w.n)
		}
	}
}
