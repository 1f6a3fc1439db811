package emulator_test

import (
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
