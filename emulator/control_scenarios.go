package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/scenario"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/guid"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/state"
)

// Scenario packs (package emulator/scenario): loading one replaces the
// state with its fixture, as PUT /_emulator/fixtures does, clears the
// fault rules and schedules its events on the emulator's clock, in
// emulated time after the load (manual advances and a time scale both
// move them). An event at 0 happens during the load. Loading another
// scenario, loading fixtures or a reset cancels the events still pending.
//
// An event that fails when it fires (its machine is gone, runliveresponse
// refuses a startAction, ...) is logged at warning level and marked failed
// with its error in GET /_emulator/scenario; it is not journaled: the
// journal is the record of the requests clients sent, which the kit and
// instructors judge.

// Statuses of a scenario's event (ScenarioEventStatus.Status).
const (
	EventPending   = "pending"
	EventFired     = "fired"
	EventFailed    = "failed"
	EventCancelled = "cancelled"
)

// States of a loaded scenario (ScenarioStatus.State).
const (
	ScenarioRunning   = "running"   // events are pending
	ScenarioFinished  = "finished"  // every event fired or failed
	ScenarioCancelled = "cancelled" // a load, fixtures or a reset cancelled its pending events
)

// scenarioRunner holds the loaded scenario of a Server.
type scenarioRunner struct {
	loading sync.Mutex // one load at a time
	mu      sync.Mutex // guards run and its events; held while an event applies
	run     *scenarioRun
}

// scenarioRun is one load of a scenario.
type scenarioRun struct {
	sc        *scenario.Scenario
	loadedAt  time.Time
	seed      [16]byte // makes the ids of the actions it starts
	afterSeq  uint64
	cancelled bool
	events    []eventRun
}

// eventRun is the state of one event of a run.
type eventRun struct {
	status  string
	due     time.Time
	firedAt time.Time
	err     string
	timer   *clock.Timer
}

// ScenarioStatus is the loaded scenario and where its timeline stands, as
// GET /_emulator/scenario shows it.
type ScenarioStatus struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	// State is running, finished or cancelled.
	State string `json:"state"`
	// LoadedAt is the emulated instant of the load; the events are due
	// after it.
	LoadedAt state.Timestamp `json:"loadedAt"`
	// JournalAfterSeq is the journal's last seq at the load: the journal
	// filter afterSeq={JournalAfterSeq} selects what happened since.
	JournalAfterSeq uint64 `json:"journalAfterSeq"`
	// Pending counts the events still to fire.
	Pending int                   `json:"pending"`
	Events  []ScenarioEventStatus `json:"events"`
}

// ScenarioEventStatus is one event of the loaded scenario with its state.
type ScenarioEventStatus struct {
	// Action names the event's action, such as setOnline.
	Action string `json:"action"`
	scenario.Event
	// Due is the emulated instant the event is due at.
	Due state.Timestamp `json:"due"`
	// Status is pending, fired, failed or cancelled.
	Status string `json:"status"`
	// FiredAt is the emulated instant it fired (or failed).
	FiredAt *state.Timestamp `json:"firedAt,omitempty"`
	// Error says why it failed.
	Error string `json:"error,omitempty"`
}

// LoadScenario loads sc: the whole state is replaced with its fixture (as
// LoadFixtures does: the clock keeps its time, actions are forgotten),
// the fault rules are cleared, and its events are scheduled on the clock
// after now; those at 0 happen before LoadScenario returns. The events of
// the scenario loaded before, if still pending, are cancelled. The
// emulator works on a copy of sc's fixture.
//
// With a store (Options.Data) the load starts a new generation of it
// whose stored fixtures are sc's and whose log begins with sc's whole
// definition, the instant of the load and the seed of its action ids
// (scenarioChange): a restart schedules the same events at the same
// instants, and the clock's replay fires them. It returns once the
// generation is durable; a store that cannot keep it makes an error
// wrapping errNotDurable.
func (s *Server) LoadScenario(sc *scenario.Scenario) error {
	if sc == nil || sc.Fixture == nil {
		return errors.New("emulator: a scenario without a fixture")
	}
	r := &s.scenarios
	r.loading.Lock()
	defer r.loading.Unlock()
	var seed [16]byte
	_, _ = rand.Read(seed[:])
	var now time.Time
	return s.inGenerationWith(func() (string, any, error) {
		if err := s.replaceFixtures(sc.Fixture.Clone()); err != nil { // cancels the scenario before
			return "", nil, err
		}
		s.faults.Clear()
		now = s.clock.Now()
		return changeScenario, scenarioChange{Scenario: sc, LoadedAt: now, Seed: seed[:]}, nil
	}, func() {
		s.startScenario(sc, now, seed, nil)
	})
}

