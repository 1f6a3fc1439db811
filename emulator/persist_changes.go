package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/emulator/scenario"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/persist"
	"github.com/mdelive/mde-emulator/internal/state"
)

// The kinds of change the log records: every change of the state the
// emulator makes on request.
const (
	changeSubmit        = "submit"
	changeCancel        = "cancel"
	changeMachine       = "machine"        // online, remediation level
	changeOutcomes      = "outcomes"       // next outcomes queued
	changeOutcomesClear = "outcomes-clear" // next outcomes cleared
	changeLibraryPut    = "library-put"
	changeLibraryDelete = "library-delete"
	changeClock         = "clock"   // mode, scale
	changeAdvance       = "advance" // the manual clock moved on
	changeFaultAdd      = "fault-add"
	changeFaultRemove   = "fault-remove"
	changeFaultClear    = "fault-clear"
	changeOrigin        = "origin" // a generation's first: where Reset goes back to
	changeFaults        = "faults" // the fault rules a generation starts with
	changeTenantAdd     = "tenant-add"
	changeTenantRemove  = "tenant-remove"
	changeScenario      = "scenario" // a scenario loaded: a generation's first after origin and faults
	changeSnapshot      = "snapshot" // the whole state: a compacted generation's last head record (persist_compact.go)
)

// callerRecord is a state.Caller as the log keeps it: the user by object id.
type callerRecord struct {
	TenantID string `json:"tenantId"`
	AppID    string `json:"appId"`
	Name     string `json:"name"`
	UserOID  string `json:"userOid,omitempty"`
}

func recordOfCaller(c state.Caller) callerRecord {
	r := callerRecord{TenantID: c.TenantID, AppID: c.AppID, Name: c.Name}
	if c.User != nil {
		r.UserOID = c.User.ObjectID
	}
	return r
}

// caller returns the caller r records, in t.
func (r callerRecord) caller(t *state.Tenant) (state.Caller, error) {
	c := state.Caller{TenantID: r.TenantID, AppID: r.AppID, Name: r.Name}
	if r.UserOID != "" {
		u, ok := t.User(r.UserOID)
		if !ok {
			return c, fmt.Errorf("no user %s in tenant %s", r.UserOID, t.ID)
		}
		c.User = u
	}
	return c, nil
}

type submitChange struct {
	Caller  callerRecord        `json:"caller"`
	Machine string              `json:"machine"`
	Request state.SubmitRequest `json:"request"`
	ID      string              `json:"id"`
	Call    *countedCall        `json:"call,omitempty"`
}

type cancelChange struct {
	Caller  callerRecord `json:"caller"`
	ID      string       `json:"id"`
	Comment string       `json:"comment"`
	Call    *countedCall `json:"call,omitempty"`
}

// countedCall is the call to the API a change was made by, as the rate
// limiter counted it. The store keeps the limiter's windows with each
// clock mark; the replay counts again the calls of the changes recorded
// after the last mark, so a restart does not forget the calls it
// acknowledged (docs/persistence.md).
type countedCall struct {
	limits.Key
	Class limits.Class `json:"class"`
	At    time.Time    `json:"at"`
}

// countedCallOf returns the call of the request c as the rate limiter
// counted it, of class class; nil when it was not counted.
func (s *Server) countedCallOf(c echo.Context, class limits.Class) *countedCall {
	x := exchangeOf(c)
	if x == nil || x.rateAt.IsZero() || x.principal == nil {
		return nil
	}
	return &countedCall{Key: s.rateKey(c, x.principal), Class: class, At: x.rateAt}
}

type machineChange struct {
	TenantID         string          `json:"tenantId"`
	Machine          string          `json:"machine"`
	Online           *bool           `json:"online,omitempty"`
	RemediationLevel *string         `json:"remediationLevel,omitempty"`
	Outcomes         []state.Outcome `json:"outcomes,omitempty"`
}

type libraryChange struct {
	TenantID string        `json:"tenantId"`
	Upload   *state.Upload `json:"upload,omitempty"`
	Name     string        `json:"name,omitempty"`
	Call     *countedCall  `json:"call,omitempty"`
}

type clockChange struct {
	Mode  clock.Mode    `json:"mode,omitempty"`
	Scale *float64      `json:"scale,omitempty"`
	By    time.Duration `json:"by,omitempty"`
}

// faultChange is a fault rule added (with the id the injector gave it:
// the replay gives it the same) or removed. The rule's call counts are
// not kept: the replay adds it anew, its counts from zero
// (docs/persistence.md).
type faultChange struct {
	ID   string       `json:"id"`
	Rule *faults.Rule `json:"rule,omitempty"`
}

