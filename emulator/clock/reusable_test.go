package clock_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// seqFiring is one Fire call of a reusable timer.
type seqFiring struct {
	ID  int
	Arg time.Time
	Seq uint64
}

// firerLog is a Firer that appends its calls to a shared log.
type firerLog struct {
	id  int
	mu  *sync.Mutex
	log *[]seqFiring
}

func (r *firerLog) Fire(now time.Time, seq uint64) {
	r.mu.Lock()
	*r.log = append(*r.log, seqFiring{r.id, now, seq})
	r.mu.Unlock()
}

func TestReusableTimerFiresOnlyItsLatestScheduling(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	var mu sync.Mutex
	var log []seqFiring
	var tm clock.Timer
	c.InitTimer(&tm, &firerLog{1, &mu, &log})
	if c.Pending() != 0 {
		t.Fatalf("Pending() = %d after InitTimer, want 0: a new timer is stopped", c.Pending())
	}

	s1 := tm.Reset(t0.Add(time.Minute))
	s2 := tm.Reset(t0.Add(3 * time.Minute)) // replaces the first
	if s1 == 0 || s2 <= s1 {
		t.Fatalf("Reset returned %d then %d, want growing non-zero numbers", s1, s2)
	}
	if c.Pending() != 1 {
		t.Fatalf("Pending() = %d after two Resets, want 1", c.Pending())
	}
	if got := tm.Due(); !got.Equal(t0.Add(3 * time.Minute)) {
		t.Fatalf("Due() = %v, want the latest scheduling's", got)
	}
	c.Advance(2 * time.Minute)
	if len(log) != 0 {
		t.Fatalf("the replaced scheduling fired: %v", log)
	}
	c.Advance(2 * time.Minute)
	want := []seqFiring{{1, t0.Add(3 * time.Minute), s2}}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Fatalf("firings (-want +got):\n%s", diff)
	}

	// Fired, it can be scheduled again; stopped, it fires nothing until
	// Reset again; scheduled in the past, it fires at once, at Now.
	s3 := tm.Reset(t0.Add(5 * time.Minute))
	if !tm.Stop() {
		t.Fatal("Stop of a scheduled reusable timer returned false")
	}
	if tm.Stop() {
		t.Fatal("a second Stop returned true")
	}
	c.Advance(2 * time.Minute)
	s4 := tm.Reset(t0)
	c.Advance(0)
	want = append(want, seqFiring{1, t0.Add(6 * time.Minute), s4})
	if diff := cmp.Diff(want, log); diff != "" {
		t.Fatalf("firings after Stop and a Reset in the past (-want +got):\n%s", diff)
	}
	if s4 <= s3 || c.Pending() != 0 {
		t.Fatalf("s3 %d, s4 %d, Pending %d", s3, s4, c.Pending())
	}
}

// TestReusableTimersKeepOrder reschedules many reusable timers at random,
// among one-shot timers, and checks that what fires is exactly each
// timer's last scheduling, in due order with ties in scheduling order,
// as one-shot timers scheduled at those instants would fire.
func TestReusableTimersKeepOrder(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	rng := rand.New(rand.NewPCG(7, 14))
	var mu sync.Mutex
	var log []seqFiring
	timers := make([]clock.Timer, 200)
	last := map[int]seqFiring{}
	type sched struct {
		due time.Time
		seq uint64
		id  int
	}
	for i := range timers {
		c.InitTimer(&timers[i], &firerLog{i, &mu, &log})
	}
	for range 2000 {
		i := rng.IntN(len(timers))
		if rng.IntN(10) == 0 {
			timers[i].Stop()
			delete(last, i)
			continue
		}
		due := t0.Add(time.Duration(rng.IntN(60)) * time.Second)
		seq := timers[i].Reset(due)
		last[i] = seqFiring{i, due, seq}
	}
	if c.Pending() != len(last) {
		t.Fatalf("Pending() = %d, want %d", c.Pending(), len(last))
	}
	var want []seqFiring
	for _, f := range last {
		want = append(want, f)
	}
	// Due order, ties in scheduling order: the sequence numbers.
	sortFirings(want)
	c.Advance(time.Minute)
	if diff := cmp.Diff(want, log); diff != "" {
		t.Fatalf("firings (-want +got):\n%s", diff)
	}
}

func sortFirings(f []seqFiring) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && (f[j].Arg.Before(f[j-1].Arg) || f[j].Arg.Equal(f[j-1].Arg) && f[j].Seq < f[j-1].Seq); j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

// TestReusableTimerInRealMode reschedules a timer from its own callback,
// as an action's lifecycle does step after step, on a flowing clock.
func TestReusableTimerInRealMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 1)
		defer c.Close()
		s := &stepper{c: c, left: 5, done: make(chan struct{})}
		c.InitTimer(&s.timer, s)
		s.mu.Lock()
		s.seq = s.timer.Reset(c.Now().Add(time.Second))
		s.mu.Unlock()
		<-s.done
		want := []time.Time{t0.Add(1 * time.Second), t0.Add(2 * time.Second), t0.Add(3 * time.Second), t0.Add(4 * time.Second), t0.Add(5 * time.Second)}
		if diff := cmp.Diff(want, s.fired); diff != "" {
			t.Fatalf("steps (-want +got):\n%s", diff)
		}
		if s.stale != 0 {
			t.Fatalf("%d firings came with a replaced sequence number", s.stale)
		}
	})
}

// stepper schedules itself a second later each time it fires.
type stepper struct {
	c     *clock.Clock
	timer clock.Timer
	mu    sync.Mutex
	seq   uint64
	left  int
	fired []time.Time
	stale int
	done  chan struct{}
}

func (s *stepper) Fire(now time.Time, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq != s.seq {
		s.stale++
		return
	}
	s.fired = append(s.fired, now)
	if s.left--; s.left == 0 {
		close(s.done)
		return
	}
	s.seq = s.timer.Reset(now.Add(time.Second))
}

func TestInitTimerPanicsOnNil(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	defer func() {
		if recover() == nil {
			t.Fatal("InitTimer with a nil Firer did not panic")
		}
	}()
	var tm clock.Timer
	c.InitTimer(&tm, nil)
}

func TestResetOfAOneShotTimerPanics(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	tm := c.AfterFunc(time.Second, func(time.Time) {})
	defer func() {
		if recover() == nil {
			t.Fatal("Reset of an AfterFunc timer did not panic")
		}
	}()
	tm.Reset(t0)
}
