package state

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/limits"
)

// Snapshot is everything in a Store that can change after Load, as JSON:
// with the fixtures the store was loaded from, Restore rebuilds the same
// state, live actions going on from where they stood. A store that keeps
// its state on disk (--data) starts a new generation of its log from one,
// so that the log holds the state plus the changes since, and what
// Retention forgot is gone from the disk too.
//
// It holds, per tenant: every kept action, live and finished, in list
// order with its sequence number (id, requestor, machine, comment,
// commands with their status, start, end, failure text and result, the
// cancellation, lastUpdate, whether it is settling or holds a session,
// the user who started it) and, for a live one, its pending lifecycle
// step as data (what it does, when, and for a command's end the outcome
// decided when it started: failure, timeout, result, the file a PutFile
// drops); the tenant's action counter; the device groups' remediation
// levels; the machines whose state is not the fixture's (online, when
// they went offline, files PutFile left, next outcomes queued); the whole
// library with its metadata; the tenants AddTenant made, with their
// fixture. Store-wide: the profile in force (a scenario's setProfile
// changes it) and the retention queue (the finished actions in finish
// order, with their finish instants).
//
// Left out, on purpose:
//   - what the fixtures give and nothing changes (machines' static
//     fields, users and their roles, apps, settings, the undeclared-script
//     behaviour, the files a machine has from its fixture);
//   - the sessions and each machine's active action: Restore derives
//     them from the live actions (an action that holds a session takes
//     one again; a live action is its machine's active one);
//   - the retention bounds (Store.SetRetention): they are options of the
//     emulator, set again at its start;
//   - the indexes (by id, by machine, by name): rebuilt;
//   - timers and locks: Restore schedules each pending step again at its
//     instant, steps due at the same instant in the order they were
//     scheduled (pendingStep.order);
//   - tenants RemoveTenant removed (and so their removed flag, false in
//     every tenant a snapshot holds): nothing reaches them any more. Their
//     finished actions still count in the retention queue until
//     forgotten, so they are kept there as entries without an action.
type Snapshot struct {
	// At is the emulated instant of the snapshot; Restore runs with the
	// clock standing there.
	At      time.Time      `json:"at"`
	Profile limits.Profile `json:"profile"`
	// Tenants are the store's tenants, in the store's order.
	Tenants []TenantSnapshot `json:"tenants"`
	// Finished is the retention queue, in finish order.
	Finished []FinishedSnapshot `json:"finished,omitempty"`
	// Contents holds once each run of bytes the results and files below
	// hold, which they refer to by a ContentRef. In memory they share
	// their bytes (a GetFile result is the machine's file, a PutFile's
	// the library file's): written out with each action, one evidence
	// file collected by a class thousands of times would be thousands of
	// copies, and compaction would write (and hold) gigabytes.
	Contents [][]byte `json:"contents,omitempty"`
}

// ContentRef is a run of bytes of a Snapshot: 0 none (nil), -1 empty,
// k > 0 the Snapshot's Contents[k-1].
type ContentRef int

// contentTable makes the ContentRefs of a Snapshot being taken: bytes
// shared in memory (the same backing array and length) get one.
type contentTable struct {
	snap  *Snapshot
	index map[contentKey]ContentRef
}

// contentKey is a run of bytes by identity: where it starts, how long.
type contentKey struct {
	first *byte
	n     int
}

// ref returns b's ContentRef, adding b to the Contents once.
func (ct *contentTable) ref(b []byte) ContentRef {
	switch {
	case b == nil:
		return 0
	case len(b) == 0:
		return -1
	}
	k := contentKey{&b[0], len(b)}
	if r, ok := ct.index[k]; ok {
		return r
	}
	ct.snap.Contents = append(ct.snap.Contents, b)
	r := ContentRef(len(ct.snap.Contents))
	ct.index[k] = r
	return r
}

