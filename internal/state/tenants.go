package state

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/guid"
)

// Bounds of the tenants made on the fly (AddTenant): a classroom, one
// tenant per trainee.
const (
	// MaxCreatedTenants is how many tenants AddTenant keeps at once, on
	// top of the fixtures' own.
	MaxCreatedTenants = 200
	// MaxTenantNameLen is the longest name of a created tenant, in bytes
	// (the name is ASCII: ValidTenantName).
	MaxTenantNameLen = 64
	// MaxTemplateMachines is the most machines a template may have: a
	// created tenant copies each of them, so 200 tenants hold at most
	// 200,000 machines.
	MaxTemplateMachines = 1000
)

// The errors of AddTenant and RemoveTenant; match them with errors.Is.
var (
	// ErrTenantLimit: MaxCreatedTenants tenants were already created.
	ErrTenantLimit = errors.New("too many created tenants")
	// ErrTenantExists: a tenant with that id, or a created tenant with
	// that name, exists.
	ErrTenantExists = errors.New("tenant exists")
	// ErrTenantNotFound: no tenant has that id.
	ErrTenantNotFound = errors.New("tenant not found")
	// ErrFixtureTenant: the tenant comes from the fixtures, which only a
	// Load replaces.
	ErrFixtureTenant = errors.New("tenant of the fixtures")
	// ErrTenantName: the name is empty, too long or has a character
	// ValidTenantName refuses.
	ErrTenantName = errors.New("invalid tenant name")
	// ErrTemplateTooLarge: the template has more than MaxTemplateMachines
	// machines.
	ErrTemplateTooLarge = errors.New("template too large")
)

// Origin is how AddTenant made a tenant: from which template, when, and
// the fixture it built, with the fresh credentials (client secrets and
// passwords) to hand to whoever uses the tenant.
type Origin struct {
	// Template is the id of the fixtures' tenant the tenant copies.
	Template string
	// Created is the emulated instant AddTenant ran.
	Created time.Time
	// Fixture is the tenant as built by FromTemplate; read only.
	Fixture *fixture.Tenant
}

// Origin returns how AddTenant made t; nil for a tenant of the fixtures.
func (t *Tenant) Origin() *Origin { return t.origin }