// tenantChange is a tenant made on the fly, with its whole fixture (ids
// and secrets drawn at random: the replay makes it identically), or one
// removed.
type tenantChange struct {
	ID       string          `json:"id"`
	Template string          `json:"template,omitempty"`
	Tenant   *fixture.Tenant `json:"tenant,omitempty"`
	Force    bool            `json:"force,omitempty"`
}

// faultsChange is the fault rules a generation starts with, and the
// number their ids go on from.
type faultsChange struct {
	LastID int           `json:"lastId"`
	Rules  []faultChange `json:"rules,omitempty"`
}

// originChange is where Reset puts the emulator back: the clock's start,
// and the fixtures it was started with when they are not the
// generation's (ResetToStart).
type originChange struct {
	Start   time.Time       `json:"start"`
	Mode    clock.Mode      `json:"mode"`
	Scale   float64         `json:"scale"`
	Initial json.RawMessage `json:"initial,omitempty"`
}

// scenarioChange is a scenario loaded: its whole definition (the stored
// fixtures of its generation are its fixture), the instant of the load
// and the seed of the ids of the actions its startAction events start
// (scenarioActionID). The replay schedules the same events at the same
// instants, and the clock's replay fires them; their effects (the
// actions they start with their ids, machines, outcomes, fault rules
// with their ids, limits) follow again without records of their own.
//
// A compacted generation (persist_compact.go) keeps the scenario with
// Events, how each event stood at the compaction: the replay then
// schedules only those still pending, and the snapshot record after it
// holds what the others did.
type scenarioChange struct {
	Scenario *scenario.Scenario   `json:"scenario"`
	LoadedAt time.Time            `json:"loadedAt"`
	Seed     []byte               `json:"seed"`
	Events   []scenarioEventState `json:"events,omitempty"`
}

// scenarioEventState is how an event of a loaded scenario stood.
type scenarioEventState struct {
	Status  string    `json:"status"`
	FiredAt time.Time `json:"firedAt,omitzero"`
	Err     string    `json:"err,omitempty"`
}