// content returns the bytes of r in s.
func (s *Snapshot) content(r ContentRef) ([]byte, error) {
	switch {
	case r == 0:
		return nil, nil
	case r == -1:
		return []byte{}, nil
	case r > 0 && int(r) <= len(s.Contents):
		return s.Contents[r-1], nil
	}
	return nil, fmt.Errorf("content %d of %d", r, len(s.Contents))
}

// Actions returns how many actions s holds, over all its tenants.
func (s *Snapshot) Actions() int {
	n := 0
	for i := range s.Tenants {
		n += len(s.Tenants[i].Actions)
	}
	return n
}

// TenantSnapshot is one tenant in a Snapshot.
type TenantSnapshot struct {
	ID string `json:"id"`
	// Created is how AddTenant made the tenant; nil for a tenant of the
	// fixtures. Its fixture holds secrets, as the store's log does.
	Created  *CreatedSnapshot  `json:"created,omitempty"`
	Seq      uint64            `json:"seq"`
	Actions  []ActionSnapshot  `json:"actions,omitempty"`
	Groups   []GroupSnapshot   `json:"groups,omitempty"`
	Machines []MachineSnapshot `json:"machines,omitempty"`
	// Library is the whole library, ordered by name.
	Library []*LibraryFile `json:"library"`
}

// CreatedSnapshot is a tenant's Origin.
type CreatedSnapshot struct {
	Template string          `json:"template"`
	At       time.Time       `json:"at"`
	Fixture  *fixture.Tenant `json:"fixture"`
}

// GroupSnapshot is a device group's remediation level.
type GroupSnapshot struct {
	ID               int64  `json:"id"`
	RemediationLevel string `json:"remediationLevel"`
}

// MachineSnapshot is what changed on a machine since the fixtures.
type MachineSnapshot struct {
	ID     string `json:"id"`
	Online bool   `json:"online"`
	// OfflineSince is when it last went offline, Unix nanoseconds (0:
	// never).
	OfflineSince int64 `json:"offlineSince,omitempty"`
	// Files are the files that are not as the fixture made them (those
	// PutFile left).
	Files    []MachineFileSnapshot `json:"files,omitempty"`
	Outcomes []Outcome             `json:"outcomes,omitempty"`
}

// MachineFileSnapshot is a file on a machine.
type MachineFileSnapshot struct {
	Path    string     `json:"path"`
	Content ContentRef `json:"content,omitempty"`
	Size    int64      `json:"size"`
}

// ActionSnapshot is one action in a Snapshot.
type ActionSnapshot struct {
	Seq        uint64            `json:"seq"`
	ID         string            `json:"id"`
	Machine    string            `json:"machine"`
	Requestor  string            `json:"requestor"`
	Comment    *string           `json:"comment,omitempty"`
	Created    time.Time         `json:"created"`
	Status     string            `json:"status"`
	LastUpdate time.Time         `json:"lastUpdate"`
	Cancel     *CancelSnapshot   `json:"cancel,omitempty"`
	Commands   []CommandSnapshot `json:"commands"`
	Settling   bool              `json:"settling,omitempty"`
	Session    bool              `json:"session,omitempty"`
	User       string            `json:"user,omitempty"`
	// Next is the pending lifecycle step of a live action.
	Next *StepSnapshot `json:"next,omitempty"`
}

// CancelSnapshot is who cancelled an action, why and when.
type CancelSnapshot struct {
	By   string    `json:"by"`
	Note string    `json:"note"`
	At   time.Time `json:"at"`
}

// CommandSnapshot is one command of an action and how it ran.
type CommandSnapshot struct {
	Command Command         `json:"command"`
	Status  string          `json:"status"`
	Start   time.Time       `json:"start,omitzero"`
	End     time.Time       `json:"end,omitzero"`
	Fail    string          `json:"fail,omitempty"`
	Result  *ResultSnapshot `json:"result,omitempty"`
}

