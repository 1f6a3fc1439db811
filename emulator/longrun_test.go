package emulator_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/scenario"
)

// longRunDays is how many emulated days TestLongRunMemoryIsFlat plays.
// The retention keeps a finished action for seven days (168h) and the
// journal ring fills in about seven, so the state reaches its steady size
// after the eighth; the test fits the live heap's trend over the days
// from longRunSettled on.
const (
	longRunDays    = 40
	longRunSettled = 16
)

// longRunSlopeBound is how much the live heap may grow per emulated day
// of the same work once settled. A flat emulator's trend measured −0.6 to
// +1.0 KiB a day (the heap moves by some tens of KB from one day to the
// next, around a level); each of the leaks this test found, left alone,
// grew it by 3.4 (session counters of removed tenants) to 55 (expired
// tokens in the verification cache) KiB a day.
const longRunSlopeBound = 2 << 10

// TestLongRunMemoryIsFlat plays longRunDays emulated days of the work a
// week-long training room or CI agent gives an emulator, the same each
// day: app tokens from the token endpoint; live responses on several
// machines, polled, with their result links downloaded; cancels; an
// action queued for an offline machine until it expires; a call past the
// rate limit; the action list with a filter; delegated sign-ins through
// device codes and authorization codes, some left to expire; a library
// upload, copied to a machine and deleted; a fault rule added and removed; a classroom of
// tenants created, used and removed; the journal and the metrics read.
// It then checks that the live heap stopped growing once the retention
// reached its steady state, and that the goroutines did not grow. Every response is validated against the
// documents, as in every test of the package. It runs with
// MDE_SLOW_TESTS=1; with MDE_LONGRUN_HEAPPROFILE=PATH it also writes heap
// profiles of the settled and the last day to PATH.N, to compare with
// go tool pprof -base (run it with GODEBUG=memprofilerate=1).
func TestLongRunMemoryIsFlat(t *testing.T) {
	if os.Getenv("MDE_SLOW_TESTS") == "" {
		t.Skip("slow: set MDE_SLOW_TESTS=1")
	}
	// A journal ring smaller than the default, so that it is full long
	// before the settled day (its own bound is TestJournalIsBounded's).
	e := newEnv(t, func(o *emulator.Options) { o.JournalSize = 1000 })
	heap := make([]uint64, longRunDays+1)
	goroutines := make([]int, longRunDays+1)
	for day := 1; day <= longRunDays; day++ {
		dayStart := e.srv.Clock().Now()
		e.longRunDay(day)
		if spent := e.srv.Clock().Now().Sub(dayStart); spent < 24*time.Hour {
			e.advance(24*time.Hour - spent)
		}
		heap[day] = sampleHeap(t, day, longRunSettled, longRunDays)
		goroutines[day] = runtime.NumGoroutine()
		if day%5 == 0 {
			t.Logf("day %d: live heap %.2f MiB", day, float64(heap[day])/(1<<20))
		}
	}
	slope := trend(heap[longRunSettled:])
	t.Logf("live heap from day %d to day %d: %.2f → %.2f MiB, trend %+.2f KiB a day (bound %d KiB)", longRunSettled, longRunDays,
		float64(heap[longRunSettled])/(1<<20), float64(heap[longRunDays])/(1<<20), slope/(1<<10), longRunSlopeBound>>10)
	if slope > longRunSlopeBound {
		t.Errorf("the live heap grows by %.1f KiB a day of the same work (bound %d KiB): something is kept that should not be",
			slope/(1<<10), longRunSlopeBound>>10)
	}
	// A goroutine left behind by a request, a flow or a tenant holds its
	// stack outside the heap: their number must not grow either (two of
	// slack for one caught starting or ending; a leak of one a day would
	// be 24).
	t.Logf("goroutines: %d on day %d, %d on day %d", goroutines[longRunSettled], longRunSettled, goroutines[longRunDays], longRunDays)
	if goroutines[longRunDays] > goroutines[longRunSettled]+2 {
		t.Errorf("goroutines grew from %d on day %d to %d on day %d", goroutines[longRunSettled], longRunSettled, goroutines[longRunDays], longRunDays)
	}
}