// apply replays one change of the log, calling what its handler called.
// The clock stands at the record's instant.
func (s *Server) apply(r persist.Record, ps *persistStart) error {
	tenant := func(id string) (*state.Tenant, error) {
		t, ok := s.store.Tenant(id)
		if !ok {
			return nil, fmt.Errorf("no tenant %s", id)
		}
		return t, nil
	}
	// who returns the tenant and the caller a record names.
	who := func(cr callerRecord) (*state.Tenant, state.Caller, error) {
		t, err := tenant(cr.TenantID)
		if err != nil {
			return nil, state.Caller{}, err
		}
		c, err := cr.caller(t)
		return t, c, err
	}
	var err error
	switch r.Kind {
	case changeSubmit:
		var ch submitChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		var t *state.Tenant
		var c state.Caller
		if t, c, err = who(ch.Caller); err != nil {
			break
		}
		_, err = t.SubmitWithID(c, ch.Machine, ch.Request, ch.ID)
	case changeCancel:
		var ch cancelChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		var t *state.Tenant
		var c state.Caller
		if t, c, err = who(ch.Caller); err != nil {
			break
		}
		_, err = t.Cancel(c, ch.ID, ch.Comment)
	case changeMachine, changeOutcomes, changeOutcomesClear:
		var ch machineChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		var m *state.Machine
		if m, err = s.store.FindMachine(ch.TenantID, ch.Machine); err != nil {
			break
		}
		err = applyMachineChange(r.Kind, m, ch)
	case changeLibraryPut, changeLibraryDelete:
		var ch libraryChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		var t *state.Tenant
		if t, err = tenant(ch.TenantID); err != nil {
			break
		}
		if r.Kind == changeLibraryDelete {
			err = t.Library().Delete(ch.Name)
		} else if ch.Upload != nil {
			_, err = t.Library().Put(*ch.Upload, r.At)
		}
	case changeClock:
		// The replay runs on a manual clock: the mode and the scale are
		// set once it is done.
		var ch clockChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		if ch.Mode != "" {
			ps.mode = ch.Mode
		}
		if ch.Scale != nil {
			ps.scale = *ch.Scale
		}
	case changeAdvance:
		var ch clockChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		s.clock.Advance(ch.By)
	case changeFaultAdd, changeFaultRemove, changeFaultClear:
		var ch faultChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		err = s.applyFaultChange(r.Kind, ch)
	case changeTenantAdd, changeTenantRemove:
		var ch tenantChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		if r.Kind == changeTenantRemove {
			err = s.removeTenantNow(ch.ID, ch.Force)
			break
		}
		if ch.Tenant == nil {
			err = errors.New("a tenant added without its fixture")
			break
		}
		s.classroom.Lock()
		_, err = s.addTenant(ch.Tenant, ch.Template)
		s.classroom.Unlock()
	case changeFaults:
		var ch faultsChange
		if err = json.Unmarshal(r.Data, &ch); err != nil {
			break
		}
		for _, f := range ch.Rules {
			if err = s.applyFaultChange(changeFaultAdd, f); err != nil {
				break
			}
		}
		s.faults.Reserve(ch.LastID)
	case changeScenario:
		// Not skipped when it fails, as origin: its events would be lost.
		var ch scenarioChange
		if err := json.Unmarshal(r.Data, &ch); err != nil {
			return err
		}
		var seed [16]byte
		if ch.Scenario == nil || copy(seed[:], ch.Seed) != len(seed) {
			return errors.New("a scenario loaded without its definition or seed")
		}
		if ch.Events != nil && len(ch.Events) != len(ch.Scenario.Events) {
			return fmt.Errorf("a scenario of %d events with the states of %d", len(ch.Scenario.Events), len(ch.Events))
		}
		ch.Scenario.Fixture = s.fixtures.Load()
		s.startScenario(ch.Scenario, ch.LoadedAt, seed, ch.Events)
		s.rec.withScenario = true
	case changeSnapshot:
		// Not skipped when it fails: the state would be lost.
		return s.applySnapshot(r.Data)
	case changeOrigin:
		// Not skipped when it fails: without it a reset would go
		// elsewhere than before the restart.
		var ch originChange
		if err := json.Unmarshal(r.Data, &ch); err != nil {
			return err
		}
		s.start, s.startMode, s.startScale = ch.Start, ch.Mode, ch.Scale
		if ch.Initial != nil {
			set, err := fixture.Parse("the fixtures the emulator started with", ch.Initial)
			if err != nil {
				return err
			}
			s.initial = set
		}
	default:
		return fmt.Errorf("unknown kind of change %q (written by a newer emulator?)", r.Kind)
	}
	if err == nil {
		ps.noteCall(r)
	}
	if err != nil {
		// A change the domain now refuses: a real clock's step that was
		// due but not yet run when the change was made runs first in the
		// replay (docs/persistence.md). Kept going, and said.
		s.log.Warn("emulator: a stored change does not apply again; skipped", "seq", r.Seq, "kind", r.Kind, "at", r.At, "err", err)
	}
	return nil
}

// applyFaultChange makes the change ch of kind to the fault rules.
func (s *Server) applyFaultChange(kind string, ch faultChange) error {
	switch kind {
	case changeFaultClear:
		s.faults.Clear()
	case changeFaultRemove:
		if !s.faults.Remove(ch.ID) {
			return fmt.Errorf("no fault rule %s", ch.ID)
		}
	default:
		if ch.Rule == nil {
			return errors.New("a fault rule added without its rule")
		}
		_, err := s.faults.AddAs(*ch.Rule, ch.ID)
		return err
	}
	return nil
}

// applyMachineChange makes the change ch of kind to m.
func applyMachineChange(kind string, m *state.Machine, ch machineChange) error {
	switch kind {
	case changeOutcomes:
		return m.ReplayOutcomes(ch.Outcomes)
	case changeOutcomesClear:
		m.ClearOutcomes()
		return nil
	}
	if ch.RemediationLevel != nil {
		if err := m.SetRemediationLevel(*ch.RemediationLevel); err != nil {
			return err
		}
	}
	if ch.Online != nil {
		m.SetOnline(*ch.Online)
	}
	return nil
}

// submitRecorded is runLiveResponse with a store: the answer goes once
// the action is durable.
func (s *Server) submitRecorded(c echo.Context, req state.SubmitRequest) error {
	cl, t, key := caller(c), s.tenant(c), c.Param("id")
	call := s.countedCallOf(c, limits.LiveResponse)
	var v state.ActionView
	p, err := s.rec.change(func() (persist.Record, bool, error) {
		var err error
		if v, err = t.Submit(cl, key, req); err != nil {
			return persist.Record{}, false, err
		}
		return record(changeSubmit, v.CreationDateTimeUtc.Time(), submitChange{recordOfCaller(cl), key, req, v.ID, call})
	})
	if err := s.durable(p, err); err != nil {
		return err
	}
	noteAction(c, v.ID)
	return s.writeJSON(c, http.StatusCreated, actionEntity{odataContext(c, "MachineActions/$entity"), &v})
}

