package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/persist"
	"github.com/mdelive/mde-emulator/internal/state"
)

// Compaction of the store (docs/persistence.md, Compaction): once the log
// of the current generation holds more than Options.DataCompactAfter
// records, a new generation starts from a snapshot of the state. Its log
// begins with where a reset goes back to (origin), the fault rules
// (faults), the scenario loaded in this generation with how its events
// stand (scenario), then the whole state (snapshot: state.Snapshot); the
// changes made after it follow. What retention forgot is in no record of
// it: the store holds the state plus the changes since the last
// snapshot, and a restart replays only those.

// The bounds of Options.DataCompactAfter.
const (
	// DefaultDataCompactAfter is the threshold of a store that was not
	// given one: at about 300 bytes a record, a log of 15 MB that replays
	// in a few seconds.
	DefaultDataCompactAfter = 50_000
	// MinDataCompactAfter is the smallest threshold: each compaction
	// writes the whole state, so one every few records would write far
	// more than the log it saves.
	MinDataCompactAfter = 10
	// MaxDataCompactAfter is the largest threshold: a longer log takes
	// minutes to replay at start.
	MaxDataCompactAfter = 10_000_000
)

// compactAfterOf returns the compaction threshold opts asks for, the
// default for 0, or an error past the bounds.
func compactAfterOf(opts Options) (int, error) {
	switch n := opts.DataCompactAfter; {
	case n == 0:
		return DefaultDataCompactAfter, nil
	case n < MinDataCompactAfter || n > MaxDataCompactAfter:
		return 0, fmt.Errorf("emulator: compact the store after %d records: out of bounds, %d to %d (0: the default, %d)",
			n, MinDataCompactAfter, MaxDataCompactAfter, DefaultDataCompactAfter)
	default:
		return n, nil
	}
}

// snapshotChange is the record that holds the whole state, last of a
// compacted generation's head.
type snapshotChange struct {
	State *state.Snapshot `json:"state"`
}

// grew counts n more records in the current log and, past compactAfter,
// starts a compaction in the background unless one runs: the change that
// crossed the threshold only queues it. Call it with r.mu held.
func (r *recorder) grew(n int) {
	r.logLen += n
	if r.compactAfter > 0 && r.logLen > max(r.compactAfter, 2*r.stateActions) && !r.compacting && r.compact != nil {
		r.compacting = true
		go r.compact()
	}
}

// begun notes that g starts the current generation. Call it with r.mu
// held (or before any change).
func (r *recorder) begun(g persist.Generation) {
	r.logLen = len(g.Records)
	r.withScenario, r.stateActions = false, 0
	for _, rec := range g.Records {
		if rec.Kind == changeScenario {
			r.withScenario = true
		}
	}
}

// compact runs one compaction, and lets the next one start.
func (s *Server) compact() {
	err := s.compactNow()
	s.rec.mu.Lock()
	s.rec.compacting = false
	s.rec.mu.Unlock()
	if err != nil {
		s.log.Error("emulator: the store could not be compacted", "err", err)
	}
}

// errClosing is compactNow's error when the emulator closes meanwhile.
var errClosing = errors.New("the emulator is closing")