// startScenario schedules the events of sc, loaded at now (the clock's
// time), those at 0 at once; seed makes the ids of the actions its
// startAction events start (scenarioActionID). It is the end of
// LoadScenario, and what the replay of a load does. past, when not nil,
// is how the events stood at a compaction of the store: those no longer
// pending keep their status and are not scheduled again.
func (s *Server) startScenario(sc *scenario.Scenario, now time.Time, seed [16]byte, past []scenarioEventState) {
	r := &s.scenarios
	run := &scenarioRun{sc: sc, loadedAt: now, seed: seed, afterSeq: s.journal.Stats().Recorded, events: make([]eventRun, len(sc.Events))}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.run = run
	s.log.Info("scenario loaded", "scenario", sc.Name, "events", len(sc.Events))
	for i, ev := range sc.Events {
		er := &run.events[i]
		er.status, er.due = EventPending, now.Add(ev.Offset())
		if i < len(past) && past[i].Status != EventPending {
			er.status, er.firedAt, er.err = past[i].Status, past[i].FiredAt, past[i].Err
			continue
		}
		if ev.Offset() == 0 {
			s.applyScenarioEventLocked(run, i, now)
			continue
		}
		er.timer = s.clock.AtFunc(er.due, func(at time.Time) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.run != run || run.cancelled || run.events[i].status != EventPending {
				return
			}
			s.applyScenarioEventLocked(run, i, at)
		})
	}
}

// scenarioActionID is the id of the action event i of a run with seed
// starts: derived from both, so that the replay of a load (which keeps
// the seed) starts the same actions with the same ids without a record
// of its own, and two loads never share one.
func scenarioActionID(seed [16]byte, i int) string {
	h := sha256.New()
	h.Write(seed[:])
	_ = binary.Write(h, binary.BigEndian, uint64(i))
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x40 // a version 4 GUID, as guid.New makes
	b[8] = b[8]&0x3f | 0x80
	return guid.Format(b)
}

// cancelScenario cancels the pending events of the loaded scenario, if
// any. Reset and loadFixtures call it.
func (s *Server) cancelScenario() {
	r := &s.scenarios
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.run
	if run == nil || run.cancelled {
		return
	}
	pending := 0
	for i := range run.events {
		if er := &run.events[i]; er.status == EventPending {
			if er.timer != nil {
				er.timer.Stop()
			}
			er.status = EventCancelled
			pending++
		}
	}
	if pending > 0 {
		run.cancelled = true
		s.log.Info("scenario cancelled", "scenario", run.sc.Name, "events", pending)
	}
}

// applyScenarioEventLocked applies event i of run at the emulated instant
// now, and records how it went. r.mu is held.
func (s *Server) applyScenarioEventLocked(run *scenarioRun, i int, now time.Time) {
	ev := run.sc.Events[i]
	er := &run.events[i]
	er.firedAt = now
	if err := s.applyScenarioEvent(ev, scenarioActionID(run.seed, i)); err != nil {
		er.status, er.err = EventFailed, err.Error()
		s.log.Warn("scenario event failed", "scenario", run.sc.Name, "at", ev.Offset().String(),
			"action", ev.Action(), "line", ev.Line, "error", er.err)
		return
	}
	er.status = EventFired
	if ev.Note != "" {
		s.log.Info("scenario note", "scenario", run.sc.Name, "at", ev.Offset().String(), "note", ev.Note)
	} else {
		s.log.Info("scenario event", "scenario", run.sc.Name, "at", ev.Offset().String(), "action", ev.Action())
	}
}

