package state

import (
	"cmp"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/guid"
	"github.com/mdelive/mde-emulator/internal/limits"
)

// Tenant is one tenant's Defender data.
type Tenant struct {
	ID   string
	Name string

	store    *Store
	gen      uint64    // the Load that made the tenant
	start    time.Time // what the machines' seen times left out are relative to (fixture.Machine.SeenTimes)
	sessions *limits.Sessions
	machines map[string]*Machine // by lower-case id
	byName   map[string]*Machine // by lower-case computer name
	order    []*Machine          // the listed machines
	fleet    *fleet              // the generated machines; nil: none
	groups   map[int64]*DeviceGroup
	users    map[string]*User // by lower-case object id
	library  *Library
	storage  *storage // the bytes of file content it holds (storage.go); Restore counts it afresh
	// settings are the tenant's live response switches and its devices'
	// limits (fixture liveResponse; read only).
	settings fixture.LiveResponseSettings
	// undeclared is what a RunScript of a library file the fixture does
	// not declare does, its placeholders not yet expanded.
	undeclared fixture.Behavior
	// wrapOutput gives PowerShell scripts on Windows machines the
	// service's transcript header and trailing NULs (wrapScriptOutput).
	wrapOutput bool

	done *finishedQueue // the world's finished actions, for Retention

	origin *Origin // how AddTenant made the tenant; nil: from the fixtures (tenants.go)

	mu      sync.RWMutex
	removed bool       // RemoveTenant removed it: no action is made in it any more
	seq     uint64     // the seq of the last action made
	actions actionList // every kept action, in creation order
	// ids makes the ids of its actions, which carry their seq (seqMixer):
	// such an id finds its action in actions by seq. byID finds a kept
	// action whose id is a GUID it did not make (a replay's, a
	// scenario's): the seq of the action; otherIDs one whose id is not a
	// GUID, lower case. Numbers, not pointers: the collector neither scans
	// them nor follows pointers to the actions.
	ids      seqMixer
	byID     map[[16]byte]uint64
	otherIDs map[string]uint64
	// gens is, by number, the kept actions of each generated machine that
	// has any (genList: their seqs in actions), newest the live one if it
	// is not final: a listed machine keeps its own (Machine.actions), a
	// generated one has no *Machine for its actions (Action.machine).
	gens genIndex
	// gtexts are the texts of the generated machines in gens, by block
	// (genTextBlock): the blocks their actions keep (Action.gblock).
	gtexts map[uint32]*genTextBlock

	// slab is where all its actions are made (newAction), submitted or
	// restored, and the table its lists and step queue find them through
	// by place (actionRef): memory, not state a snapshot keeps.
	slab actionSlab

	// steps are the live actions' pending lifecycle steps. Not in a
	// Snapshot as such: each live action's step is (Action.step), and
	// Restore queues them again.
	steps stepQueue
}

// newTenant returns the tenant ft of s's Load number gen, in the world w
// (whose session counter and finished actions it shares).
func newTenant(s *Store, w *world, gen uint64, ft *fixture.Tenant) *Tenant {
	t := &Tenant{
		ID:       strings.ToLower(ft.ID),
		Name:     ft.Name,
		store:    s,
		gen:      gen,
		start:    s.start,
		sessions: w.sessions,
		done:     w.finished,
		machines: make(map[string]*Machine, len(ft.Machines)),
		byName:   make(map[string]*Machine, namesOf(ft.Machines)),
		groups:   map[int64]*DeviceGroup{},
		users:    make(map[string]*User, len(ft.Users)),
		storage:  newStorage(w.storage),
		ids:      newSeqMixer(strings.ToLower(ft.ID)),
		byID:     map[[16]byte]uint64{},
		settings: ft.LiveResponse,

		undeclared: fixture.DefaultUndeclaredScripts(),
		wrapOutput: ft.WrapScriptOutput == nil || *ft.WrapScriptOutput,
	}
	t.library = newLibrary(t.storage)
	t.steps.init(t, s.clock)
	if ft.UndeclaredScripts != nil {
		t.undeclared = *ft.UndeclaredScripts
	}
	for _, g := range ft.DeviceGroups {
		t.groups[g.ID] = &DeviceGroup{ID: g.ID, Name: g.Name, remediationLevel: g.RemediationLevel}
	}
	for j := range ft.Users {
		u := newUser(ft, &ft.Users[j])
		t.users[u.ObjectID] = u
	}
	for j := range ft.Machines {
		t.addMachine(newMachine(t, &ft.Machines[j]))
	}
	t.fleet = newFleet(ft)
	for _, lf := range ft.Library {
		f := libraryFileFrom(lf)
		f.listed = true
		t.library.files[strings.ToLower(lf.FileName)] = f
		t.storage.addLocked(f.storageBytes()) // not shared yet: no lock needed
	}
	return t
}

