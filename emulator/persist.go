package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/persist"
)

// The choices of Options.DataClock: what the emulated clock does across
// the time the emulator was down.
const (
	// DataClockResume: the clock goes on from where it stood when the
	// emulator stopped (the last reading the store kept: it keeps one
	// every markEvery, and one at Close), as if the emulator had been
	// paused. The default: a restart between the stages of a CI run or a
	// class does not make queued actions expire nor scripts time out.
	DataClockResume = "resume"
	// DataClockCatchUp: a real clock moves on by the wall time that
	// passed while the emulator was down (times its scale), firing what
	// fell due meanwhile, as the real service would have. A manual clock
	// resumes: wall time does not move it.
	DataClockCatchUp = "catch-up"
)

// markEvery is how often the store keeps the clock's reading while a
// store is open.
const markEvery = 2 * time.Second

// persistStart is what New needs of a store: the store, and what it held
// when it was opened (nil fresh: a new generation is to begin).
type persistStart struct {
	store *persist.Store
	held  *persist.State // nil: the store holds no state, or DataReset
	// key and linkKey are the keys to use, from the store or new.
	key     *rsa.PrivateKey
	linkKey []byte
	// mode and scale are the clock's once the replay is done.
	mode  clock.Mode
	scale float64
	// calls are the API calls of the changes replayed that the rate
	// limiter counted after the last mark (noteCall).
	calls []countedCall
	// compactAfter is Options.DataCompactAfter, its default filled in.
	compactAfter int
}

// noteCall keeps the counted call of the replayed change r, if it has
// one and came after the store's last mark: the mark's windows hold those
// before it.
func (ps *persistStart) noteCall(r persist.Record) {
	switch r.Kind {
	case changeSubmit, changeCancel, changeLibraryPut, changeLibraryDelete:
	default:
		return
	}
	var ch struct {
		Call *countedCall `json:"call"`
	}
	if json.Unmarshal(r.Data, &ch) != nil || ch.Call == nil || !ch.Call.At.After(ps.held.Mark.Emulated) {
		return
	}
	ps.calls = append(ps.calls, *ch.Call)
}

// restoreMarked puts back what the store's last mark kept: the rate-limit
// windows, then counts the calls of the changes recorded after it; and
// the fault rules' counts.
func (s *Server) restoreMarked(ps *persistStart) error {
	if b := ps.held.Mark.Faults; len(b) > 0 {
		var cs []faults.Counts
		if err := json.Unmarshal(b, &cs); err != nil {
			return fmt.Errorf("%s: the stored fault rule counts do not load: %w", ps.store.Path(), err)
		}
		s.faults.RestoreCounts(cs)
	}
	if b := ps.held.Mark.Limits; len(b) > 0 {
		var cs []limits.Calls
		if err := json.Unmarshal(b, &cs); err != nil {
			return fmt.Errorf("%s: the stored rate-limit windows do not load: %w", ps.store.Path(), err)
		}
		s.limiter.Restore(cs)
	}
	for _, c := range ps.calls {
		s.limiter.Count(c.Key, c.Class, c.At)
	}
	return nil
}

// mark returns the reading of the clock, of the rate-limit windows and of
// the fault rules' counts the store keeps. Call it with the recorder's lock held, so that no change
// (a reset dropping the windows) comes between the reading and its queuing.
func (s *Server) mark() persist.Mark {
	now := s.clock.Now()
	m := persist.Mark{Emulated: now, Wall: clock.Wall()}
	if cs := s.limiter.Calls(now); len(cs) > 0 {
		m.Limits, _ = json.Marshal(cs) // plain data: it cannot fail
	}
	if cs := s.faults.Counts(); len(cs) > 0 {
		m.Faults, _ = json.Marshal(cs)
	}
	return m
}

