package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

// TestHostileFilterIsCheap proves the bound on the hostile $filter of the
// hostile-input table: six concurrent requests with 960 KB of nested
// parentheses (which cost half a gigabyte of stack each when the parser
// recursed once per parenthesis) are refused with 400 ODataError having
// allocated a few MB in all, most of it the URL's own copies, and without
// growing the process. It does not run in parallel, so the memory
// statistics are its own.
func TestHostileFilterIsCheap(t *testing.T) {
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	_, tok, err := srv.Authority().Mint(identityDefault())
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	target := "/api/machineactions?$filter=" + strings.Repeat("(", 480_000) + "status eq 'x'" + strings.Repeat(")", 480_000)
	const n = 6
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = httptest.NewRequest("GET", "/", nil)
		reqs[i].URL.RawQuery = strings.TrimPrefix(target, "/api/machineactions?")
		reqs[i].URL.Path = "/api/machineactions"
		reqs[i].RequestURI = reqs[i].URL.RequestURI()
		reqs[i].Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, reqs[i])
			codes[i] = w.Code
			if !strings.Contains(w.Body.String(), `"ODataError"`) {
				t.Errorf("answer %d: %.300s", w.Code, w.Body)
			}
		}()
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	for _, c := range codes {
		if c != http.StatusBadRequest {
			t.Errorf("status %d, want 400", c)
		}
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	grew := int64(after.Sys) - int64(before.Sys)
	t.Logf("%d requests of %d KB: %.1f MB allocated, the process grew by %.1f MB, stack in use %.1f MB",
		n, len(target)>>10, float64(alloc)/(1<<20), float64(grew)/(1<<20), float64(after.StackInuse)/(1<<20))
	if alloc > n*16<<20 {
		t.Errorf("allocated %d bytes, want at most %d", alloc, n*16<<20)
	}
	if grew > 64<<20 {
		t.Errorf("the process grew by %d bytes", grew)
	}
}

// BenchmarkListMachineActionsFilter measures a filtered list through the
// handler: token check, spec validation, OData parse and evaluation over
// 200 actions, response.
func BenchmarkListMachineActionsFilter(b *testing.B) {
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: start,
		Fixtures: mustFixtures(b, generated(200, "profile: unlimited\n"))})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	_, tok, err := srv.Authority().Mint(identityDefault())
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for i, id := range benchMachineIDs(b, h, tok.AccessToken) {
		if i == 200 {
			break
		}
		req := httptest.NewRequest("POST", "/api/machines/"+id+"/runliveresponse", stringsReader(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"s.ps1"}]}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			b.Fatalf("submit: %d %s", w.Code, w.Body)
		}
	}
	target := "/api/machineactions?$filter=" + url.QueryEscape("(status eq 'Pending' or status in ('Failed','TimeOut')) and requestor eq 'SOAR Automation' and creationDateTimeUtc ge 2024-01-01T00:00:00Z") + "&$top=50"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// benchMachineIDs lists the machine ids of the tenant through the API.
func benchMachineIDs(b *testing.B, h http.Handler, tok string) []string {
	req := httptest.NewRequest("GET", "/api/machines", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var page struct{ Value []struct{ ID string } }
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, len(page.Value))
	for i, m := range page.Value {
		ids[i] = m.ID
	}
	return ids
}
