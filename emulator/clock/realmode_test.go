package clock_test

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// The tests in this file run inside synctest bubbles, where time.Now and
// time.Timer are fake: a wall-clock hour passes in no time and exactly.
// Callbacks run on the clock's goroutine, so what they record goes through
// a recorder.

// recorder collects values from callbacks running on other goroutines.
type recorder[T any] struct {
	mu  sync.Mutex
	got []T
}

func (r *recorder[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, v)
}

func (r *recorder[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]T(nil), r.got...)
}

func TestRealModeScale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 60)
		defer c.Close()
		var got recorder[time.Time]
		c.AfterFunc(10*time.Minute, got.add)

		time.Sleep(10*time.Second - time.Nanosecond)
		synctest.Wait()
		if len(got.all()) != 0 {
			t.Fatalf("fired after %v wall time, want 10s", 10*time.Second-time.Nanosecond)
		}
		if got, want := c.Now(), t0.Add(10*time.Minute-60*time.Nanosecond); !got.Equal(want) {
			t.Errorf("Now() = %v, want %v", got, want)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if diff := cmp.Diff([]time.Time{t0.Add(10 * time.Minute)}, got.all()); diff != "" {
			t.Errorf("firings (-want +got):\n%s", diff)
		}
		if got, want := c.Now(), t0.Add(10*time.Minute); !got.Equal(want) {
			t.Errorf("Now() = %v, want %v", got, want)
		}
	})
}

func TestRealModeFiresDueTimersInOrderWithTheirDueInstants(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 1)
		defer c.Close()
		var got recorder[firing]
		record := func(id int) func(time.Time) {
			return func(now time.Time) { got.add(firing{ID: id, Arg: now}) }
		}
		c.AfterFunc(3*time.Second, record(3))
		c.AfterFunc(time.Second, func(now time.Time) {
			record(1)(now)
			c.AfterFunc(0, record(10)) // due at once: same wake-up
		})
		c.AfterFunc(time.Second, record(2))
		c.AtFunc(t0.Add(-time.Hour), record(0)) // in the past: at once, with the clock's time

		synctest.Wait()
		if diff := cmp.Diff([]firing{{ID: 0, Arg: t0}}, got.all()); diff != "" {
			t.Errorf("before any wall time passed (-want +got):\n%s", diff)
		}
		time.Sleep(time.Hour)
		want := []firing{
			{ID: 0, Arg: t0},
			{ID: 1, Arg: t0.Add(time.Second)},
			{ID: 2, Arg: t0.Add(time.Second)},
			{ID: 10, Arg: t0.Add(time.Second)},
			{ID: 3, Arg: t0.Add(3 * time.Second)},
		}
		if diff := cmp.Diff(want, got.all()); diff != "" {
			t.Errorf("firings (-want +got):\n%s", diff)
		}
	})
}

func TestRealModeRearmsForAnEarlierTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 60)
		defer c.Close()
		wallStart := time.Now()
		var firedAt recorder[time.Duration]
		c.AfterFunc(time.Hour, func(time.Time) { firedAt.add(time.Since(wallStart)) })
		synctest.Wait() // the goroutine is armed for the hour
		c.AfterFunc(time.Minute, func(time.Time) { firedAt.add(time.Since(wallStart)) })
		time.Sleep(2 * time.Hour)
		if diff := cmp.Diff([]time.Duration{time.Second, time.Minute}, firedAt.all()); diff != "" {
			t.Errorf("wall time of firings (-want +got):\n%s", diff)
		}
	})
}