// ResultSnapshot is a Result.
type ResultSnapshot struct {
	Script       *ScriptResult `json:"script,omitempty"`
	File         ContentRef    `json:"file,omitempty"`
	Path         string        `json:"path,omitempty"`
	TranscriptOf string        `json:"transcriptOf,omitempty"`
	Index        int           `json:"index,omitempty"`
}

// The kinds of a StepSnapshot.
const (
	StepPickup     = "pickup"
	StepExpiry     = "expiry"
	StepCommandEnd = "commandEnd"
	StepSettle     = "settle"
)

var stepNames = [...]string{stepPickup: StepPickup, stepExpiry: StepExpiry, stepCommandEnd: StepCommandEnd, stepSettle: StepSettle}

// StepSnapshot is the pending lifecycle step of a live action.
type StepSnapshot struct {
	Kind string    `json:"kind"`
	Due  time.Time `json:"due"`
	// Order places the step among those due at the same instant.
	Order uint64 `json:"order"`
	// Index, Fail, Timeout, Result and the put file are a command end's.
	Index      int             `json:"index,omitempty"`
	Fail       string          `json:"fail,omitempty"`
	Timeout    bool            `json:"timeout,omitempty"`
	Result     *ResultSnapshot `json:"result,omitempty"`
	PutFile    string          `json:"putFile,omitempty"`
	PutContent ContentRef      `json:"putContent,omitempty"`
}

// FinishedSnapshot is one entry of the retention queue: a finished action
// and the instant it finished. An entry of a removed tenant has no tenant
// nor action: it only counts.
type FinishedSnapshot struct {
	Tenant string    `json:"tenant,omitempty"`
	Action string    `json:"action,omitempty"`
	At     time.Time `json:"at"`
}

// Snapshot returns the store's state (see Snapshot). It must not run
// concurrently with a change or a lifecycle step: the emulator takes it
// from a clock callback (no step runs meanwhile) while no change is made
// (its recorder's lock). It only reads.
func (s *Store) Snapshot() (*Snapshot, error) {
	w := s.world.Load()
	snap := &Snapshot{At: s.clock.Now(), Profile: s.Profile()}
	ct := &contentTable{snap: snap, index: map[contentKey]ContentRef{}}
	for _, t := range w.order {
		snap.Tenants = append(snap.Tenants, t.snapshot(ct))
	}
	w.finished.mu.Lock()
	for e := range w.finished.items.all() {
		f := FinishedSnapshot{At: e.finishedAt()}
		if e.a != nil {
			if t := e.a.tenant(); w.tenants[t.ID] == t {
				f.Tenant, f.Action = t.ID, e.a.ID()
			}
		}
		snap.Finished = append(snap.Finished, f)
	}
	w.finished.mu.Unlock()
	return snap, nil
}

// snapshot returns t's part of a Snapshot.
func (t *Tenant) snapshot(ct *contentTable) TenantSnapshot {
	ts := TenantSnapshot{ID: t.ID}
	if o := t.origin; o != nil {
		ts.Created = &CreatedSnapshot{Template: o.Template, At: o.Created, Fixture: o.Fixture}
	}
	t.mu.RLock()
	ts.Seq = t.seq
	list := t.actions.appendNewestFirst(nil)
	t.mu.RUnlock()
	slices.Reverse(list)
	for _, a := range list {
		ts.Actions = append(ts.Actions, a.snapshot(ct))
	}
	ids := make([]int64, 0, len(t.groups))
	for id := range t.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		ts.Groups = append(ts.Groups, GroupSnapshot{ID: id, RemediationLevel: t.groups[id].RemediationLevel()})
	}
	for _, m := range t.madeMachines() {
		if ms, changed := m.snapshot(ct); changed {
			ts.Machines = append(ts.Machines, ms)
		}
	}
	t.library.mu.RLock()
	ts.Library = make([]*LibraryFile, 0, len(t.library.files))
	for _, f := range t.library.files {
		ts.Library = append(ts.Library, f)
	}
	t.library.mu.RUnlock()
	slices.SortFunc(ts.Library, func(a, b *LibraryFile) int {
		return strings.Compare(strings.ToLower(a.FileName), strings.ToLower(b.FileName))
	})
	return ts
}

