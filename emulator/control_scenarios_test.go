package emulator_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/scenario"
)

// loadedScenario returns GET /_emulator/scenario, which must answer 200.
func (e *env) loadedScenario() emulator.ScenarioStatus {
	e.t.Helper()
	r := e.call("GET", "/_emulator/scenario", "", "")
	if r.status != 200 {
		e.t.Fatalf("GET /_emulator/scenario: %d %s", r.status, r.body)
	}
	var st emulator.ScenarioStatus
	r.decode(&st)
	return st
}

// The control plane lists, shows and loads the shipped scenarios.
func TestScenarioRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("GET", "/_emulator/scenarios", "", "")
	var list struct{ Scenarios []scenario.Entry }
	r.decode(&list)
	if r.status != 200 || len(list.Scenarios) < 5 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	for _, sc := range list.Scenarios {
		if sc.Name == "" || sc.Title == "" || sc.Summary == "" {
			t.Errorf("entry %+v lacks a name, title or summary", sc)
		}
	}

	r = e.call("GET", "/_emulator/scenarios/busy-machine", "", "")
	var one struct {
		Name, Instructor, Fixture string
		Events                    []struct{ Action, At string }
	}
	r.decode(&one)
	if r.status != 200 || one.Name != "busy-machine" || !strings.Contains(one.Instructor, "ActiveRequestAlreadyExists") ||
		one.Fixture != "default" || len(one.Events) == 0 || one.Events[1].Action != "startAction" {
		t.Errorf("get: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/_emulator/scenarios/no-such", "", ""); r.status != 404 || r.errorCode() != "ResourceNotFound" {
		t.Errorf("unknown scenario: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/_emulator/scenarios/no-such/load", "", ""); r.status != 404 || r.errorCode() != "ResourceNotFound" {
		t.Errorf("load of an unknown scenario: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/_emulator/scenario", "", ""); r.status != 404 || r.errorCode() != "ResourceNotFound" {
		t.Errorf("nothing loaded: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/_emulator/scenarios/busy-machine/load", "", `{"x":1}`); r.status != 400 || r.errorCode() != "InvalidRequestBody" {
		t.Errorf("load with a body: %d %s", r.status, r.body)
	}

	e.api("GET", "/api/machines", "") // journaled before the load
	r = e.call("POST", "/_emulator/scenarios/busy-machine/load", "", "")
	var st emulator.ScenarioStatus
	r.decode(&st)
	if r.status != 200 || st.Name != "busy-machine" || st.State != emulator.ScenarioRunning || st.JournalAfterSeq == 0 ||
		st.Events[0].Status != emulator.EventFired || st.Events[2].Status != emulator.EventPending {
		t.Errorf("load: %d %s", r.status, r.body)
	}
	if got := e.loadedScenario(); got.Name != "busy-machine" || got.Pending != 2 {
		t.Errorf("loaded: %+v", got)
	}
}

// Each shipped scenario loads and its timeline fires in manual time: at
// each event's due instant, its effect is there.
func TestScenarioTimelines(t *testing.T) {
	t.Parallel()
	for _, name := range scenario.Names() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			r := e.call("POST", "/_emulator/scenarios/"+name+"/load", "", "")
			if r.status != 200 {
				t.Fatalf("load: %d %s", r.status, r.body)
			}
			sc, err := scenario.Get(name)
			if err != nil {
				t.Fatal(err)
			}
			loaded := e.srv.Clock().Now()
			for i, ev := range sc.Events {
				e.srv.Clock().AdvanceTo(loaded.Add(ev.Offset()))
				st := e.loadedScenario()
				if got := st.Events[i]; got.Status != emulator.EventFired {
					t.Fatalf("event %d (%s at %s) is %s %s", i, ev.Action(), ev.Offset(), got.Status, got.Error)
				}
				checkScenarioEffect(t, e, ev)
			}
			if st := e.loadedScenario(); st.State != emulator.ScenarioFinished || st.Pending != 0 {
				t.Errorf("after the timeline: %s, %d pending", st.State, st.Pending)
			}
		})
	}
}