// namesOf returns how many names addMachine may index for machines: the
// computer names, and the short names of those with a dot.
func namesOf(machines []fixture.Machine) int {
	n := len(machines)
	for i := range machines {
		if strings.Contains(machines[i].ComputerDNSName, ".") {
			n++
		}
	}
	return n
}

// addMachine indexes m by id and by computer name; its short name (before
// the first dot) too, unless another machine has it already.
func (t *Tenant) addMachine(m *Machine) {
	t.machines[m.id] = m
	name := strings.ToLower(m.name)
	t.byName[name] = m
	if short, _, ok := strings.Cut(name, "."); ok {
		if _, taken := t.byName[short]; !taken {
			t.byName[short] = m
		}
	}
	t.order = append(t.order, m)
}

// Generation returns the number of the Store.Load that made t. A Load
// makes every tenant anew: a tenant of a later Load is another tenant,
// even with the same id, and knows nothing of the earlier one's actions.
func (t *Tenant) Generation() uint64 { return t.gen }

// Library returns the tenant's live response library.
func (t *Tenant) Library() *Library { return t.library }

// Sessions returns how many live response sessions are open in t.
func (t *Tenant) Sessions() int { return t.sessions.Active(t.ID) }

// Machine finds a machine by id or by computer name, case-insensitively:
// a listed machine first (its id, its computer name, then its short name),
// then a generated one.
func (t *Tenant) Machine(key string) (*Machine, error) {
	if m := t.listed(key); m != nil {
		return m, nil
	}
	if i := t.fleet.idNumber(key); i > 0 {
		return t.fleet.machine(t, i), nil
	}
	if i := t.fleet.nameNumber(key); i > 0 {
		return t.fleet.machine(t, i), nil
	}
	return nil, apierr.New(apierr.ResourceNotFound, "Machine %s was not found", key)
}

// listed returns the listed machine whose id or computer name, full or
// short, is key (any case), or nil.
func (t *Tenant) listed(key string) *Machine {
	if m, ok := t.machines[key]; ok {
		return m
	}
	lower := strings.ToLower(key)
	if m, ok := t.machines[lower]; ok {
		return m
	}
	return t.byName[lower]
}

// machineWithID returns the machine whose id is id (any case), or nil. A
// generated machine that nothing has looked up yet is made when create
// is true (the machines a snapshot names), and not found otherwise: it has no
// action and no file.
func (t *Tenant) machineWithID(id string, create bool) *Machine {
	id = strings.ToLower(id) // ids are lower case (newMachine)
	if m, ok := t.machines[id]; ok {
		return m
	}
	i := t.fleet.idNumber(id)
	switch {
	case i == 0:
		return nil
	case create:
		return t.fleet.machine(t, i)
	default:
		return t.fleet.madeMachine(i)
	}
}

// MachineCount returns how many machines t has, listed and generated.
func (t *Tenant) MachineCount() int { return len(t.order) + t.fleet.size() }

// Machines yields every machine of t, in fixture order (the listed ones,
// then the generated ones), for reading: a generated machine that nothing
// has looked up yet is yielded as a copy t does not keep, so changing it
// changes nothing. Machine finds one to change.
func (t *Tenant) Machines() iter.Seq[*Machine] {
	return func(yield func(*Machine) bool) {
		for _, m := range t.order {
			if !yield(m) {
				return
			}
		}
		for i := len(t.order); i < t.MachineCount(); i++ {
			if !yield(t.MachineAt(i)) {
				return
			}
		}
	}
}

// MachineAt returns t's machine number i in fixture order (0 to
// MachineCount-1), for reading as Machines yields it.
func (t *Tenant) MachineAt(i int) *Machine {
	if i < len(t.order) {
		return t.order[i]
	}
	return t.fleet.peek(t, i-len(t.order)+1)
}

// madeMachines returns t's machines that exist as *Machine: the listed
// ones and the generated ones something has looked up. The others are
// as their fixture makes them.
func (t *Tenant) madeMachines() []*Machine {
	ms := slices.Clone(t.order)
	for i := 1; i <= t.fleet.size(); i++ {
		if m := t.fleet.madeMachine(i); m != nil {
			ms = append(ms, m)
		}
	}
	return ms
}

// DeviceGroup returns the device group with id.
func (t *Tenant) DeviceGroup(id int64) (*DeviceGroup, bool) {
	g, ok := t.groups[id]
	return g, ok
}

// Action returns the action with id.
func (t *Tenant) Action(id string) (*Action, error) {
	t.mu.RLock()
	a := t.actionLocked(id)
	t.mu.RUnlock()
	if a == nil {
		return nil, apierr.New(apierr.ResourceNotFound, "Machine action %s was not found", id)
	}
	return a, nil
}

// actionLocked returns the kept action with id (any case), or nil. Call
// it with t.mu held.
func (t *Tenant) actionLocked(id string) *Action {
	key, isGUID := guid.Parse(id)
	if !isGUID || key == ([16]byte{}) {
		if seq, ok := t.otherIDs[strings.ToLower(id)]; ok {
			return t.actions.withSeq(seq)
		}
		return nil
	}
	// key is not zero: an action with an id that is not a GUID has a
	// zero key, so the match is one with this GUID as its id.
	if a := t.actions.withSeq(t.ids.seqOf(key)); a != nil && a.key == key {
		return a
	}
	if seq, ok := t.byID[key]; ok {
		return t.actions.withSeq(seq)
	}
	return nil
}