// snapshot returns a's part of a Snapshot.
func (a *Action) snapshot(ct *contentTable) ActionSnapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := a.ID()
	as := ActionSnapshot{
		Seq: a.seq, ID: id, Machine: a.MachineID(), Requestor: a.shape.requestor, Comment: a.shape.comment,
		Created: unixTime(a.created), Status: a.status.String(), LastUpdate: unixTime(a.lastUpdate),
		Commands: make([]CommandSnapshot, a.commandCount()),
		Settling: a.settling, Session: a.session, User: a.shape.user,
	}
	if c := a.cancelled(); c != nil {
		as.Cancel = &CancelSnapshot{By: c.by, Note: c.note, At: c.at}
	}
	for i := range as.Commands {
		c := a.state(i)
		as.Commands[i] = CommandSnapshot{Command: a.command(i), Status: c.status.String(), Start: nanosTime(c.start), End: nanosTime(c.end), Fail: a.failOf(i), Result: c.result.snapshot(ct, id, i)}
	}
	if p, ok := a.tenant().steps.next(a); ok && p.kind != stepNone {
		st := &StepSnapshot{Kind: stepNames[p.kind], Due: p.due, Order: p.order, Index: int(p.index), Fail: p.fail, Timeout: p.timeout, Result: p.result.snapshot(ct, id, int(p.index))}
		if p.put != nil {
			st.PutFile, st.PutContent = p.put.FileName, ct.ref(p.put.Content)
		}
		as.Next = st
	}
	return as
}

// snapshot returns r, the result of command index of the action id, as a
// ResultSnapshot; nil for none.
func (r *Result) snapshot(ct *contentTable, id string, index int) *ResultSnapshot {
	if r == nil {
		return nil
	}
	r = r.boundTo(id, index)
	return &ResultSnapshot{Script: r.script, File: ct.ref(r.file), Path: r.path, TranscriptOf: r.transcriptOf, Index: r.index}
}

// snapshot returns what changed on m since its fixture; changed is false
// when nothing did.
func (m *Machine) snapshot(ct *contentTable) (ms MachineSnapshot, changed bool) {
	ms = MachineSnapshot{ID: m.id, Online: m.online.Load()}
	m.mu.Lock()
	ms.OfflineSince = m.offlineSince
	m.mu.Unlock()
	changed = ms.Online == m.info.Offline || ms.OfflineSince != 0
	m.filesMu.Lock()
	for key, f := range m.files {
		if !m.fixtureHas(key, f) {
			ms.Files = append(ms.Files, MachineFileSnapshot{Path: f.path, Content: ct.ref(f.content), Size: f.size})
		}
	}
	m.filesMu.Unlock()
	slices.SortFunc(ms.Files, func(a, b MachineFileSnapshot) int { return strings.Compare(a.Path, b.Path) })
	ms.Outcomes = m.Outcomes()
	if len(ms.Outcomes) == 0 {
		ms.Outcomes = nil
	}
	return ms, changed || len(ms.Files) > 0 || len(ms.Outcomes) > 0
}

// fixtureHas reports whether the machine's fixture makes the file f at
// key, as it is (newMachine: the last of the fixture's files at a key is
// the one kept).
func (m *Machine) fixtureHas(key string, f machineFile) bool {
	for _, ff := range slices.Backward(m.info.Files) {
		if m.fileKey(ff.Path) != key {
			continue
		}
		want := fileOf(ff)
		return want.path == f.path && want.size == f.size && bytes.Equal(want.content, f.content)
	}
	return false
}
