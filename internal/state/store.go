package state

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/gcpause"
	"github.com/mdelive/mde-emulator/internal/limits"
)

// Store holds the emulator's whole state: the tenants loaded from a
// fixture set and everything done to them since.
type Store struct {
	clock     *clock.Clock
	profile   atomic.Pointer[limits.Profile]
	retention atomic.Pointer[Retention]
	world     atomic.Pointer[world]
	loads     atomic.Uint64 // how many times Load ran
	steps     atomic.Uint64 // how many lifecycle steps were scheduled (pendingStep.order)
	writers   sync.Mutex    // serialises Load, AddTenant and RemoveTenant (tenants.go)
	// start is the Start of the set the last Load loaded, which the
	// machines' seen times left out are relative to (newTenant reads it;
	// held with writers).
	start time.Time
}

// world is one generation of state; Load replaces it whole.
type world struct {
	tenants  map[string]*Tenant
	order    []*Tenant
	sessions *limits.Sessions
	finished *finishedQueue // the finished actions of every tenant, for Retention
	storage  *atomic.Int64  // the bytes of file content its tenants hold (MaxStorage); Restore counts it afresh
}

// New returns a store on clk with the limits of profile, holding set. It
// keeps finished actions within DefaultRetention until SetRetention.
func New(clk *clock.Clock, profile limits.Profile, set *fixture.Set) *Store {
	s := &Store{clock: clk}
	s.profile.Store(&profile)
	r := DefaultRetention
	s.retention.Store(&r)
	s.Load(set)
	return s
}

// Clock returns the store's clock.
func (s *Store) Clock() *clock.Clock { return s.clock }

// Profile returns the limits in force.
func (s *Store) Profile() limits.Profile { return *s.profile.Load() }

// SetProfile changes the limits in force for what happens from now on.
func (s *Store) SetProfile(p limits.Profile) {
	s.profile.Store(&p) // the session counter follows it (limits.NewSessions)
}

// Load replaces the whole state with set. Actions of the old state are
// forgotten; their pending steps act on the old state only. Times the
// fixture leaves out are relative to set's Start, which Load sets to the
// clock's now when it is zero: library files' creation is filled in set
// (fixture.Set.FillStart), machines' first and last seen are read through
// fixture.Machine.SeenTimes. Load writes nothing into set's machines,
// which a Frozen set shares with others.
func (s *Store) Load(set *fixture.Set) {
	s.writers.Lock()
	defer s.writers.Unlock()
	w := &world{
		tenants:  map[string]*Tenant{},
		sessions: limits.NewSessions(s),
		finished: newFinishedQueue(s),
		storage:  new(atomic.Int64),
	}
	gen := s.loads.Add(1)
	defer gcpause.For(set.MachineCount())() // all of it is kept: a collection would free nothing
	set.FillStart(s.clock.Now())
	s.start = set.Start
	for i := range set.Tenants {
		t := newTenant(s, w, gen, &set.Tenants[i])
		w.tenants[t.ID] = t
		w.order = append(w.order, t)
	}
	if old := s.world.Swap(w); old != nil {
		old.finished.close()
	}
}

// Tenant returns the tenant with the GUID id.
func (s *Store) Tenant(id string) (*Tenant, bool) {
	w := s.world.Load()
	t, ok := w.tenants[id]
	if !ok {
		t, ok = w.tenants[strings.ToLower(id)]
	}
	return t, ok
}

// Tenants returns every tenant, in fixture order.
func (s *Store) Tenants() []*Tenant { return s.world.Load().order }