// applyScenarioEvent does what ev says; a startAction's action gets the
// id actionID.
func (s *Server) applyScenarioEvent(ev scenario.Event, actionID string) error {
	switch {
	case ev.SetOnline != nil:
		m, err := s.store.FindMachine(ev.SetOnline.TenantID, ev.SetOnline.Machine)
		if err != nil {
			return err
		}
		m.SetOnline(*ev.SetOnline.Online)
	case ev.NextOutcomes != nil:
		m, err := s.store.FindMachine(ev.NextOutcomes.TenantID, ev.NextOutcomes.Machine)
		if err != nil {
			return err
		}
		outs := make([]state.Outcome, len(ev.NextOutcomes.Outcomes))
		for i, o := range ev.NextOutcomes.Outcomes {
			outs[i] = state.Outcome{Type: o.Type, Script: o.Script, Duration: o.Duration, ExitCode: o.ExitCode,
				Output: o.Output, Errors: o.Errors, Fail: o.Fail, Content: o.Content}
		}
		return m.QueueOutcomes(outs)
	case ev.AddFault != nil:
		rule, err := faults.ParseRule(ev.AddFault)
		if err != nil {
			return err
		}
		_, err = s.faults.Add(rule)
		return err
	case ev.RemoveFault != "":
		removed := 0
		for _, r := range s.faults.List() {
			if r.Name == ev.RemoveFault && s.faults.Remove(r.ID) {
				removed++
			}
		}
		if removed == 0 {
			return fmt.Errorf("no fault rule is named %q (removed from the control plane already?)", ev.RemoveFault)
		}
	case ev.SetProfile != nil:
		p := s.store.Profile()
		if ev.SetProfile.Profile != "" {
			var err error
			if p, err = limits.Lookup(ev.SetProfile.Profile); err != nil {
				return err
			}
		}
		s.store.SetProfile(p.Override(ev.SetProfile.Limits))
		s.limiter.Reset() // windows keep the limits they were made with
	case ev.StartAction != nil:
		return s.startScenarioAction(ev.StartAction, actionID)
	}
	return nil
}

// startScenarioAction submits a StartAction's live response action, with
// the checks of runliveresponse, as the action id.
func (s *Server) startScenarioAction(sa *scenario.StartAction, id string) error {
	m, err := s.store.FindMachine(sa.TenantID, sa.Machine)
	if err != nil {
		return err
	}
	// By id, not by looking the machine up again: a generated machine may
	// be given back to its number, and made anew, between two lookups.
	var tenant *state.Tenant
	for _, t := range s.store.Tenants() {
		if t.ID == m.TenantID() {
			tenant = t
			break
		}
	}
	if tenant == nil {
		return fmt.Errorf("machine %s has no tenant", sa.Machine)
	}
	req := state.SubmitRequest{Commands: make([]state.Command, len(sa.Commands))}
	if sa.Comment != "" {
		req.Comment = &sa.Comment
	}
	for i, c := range sa.Commands {
		cmd := state.Command{Type: c.Type, Params: []state.Param{}}
		for _, p := range c.Params {
			cmd.Params = append(cmd.Params, state.Param{Key: p.Key, Value: p.Value})
		}
		req.Commands[i] = cmd
	}
	requestor := sa.Requestor
	if requestor == "" {
		requestor = "Scenario"
	}
	_, err = tenant.SubmitWithID(state.Caller{TenantID: tenant.ID, Name: requestor}, m.ID(), req, id)
	return err
}

