package limits

import (
	"sync"
	"sync/atomic"
)

// Sessions counts the live response sessions of each tenant and caps them
// at the profile's Sessions (unless the profile is Unlimited or the cap is
// zero or less, when every Acquire succeeds and is still counted). It is
// safe for concurrent use; tenants never wait for each other.
type Sessions struct {
	profile atomic.Pointer[Profile]
	counts  atomic.Pointer[sync.Map] // tenant → *atomic.Int64
	mu      sync.Mutex               // serialises SetProfile and Reset
}

// NewSessions returns a counter with p's cap and no sessions.
func NewSessions(p Profile) *Sessions {
	s := &Sessions{}
	s.profile.Store(&p)
	s.counts.Store(&sync.Map{})
	return s
}

// Profile returns the counter's profile.
func (s *Sessions) Profile() Profile {
	return *s.profile.Load()
}

// SetProfile replaces the cap with p's. The sessions held stay counted: they
// belong to actions that are still running. If the new cap is below a
// tenant's count, its Acquire fails until enough sessions are released.
func (s *Sessions) SetProfile(p Profile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.profile.Store(&p)
}

// Reset forgets every session and keeps the profile. A later Release of a
// session acquired before Reset would free a newer session (counts never go
// below zero), so reset the counter only together with the actions it
// counts.
func (s *Sessions) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Store(&sync.Map{})
}

// Acquire takes a session for tenant and reports whether one was free.
func (s *Sessions) Acquire(tenant string) bool {
	p := s.profile.Load()
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

// Release gives back a session of tenant. Releasing with no session held
// does nothing.
func (s *Sessions) Release(tenant string) {
	c := s.counter(tenant)
	for {
		n := c.Load()
		if n <= 0 || c.CompareAndSwap(n, n-1) {
			return
		}
	}
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
