package emulator_test

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

func TestRunLiveResponseRateLimit(t *testing.T) {
	e := newEnv(t, withFixtures(t, generated(30, "")))
	machines := e.machineIDs()
	for i := 0; i < 10; i++ {
		e.submit(machines[i], genScript)
		e.advance(time.Second)
	}
	// 10 calls at t=0..9s: the 11th waits until the first leaves the
	// minute window at t=60s.
	r := e.api("POST", "/api/machines/"+machines[10]+"/runliveresponse", genScript)
	if r.status != 429 || r.errorCode() != "TooManyRequests" || r.header.Get("Retry-After") != "50" {
		t.Fatalf("11th call: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	e.advance(50*time.Second - time.Millisecond)
	if r := e.api("POST", "/api/machines/"+machines[10]+"/runliveresponse", genScript); r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Fatalf("just before the window frees: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	e.advance(time.Millisecond)
	e.submit(machines[10], genScript)

	// A 400 counts too: the service counts calls, not successes.
	e.advance(time.Hour)
	e.token = e.mint(`{}`)
	for i := 0; i < 10; i++ {
		if r := e.api("POST", "/api/machines/"+machines[0]+"/runliveresponse", `{"Commands":[]}`); r.status != 400 {
			t.Fatalf("bad request %d: %d", i, r.status)
		}
	}
	if r := e.api("POST", "/api/machines/"+machines[1]+"/runliveresponse", genScript); r.status != 429 {
		t.Errorf("after ten 400s: %d, want 429", r.status)
	}
	// Another endpoint has its own budget.
	if r := e.api("GET", "/api/machines", ""); r.status != 200 {
		t.Errorf("GET machines: %d", r.status)
	}
}

func TestReadRateLimits(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < 100; i++ {
		if r := e.api("GET", "/api/machines/"+winMachine, ""); r.status != 200 {
			t.Fatalf("call %d: %d", i, r.status)
		}
	}
	r := e.api("GET", "/api/machines/"+winMachine, "")
	if r.status != 429 || r.header.Get("Retry-After") != "60" {
		t.Fatalf("101st call in a minute: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	// 1,500 an hour: 100 more each minute for 14 more minutes fill it.
	for m := 1; m < 15; m++ {
		e.advance(time.Minute)
		if m%50 == 0 {
			e.token = e.mint(`{}`)
		}
		for i := 0; i < 100; i++ {
			if r := e.api("GET", "/api/machines/"+winMachine, ""); r.status != 200 {
				t.Fatalf("minute %d call %d: %d %s", m, i, r.status, r.body)
			}
		}
	}
	e.advance(time.Minute)
	r = e.api("GET", "/api/machines/"+winMachine, "")
	wantWait := strconv.Itoa(int((time.Hour - 15*time.Minute).Seconds()))
	if r.status != 429 || r.header.Get("Retry-After") != wantWait {
		t.Fatalf("1,501st call in an hour: %d Retry-After %q, want %s", r.status, r.header.Get("Retry-After"), wantWait)
	}
}

func TestSessionLimit(t *testing.T) {
	e := newEnv(t, withFixtures(t, generated(40, "")))
	machines := e.machineIDs()
	var ids []string
	for i := 0; i < 25; i++ {
		if i > 0 && i%10 == 0 {
			e.advance(time.Minute) // stay under 10 calls a minute
		}
		ids = append(ids, e.submit(machines[i], genScript))
	}
	e.advance(time.Minute)
	r := e.api("POST", "/api/machines/"+machines[25]+"/runliveresponse", genScript)
	if r.status != 429 || r.errorCode() != "TooManyRequests" || r.header.Get("Retry-After") == "" {
		t.Fatalf("26th session: %d %v %s", r.status, r.header, r.body)
	}
	if r := e.api("POST", "/api/machineactions/"+ids[0]+"/cancel", `{"Comment":"free a session"}`); r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	e.submit(machines[25], genScript)
}

// Under the default profile, 1,000 concurrent calls from one app get exactly
// ten acceptances, on ten different machines.
func TestRateLimitExactUnderConcurrency(t *testing.T) {
	e := newEnv(t, withFixtures(t, generated(1000, "")))
	status := e.submitConcurrently(e.machineIDs()[:1000])
	codes, accepted := map[int]int{}, 0
	for _, s := range status {
		codes[s]++
		if s == 201 {
			accepted++
		}
	}
	if codes[201] != 10 || codes[429] != 990 || accepted != 10 {
		t.Errorf("codes %v, accepted on %d machines; want 10×201 on 10 machines and 990×429", codes, accepted)
	}
}

// 100 concurrent submissions on distinct machines stop at exactly 25
// sessions (rate limits off, to isolate the session cap).
func TestSessionLimitExactUnderConcurrency(t *testing.T) {
	e := newEnv(t, withFixtures(t, generated(100, "limits: {liveResponsePerMinute: 1000}\n")))
	codes := map[int]int{}
	for _, s := range e.submitConcurrently(e.machineIDs()[:100]) {
		codes[s]++
	}
	if codes[201] != 25 || codes[429] != 75 {
		t.Errorf("codes %v; want 25×201 and 75×429", codes)
	}
}

// submitConcurrently submits genScript on every machine at once and returns
// the status each machine's call got.
func (e *env) submitConcurrently(machines []string) map[string]int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	status := map[string]int{}
	for _, m := range machines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", testBase+"/api/machines/"+m+"/runliveresponse", stringsReader(genScript))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.token)
			res, err := e.srv.Client().Do(req)
			if err != nil {
				e.t.Error(err)
				return
			}
			res.Body.Close()
			mu.Lock()
			status[m] = res.StatusCode
			mu.Unlock()
		}()
	}
	wg.Wait()
	return status
}

// Under a sped-up clock, Retry-After is in wall-clock seconds.
func TestRetryAfterFollowsTimeScale(t *testing.T) {
	e := newEnv(t, withFixtures(t, generated(20, "")), func(o *emulator.Options) { o.Clock, o.TimeScale = clock.Real, 60 })
	machines := e.machineIDs()
	for i := 0; i < 10; i++ {
		e.submit(machines[i], genScript)
	}
	r := e.api("POST", "/api/machines/"+machines[10]+"/runliveresponse", genScript)
	if r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Errorf("at scale 60 a 60 s wait is 1 wall second: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
}

func TestProfiles(t *testing.T) {
	e := newEnv(t, withFixtures(t, generated(60, "limits: {liveResponsePerMinute: 1000}\n")), func(o *emulator.Options) { o.Profile = "current" })
	machines := e.machineIDs()
	for i := 0; i < 50; i++ {
		e.submit(machines[i], genScript)
	}
	if r := e.api("POST", "/api/machines/"+machines[50]+"/runliveresponse", genScript); r.status != 429 {
		t.Errorf("51st session under the current profile: %d", r.status)
	}
	r := e.call("GET", "/_emulator/health", "", "")
	if r.status != 200 || !containsAll(string(r.body), `"name":"current"`, `"sessions":50`, `"queueTimeout":"2h0m0s"`) {
		t.Errorf("health: %s", r.body)
	}
}

const genScript = `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"s.ps1"}]}]}`

// generated returns a fixture of one tenant with n generated machines and a
// 30-second script s.ps1, plus extra top-level YAML.
func generated(n int, extra string) string {
	return extra + fmt.Sprintf(`
tenants:
  - id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
    apps:
      - {clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7, clientSecret: s, displayName: SOAR Automation, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
    generateMachines: %d
    library:
      - {fileName: s.ps1, content: "Start-Sleep 30", behavior: {duration: 9m}}
`, n)
}

// machineIDs lists the ids of the tenant's machines, in fixture order.
func (e *env) machineIDs() []string {
	e.t.Helper()
	r := e.api("GET", "/api/machines", "")
	var body struct{ Value []struct{ ID string } }
	r.decode(&body)
	var ids []string
	for _, m := range body.Value {
		ids = append(ids, m.ID)
	}
	return ids
}
