package state

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Restore makes the store's state the one snap holds. Call it on a store
// just loaded from the fixtures the snapshot's store was loaded from, with
// the clock standing at snap.At and nothing else running on the store:
// it adds the tenants AddTenant had made, puts back every kept action
// with its results, the machines, device groups, libraries, the profile
// and the retention queue, takes the sessions of the actions that held
// one, and schedules each live action's pending step again at its
// instant, so that it goes on as it would have.
func (s *Store) Restore(snap *Snapshot) error {
	if snap == nil {
		return errors.New("state: restore: no snapshot")
	}
	if now := s.clock.Now(); !now.Equal(snap.At) {
		return fmt.Errorf("state: restore: the clock stands at %s, the snapshot was taken at %s", now.Format(timeLayout), snap.At.Format(timeLayout))
	}
	// The sessions the actions held are taken again whatever the cap
	// (a setProfile may have lowered it since they were taken).
	unlimited := snap.Profile
	unlimited.Unlimited = true
	s.SetProfile(unlimited)
	for i := range snap.Tenants {
		ts := &snap.Tenants[i]
		if c := ts.Created; c != nil {
			if c.Fixture == nil {
				return fmt.Errorf("state: restore: tenant %s was created without its fixture", ts.ID)
			}
			t, err := s.AddTenant(c.Fixture, c.Template)
			if err != nil {
				return fmt.Errorf("state: restore: %w", err)
			}
			t.origin.Created = c.At
		}
	}
	var steps []restoredStep
	for i := range snap.Tenants {
		ts := &snap.Tenants[i]
		t, ok := s.Tenant(ts.ID)
		if !ok {
			return fmt.Errorf("state: restore: no tenant %s in the fixtures", ts.ID)
		}
		var err error
		if steps, err = t.restore(snap, ts, steps); err != nil {
			return fmt.Errorf("state: restore: tenant %s: %w", ts.ID, err)
		}
	}
	if err := s.restoreFinished(snap.Finished); err != nil {
		return err
	}
	s.SetProfile(snap.Profile)
	// Steps due at the same instant fire in the order they were
	// scheduled, as they would have.
	slices.SortFunc(steps, func(x, y restoredStep) int {
		if c := x.st.due.Compare(y.st.due); c != 0 {
			return c
		}
		return cmp.Compare(x.st.order, y.st.order)
	})
	for _, r := range steps {
		a := r.a
		a.mu.Lock()
		a.tenant().at(a, r.st)
		a.mu.Unlock()
	}
	return nil
}

// timeLayout writes instants in Restore's errors.
const timeLayout = "2006-01-02T15:04:05.999999999Z07:00"

// restoredStep is a live action's pending step, to schedule once the
// whole state is back.
type restoredStep struct {
	a  *Action
	st pendingStep
}