// openPersist opens opts.Data and reads what it holds. With state held and
// no DataReset, the stored fixtures replace set (the caller logs that the
// given fixtures are ignored). It returns nil without opts.Data.
func openPersist(opts Options) (*persistStart, *fixture.Set, error) {
	if opts.Data == "" {
		return nil, nil, nil
	}
	switch opts.DataClock {
	case "", DataClockResume, DataClockCatchUp:
	default:
		return nil, nil, fmt.Errorf("emulator: unknown data clock %q (resume or catch-up)", opts.DataClock)
	}
	compactAfter, err := compactAfterOf(opts)
	if err != nil {
		return nil, nil, err
	}
	st, err := persist.Open(opts.Data)
	if err != nil {
		return nil, nil, err
	}
	ps := &persistStart{store: st, compactAfter: compactAfter}
	held, err := st.State()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	if held.Generation == 0 || opts.DataReset {
		return ps, nil, nil
	}
	ps.held = &held
	set, err := fixture.Parse(st.Path()+" (its fixtures)", held.Fixtures)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("%s: the stored fixtures do not load: %w", st.Path(), err)
	}
	if block, _ := pem.Decode(held.TokenKey); block != nil {
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		rk, ok := k.(*rsa.PrivateKey)
		if err != nil || !ok {
			st.Close()
			return nil, nil, fmt.Errorf("%s: the stored signing key does not load", st.Path())
		}
		ps.key = rk
	}
	if len(held.LinkKey) != 32 {
		st.Close()
		return nil, nil, fmt.Errorf("%s: the stored link key is damaged", st.Path())
	}
	ps.linkKey = held.LinkKey
	return ps, set, nil
}

// signingKey returns the key tokens are to be signed with: the stored
// one, else key (the fixtures' or the options'), else a new one.
func (ps *persistStart) signingKey(key *rsa.PrivateKey) (*rsa.PrivateKey, error) {
	if ps.key != nil {
		return ps.key, nil
	}
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	ps.key = key
	return key, nil
}

// clockStart returns where the clock starts and in which mode: a store
// that holds state replays on a manual clock from its start (the mode
// asked for is kept for after the replay).
func (ps *persistStart) clockStart(start time.Time, mode clock.Mode, scale float64) (time.Time, clock.Mode) {
	ps.mode, ps.scale = mode, scale
	if ps.held == nil {
		return start, mode
	}
	ps.mode, ps.scale = clock.Mode(ps.held.Start.Mode), ps.held.Start.Scale
	return ps.held.Start.At, clock.Manual
}

// recorder writes the changes of an emulator with a store, in the order
// they are made: it holds its lock from a change to its record's place in
// the queue.
type recorder struct {
	clock *clock.Clock // the emulator's: a change holds its timers (change)
	mu    sync.Mutex
	store *persist.Store
	log   func(msg string, args ...any)
	// tokenKey (PEM) and linkKey are the keys every generation keeps.
	tokenKey, linkKey []byte
	// restored: the store held state at the start, which New replayed.
	restored bool
	// logLen counts the records of the current generation's log, queued
	// ones too; past compactAfter, compact runs (persist_compact.go).
	logLen, compactAfter int
	// compacting: a compaction runs; no other starts.
	compacting bool
	compact    func()
	// withScenario: the current generation was begun by a scenario's
	// load (its log has a scenario record), which a compaction keeps.
	withScenario bool
	// stateActions is how many actions the current generation's snapshot
	// holds (0: it has none): the log grows to twice as many records
	// before the next compaction, so that compacting a large state costs
	// a bounded share of the changes' writes.
	stateActions int
}

// Restored reports whether the emulator started from the state its store
// (Options.Data) held, replayed, rather than from the fixtures it was
// given: a caller then does not load its own scenario over it.
func (s *Server) Restored() bool { return s.rec != nil && s.rec.restored }

// errNotDurable marks a change the store could not keep.
var errNotDurable = errors.New("not durable")

// change runs apply under the recorder's lock and queues the record it
// returns (none when apply fails, or returns ok false). It returns the
// write to wait for. When the store can take no record (its queue full,
// a write failed, closed) apply does not run and the error wraps
// errNotDurable.
//
// apply runs while no timer of the clock fires (clock.Hold), and the
// record keeps the instant up to which they had fired: a real clock's
// step due just before the change but not yet run when it was made is
// replayed after it, as it ran (docs/persistence.md).
func (r *recorder) change(apply func() (rec persist.Record, ok bool, err error)) (*persist.Pending, error) {
	return r.changeHeld(true, apply)
}

// changeHeld is change, holding the clock's timers or not: a change that
// advances the clock (which fires them) cannot hold them.
func (r *recorder) changeHeld(hold bool, apply func() (rec persist.Record, ok bool, err error)) (*persist.Pending, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.store.Ready(); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotDurable, err)
	}
	var rec persist.Record
	var ok bool
	var err error
	if hold {
		r.clock.Hold(func(firedTo time.Time) {
			rec, ok, err = apply()
			rec.Fired = firedTo
		})
	} else {
		rec, ok, err = apply()
	}
	if err != nil || !ok {
		return nil, err
	}
	p, err := r.store.Append(rec)
	if err != nil { // Ready said there was room: only a closed store
		return nil, fmt.Errorf("%w: %w", errNotDurable, err)
	}
	r.grew(1)
	return p, nil
}

