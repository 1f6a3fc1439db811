package state

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/guid"
	"github.com/mdelive/mde-emulator/internal/limits"
)

// Store holds the emulator's whole state: the tenants loaded from a
// fixture set and everything done to them since.
type Store struct {
	clock   *clock.Clock
	profile atomic.Pointer[limits.Profile]
	world   atomic.Pointer[world]
}

// world is one generation of state; Load replaces it whole.
type world struct {
	tenants  map[string]*Tenant
	order    []*Tenant
	sessions *limits.Sessions
	linkKey  []byte // signs result download links
}

// Tenant is one tenant's Defender data.
type Tenant struct {
	ID   string
	Name string

	store    *Store
	sessions *limits.Sessions
	linkKey  []byte
	machines map[string]*Machine // by lower-case id
	byName   map[string]*Machine // by lower-case computer name
	order    []*Machine
	groups   map[int64]*DeviceGroup
	library  *Library

	mu      sync.RWMutex
	actions []*Action // in creation order
	byID    map[string]*Action
}

// New returns a store on clk with the limits of profile, holding set.
func New(clk *clock.Clock, profile limits.Profile, set *fixture.Set) *Store {
	s := &Store{clock: clk}
	s.profile.Store(&profile)
	s.Load(set)
	return s
}

// Clock returns the store's clock.
func (s *Store) Clock() *clock.Clock { return s.clock }

// Profile returns the limits in force.
func (s *Store) Profile() limits.Profile { return *s.profile.Load() }

// SetProfile changes the limits in force for what happens from now on.
func (s *Store) SetProfile(p limits.Profile) {
	s.profile.Store(&p)
	s.world.Load().sessions.SetProfile(p)
}

// Load replaces the whole state with set. Actions of the old state are
// forgotten; their pending steps act on the old state only. Times the
// fixture leaves out (machines' first and last seen, library files'
// creation) are filled in set relative to the clock's now.
func (s *Store) Load(set *fixture.Set) {
	w := &world{
		tenants:  map[string]*Tenant{},
		sessions: limits.NewSessions(s.Profile()),
		linkKey:  make([]byte, 32),
	}
	_, _ = rand.Read(w.linkKey)
	now := s.clock.Now()
	set.FillTimes(now)
	for i := range set.Tenants {
		ft := &set.Tenants[i]
		t := &Tenant{
			ID:       strings.ToLower(ft.ID),
			Name:     ft.Name,
			store:    s,
			sessions: w.sessions,
			linkKey:  w.linkKey,
			machines: make(map[string]*Machine, len(ft.Machines)),
			byName:   make(map[string]*Machine, len(ft.Machines)),
			groups:   map[int64]*DeviceGroup{},
			library:  newLibrary(),
			byID:     map[string]*Action{},
		}
		for _, g := range ft.DeviceGroups {
			t.groups[g.ID] = &DeviceGroup{ID: g.ID, Name: g.Name, remediationLevel: g.RemediationLevel}
		}
		for j := range ft.Machines {
			t.addMachine(&ft.Machines[j])
		}
		for _, lf := range ft.Library {
			t.library.files[strings.ToLower(lf.FileName)] = libraryFileFrom(lf)
		}
		w.tenants[t.ID] = t
		w.order = append(w.order, t)
	}
	s.world.Store(w)
}

func (t *Tenant) addMachine(fm *fixture.Machine) {
	fm.ID = strings.ToLower(fm.ID) // as fixture.Parse leaves it; a set built in code may not
	m := &Machine{info: fm, tenant: t}
	if len(fm.Files) > 0 {
		m.files = make(map[string]machineFile, len(fm.Files))
	}
	m.online.Store(!fm.Offline)
	if fm.RBACGroupID != 0 {
		m.group = t.groups[fm.RBACGroupID]
	}
	if fm.Offline {
		m.offlineSince = m.info.LastSeen
	}
	for _, f := range fm.Files {
		mf := machineFile{path: f.Path, size: f.Size}
		switch {
		case f.Content != "":
			mf.content = []byte(f.Content)
			mf.size = int64(len(mf.content))
		case f.ContentBase64 != "":
			mf.content, _ = base64.StdEncoding.DecodeString(f.ContentBase64)
			mf.size = int64(len(mf.content))
		}
		m.files[m.fileKey(f.Path)] = mf
	}
	t.machines[m.info.ID] = m
	name := strings.ToLower(m.info.ComputerDNSName)
	t.byName[name] = m
	if short, _, ok := strings.Cut(name, "."); ok {
		if _, taken := t.byName[short]; !taken {
			t.byName[short] = m
		}
	}
	t.order = append(t.order, m)
}