func TestSetModeKeepsTimeContinuous(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 60)
		defer c.Close()
		time.Sleep(time.Second)
		if got, want := c.Now(), t0.Add(time.Minute); !got.Equal(want) {
			t.Errorf("Now() = %v, want %v", got, want)
		}

		c.SetMode(clock.Manual)
		if c.Mode() != clock.Manual {
			t.Errorf("Mode() = %q, want %q", c.Mode(), clock.Manual)
		}
		var fired atomic.Bool
		c.AfterFunc(time.Minute, func(time.Time) { fired.Store(true) })
		time.Sleep(time.Hour)
		if got, want := c.Now(), t0.Add(time.Minute); !got.Equal(want) {
			t.Errorf("Now() in Manual mode an hour later = %v, want %v", got, want)
		}
		if fired.Load() {
			t.Error("timer fired in Manual mode without Advance")
		}

		c.SetMode(clock.Real)
		if got, want := c.Now(), t0.Add(time.Minute); !got.Equal(want) {
			t.Errorf("Now() back in Real mode = %v, want %v", got, want)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !fired.Load() {
			t.Error("timer did not fire a wall second after returning to Real mode")
		}
		if got, want := c.Now(), t0.Add(2*time.Minute); !got.Equal(want) {
			t.Errorf("Now() = %v, want %v", got, want)
		}
	})
}

func TestSetScaleKeepsTimeContinuousAndRearms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 1)
		defer c.Close()
		var firedAt recorder[time.Time]
		c.AfterFunc(2*time.Hour+10*time.Second, firedAt.add)
		time.Sleep(10 * time.Second)

		c.SetScale(3600)
		if got, want := c.Now(), t0.Add(10*time.Second); !got.Equal(want) {
			t.Errorf("Now() right after SetScale = %v, want %v", got, want)
		}
		if c.Scale() != 3600 {
			t.Errorf("Scale() = %v, want 3600", c.Scale())
		}
		if got, want := c.WallDuration(2*time.Hour), 2*time.Second; got != want {
			t.Errorf("WallDuration(2h) = %v, want %v", got, want)
		}
		time.Sleep(2*time.Second - time.Nanosecond)
		synctest.Wait()
		if len(firedAt.all()) != 0 {
			t.Fatal("fired before 2 wall seconds at scale 3600")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if diff := cmp.Diff([]time.Time{t0.Add(2*time.Hour + 10*time.Second)}, firedAt.all()); diff != "" {
			t.Errorf("firings (-want +got):\n%s", diff)
		}
	})
}

func TestAdvanceInRealMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 60)
		defer c.Close()
		time.Sleep(time.Second)
		var got []firing
		c.AfterFunc(30*time.Minute, func(now time.Time) {
			got = append(got, firing{ID: 1, Arg: now, Now: c.Now()})
		})
		if got, want := c.Advance(time.Hour), t0.Add(time.Hour+time.Minute); !got.Equal(want) {
			t.Errorf("Advance(1h) = %v, want %v", got, want)
		}
		want := []firing{{ID: 1, Arg: t0.Add(31 * time.Minute), Now: t0.Add(31 * time.Minute)}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("firings (-want +got):\n%s", diff)
		}
		time.Sleep(time.Second)
		if got, want := c.Now(), t0.Add(time.Hour+2*time.Minute); !got.Equal(want) {
			t.Errorf("Now() a wall second after Advance = %v, want %v", got, want)
		}
	})
}

func TestCallbacksNeverOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 60)
		defer c.Close()
		var inflight, fired atomic.Int32
		callback := func(time.Time) {
			if n := inflight.Add(1); n != 1 {
				t.Errorf("%d callbacks running at once", n)
			}
			runtime.Gosched()
			fired.Add(1)
			inflight.Add(-1)
		}
		rng := rand.New(rand.NewPCG(8, 9))
		const n = 1000
		for range n {
			c.AfterFunc(time.Duration(rng.Int64N(int64(2*time.Hour))), callback)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 20 {
					c.Advance(time.Minute)
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		time.Sleep(2 * time.Minute)
		if got := fired.Load(); got != n {
			t.Errorf("fired %d callbacks, want %d", got, n)
		}
		if c.Pending() != 0 {
			t.Errorf("Pending() = %d, want 0", c.Pending())
		}
	})
}