// ValidTenantName checks a created tenant's name: 1 to MaxTenantNameLen
// characters, ASCII letters, digits, space, '.', '_', '-' and '@', the
// first a letter or a digit. It wraps ErrTenantName.
func ValidTenantName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: the name is empty", ErrTenantName)
	case len(name) > MaxTenantNameLen:
		return fmt.Errorf("%w: the name has %d characters, over the maximum of %d", ErrTenantName, len(name), MaxTenantNameLen)
	case !isAlnum(name[0]):
		return fmt.Errorf("%w: the name must start with a letter or a digit", ErrTenantName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isAlnum(c) && !strings.ContainsRune(" ._-@", rune(c)) {
			return fmt.Errorf("%w: character %q at %d is not allowed (ASCII letters, digits, space, '.', '_', '-', '@')", ErrTenantName, c, i)
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// FromTemplate returns a new tenant named name, a copy of tmpl with fresh
// identities: a random tenant id; each machine's id
// hex(sha1(tenant id + "/" + template machine id)) (and a derived
// aadDeviceId), its computer name kept, so an exercise names the same
// machines in every tenant; each app a random client id and a fresh
// client secret; each user an object id derived from the new tenant id
// and the UPN (fixture.UserObjectID), the UPN kept, and a fresh password
// when the template's user has one (one without a password still signs
// in only through the control plane). Device groups, the library, the
// live response settings and the behaviours are copied. tmpl is not
// changed. It fails with ErrTenantName or ErrTemplateTooLarge.
func FromTemplate(tmpl *fixture.Tenant, name string) (*fixture.Tenant, error) {
	if err := ValidTenantName(name); err != nil {
		return nil, err
	}
	if n := len(tmpl.Machines) + tmpl.Generate; n > MaxTemplateMachines {
		return nil, fmt.Errorf("%w: tenant %s has %d machines, over the maximum of %d a template may have", ErrTemplateTooLarge, tmpl.ID, n, MaxTemplateMachines)
	}
	set := (&fixture.Set{Tenants: []fixture.Tenant{*tmpl}}).Clone()
	t := &set.Tenants[0]
	// The template's generated machines are listed, as machines of its own
	// with the template's computer names (generated ones would take the
	// new tenant's name).
	t.Machines, t.Generate = t.AllMachines(), 0
	t.ID = guid.New()
	t.Name = name
	for i := range t.Machines {
		m := &t.Machines[i]
		old := strings.ToLower(m.ID)
		m.ID = derivedHex(t.ID, old)
		if m.AADDeviceID != "" {
			m.AADDeviceID = derivedGUID(t.ID, "aad/"+old)
		}
	}
	oids := make(map[string]string, len(t.Users)) // old object id → new
	for i := range t.Users {
		u := &t.Users[i]
		oid := fixture.UserObjectID(t.ID, u.UserPrincipalName)
		if u.ObjectID != "" {
			oids[strings.ToLower(u.ObjectID)] = oid
		}
		u.ObjectID = oid
		if u.Password != "" {
			u.Password = newSecret(18)
		}
	}
	for i := range t.Apps {
		a := &t.Apps[i]
		a.ClientID = guid.New()
		a.ClientSecret = newSecret(30)
		if aa := a.DeviceCodeAutoApprove; aa != nil {
			if oid, ok := oids[strings.ToLower(aa.User)]; ok {
				aa.User = oid
			}
		}
	}
	return t, nil
}

// derivedHex returns the 40 hex digits of sha1(tenantID + "/" + key).
func derivedHex(tenantID, key string) string {
	sum := sha1.Sum([]byte(strings.ToLower(tenantID) + "/" + key))
	return hex.EncodeToString(sum[:])
}

// derivedGUID returns a name-based GUID of tenantID and key.
func derivedGUID(tenantID, key string) string {
	sum := sha1.Sum([]byte(strings.ToLower(tenantID) + "/" + key))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return guid.Format(b)
}

// newSecret returns n random bytes in unpadded base64url: 30 bytes give
// 40 characters, the length of an Entra client secret.
func newSecret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AddTenant adds ft, a tenant built by FromTemplate from the fixtures'
// tenant template, to the store, and returns it. The tenant shares the
// world's session counter (keyed by tenant) and retention; it lives until
// RemoveTenant or the next Load. Adding copies the map of tenants and
// swaps it in: requests on other tenants never wait for it. ft belongs to
// the store from then on. It fails with ErrTenantLimit, ErrTenantExists
// (the id, or the name of another created tenant, compared without case)
// or ErrTenantNotFound (no template with that id).
func (s *Store) AddTenant(ft *fixture.Tenant, template string) (*Tenant, error) {
	s.writers.Lock()
	defer s.writers.Unlock()
	old := s.world.Load()
	tmpl, ok := old.tenants[strings.ToLower(template)]
	if !ok || tmpl.origin != nil {
		return nil, fmt.Errorf("%w: no tenant of the fixtures has id %s", ErrTenantNotFound, template)
	}
	id := strings.ToLower(ft.ID)
	if _, taken := old.tenants[id]; taken {
		return nil, fmt.Errorf("%w: a tenant has id %s", ErrTenantExists, ft.ID)
	}
	created := 0
	for _, t := range old.order {
		if t.origin == nil {
			continue
		}
		created++
		if strings.EqualFold(t.Name, ft.Name) {
			return nil, fmt.Errorf("%w: tenant %s is named %q already", ErrTenantExists, t.ID, t.Name)
		}
	}
	if created >= MaxCreatedTenants {
		return nil, fmt.Errorf("%w: %d tenants were created, the maximum; remove one first", ErrTenantLimit, created)
	}
	w := &world{
		tenants:  maps.Clone(old.tenants),
		order:    slices.Clip(old.order), // appending copies: readers keep theirs
		sessions: old.sessions,
		finished: old.finished,
		storage:  old.storage,
	}
	t := newTenant(s, w, tmpl.gen, ft)
	t.origin = &Origin{Template: tmpl.ID, Created: s.clock.Now(), Fixture: ft}
	w.tenants[t.ID] = t
	w.order = append(w.order, t)
	s.world.Store(w)
	return t, nil
}

// RemoveTenant removes the created tenant with id from the store and
// returns it: from then on Tenant does not find it. Its actions stay as
// they are (CancelLive cancels the live ones); the pending steps of those
// act on the removed tenant only. It fails with ErrTenantNotFound or
// ErrFixtureTenant (only a Load removes the fixtures' tenants).
func (s *Store) RemoveTenant(id string) (*Tenant, error) {
	s.writers.Lock()
	defer s.writers.Unlock()
	old := s.world.Load()
	t, ok := old.tenants[strings.ToLower(id)]
	if !ok {
		return nil, fmt.Errorf("%w: no tenant has id %s", ErrTenantNotFound, id)
	}
	if t.origin == nil {
		return nil, fmt.Errorf("%w: tenant %s comes from the fixtures; only tenants made by AddTenant can be removed", ErrFixtureTenant, t.ID)
	}
	w := &world{
		tenants:  maps.Clone(old.tenants),
		order:    slices.DeleteFunc(slices.Clone(old.order), func(o *Tenant) bool { return o == t }),
		sessions: old.sessions,
		finished: old.finished,
		storage:  old.storage,
	}
	delete(w.tenants, t.ID)
	s.world.Store(w)
	w.sessions.ForgetTenant(t.ID) // its live actions, cancelled or not, can release nothing more that counts
	t.storage.close()
	t.mu.Lock()
	t.removed = true // a submit already past its lookup of t makes nothing
	t.mu.Unlock()
	return t, nil
}

// CreatedTenants returns how many tenants AddTenant made that the store
// still holds.
func (s *Store) CreatedTenants() int {
	n := 0
	for _, t := range s.Tenants() {
		if t.origin != nil {
			n++
		}
	}
	return n
}

// LiveActions returns how many of t's actions have not reached a final
// status. It reads each kept action's status, not a snapshot of it: the
// control plane's tenant list asks it of every tenant.
func (t *Tenant) LiveActions() int {
	n := 0
	for a := range t.ActionRefsFor(Caller{}) {
		if !a.Final() {
			n++
		}
	}
	return n
}

// CancelLive cancels every live action of t, as who, with comment, and
// returns how many it cancelled: their sessions are freed.
func (t *Tenant) CancelLive(who, comment string) int {
	n := 0
	c := Caller{TenantID: t.ID, Name: who}
	for a := range t.ActionRefsFor(Caller{}) {
		if a.Final() {
			continue
		}
		if _, err := t.Cancel(c, a.ID(), comment); err == nil {
			n++
		}
	}
	return n
}