func libraryFileFrom(lf fixture.LibraryFile) *LibraryFile {
	content := []byte(lf.Content)
	if lf.ContentBase64 != "" {
		content, _ = base64.StdEncoding.DecodeString(lf.ContentBase64)
	}
	created := lf.CreationTime.UTC().Truncate(Tick) // filled by FillTimes
	return &LibraryFile{
		FileName:              lf.FileName,
		Description:           lf.Description,
		HasParameters:         lf.HasParameters,
		ParametersDescription: lf.ParametersDescription,
		CreatedBy:             orDefault(lf.CreatedBy, "admin@contoso.com"),
		CreationTime:          created,
		LastUpdatedTime:       created,
		Content:               content,
		SHA256:                sha256Hex(content),
		Behavior:              lf.Behavior,
		ByArgs:                lf.ByArgs,
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

// Library returns the tenant's live response library.
func (t *Tenant) Library() *Library { return t.library }

// Sessions returns how many live response sessions are open in t.
func (t *Tenant) Sessions() int { return t.sessions.Active(t.ID) }

// Machine finds a machine by id or by computer name, case-insensitively.
func (t *Tenant) Machine(key string) (*Machine, error) {
	if m, ok := t.machines[key]; ok {
		return m, nil
	}
	lower := strings.ToLower(key)
	if m, ok := t.machines[lower]; ok {
		return m, nil
	}
	if m, ok := t.byName[lower]; ok {
		return m, nil
	}
	return nil, apierr.New(apierr.ResourceNotFound, "Machine %s was not found", key)
}

// Machines returns every machine of t, in fixture order.
func (t *Tenant) Machines() []*Machine { return t.order }

// Action returns the action with id.
func (t *Tenant) Action(id string) (*Action, error) {
	t.mu.RLock()
	a, ok := t.byID[strings.ToLower(id)]
	t.mu.RUnlock()
	if !ok {
		return nil, apierr.New(apierr.ResourceNotFound, "Machine action %s was not found", id)
	}
	return a, nil
}

// Actions returns snapshots of t's actions, newest first.
func (t *Tenant) Actions() []ActionView {
	t.mu.RLock()
	list := slices.Clone(t.actions)
	t.mu.RUnlock()
	out := make([]ActionView, len(list))
	for i, a := range list {
		out[len(list)-1-i] = a.View()
	}
	return out
}

// DeviceGroup returns the device group with id.
func (t *Tenant) DeviceGroup(id int64) (*DeviceGroup, bool) {
	g, ok := t.groups[id]
	return g, ok
}

// SetRemediationLevel sets the automation level of machine m's device
// group ("" removes it). A machine in no group gets an error.
func (m *Machine) SetRemediationLevel(level string) error {
	if m.group == nil {
		return apierr.New(apierr.BadRequest, "Machine %s is in no device group", m.info.ID)
	}
	m.group.setRemediationLevel(level)
	return nil
}

// Submit runs the checks of runliveresponse and creates the action.
func (t *Tenant) Submit(c Caller, machineKey string, req SubmitRequest) (ActionView, error) {
	m, err := t.Machine(machineKey)
	if err != nil {
		return ActionView{}, err
	}
	if err := m.liveResponseReady(); err != nil {
		return ActionView{}, err
	}
	if err := t.validateCommands(req.Commands); err != nil {
		return ActionView{}, err
	}
	s := t.store
	now := s.clock.Now().UTC().Truncate(Tick)
	a := &Action{
		id:         guid.New(),
		machine:    m,
		requestor:  c.Name,
		comment:    req.Comment,
		created:    now,
		status:     StatusPending,
		lastUpdate: now,
		commands:   make([]commandState, len(req.Commands)),
	}
	for i, cmd := range req.Commands {
		a.commands[i] = commandState{Command: cmd, index: i, status: CommandCreated}
		if a.commands[i].Params == nil {
			a.commands[i].Params = []Param{}
		}
	}

	m.mu.Lock()
	if m.active != nil && !m.active.Final() {
		m.mu.Unlock()
		return ActionView{}, apierr.New(apierr.ActiveRequestAlreadyExists, "Action is already in progress")
	}
	if s.Profile().PendingCountsAsSession {
		if !t.sessions.Acquire(t.ID) {
			m.mu.Unlock()
			return ActionView{}, t.sessionsExhausted()
		}
		a.session = true
	}
	m.active = a
	a.mu.Lock()
	t.schedulePickup(a, now)
	view := a.viewLocked()
	a.mu.Unlock()
	m.mu.Unlock()

	t.mu.Lock()
	t.actions = append(t.actions, a)
	t.byID[a.id] = a
	t.mu.Unlock()
	return view, nil
}

// sessionsExhausted is the error of a submit over the session limit.
func (t *Tenant) sessionsExhausted() error {
	e := apierr.New(apierr.TooManyRequests,
		"Too many requests: the tenant has reached its limit of %d concurrent live response sessions.", t.store.Profile().Sessions)
	e.RetryAfter = sessionRetryAfter
	return e
}

// sessionRetryAfter is the Retry-After given when the session limit is
// reached: the service does not say when a session will end, so the
// emulator answers with a fixed minute (a documented choice).
const sessionRetryAfter = time.Minute

// Cancel cancels a's run at whatever point it is, as c.
func (t *Tenant) Cancel(c Caller, id, comment string) (ActionView, error) {
	a, err := t.Action(id)
	if err != nil {
		return ActionView{}, err
	}
	now := t.store.clock.Now().UTC().Truncate(Tick)
	a.mu.Lock()
	if isFinal(a.status) {
		status := a.status
		a.mu.Unlock()
		return ActionView{}, apierr.New(apierr.BadRequest,
			"Machine action %s can't be cancelled: it is already %s.", a.id, status)
	}
	a.cancelLocked(c.Name, comment, now)
	view := a.viewLocked()
	a.mu.Unlock()
	t.finished(a)
	return view, nil
}

// SetOnline connects or disconnects m. A machine coming online picks up
// its queued action after its pickup delay.
func (m *Machine) SetOnline(online bool) {
	t := m.tenant
	now := t.store.clock.Now().UTC().Truncate(Tick)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.online.Load() == online {
		return
	}
	m.online.Store(online)
	if !online {
		m.offlineSince = now
		return
	}
	if a := m.active; a != nil {
		a.mu.Lock()
		if a.status == StatusPending {
			t.schedulePickup(a, now)
		}
		a.mu.Unlock()
	}
}

// String describes the machine for logs.
func (m *Machine) String() string {
	return fmt.Sprintf("%s (%s)", m.info.ComputerDNSName, m.info.ID)
}