// cancelRecorded is cancelMachineAction with a store.
func (s *Server) cancelRecorded(c echo.Context, id, comment string) error {
	cl, t := caller(c), s.tenant(c)
	call := s.countedCallOf(c, limits.Other)
	var v state.ActionView
	p, err := s.rec.change(func() (persist.Record, bool, error) {
		at := s.clock.Now()
		var err error
		if v, err = t.Cancel(cl, id, comment); err != nil {
			return persist.Record{}, false, err
		}
		return record(changeCancel, at, cancelChange{recordOfCaller(cl), id, comment, call})
	})
	if err := s.durable(p, err); err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, actionEntity{odataContext(c, "MachineActions/$entity"), &v})
}

// libraryPutRecorded is the end of uploadLibraryFile with a store.
func (s *Server) libraryPutRecorded(c echo.Context, u state.Upload) error {
	t, call := s.tenant(c), s.countedCallOf(c, limits.Other)
	var v state.LibraryFileView
	p, err := s.rec.change(func() (persist.Record, bool, error) {
		at := s.clock.Now()
		var err error
		if v, err = t.Library().Put(u, at); err != nil {
			return persist.Record{}, false, err
		}
		return record(changeLibraryPut, at, libraryChange{TenantID: t.ID, Upload: &u, Call: call})
	})
	if err := s.durable(p, err); err != nil {
		return err
	}
	return s.writeJSON(c, http.StatusOK, v)
}

// libraryDeleteRecorded is the end of deleteLibraryFile with a store.
func (s *Server) libraryDeleteRecorded(c echo.Context, name string) error {
	t, call := s.tenant(c), s.countedCallOf(c, limits.Other)
	p, err := s.rec.change(func() (persist.Record, bool, error) {
		at := s.clock.Now()
		if err := t.Library().Delete(name); err != nil {
			return persist.Record{}, false, err
		}
		return record(changeLibraryDelete, at, libraryChange{TenantID: t.ID, Name: name, Call: call})
	})
	if err := s.durable(p, err); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// durable waits for the write p of a change made with error err: the
// change's own error (a domain refusal) as it is, a store that could not
// keep it as 503 ServiceUnavailable.
func (s *Server) durable(p *persist.Pending, err error) error {
	if err == nil && p != nil {
		if err = p.Wait(); err != nil {
			err = fmt.Errorf("%w: %w", errNotDurable, err)
		}
	}
	if errors.Is(err, errNotDurable) {
		s.log.Error("emulator: a change could not be stored", "err", err)
		return unavailable(err)
	}
	return err
}

// controlChange runs a control-plane change through the recorder when the
// emulator has a store (apply returns the change's record), else runs it
// alone; it returns once the change is durable. A store that cannot keep
// it makes an error wrapping errNotDurable (controlChangeError).
func (s *Server) controlChange(apply func() (kind string, data any, err error)) error {
	return s.controlChangeHeld(true, apply)
}

// controlChangeHeld is controlChange, holding the clock's timers while
// apply runs or not (recorder.changeHeld): false for a change that
// advances the clock.
func (s *Server) controlChangeHeld(hold bool, apply func() (kind string, data any, err error)) error {
	if s.rec == nil {
		_, _, err := apply()
		return err
	}
	p, err := s.rec.changeHeld(hold, func() (persist.Record, bool, error) {
		at := s.clock.Now()
		kind, data, err := apply()
		if err != nil || kind == "" {
			return persist.Record{}, false, err
		}
		return record(kind, at, data)
	})
	if err == nil && p != nil {
		if err = p.Wait(); err != nil {
			err = fmt.Errorf("%w: %w", errNotDurable, err)
		}
	}
	if errors.Is(err, errNotDurable) {
		s.log.Error("emulator: a change could not be stored", "err", err)
	}
	return err
}

// controlChangeError answers the error err of a control-plane change:
// 503 ServiceUnavailable when the store could not keep it, else code.
func controlChangeError(c echo.Context, code controlCode, err error) error {
	if errors.Is(err, errNotDurable) {
		return controlError(c, ctlServiceUnavailable, "The change could not be stored: %v", err)
	}
	return controlError(c, code, "%v", err)
}