// begin is change for a change that starts a new generation: apply
// returns it, and it is queued after the records before it.
func (r *recorder) begin(apply func() (persist.Generation, error)) (*persist.Pending, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.store.Ready(); err != nil {
		return nil, fmt.Errorf("%w: %w", errNotDurable, err)
	}
	g, err := apply()
	if err != nil {
		return nil, err
	}
	p, err := r.store.BeginQueued(g)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNotDurable, err)
	}
	r.begun(g)
	return p, nil
}

// record makes the record of a change of kind at at with payload data.
func record(kind string, at time.Time, data any) (persist.Record, bool, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return persist.Record{}, false, err
	}
	return persist.Record{At: at.UTC(), Kind: kind, Data: b}, true, nil
}

// unavailable is the API's answer to a change the store could not keep.
func unavailable(err error) error {
	return apierr.New(apierr.ServiceUnavailable, "The service is unavailable: the change could not be stored (%v).", err)
}

// beginOrReplay finishes New for an emulator with a store: a fresh store
// begins a generation with the fixtures, keys and clock start; one that
// holds state is replayed, then the clock is set as it was.
func (s *Server) beginOrReplay(ps *persistStart) error {
	s.rec = &recorder{store: ps.store, clock: s.clock, log: s.log.Info, compactAfter: ps.compactAfter, compact: s.compact}
	if ps.held == nil {
		ps.linkKey = s.links.key
		der, err := x509.MarshalPKCS8PrivateKey(ps.key)
		if err != nil {
			return err
		}
		s.rec.tokenKey = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		s.rec.linkKey = ps.linkKey
		g, err := s.generation()
		if err != nil {
			return err
		}
		p, err := ps.store.BeginQueued(g)
		if err == nil {
			err = p.Wait()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", ps.store.Path(), err)
		}
		s.rec.begun(g)
	} else {
		s.rec.tokenKey, s.rec.linkKey = ps.held.TokenKey, ps.linkKey
		s.rec.restored = true
		s.links.key = ps.linkKey
		if err := s.replay(ps); err != nil {
			return err
		}
	}
	go s.markClock(ps.store)
	s.rec.mu.Lock()
	s.rec.grew(0) // a log replayed over the threshold is compacted at once
	s.rec.mu.Unlock()
	return nil
}

// generation returns the generation of the store the emulator's state
// starts now: its fixtures, its clock, and as the log's first records
// where Reset goes back to (changeOrigin) and the fault rules
// (changeFaults), which a reset clears but PUT /_emulator/fixtures keeps.
func (s *Server) generation() (persist.Generation, error) {
	return s.generationAt(s.clock.Now())
}

// generationAt is generation with the clock's time now.
func (s *Server) generationAt(now time.Time) (persist.Generation, error) {
	cur := s.fixtures.Load()
	fx, err := json.Marshal(cur.Compacted()) // generated machines as their count
	if err != nil {
		return persist.Generation{}, err
	}
	origin := originChange{Start: s.start, Mode: s.startMode, Scale: s.startScale}
	if s.initial != cur {
		if origin.Initial, err = json.Marshal(s.initial.Compacted()); err != nil {
			return persist.Generation{}, err
		}
	}
	g := persist.Generation{
		Fixtures: fx,
		Start:    persist.Start{At: now, Mode: string(s.clock.Mode()), Scale: s.clock.Scale()},
		TokenKey: s.rec.tokenKey,
		LinkKey:  s.rec.linkKey,
	}
	rec, _, err := record(changeOrigin, now, origin)
	if err != nil {
		return persist.Generation{}, err
	}
	g.Records = append(g.Records, rec)
	if rules, last := s.faults.List(), s.faults.LastID(); len(rules) > 0 || last > 0 {
		snap := faultsChange{LastID: last}
		for i := range rules {
			snap.Rules = append(snap.Rules, faultChange{ID: rules[i].ID, Rule: &rules[i]})
		}
		if rec, _, err = record(changeFaults, now, snap); err != nil {
			return persist.Generation{}, err
		}
		g.Records = append(g.Records, rec)
	}
	return g, nil
}