// trend returns the least-squares slope of ys against their index: bytes
// a day for a heap read once a day.
func trend(ys []uint64) float64 {
	n := float64(len(ys))
	var sx, sy, sxx, sxy float64
	for i, y := range ys {
		x, y := float64(i), float64(y)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// sampleHeap returns the live heap at step i of a long run; at its
// settled and its last step, with MDE_LONGRUN_HEAPPROFILE=PATH, it also
// writes the heap profile to PATH.i.
func sampleHeap(t *testing.T, i, settled, last int) uint64 {
	t.Helper()
	n := liveHeap()
	if p := os.Getenv("MDE_LONGRUN_HEAPPROFILE"); p != "" && (i == settled || i == last) {
		writeHeapProfile(t, fmt.Sprintf("%s.%d", p, i))
	}
	return n
}

// liveHeap returns the bytes of live heap objects after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // the second frees what finalizers and weak references left after the first
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// longRunMachines are the default fixtures' online Windows machines the
// long run acts on.
var longRunMachines = []string{winMachine, win10Machine, dcMachine}

// longRunDay is one day of TestLongRunMemoryIsFlat's work.
func (e *env) longRunDay(day int) {
	t := e.t
	t.Helper()
	scope := "https://api.securitycenter.microsoft.com/.default"

	// The SOAR's app token, from the token endpoint.
	tok, r := e.clientToken(testBase+"/"+tenantID+"/oauth2/v2.0/token", soarClientID, defaultSecret, scope)
	if tok == "" {
		t.Fatalf("day %d: token: %d %s", day, r.status, r.body)
	}
	e.token = tok

	// Live responses, polled and their results downloaded.
	for round := 0; round < 3; round++ {
		ids := make([]string, 0, len(longRunMachines))
		for _, m := range longRunMachines {
			ids = append(ids, e.submit(m, runScriptThenGetFile))
		}
		e.advance(30 * time.Second)
		for _, id := range ids {
			e.api("GET", "/api/machineactions/"+id, "")
		}
		e.advance(time.Minute)
		for _, id := range ids {
			if a := e.action(id); a.Status != "Succeeded" {
				t.Fatalf("day %d: action %s is %s", day, id, a.Status)
			}
			for i := range 2 {
				link := strings.TrimPrefix(e.downloadLink(id, i), testBase)
				if r := e.call("GET", link, "", ""); r.status != http.StatusOK {
					t.Fatalf("day %d: download %d of %s: %d %s", day, i, id, r.status, r.body)
				}
			}
		}
	}

	// A cancel, and a call past the rate limit (10 a minute): the
	// ActiveRequestAlreadyExists refusals count towards it.
	id := e.submit(winMachine, runScriptThenGetFile)
	if r := e.api("POST", "/api/machineactions/"+id+"/cancel", `{"Comment":"long run"}`); r.status != http.StatusOK {
		t.Fatalf("day %d: cancel: %d %s", day, r.status, r.body)
	}
	throttled := false
	for range 12 {
		r := e.api("POST", "/api/machines/"+win10Machine+"/runliveresponse", runScriptThenGetFile)
		throttled = throttled || r.status == http.StatusTooManyRequests
	}
	if !throttled {
		t.Fatalf("day %d: twelve calls in a minute were not throttled", day)
	}
	e.advance(2 * time.Minute)

	// An action for an offline machine waits in the queue and expires
	// after three days; the next goes in on the day after.
	if day%4 == 1 {
		e.submit(offMachine, runScriptThenGetFile)
	}

	// The list, filtered.
	e.listIDs("/api/machineactions?$filter=" + url.QueryEscape("machineId eq '"+winMachine+"'"))
	e.api("GET", "/api/machines", "")

	// Users sign in with device codes and authorization codes; some
	// codes and sign-in pages are left to expire.
	for range 3 {
		dc := e.deviceCode()
		e.pollDevice(dc.DeviceCode) // authorization_pending
		_, _, page := e.browse("GET", "/devicelogin?code="+url.QueryEscape(dc.UserCode), nil)
		session := sessionRe.FindStringSubmatch(page)
		oid := userOptionRe(analystUPN).FindStringSubmatch(page)
		if session == nil || oid == nil {
			t.Fatalf("day %d: device login page: %s", day, page)
		}
		e.browse("POST", "/devicelogin", url.Values{"session": {session[1]}, "user": {oid[1]}})
		if r := e.pollDevice(dc.DeviceCode); r.status != http.StatusOK {
			t.Fatalf("day %d: device code token: %d %s", day, r.status, r.body)
		}
		e.deviceCode() // one nobody answers
		code := e.signIn(authorizePath(), analystUPN).Query().Get("code")
		if r := e.redeem(code); r.status != http.StatusOK {
			t.Fatalf("day %d: authorization code: %d %s", day, r.status, r.body)
		}
		e.signIn(authorizePath(), analystUPN) // a code nobody redeems
		e.browse("GET", authorizePath(), nil) // a sign-in page left open
	}

	// A library file uploaded, copied to a machine and deleted (the
	// machine keeps it, up to its last 16).
	name := fmt.Sprintf("Day-%d.ps1", day)
	if r := e.upload("file", name, []byte("Get-Date\n"), map[string]string{"Description": "long run"}); r.status != http.StatusOK {
		t.Fatalf("day %d: upload: %d %s", day, r.status, r.body)
	}
	e.submit(dcMachine, `{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"`+name+`"}]}]}`)
	e.advance(time.Minute)
	if r := e.api("DELETE", "/api/libraryfiles/"+name, ""); r.status != http.StatusNoContent {
		t.Fatalf("day %d: delete %s: %d %s", day, name, r.status, r.body)
	}

	// A fault rule, used and removed.
	r = e.call("POST", "/_emulator/faults", "", `{"match":{"method":"GET","path":"/api/machines"},"calls":{"next":1},"effect":{"status":503}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("day %d: fault: %d %s", day, r.status, r.body)
	}
	var rule struct{ ID string }
	r.decode(&rule)
	e.api("GET", "/api/machines", "")
	e.call("DELETE", "/_emulator/faults/"+rule.ID, "", "")

	// A classroom: tenants made, used and removed.
	for i := range 20 {
		tr := e.trainee(fmt.Sprintf("trainee-%02d", i))
		m := tr.machineNamed(t, "ws-finance-01.contoso.local")
		r := e.call("POST", "/api/machines/"+m+"/runliveresponse", tr.token, runScriptThenGetFile)
		if r.status != http.StatusCreated {
			t.Fatalf("day %d: trainee action: %d %s", day, r.status, r.body)
		}
		e.call("GET", "/api/machineactions", tr.token, "")
		if r := e.call("DELETE", "/_emulator/tenants/"+tr.Tenant.ID+"?force=true", "", ""); r.status != http.StatusNoContent {
			t.Fatalf("day %d: remove %s: %d %s", day, tr.Tenant.ID, r.status, r.body)
		}
	}

	// What the instructor and the platform read.
	e.journal("?limit=50")
	e.call("GET", "/_emulator/metrics", "", "")
}

// reloadCycles is how many times TestReloadsDoNotLeak replaces the state.
const (
	reloadCycles  = 30
	reloadSettled = 10
)

// TestReloadsDoNotLeak replaces the whole state again and again, as a
// training room does between classes: each cycle loads one of the
// shipped scenario packs in turn and plays three days of its timeline,
// resets to the fixtures of the start (the clock too), and plays a day of
// TestLongRunMemoryIsFlat's work. The live heap, read at the same point
// of every cycle, must not grow with the cycles: nothing may keep an old
// world, its tenants, actions, tokens or timers. It runs with
// MDE_SLOW_TESTS=1.
func TestReloadsDoNotLeak(t *testing.T) {
	if os.Getenv("MDE_SLOW_TESTS") == "" {
		t.Skip("slow: set MDE_SLOW_TESTS=1")
	}
	e := newEnv(t, func(o *emulator.Options) { o.JournalSize = 1000 })
	packs := scenario.Names()
	if len(packs) == 0 {
		t.Fatal("no scenario packs")
	}
	heap := make([]uint64, reloadCycles+1)
	for cycle := 1; cycle <= reloadCycles; cycle++ {
		name := packs[cycle%len(packs)]
		if r := e.call("POST", "/_emulator/scenarios/"+name+"/load", "", "{}"); r.status != http.StatusOK {
			t.Fatalf("cycle %d: load %s: %d %s", cycle, name, r.status, r.body)
		}
		e.advance(72 * time.Hour)
		if r := e.call("POST", "/_emulator/reset", "", `{"fixtures":"start"}`); r.status != http.StatusOK {
			t.Fatalf("cycle %d: reset: %d %s", cycle, r.status, r.body)
		}
		e.longRunDay(cycle)
		heap[cycle] = sampleHeap(t, cycle, reloadSettled, reloadCycles)
	}
	slope := trend(heap[reloadSettled:])
	t.Logf("live heap from cycle %d to cycle %d: %.2f → %.2f MiB, trend %+.2f KiB a cycle (bound %d KiB)", reloadSettled, reloadCycles,
		float64(heap[reloadSettled])/(1<<20), float64(heap[reloadCycles])/(1<<20), slope/(1<<10), longRunSlopeBound>>10)
	if slope > longRunSlopeBound {
		t.Errorf("the live heap grows by %.1f KiB a cycle of reloads (bound %d KiB): something keeps an old state", slope/(1<<10), longRunSlopeBound>>10)
	}
}