// compactNow starts a new generation of the store from a snapshot of the
// state and waits for it to be durable.
//
// The snapshot must not interleave with a change nor with a lifecycle
// step. It is taken holding the recorder's lock, so no change is being
// made (every change, and every generation, is made under that lock, from
// its start to its record's place in the queue), and inside a callback of
// the clock scheduled at its current time: the clock runs its callbacks
// one at a time (package clock), and every lifecycle step, retention
// sweep and scenario event is such a callback, each running whole (a
// step with the action's finish: machine, session, retention); so the
// callback sees each of them either done or not begun. No callback takes
// the recorder's lock, so holding it while waiting for the callback
// cannot deadlock. A real clock runs the callback on its goroutine at
// once; a manual one when advanced, which compactNow does (Advance(0):
// only what was due already fires, at the same instant; the replay of the
// log would fire it before the next record anyway). The snapshot's
// instant is the callback's: every step due before it has run, none due
// after it. The new generation is queued before the lock is released, so
// the changes made after the snapshot go on its log, in order.
func (s *Server) compactNow() error {
	r := s.rec
	r.mu.Lock()
	locked := true
	defer func() {
		if locked {
			r.mu.Unlock()
		}
	}()
	if err := r.store.Ready(); err != nil {
		return err
	}
	type built struct {
		g       persist.Generation
		actions int
		err     error
	}
	done := make(chan built, 1)
	s.clock.AtFunc(s.clock.Now(), func(at time.Time) {
		g, actions, err := s.compactedGeneration(at)
		done <- built{g, actions, err}
	})
	if s.clock.Mode() == clock.Manual {
		s.clock.Advance(0)
	}
	var b built
	select {
	case b = <-done:
	case <-s.serving.Done():
		return errClosing
	}
	if b.err != nil {
		return b.err
	}
	p, err := r.store.BeginQueued(b.g)
	if err != nil {
		return err
	}
	before := r.logLen
	r.begun(b.g)
	r.stateActions = b.actions
	r.mu.Unlock()
	locked = false
	if err := p.Wait(); err != nil {
		return err
	}
	s.log.Info("emulator: store compacted", "file", r.store.Path(), "records", before, "at", b.g.Start.At.Format(time.RFC3339Nano))
	return nil
}

// compactedGeneration returns the generation of a compaction at the
// emulated instant at: the current fixtures, keys and clock, the log's
// head of a reset (origin, faults), the scenario of the generation if
// any, and the snapshot of the state; the clock mark and the rate-limit
// windows of now. It runs in a clock callback (compactNow).
func (s *Server) compactedGeneration(at time.Time) (g persist.Generation, actions int, err error) {
	g, err = s.generationAt(at)
	if err != nil {
		return g, 0, err
	}
	if s.rec.withScenario {
		if ch, ok := s.scenarioState(); ok {
			rec, _, err := record(changeScenario, at, ch)
			if err != nil {
				return g, 0, err
			}
			g.Records = append(g.Records, rec)
		}
	}
	snap, err := s.store.Snapshot()
	if err != nil {
		return g, 0, err
	}
	snap.At = at // a real clock flows on during the callback: the state is that of its instant
	rec, _, err := record(changeSnapshot, at, snapshotChange{State: snap})
	if err != nil {
		return g, 0, err
	}
	g.Records = append(g.Records, rec)
	m := s.mark()
	g.Mark = &m
	return g, snap.Actions(), nil
}

// scenarioState returns the loaded scenario's record with how its events
// stand; false when none is loaded or it was cancelled.
func (s *Server) scenarioState() (scenarioChange, bool) {
	r := &s.scenarios
	r.mu.Lock()
	defer r.mu.Unlock()
	run := r.run
	if run == nil || run.cancelled {
		return scenarioChange{}, false
	}
	ch := scenarioChange{Scenario: run.sc, LoadedAt: run.loadedAt, Seed: run.seed[:], Events: make([]scenarioEventState, len(run.events))}
	for i, er := range run.events {
		ch.Events[i] = scenarioEventState{Status: er.status, FiredAt: er.firedAt, Err: er.err}
	}
	return ch, true
}

// applySnapshot replays a snapshot record: the state it holds replaces
// the one the fixtures loaded, and the tenants made on the fly are taught
// to the identity platform again.
func (s *Server) applySnapshot(data []byte) error {
	var ch snapshotChange
	if err := json.Unmarshal(data, &ch); err != nil {
		return err
	}
	if ch.State == nil {
		return errors.New("a snapshot without its state")
	}
	if err := s.store.Restore(ch.State); err != nil {
		return err
	}
	s.rec.stateActions = ch.State.Actions()
	for _, t := range s.store.Tenants() {
		if o := t.Origin(); o != nil {
			apps, users := identityOf(o.Fixture)
			s.authority.AddTenant(o.Fixture.ID, apps, users)
		}
	}
	return nil
}
