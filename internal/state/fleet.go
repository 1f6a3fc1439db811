package state

import (
	"encoding/hex"
	"sync"
	"sync/atomic"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// fleet is a tenant's generated machines (fixture.Tenant.Generate),
// numbered 1 to n. A generated machine nothing has happened to is wholly
// derived from its number (fixture.Tenant.GeneratedMachine), so it is
// made into a *Machine only when something needs one: a lookup by id or
// name of the API or the control plane, a change of its connection,
// files or outcomes, a restore. Its actions do not: a submit finds the
// number (Tenant.machineRefFor), and the actions are kept by it
// (Tenant.gens, Action.gen). Until then the fleet holds for it an entry
// in a map and a slice with no pointers, and a nil slot: the collector
// neither scans nor marks a machine never touched.
// 400,000 generated machines kept as fixture machines were 250 MB of
// pointer-rich memory marked on every cycle, most of the live heap of a
// big fleet under load (docs/performance.md).
type fleet struct {
	tenant fixture.Tenant      // the tenant's id, name and Generate: what its machines derive from (Machines nil)
	shared *fixture.Machine    // the fields every generated machine has alike (its own strings empty)
	domain string              // of the machines' computer names (fixture.GeneratedDomain)
	ids    map[[20]byte]uint32 // id → number
	idOf   [][20]byte          // number-1 → id
	made   []atomic.Pointer[Machine]
	mu     sync.Mutex // serialises making a machine
	// locks serialise, by number (lock), a submit on a machine and a
	// change of its connection: what a made machine's mu does for a
	// listed one.
	locks [256]sync.Mutex
}

// lock returns the lock of f's machine number i.
func (f *fleet) lock(i int) *sync.Mutex { return &f.locks[uint(i)%uint(len(f.locks))] }

// text returns the id (40 hex digits) and the computer name of f's
// machine number i, in one string.
func (f *fleet) text(i int) string {
	var buf [80]byte
	return string(f.appendText(buf[:0], i))
}

// appendText appends to b the text of f's machine number i (text).
func (f *fleet) appendText(b []byte, i int) []byte {
	b = hex.AppendEncode(b, f.idOf[i-1][:])
	return fixture.AppendGeneratedName(b, f.domain, i)
}

// idName returns the id and the computer name of f's machine number i,
// cut from one string (text).
func (f *fleet) idName(i int) (id, name string) {
	text := f.text(i)
	return text[:40], text[40:]
}

// id returns the id of f's machine number i.
func (f *fleet) id(i int) string { return hex.EncodeToString(f.idOf[i-1][:]) }

// newFleet returns the generated machines of ft, or nil when it has none.
func newFleet(ft *fixture.Tenant) *fleet {
	if ft.Generate <= 0 {
		return nil
	}
	f := &fleet{
		tenant: fixture.Tenant{ID: ft.ID, Name: ft.Name, Generate: ft.Generate},
		domain: fixture.GeneratedDomain(ft.Name),
		made:   make([]atomic.Pointer[Machine], ft.Generate),
	}
	f.idOf, f.ids = f.tenant.GeneratedIndex()
	shared := f.tenant.GeneratedMachine(1)
	shared.ID, shared.ComputerDNSName, shared.AADDeviceID, shared.LastIPAddress, shared.MACAddress = "", "", "", "", ""
	f.shared = &shared
	return f
}

// size returns how many machines f has (0 for a nil f).
func (f *fleet) size() int {
	if f == nil {
		return 0
	}
	return len(f.made)
}

// idNumber returns the number of f's machine whose id is key (40 hex
// digits, any case), or 0.
func (f *fleet) idNumber(key string) int {
	if f == nil || len(key) != 40 {
		return 0
	}
	var id [20]byte
	if _, err := hex.Decode(id[:], []byte(key)); err != nil {
		return 0
	}
	return int(f.ids[id])
}

// nameNumber returns the number of f's machine whose computer name, full
// or short, is key (any case), or 0.
func (f *fleet) nameNumber(key string) int {
	if f == nil {
		return 0
	}
	return f.tenant.GeneratedNumber(key)
}

// machine returns f's machine number i (1 to size), made now if it was
// not yet, by t.
func (f *fleet) machine(t *Tenant, i int) *Machine {
	slot := &f.made[i-1]
	if m := slot.Load(); m != nil {
		return m
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := slot.Load(); m != nil {
		return m
	}
	m := f.fill(new(Machine), t, i)
	slot.Store(m)
	return m
}

// madeMachine returns f's machine number i if it was made, or nil.
func (f *fleet) madeMachine(i int) *Machine { return f.made[i-1].Load() }

// pristine returns a new machine number i of t, as the fixture makes it,
// not kept by f: the machine that f would make, for reading.
func (f *fleet) pristine(t *Tenant, i int) *Machine { return f.fill(new(Machine), t, i) }

// fill makes m, a zero Machine, f's machine number i of t, and returns it.
func (f *fleet) fill(m *Machine, t *Tenant, i int) *Machine {
	// The id and the name cut from one string, as fixture.GeneratedIDName
	// makes them, without its hash.
	id, name := f.idName(i)
	m.info, m.id, m.name, m.num, m.tenant = f.shared, id, name, uint32(i), t
	m.online.Store(true) // generated machines are online
	return m
}

// giveBack forgets m, a machine f made, when it is as the fixture makes
// it again: online and never taken offline, no file and no queued
// outcome. Its actions do not hold it: a generated machine's actions are
// by its number (Tenant.gens, Action.gen). The fleet then holds nothing
// for its number, as for a machine never touched, and makes a new one
// when something next needs it. A caller that looked m up before it was
// given back changes the new one instead (Machine.gone). Call it with no
// lock held.
func (f *fleet) giveBack(m *Machine) {
	if m.num == 0 || f.made[m.num-1].Load() != m {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone || !m.online.Load() || m.offlineSince != 0 {
		return
	}
	m.filesMu.Lock()
	defer m.filesMu.Unlock()
	if len(m.files) > 0 || len(m.puts) > 0 {
		return
	}
	m.outcomesMu.Lock()
	defer m.outcomesMu.Unlock()
	if len(m.outcomes) > 0 {
		return
	}
	m.gone = true
	f.made[m.num-1].CompareAndSwap(m, nil)
}

// fixture returns the fixture of f's machine number i.
func (f *fleet) fixture(i int) fixture.Machine { return f.tenant.GeneratedMachine(i) }

// peek returns f's machine number i, the one made if it was, else a
// pristine one that f does not keep: for reading, never for changing.
func (f *fleet) peek(t *Tenant, i int) *Machine {
	if m := f.madeMachine(i); m != nil {
		return m
	}
	return f.pristine(t, i)
}
