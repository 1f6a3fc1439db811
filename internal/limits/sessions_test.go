package limits

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// acquireN calls Acquire n times one after another and returns how many
// succeeded.
func acquireN(s *Sessions, tenant string, n int) int {
	got := 0
	for range n {
		if s.Acquire(tenant) {
			got++
		}
	}
	return got
}

// acquireConcurrently calls Acquire from n goroutines at once and returns
// how many succeeded.
func acquireConcurrently(s *Sessions, tenant string, n int) int {
	var got atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			if s.Acquire(tenant) {
				got.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return int(got.Load())
}

func TestSessionsAcquireRelease(t *testing.T) {
	t.Parallel()
	s := NewSessions(mustLookup(t, "default"))
	if got := acquireN(s, "a", 30); got != 25 {
		t.Fatalf("30 Acquire: %d succeeded, want 25", got)
	}
	if got := s.Active("a"); got != 25 {
		t.Errorf("Active = %d, want 25", got)
	}
	if got := acquireN(s, "b", 1); got != 1 {
		t.Errorf("another tenant: Acquire failed")
	}
	s.Release("a")
	if got := s.Active("a"); got != 24 {
		t.Errorf("Active after Release = %d, want 24", got)
	}
	if got := acquireN(s, "a", 2); got != 1 {
		t.Errorf("after one Release: %d of 2 Acquire succeeded, want 1", got)
	}
	// Releasing what is not held does nothing.
	s.Release("nobody")
	if got := s.Active("nobody"); got != 0 {
		t.Errorf("Active after a stray Release = %d, want 0", got)
	}
	if got := acquireN(s, "nobody", 26); got != 25 {
		t.Errorf("after a stray Release: %d Acquire succeeded, want 25", got)
	}
}

func TestSessionsConcurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		profile string
		want    int
	}{
		{"default", 25},
		{"current", 50},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			t.Parallel()
			s := NewSessions(mustLookup(t, tt.profile))
			if got := acquireConcurrently(s, "a", 100); got != tt.want {
				t.Fatalf("100 concurrent Acquire: %d succeeded, want %d", got, tt.want)
			}
			s.Release("a")
			if got := acquireConcurrently(s, "a", 100); got != 1 {
				t.Errorf("after one Release, 100 concurrent Acquire: %d succeeded, want 1", got)
			}
			if got := s.Active("a"); got != tt.want {
				t.Errorf("Active = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSessionsConcurrentAcquireRelease(t *testing.T) {
	t.Parallel()
	// Holders that release while others acquire: the count never passes
	// the cap and ends where it started.
	s := NewSessions(mustLookup(t, "default"))
	var over atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			for range 50 {
				if s.Acquire("a") {
					if s.Active("a") > 25 {
						over.Add(1)
					}
					s.Release("a")
				}
			}
		})
	}
	wg.Wait()
	if n := over.Load(); n != 0 {
		t.Errorf("Active passed the cap %d times", n)
	}
	if got := s.Active("a"); got != 0 {
		t.Errorf("Active at the end = %d, want 0", got)
	}
}

func TestSessionsUnlimited(t *testing.T) {
	t.Parallel()
	for _, p := range []Profile{
		mustLookup(t, "unlimited"),
		mustLookup(t, "default").Override(fixture.Limits{Unlimited: true}),
	} {
		s := NewSessions(p)
		if got := acquireConcurrently(s, "a", 1000); got != 1000 {
			t.Errorf("%s: 1000 concurrent Acquire: %d succeeded, want 1000", p.Name, got)
		}
		if got := s.Active("a"); got != 1000 {
			t.Errorf("%s: Active = %d, want 1000 (still counted)", p.Name, got)
		}
	}
}

func TestSessionsFollowTheirSourceAndReset(t *testing.T) {
	t.Parallel()
	def := mustLookup(t, "default")
	src := newHolder(def)
	s := NewSessions(src)
	acquireN(s, "a", 20)
	narrow := def.Override(fixture.Limits{Sessions: 10})
	src.set(narrow)
	if diff := cmp.Diff(narrow, s.Profile()); diff != "" {
		t.Errorf("Profile() after the source changed (-want +got):\n%s", diff)
	}
	if got := s.Active("a"); got != 20 {
		t.Errorf("Active after the source changed = %d, want 20 (kept)", got)
	}
	if s.Acquire("a") {
		t.Error("Acquire above the new cap succeeded")
	}
	for range 11 {
		s.Release("a")
	}
	if got := acquireN(s, "a", 5); got != 1 {
		t.Errorf("at 9 of 10: %d of 5 Acquire succeeded, want 1", got)
	}
	s.Reset()
	if got := s.Active("a"); got != 0 {
		t.Errorf("Active after Reset = %d, want 0", got)
	}
	if diff := cmp.Diff(narrow, s.Profile()); diff != "" {
		t.Errorf("Profile() after Reset (-want +got):\n%s", diff)
	}
	if got := acquireN(s, "a", 15); got != 10 {
		t.Errorf("after Reset: %d of 15 Acquire succeeded, want 10", got)
	}
}

// ForgetTenant drops the counts of a tenant and its users; a session of
// it released afterwards counts nothing and makes no count again.
func TestSessionsForgetTenant(t *testing.T) {
	t.Parallel()
	s := NewSessions(newHolder(mustLookup(t, "default")))
	acquireN(s, "t1", 2)
	if ok, _ := s.AcquireUser("t1", "u1"); !ok {
		t.Fatal("AcquireUser refused")
	}
	acquireN(s, "t2", 1)
	s.ForgetTenant("T1")
	if a, u, other := s.Active("t1"), s.ActiveUser("t1", "u1"), s.Active("t2"); a != 0 || u != 0 || other != 1 {
		t.Fatalf("after ForgetTenant: t1 %d, its user %d, t2 %d; want 0, 0, 1", a, u, other)
	}
	s.Release("t1")
	s.ReleaseUser("t1", "u1")
	n := 0
	s.counts.Load().Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("%d counts after releasing the forgotten tenant's sessions, want 1 (t2's)", n)
	}
	if got := acquireN(s, "t1", 1); got != 1 || s.Active("t1") != 1 {
		t.Errorf("a forgotten tenant acquires %d, holds %d; want 1, 1", got, s.Active("t1"))
	}
}