// indexLocked notes that a, kept in t.actions, has its id; unindexLocked
// forgets it. An id t made carries a's seq, and needs no entry. Call them
// with t.mu held.
func (t *Tenant) indexLocked(a *Action) {
	switch {
	case a.shape.oddID != "":
		if t.otherIDs == nil {
			t.otherIDs = map[string]uint64{}
		}
		t.otherIDs[a.shape.oddID] = a.seq
	case t.ids.seqOf(a.key) != a.seq:
		t.byID[a.key] = a.seq
	}
}

func (t *Tenant) unindexLocked(a *Action) {
	switch {
	case a.shape.oddID != "":
		delete(t.otherIDs, a.shape.oddID)
	case t.ids.seqOf(a.key) != a.seq:
		delete(t.byID, a.key)
	}
}

// Actions returns snapshots of t's actions, newest first.
func (t *Tenant) Actions() []ActionView { return t.ActionsFor(Caller{}) }

// ActionsOnFor returns snapshots of the actions the caller sees on the
// machines whose ids are, ignoring case as $filter does, one of ids,
// newest first: ActionsFor's list restricted to those machines, read from
// the tenant's index of actions by machine without reading the others.
func (t *Tenant) ActionsOnFor(c Caller, ids []string) []ActionView {
	return views(t.ActionRefsOnFor(c, ids))
}

// ActionRefsOnFor is ActionsOnFor's list, the actions themselves: a
// caller that reads only some of them (a page) takes a snapshot of those
// (Action.View) and of no other.
func (t *Tenant) ActionRefsOnFor(c Caller, ids []string) []*Action {
	var ms []*Machine
	var nums []uint32 // generated machines'
	for _, id := range ids {
		if m := t.machines[strings.ToLower(id)]; m != nil {
			if c.sees(m) && !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		} else if n := uint32(t.fleet.idNumber(id)); n > 0 && c.seesInfo(t.fleet.shared) && !slices.Contains(nums, n) {
			nums = append(nums, n)
		}
	}
	var list []*Action
	t.mu.RLock()
	for _, m := range ms {
		list = m.actions.appendNewestFirst(list)
	}
	for _, n := range nums {
		l := t.gens.get(n)
		list = l.appendNewestFirst(list, &t.actions)
	}
	t.mu.RUnlock()
	if len(ms)+len(nums) > 1 {
		slices.SortFunc(list, func(a, b *Action) int { return cmp.Compare(b.seq, a.seq) })
	}
	return list
}

// newestOnLocked returns the newest kept action of the listed machine m
// or, with n over 0, of the generated machine number n; nil for none.
// An action is never forgotten while live and a machine takes one at a
// time, so the machine is busy exactly when this one is not final. Call
// it with t.mu held.
func (t *Tenant) newestOnLocked(m *Machine, n uint32) *Action {
	if n > 0 {
		l := t.gens.get(n)
		return t.actions.withSeq(l.newest())
	}
	return m.actions.newest()
}

// views returns the snapshots of list, in its order.
func views(list []*Action) []ActionView {
	out := make([]ActionView, len(list))
	for i, a := range list {
		out[i] = a.View()
	}
	return out
}

// addLocked keeps a, a new action, in t. Call it with t.mu held.
func (t *Tenant) addLocked(a *Action) {
	t.seq++
	a.seq = t.seq
	if a.key == ([16]byte{}) && a.shape.oddID == "" {
		a.key = t.ids.newKey(a.seq) // a new action, whose id t makes
	}
	t.actions.add(a, &t.slab)
	t.indexLocked(a)
	if a.gen == 0 {
		a.machine.actions.add(a, &t.slab)
		return
	}
	l := t.gens.get(a.gen)
	a.gblock = t.genTextLocked(a.gen)
	if l.live() == 0 {
		t.holdGenTextLocked(a.gen)
	}
	l.add(a.seq)
	t.gens.set(a.gen, l)
}

// removeLocked forgets a: from then on it answers as an action that never
// existed. Call it with t.mu held.
func (t *Tenant) removeLocked(a *Action) {
	if !t.actions.remove(a) {
		return
	}
	t.unindexLocked(a)
	if a.gen == 0 {
		a.machine.actions.remove(a)
	} else if l := t.gens.get(a.gen); l.remove(a.seq) {
		t.gens.set(a.gen, l) // an empty list forgets the number: gens holds the numbers with kept actions only
		if l.live() == 0 {
			t.releaseGenTextLocked(a.gen)
		}
	}
	for i := range a.commandCount() {
		if r := a.state(i).result; r != nil && r.held != nil {
			t.storage.release(r.held)
		}
	}
}