// ScenarioStatus returns the loaded scenario and where its timeline
// stands; false when no scenario was loaded.
func (s *Server) ScenarioStatus() (ScenarioStatus, bool) {
	r := &s.scenarios
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.run
	if run == nil {
		return ScenarioStatus{}, false
	}
	st := ScenarioStatus{Name: run.sc.Name, Title: run.sc.Title, LoadedAt: state.Stamp(run.loadedAt),
		JournalAfterSeq: run.afterSeq, Events: make([]ScenarioEventStatus, len(run.events))}
	for i, er := range run.events {
		ev := run.sc.Events[i]
		es := ScenarioEventStatus{Action: ev.Action(), Event: ev, Due: state.Stamp(er.due), Status: er.status, Error: er.err}
		if er.status == EventFired || er.status == EventFailed {
			ts := state.Stamp(er.firedAt)
			es.FiredAt = &ts
		}
		if er.status == EventPending {
			st.Pending++
		}
		st.Events[i] = es
	}
	switch {
	case run.cancelled:
		st.State = ScenarioCancelled
	case st.Pending > 0:
		st.State = ScenarioRunning
	default:
		st.State = ScenarioFinished
	}
	return st, true
}

// scenarioRoutes adds the control plane's scenarios routes to g.
func (s *Server) scenarioRoutes(g *echo.Group) {
	g.GET("/scenarios", s.listScenarios)
	g.GET("/scenarios/:name", s.getScenario)
	g.POST("/scenarios/:name/load", s.loadScenario)
	g.GET("/scenario", s.getLoadedScenario)
}

// listScenarios serves GET /_emulator/scenarios: the shipped scenarios'
// names, titles and summaries.
func (s *Server) listScenarios(c echo.Context) error {
	list, err := scenario.List()
	if err != nil {
		return err // a shipped scenario that does not parse: the build is broken
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"scenarios": list})
}

// scenarioEventView is an event as the description of a scenario shows it.
type scenarioEventView struct {
	Action string `json:"action"`
	scenario.Event
}

// getScenario serves GET /_emulator/scenarios/{name}: the scenario with its
// instructor text and timeline.
func (s *Server) getScenario(c echo.Context) error {
	sc, err := scenario.Describe(c.Param("name"))
	if err != nil {
		if errors.Is(err, scenario.ErrNotFound) {
			return controlError(c, ctlResourceNotFound, "Scenario %s was not found; GET /_emulator/scenarios lists them", c.Param("name"))
		}
		return err
	}
	events := make([]scenarioEventView, len(sc.Events))
	for i, ev := range sc.Events {
		events[i] = scenarioEventView{Action: ev.Action(), Event: ev}
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{
		"name": sc.Name, "title": sc.Title, "summary": sc.Summary, "instructor": sc.Instructor,
		"fixture": fixtureRef(sc), "events": events,
	})
}

// fixtureRef names the fixture of sc: "default", or "inline".
func fixtureRef(sc *scenario.Scenario) string {
	if sc.FixtureRef != "" {
		return sc.FixtureRef
	}
	return "inline"
}

// loadScenario serves POST /_emulator/scenarios/{name}/load (no body): the
// scenario is loaded and its status returned.
func (s *Server) loadScenario(c echo.Context) error {
	var req struct{}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	sc, err := scenario.Get(c.Param("name"))
	if err != nil {
		if errors.Is(err, scenario.ErrNotFound) {
			return controlError(c, ctlResourceNotFound, "Scenario %s was not found; GET /_emulator/scenarios lists them", c.Param("name"))
		}
		return err
	}
	if err := s.LoadScenario(sc); err != nil {
		return controlChangeError(c, ctlInvalidFixtures, err)
	}
	st, _ := s.ScenarioStatus()
	return s.writeJSON(c, http.StatusOK, st)
}

// getLoadedScenario serves GET /_emulator/scenario: the loaded scenario
// with its events, pending, fired, failed or cancelled; 404 when none was
// loaded.
func (s *Server) getLoadedScenario(c echo.Context) error {
	st, ok := s.ScenarioStatus()
	if !ok {
		return controlError(c, ctlResourceNotFound, "No scenario is loaded; POST /_emulator/scenarios/{name}/load loads one")
	}
	return s.writeJSON(c, http.StatusOK, st)
}