// inGeneration runs apply, a change that replaces the whole state (a
// reset, fixtures loaded), and with a store starts a new generation of it
// holding the state apply leaves: the log starts over from it. It returns
// once the generation is durable; a store that cannot keep it makes an
// error wrapping errNotDurable.
func (s *Server) inGeneration(apply func() error) error {
	return s.inGenerationWith(func() (string, any, error) { return "", nil, apply() }, nil)
}

// inGenerationWith is inGeneration for a change that begins the new log
// with a record of its own: apply returns its kind and data ("" for
// none), recorded at the clock's time after the generation's first
// records; then (when not nil) runs once apply succeeded and the
// generation is made, before it is durable, under the recorder's lock (a
// scenario's events at 0, which need no record of their own).
func (s *Server) inGenerationWith(apply func() (kind string, data any, err error), then func()) error {
	if s.rec == nil {
		if _, _, err := apply(); err != nil {
			return err
		}
		if then != nil {
			then()
		}
		return nil
	}
	p, err := s.rec.begin(func() (persist.Generation, error) {
		kind, data, err := apply()
		if err != nil {
			return persist.Generation{}, err
		}
		g, err := s.generation()
		if err == nil && kind != "" {
			var rec persist.Record
			if rec, _, err = record(kind, s.clock.Now(), data); err == nil {
				g.Records = append(g.Records, rec)
			}
		}
		if err != nil {
			return g, fmt.Errorf("%w: %w", errNotDurable, err)
		}
		if then != nil {
			then()
		}
		return g, nil
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

// replay applies the store's log on the manual clock, each record at its
// instant, then puts the clock where, and as, it was (Options.DataClock).
func (s *Server) replay(ps *persistStart) error {
	// Reset goes back to the generation's start, unless its origin
	// record says otherwise.
	s.startMode, s.startScale = ps.mode, ps.scale
	var last time.Time
	n := 0
	err := ps.store.Replay(func(r persist.Record) error {
		switch {
		case r.Fired.IsZero(): // not known (a record of format 1)
			s.clock.AdvanceTo(r.At)
		case r.Fired.Before(r.At):
			// The timers due after Fired had not fired yet when the
			// change was made (a real clock fires a little late): they
			// stay pending past it, and fire at the next record's
			// AdvanceTo, each at its due instant.
			s.clock.AdvanceTo(r.Fired)
			s.clock.JumpTo(r.At)
		default:
			// The change's instant is earlier than what had fired: a
			// submit's is its action's creation time, cut to the
			// service's 100 ns. What had fired by then fires first.
			s.clock.AdvanceTo(r.Fired)
		}
		last = r.At
		n++
		return s.apply(r, ps)
	})
	if err != nil {
		return err
	}
	s.rec.logLen = n
	to := last
	mark := ps.held.Mark
	if mark.Emulated.After(to) {
		to = mark.Emulated
	}
	if s.opts.DataClock == DataClockCatchUp && ps.mode == clock.Real && !mark.Wall.IsZero() {
		if down := clock.Wall().Sub(mark.Wall); down > 0 {
			to = mark.Emulated.Add(time.Duration(float64(down) * max(ps.scale, 0)))
		}
	}
	s.clock.AdvanceTo(to)
	if err := s.restoreMarked(ps); err != nil {
		return err
	}
	s.clock.SetScale(ps.scale)
	s.clock.SetMode(ps.mode)
	s.log.Info("emulator: state restored", "file", ps.store.Path(), "changes", n, "clock", s.clock.Now().Format(time.RFC3339Nano))
	return nil
}

// markClock keeps the clock's reading and the rate-limit windows in the
// store every markEvery until the emulator closes. A mark is queued with
// the changes, in order (a full queue skips one).
func (s *Server) markClock(st *persist.Store) {
	for clock.SleepWall(s.serving, markEvery) == nil {
		s.rec.mu.Lock()
		_, _ = st.MarkQueued(s.mark())
		s.rec.mu.Unlock()
	}
}

// closePersist keeps the clock's last reading and closes the store.
func (s *Server) closePersist() {
	if s.rec == nil {
		return
	}
	st := s.rec.store
	s.rec.mu.Lock() // no change starts past this point
	defer s.rec.mu.Unlock()
	_ = st.MarkClock(s.mark())
	_ = st.Close()
}

// close closes the store of a New that failed; nil does nothing.
func (ps *persistStart) close() {
	if ps != nil {
		_ = ps.store.Close()
	}
}
