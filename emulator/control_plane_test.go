package emulator_test

import (
	"net/http"
	"net/http/httptest"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/state"
	"strings"
	"testing"
	"time"
)

func TestControlClock(t *testing.T) {
	e := newEnv(t)
	r := e.call("GET", "/_emulator/clock", "", "")
	if r.status != 200 || !containsAll(string(r.body), `"now":"2026-01-05T10:00:00Z"`, `"mode":"manual"`, `"scale":1`) {
		t.Fatalf("clock: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/_emulator/clock/advance", "", `{"by":"72h"}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"now":"2026-01-08T10:00:00Z"`) {
		t.Errorf("advance: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`{"by":"soon"}`, `{"by":"-1s"}`, `{"when":"1s"}`, `not json`} {
		if r := e.call("POST", "/_emulator/clock/advance", "", bad); r.status != 400 {
			t.Errorf("advance %s: %d %s", bad, r.status, r.body)
		}
	}
	r = e.call("PUT", "/_emulator/clock", "", `{"mode":"real","scale":60}`)
	if r.status != 200 || !containsAll(string(r.body), `"mode":"real"`, `"scale":60`) {
		t.Errorf("put clock: %d %s", r.status, r.body)
	}
	if r := e.call("PUT", "/_emulator/clock", "", `{"mode":"fast"}`); r.status != 400 {
		t.Errorf("bad mode: %d %s", r.status, r.body)
	}
	if r := e.call("PUT", "/_emulator/clock", "", `{"scale":0}`); r.status != 400 {
		t.Errorf("bad scale: %d %s", r.status, r.body)
	}
}

// An action for an offline machine waits; the machine coming online on day
// 2 runs it.
func TestOfflineMachineComesOnline(t *testing.T) {
	e := newEnv(t)
	id := e.submit(offMachine, runScriptThenGetFile)
	e.advance(24 * time.Hour)
	e.token = e.mint(`{}`)
	if v := e.action(id); v.Status != "Pending" {
		t.Fatalf("day 1: %s", v.Status)
	}
	r := e.call("PATCH", "/_emulator/machines/"+offMachine, "", `{"online":true}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"healthStatus":"Active"`) {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	e.advance(time.Minute)
	if v := e.action(id); v.Status != "Succeeded" || v.Commands[0].StartTime.Time() != start.Add(24*time.Hour+5*time.Second) {
		t.Errorf("after coming online: %+v", v)
	}
}

func TestOfflineQueueTimesOut(t *testing.T) {
	e := newEnv(t)
	id := e.submit(offMachine, runScriptThenGetFile)
	e.advance(72*time.Hour - time.Second)
	e.token = e.mint(`{}`)
	if v := e.action(id); v.Status != "Pending" {
		t.Fatalf("just before 3 days: %s", v.Status)
	}
	e.advance(time.Second)
	v := e.action(id)
	if v.Status != "TimeOut" || v.LastUpdateDateTimeUtc.Time() != start.Add(72*time.Hour) || v.Commands[0].CommandStatus != "Created" || v.Commands[0].StartTime != nil {
		t.Errorf("after 3 days: %+v", v)
	}
	// The machine is free again.
	e.submit(offMachine, runScriptThenGetFile)
}

func TestControlRemediationLevel(t *testing.T) {
	e := newEnv(t)
	if r := e.call("PATCH", "/_emulator/machines/"+kioskMachine, "", `{"remediationLevel":"Full - remediate threats automatically"}`); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	e.submit(kioskMachine, runScriptThenGetFile)
	if r := e.call("PATCH", "/_emulator/machines/"+winMachine, "", `{"remediationLevel":""}`); r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", runScriptThenGetFile); r.status != 403 || r.errorCode() != "DisallowedOperation" {
		t.Errorf("after removing the level: %d %s", r.status, r.body)
	}
	if r := e.call("PATCH", "/_emulator/machines/"+unknownID, "", `{"online":true}`); r.status != 404 {
		t.Errorf("unknown machine: %d %s", r.status, r.body)
	}
	if r := e.call("PATCH", "/_emulator/machines/"+winMachine, "", `{"online":"yes"}`); r.status != 400 {
		t.Errorf("bad body: %d %s", r.status, r.body)
	}
}

func TestControlReset(t *testing.T) {
	e := newEnv(t)
	id := e.submit(winMachine, runScriptThenGetFile)
	if r := e.upload("file", "extra.ps1", []byte("x"), nil); r.status != 200 {
		t.Fatalf("upload: %d", r.status)
	}
	e.advance(2 * time.Hour)
	r := e.call("POST", "/_emulator/reset", "", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"now":"2026-01-05T10:00:00Z"`) {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	e.token = e.mint(`{}`)
	if r := e.api("GET", "/api/machineactions/"+id, ""); r.status != 404 {
		t.Errorf("action after reset: %d", r.status)
	}
	if r := e.api("DELETE", "/api/libraryfiles/extra.ps1", ""); r.status != 404 {
		t.Errorf("uploaded file after reset: %d", r.status)
	}
	e.submit(winMachine, runScriptThenGetFile) // the machine is free again
}

func TestControlPutFixtures(t *testing.T) {
	e := newEnv(t)
	bad := "tenants:\n  - id: not-a-guid\n"
	r := e.call("PUT", "/_emulator/fixtures", "", bad, "Content-Type", "application/yaml")
	if r.status != 400 || !strings.Contains(string(r.body), "fixtures:2:") {
		t.Fatalf("bad fixtures: %d %s", r.status, r.body)
	}
	// Nothing changed.
	if r := e.api("GET", "/api/machines/"+winMachine, ""); r.status != 200 {
		t.Fatalf("after a refused fixture: %d", r.status)
	}
	r = e.call("PUT", "/_emulator/fixtures", "", twoTenants, "Content-Type", "application/yaml")
	if r.status != 200 {
		t.Fatalf("put fixtures: %d %s", r.status, r.body)
	}
	// The old tenant is gone; the new one answers.
	if r := e.api("GET", "/api/machines", ""); r.status != 401 {
		t.Errorf("old token after the tenant left: %d %s", r.status, r.body)
	}
	e.token = e.mint(`{"tenantId":"11111111-1111-4111-8111-111111111111"}`)
	if r := e.api("GET", "/api/machines/a1.alpha.local", ""); r.status != 200 {
		t.Errorf("new machine: %d %s", r.status, r.body)
	}
	// Reset goes back to the fixtures last given...
	e.call("POST", "/_emulator/reset", "", "")
	e.token = e.mint(`{"tenantId":"11111111-1111-4111-8111-111111111111"}`)
	if r := e.api("GET", "/api/machines/a1.alpha.local", ""); r.status != 200 {
		t.Errorf("after reset: %d %s", r.status, r.body)
	}
	// ...or, when asked, to the ones the emulator started with.
	if r := e.call("POST", "/_emulator/reset", "", `{"fixtures":"start"}`); r.status != 200 {
		t.Fatalf("reset to start: %d %s", r.status, r.body)
	}
	e.token = e.mint(`{}`)
	if r := e.api("GET", "/api/machines/"+winMachine, ""); r.status != 200 {
		t.Errorf("after reset to start: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/_emulator/reset", "", `{"fixtures":"yesterday"}`); r.status != 400 {
		t.Errorf("bad reset: %d %s", r.status, r.body)
	}
}

func TestControlNextOutcomes(t *testing.T) {
	e := newEnv(t)
	r := e.call("POST", "/_emulator/machines/"+winMachine+"/next-outcomes", "",
		`{"outcomes":[{"script":"Get-Processes.ps1","exitCode":3,"output":"partial","errors":"access denied"},{"fail":"The script crashed."},{"duration":"11m"}]}`)
	if r.status != 200 {
		t.Fatalf("next-outcomes: %d %s", r.status, r.body)
	}
	run := func() state.ActionView {
		t.Helper()
		id := e.submit(winMachine, `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`)
		e.advance(15 * time.Minute)
		return e.action(id)
	}
	// exit code 3: still Completed, the result carries it.
	v := run()
	if v.Status != "Succeeded" {
		t.Fatalf("exit code 3: %+v", v)
	}
	res := e.call("GET", strings.TrimPrefix(e.downloadLink(v.ID, 0), testBase), "", "")
	if !containsAll(string(res.body), `"exit_code":3`, `.txt\npartial\n\u0000\u0000\u0000"`, `"script_errors":"access denied"`) {
		t.Errorf("result: %s", res.body)
	}
	if v := run(); v.Status != "Failed" || v.Commands[0].Errors[0] != "The script crashed." {
		t.Errorf("fail outcome: %+v", v)
	}
	e.token = e.mint(`{}`)
	if v := run(); v.Status != "TimeOut" || v.Commands[0].EndTime.Time().Sub(v.Commands[0].StartTime.Time()) != 10*time.Minute {
		t.Errorf("11-minute outcome: %+v", v)
	}
	if v := run(); v.Status != "Succeeded" {
		t.Errorf("after the queue is used up: %+v", v)
	}
	for _, bad := range []string{`{"outcomes":[]}`, `{"outcomes":[{"type":"Reboot"}]}`, `{"outcomes":[{"type":"GetFile","exitCode":1}]}`} {
		if r := e.call("POST", "/_emulator/machines/"+winMachine+"/next-outcomes", "", bad); r.status != 400 {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
	e.call("POST", "/_emulator/machines/"+winMachine+"/next-outcomes", "", `{"outcomes":[{"fail":"x"}]}`)
	if r := e.call("DELETE", "/_emulator/machines/"+winMachine+"/next-outcomes", "", ""); r.status != 204 {
		t.Errorf("delete: %d", r.status)
	}
	if r := e.call("GET", "/_emulator/machines/"+winMachine+"/next-outcomes", "", ""); r.status != 200 || strings.Contains(string(r.body), `"fail"`) {
		t.Errorf("after delete: %s", r.body)
	}
}

// With SeparateControl the control plane is served only by ControlHandler.
func TestSeparateControl(t *testing.T) {
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: start, SeparateControl: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(h http.Handler, path string) int {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = "127.0.0.1:50000" // the control plane answers loopback peers only
		h.ServeHTTP(w, r)
		return w.Code
	}
	if code := get(srv.Handler(), "/_emulator/health"); code != 404 {
		t.Errorf("main handler serves the control plane: %d", code)
	}
	if code := get(srv.ControlHandler(), "/_emulator/health"); code != 200 {
		t.Errorf("control handler: %d", code)
	}
	if code := get(srv.ControlHandler(), "/api/machines"); code != 404 {
		t.Errorf("control handler serves the API: %d", code)
	}
}
