package limits

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Sessions counts the live response sessions of each tenant and caps them
// at the profile's Sessions (unless the profile is Unlimited or the cap is
// zero or less, when every Acquire succeeds and is still counted). It reads
// the profile from its source on every Acquire. It is safe for concurrent
// use; tenants never wait for each other.
type Sessions struct {
	src    ProfileSource            // followed, never replaced
	counts atomic.Pointer[sync.Map] // tenant → *atomic.Int64
}

// NewSessions returns a counter with the cap of src's profile and no
// sessions. Give it the profile's holder (the emulator's state), not a
// Profile, so that it follows a change of profile.
func NewSessions(src ProfileSource) *Sessions {
	s := &Sessions{src: src}
	s.counts.Store(&sync.Map{})
	return s
}

// Profile returns the counter's profile: its source's.
func (s *Sessions) Profile() Profile {
	return s.src.Profile()
}

// Reset forgets every session and keeps the profile. A later Release of a
// session acquired before Reset would free a newer session (counts never go
// below zero), so reset the counter only together with the actions it
// counts.
func (s *Sessions) Reset() {
	s.counts.Store(&sync.Map{})
}

// Acquire takes a session for tenant and reports whether one was free.
func (s *Sessions) Acquire(tenant string) bool {
	p := s.Profile()
	c := s.counter(tenant)
	for {
		n := c.Load()
		if !p.Unlimited && p.Sessions > 0 && n >= int64(p.Sessions) {
			return false
		}
		if c.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// AcquireUser takes a session for user in tenant: one of the tenant's and
// one of the user's (the profile's SessionsPerUser). It reports whether
// both were free and, when not, whether the user's cap was the one
// reached; on failure it holds nothing.
func (s *Sessions) AcquireUser(tenant, user string) (ok, userCapped bool) {
	p := s.Profile()
	c := s.counter(userKey(tenant, user))
	for {
		n := c.Load()
		if !p.Unlimited && p.SessionsPerUser > 0 && n >= int64(p.SessionsPerUser) {
			return false, true
		}
		if c.CompareAndSwap(n, n+1) {
			break
		}
	}
	if !s.Acquire(tenant) {
		s.Release(userKey(tenant, user))
		return false, false
	}
	return true, false
}

// ReleaseUser gives back a session that AcquireUser took.
func (s *Sessions) ReleaseUser(tenant, user string) {
	s.Release(userKey(tenant, user))
	s.Release(tenant)
}

// ActiveUser returns the number of sessions user holds in tenant.
func (s *Sessions) ActiveUser(tenant, user string) int { return s.Active(userKey(tenant, user)) }

// userKey is the counter of a user's sessions: tenant ids are GUIDs, so
// it never names a tenant.
func userKey(tenant, user string) string { return tenant + "/user/" + user }

// Release gives back a session of tenant. Releasing with no session held
// (or after ForgetTenant) does nothing.
func (s *Sessions) Release(tenant string) {
	v, ok := s.counts.Load().Load(tenant)
	if !ok {
		return
	}
	c := v.(*atomic.Int64)
	for {
		n := c.Load()
		if n <= 0 || c.CompareAndSwap(n, n-1) {
			return
		}
	}
}

// ForgetTenant drops the counts of tenant and of its users (the tenant's
// id without case): what a removed tenant leaves behind. Sessions of
// tenant released afterwards are not counted again.
func (s *Sessions) ForgetTenant(tenant string) {
	m := s.counts.Load()
	prefix := userKey(tenant, "")
	m.Range(func(k, _ any) bool {
		key := k.(string)
		if strings.EqualFold(key, tenant) || len(key) > len(prefix) && strings.EqualFold(key[:len(prefix)], prefix) {
			m.Delete(k)
		}
		return true
	})
}

// Active returns the number of sessions tenant holds.
func (s *Sessions) Active(tenant string) int {
	v, ok := s.counts.Load().Load(tenant)
	if !ok {
		return 0
	}
	return int(v.(*atomic.Int64).Load())
}

// counter returns tenant's count, creating it at zero.
func (s *Sessions) counter(tenant string) *atomic.Int64 {
	m := s.counts.Load()
	v, ok := m.Load(tenant)
	if !ok {
		v, _ = m.LoadOrStore(tenant, new(atomic.Int64))
	}
	return v.(*atomic.Int64)
}