// checkScenarioEffect checks that what ev does is in e's state now.
func checkScenarioEffect(t *testing.T, e *env, ev scenario.Event) {
	t.Helper()
	switch {
	case ev.SetOnline != nil:
		m, err := e.srv.Store().FindMachine(ev.SetOnline.TenantID, ev.SetOnline.Machine)
		if err != nil || m.Online() != *ev.SetOnline.Online {
			t.Errorf("%s at %s: machine %s online %v, want %v (%v)", ev.Action(), ev.Offset(), ev.SetOnline.Machine, m != nil && m.Online(), *ev.SetOnline.Online, err)
		}
	case ev.NextOutcomes != nil:
		m, err := e.srv.Store().FindMachine(ev.NextOutcomes.TenantID, ev.NextOutcomes.Machine)
		if err != nil || len(m.Outcomes()) == 0 {
			t.Errorf("%s at %s: no outcome queued on %s (%v)", ev.Action(), ev.Offset(), ev.NextOutcomes.Machine, err)
		}
	case ev.AddFault != nil, ev.RemoveFault != "":
		found := false
		for _, r := range e.srv.Faults().List() {
			found = found || r.Name == ev.FaultName()
		}
		if found != (ev.AddFault != nil) {
			t.Errorf("%s at %s: fault %q present %v", ev.Action(), ev.Offset(), ev.FaultName(), found)
		}
	case ev.SetProfile != nil:
		p := e.srv.Store().Profile()
		if l := ev.SetProfile.Limits.LiveResponsePerMinute; l != 0 && p.LiveResponsePerMinute != l {
			t.Errorf("%s at %s: %d live response calls a minute, want %d", ev.Action(), ev.Offset(), p.LiveResponsePerMinute, l)
		}
		if n := ev.SetProfile.Profile; n != "" && p.Name != n {
			t.Errorf("%s at %s: profile %s, want %s", ev.Action(), ev.Offset(), p.Name, n)
		}
	case ev.StartAction != nil:
		m, err := e.srv.Store().FindMachine(ev.StartAction.TenantID, ev.StartAction.Machine)
		if err != nil {
			t.Fatal(err)
		}
		r := e.api("POST", "/api/machines/"+m.ID()+"/runliveresponse",
			`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\install.log"}]}]}`)
		if r.status != 400 || r.errorCode() != "ActiveRequestAlreadyExists" {
			t.Errorf("%s at %s: a submission on the busy machine got %d %s", ev.Action(), ev.Offset(), r.status, r.body)
		}
	}
}

// The busy machine: the colleague's action holds ws-finance-01 until it
// ends; afterwards a trainee's action is accepted.
func TestScenarioBusyMachineFrees(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.call("POST", "/_emulator/scenarios/busy-machine/load", "", ""); r.status != 200 {
		t.Fatalf("load: %d %s", r.status, r.body)
	}
	body := `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`
	if r := e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", body); r.errorCode() != "ActiveRequestAlreadyExists" {
		t.Errorf("during the colleague's action: %d %s", r.status, r.body)
	}
	e.advance(20 * time.Minute)
	if r := e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", body); r.status != 201 {
		t.Errorf("after 20 minutes: %d %s", r.status, r.body)
	}
}

// A reset, fixtures loaded, or another scenario loaded cancel the pending
// events: they never fire.
func TestScenarioCancelled(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"reset", "fixtures", "scenario"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if r := e.call("POST", "/_emulator/scenarios/laptop-day-2/load", "", ""); r.status != 200 {
				t.Fatalf("load: %d %s", r.status, r.body)
			}
			before := e.loadedScenario()
			var r resp
			switch how {
			case "reset":
				r = e.call("POST", "/_emulator/reset", "", "")
			case "fixtures":
				r = e.call("PUT", "/_emulator/fixtures", "", string(mustDefaultYAML(t)))
			case "scenario":
				r = e.call("POST", "/_emulator/scenarios/hanging-script/load", "", "")
			}
			if r.status != 200 {
				t.Fatalf("%s: %d %s", how, r.status, r.body)
			}
			if how != "scenario" {
				st := e.loadedScenario()
				if st.State != emulator.ScenarioCancelled || st.Pending != 0 || st.Events[1].Status != emulator.EventCancelled {
					t.Errorf("after %s: %+v", how, st)
				}
			}
			e.advance(30 * time.Hour)
			m, err := e.srv.Store().FindMachine("", offMachine)
			if err != nil {
				t.Fatal(err)
			}
			if m.Online() {
				t.Errorf("after %s, ws-travel-03 came online at %s: the cancelled event fired", how, before.Events[1].Due.Time())
			}
		})
	}
}

// mustDefaultYAML returns the default fixture as JSON, for PUT
// /_emulator/fixtures.
func mustDefaultYAML(t *testing.T) []byte {
	t.Helper()
	sc, err := scenario.Get("laptop-day-2")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(sc.Fixture)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An event that fails when it fires is marked failed with its error, and
// the others still fire.
func TestScenarioEventFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sc, err := scenario.Parse("t.yaml", []byte(`name: failing
title: Failing
summary: S.
instructor: I.
fixture: default
events:
  - at: 1m
    startAction:
      machine: ws-hr-02
      commands: [{type: RunScript, params: [{key: ScriptName, value: No-Such-Script.ps1}]}]
  - at: 2m
    setOnline: {machine: ws-hr-02, online: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.LoadScenario(sc); err != nil {
		t.Fatal(err)
	}
	e.advance(3 * time.Minute)
	st := e.loadedScenario()
	if st.Events[0].Status != emulator.EventFailed || st.Events[0].Error == "" || st.Events[0].FiredAt == nil ||
		st.Events[1].Status != emulator.EventFired || st.State != emulator.ScenarioFinished {
		t.Errorf("status %+v", st)
	}
}