// restore puts ts's actions, machines, groups and library in t, and
// appends the pending steps of its live actions to steps.
func (t *Tenant) restore(snap *Snapshot, ts *TenantSnapshot, steps []restoredStep) ([]restoredStep, error) {
	for _, gs := range ts.Groups {
		g, ok := t.groups[gs.ID]
		if !ok {
			return steps, fmt.Errorf("no device group %d", gs.ID)
		}
		g.setRemediationLevel(gs.RemediationLevel)
	}
	files := make(map[string]*LibraryFile, len(ts.Library))
	for _, f := range ts.Library {
		if f == nil || f.FileName == "" {
			return steps, errors.New("a library file without a name")
		}
		if f.Content == nil {
			f.Content = []byte{}
		}
		files[strings.ToLower(f.FileName)] = f
	}
	t.library.mu.Lock()
	t.library.files = files
	t.library.mu.Unlock()
	// The library is counted afresh before the machines, whose queued
	// outcomes count on top of it.
	t.recountStorage()
	for i := range ts.Machines {
		if err := t.restoreMachine(snap, &ts.Machines[i]); err != nil {
			return steps, err
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.actions.live > 0 {
		return steps, errors.New("the tenant has actions already")
	}
	for i := range ts.Actions {
		as := &ts.Actions[i]
		a, st, err := t.restoreAction(snap, as)
		if err != nil {
			return steps, fmt.Errorf("action %s: %w", as.ID, err)
		}
		if n := len(t.actions.entries); n > 0 && t.actions.entries[n-1].seq >= a.seq {
			return steps, fmt.Errorf("action %s: seq %d out of order", as.ID, a.seq)
		}
		if a.seq > ts.Seq {
			return steps, fmt.Errorf("action %s: seq %d over the tenant's %d", as.ID, a.seq, ts.Seq)
		}
		t.seq = a.seq - 1
		prev := t.newestOnLocked(a.machine, a.gen) // the machine's newest action before a
		t.addLocked(a)
		if a.status.final() {
			continue
		}
		if prev != nil && !prev.status.final() {
			return steps, fmt.Errorf("machine %s has two live actions", a.MachineID())
		}
		if a.session {
			if ok, _ := t.acquireSession(a); !ok {
				return steps, errors.New("its session could not be taken again")
			}
		}
		if st != nil {
			steps = append(steps, restoredStep{a: a, st: *st})
		}
	}
	t.seq = ts.Seq
	return steps, nil
}

// restoreMachine puts the machine state ms back.
func (t *Tenant) restoreMachine(snap *Snapshot, ms *MachineSnapshot) error {
	m := t.machineWithID(ms.ID, true)
	if m == nil {
		return fmt.Errorf("no machine %s", ms.ID)
	}
	m.online.Store(ms.Online)
	m.mu.Lock()
	m.offlineSince = ms.OfflineSince
	m.mu.Unlock()
	m.filesMu.Lock()
	for _, f := range ms.Files {
		content, err := snap.content(f.Content)
		if err != nil {
			m.filesMu.Unlock()
			return fmt.Errorf("machine %s, file %s: %w", ms.ID, f.Path, err)
		}
		if m.files == nil {
			m.files = map[string]machineFile{}
		}
		m.files[m.fileKey(f.Path)] = machineFile{path: f.Path, content: content, size: f.Size}
	}
	m.filesMu.Unlock()
	m.ClearOutcomes()
	if len(ms.Outcomes) > 0 {
		return m.queueOutcomes(slices.Clone(ms.Outcomes), true)
	}
	return nil
}

// restoreAction builds the action as, and its pending step (nil: none).
func (t *Tenant) restoreAction(snap *Snapshot, as *ActionSnapshot) (*Action, *pendingStep, error) {
	m, num := t.machines[strings.ToLower(as.Machine)], 0
	if m == nil {
		if num = t.fleet.idNumber(as.Machine); num == 0 {
			return nil, nil, fmt.Errorf("no machine %s", as.Machine)
		}
	}
	status, ok := parseActionStatus(as.Status)
	if !ok {
		return nil, nil, fmt.Errorf("unknown status %q", as.Status)
	}
	cmds := make([]Command, len(as.Commands))
	for i, cs := range as.Commands {
		if _, ok := commandRank[cs.Command.Type]; !ok {
			return nil, nil, fmt.Errorf("command %d: unknown type %q", i, cs.Command.Type)
		}
		cmds[i] = cs.Command
	}
	a := newAction(&t.slab, t.slab.shape(as.Requestor, as.User, as.Comment, cmds), t.store.clock.Now().UnixNano())
	a.seq, a.machine, a.gen = as.Seq, m, uint32(num)
	a.created, a.status, a.lastUpdate = as.Created.UnixNano(), status, as.LastUpdate.UnixNano()
	a.settling, a.session = as.Settling, as.Session
	a.setID(as.ID)
	if c := as.Cancel; c != nil {
		a.extraLocked().cancel = &cancellation{by: c.By, note: c.Note, at: c.At.UTC()}
	}
	for i, cs := range as.Commands {
		cstatus, ok := parseCommandStatus(cs.Status)
		if !ok {
			return nil, nil, fmt.Errorf("command %d: unknown status %q", i, cs.Status)
		}
		result, err := cs.Result.result(snap)
		if err != nil {
			return nil, nil, fmt.Errorf("command %d: %w", i, err)
		}
		*a.state(i) = commandState{status: cstatus, start: nanosOf(cs.Start), end: nanosOf(cs.End), result: result}
		if cs.Fail != "" {
			a.setFail(i, cs.Fail)
		}
	}
	if a.status.final() || as.Next == nil {
		return a, nil, nil
	}
	n := as.Next
	i := slices.Index(stepNames[:], n.Kind)
	if i <= int(stepNone) {
		return nil, nil, fmt.Errorf("unknown step %q", n.Kind)
	}
	kind := stepKind(i)
	result, err := n.Result.result(snap)
	if err != nil {
		return nil, nil, fmt.Errorf("step: %w", err)
	}
	st := &pendingStep{kind: kind, due: n.Due.UTC(), order: n.Order, fail: n.Fail, timeout: n.Timeout, result: result}
	if kind == stepCommandEnd {
		if n.Index < 0 || n.Index >= a.commandCount() {
			return nil, nil, fmt.Errorf("step of command %d, of %d", n.Index, a.commandCount())
		}
		st.index = int32(n.Index) // under a.commandCount(), which a request's bounded body keeps far below 2³¹
	}
	if n.PutFile != "" {
		content, err := snap.content(n.PutContent)
		if err != nil {
			return nil, nil, fmt.Errorf("step's put file: %w", err)
		}
		if content == nil {
			content = []byte{}
		}
		st.put = &LibraryFile{FileName: n.PutFile, Content: content}
	}
	return a, st, nil
}

// result returns the Result r holds, its file from snap's contents; nil
// for none.
func (r *ResultSnapshot) result(snap *Snapshot) (*Result, error) {
	if r == nil {
		return nil, nil
	}
	file, err := snap.content(r.File)
	if err != nil {
		return nil, err
	}
	out := &Result{script: r.Script, file: file, path: r.Path, transcribe: r.TranscriptOf != ""}
	if out.script == nil && out.file == nil {
		out.file = []byte{}
	}
	return out, nil
}

// restoreFinished puts the retention queue back: entries, in finish
// order, name kept finished actions (or, without a tenant, stand for a
// removed tenant's). The age sweep is scheduled again.
func (s *Store) restoreFinished(entries []FinishedSnapshot) error {
	q := s.world.Load().finished
	var items chunkQueue[finishedEntry]
	for _, e := range entries {
		fe := finishedEntry{at: e.At.UnixNano()}
		if e.Tenant != "" {
			t, ok := s.Tenant(e.Tenant)
			if !ok {
				return fmt.Errorf("state: restore: finished action %s: no tenant %s", e.Action, e.Tenant)
			}
			a, err := t.Action(e.Action)
			if err != nil || !a.status.final() {
				return fmt.Errorf("state: restore: finished action %s is not a finished action of tenant %s", e.Action, e.Tenant)
			}
			fe.a = a
		}
		items.push(fe)
	}
	var bytes int64
	for fe := range items.all() {
		bytes += fe.a.keep()
	}
	q.mu.Lock()
	q.items, q.bytes = items, bytes
	q.mu.Unlock()
	q.apply(s.clock.Now(), true)
	return nil
}
