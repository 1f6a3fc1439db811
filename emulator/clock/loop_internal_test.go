package clock

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestIdleClockDoesNotPoll(t *testing.T) {
	t0 := time.Date(2024, 3, 18, 21, 0, 0, 0, time.UTC)
	synctest.Test(t, func(t *testing.T) {
		c := New(t0, Real, 60)
		defer c.Close()
		var fired atomic.Bool
		c.AfterFunc(240*time.Hour, func(time.Time) { fired.Store(true) })
		synctest.Wait()
		armed := c.loops.Load()

		time.Sleep(4*time.Hour - time.Second) // 239 emulated hours
		synctest.Wait()
		if got := c.loops.Load(); got != armed {
			t.Errorf("background goroutine woke %d times while waiting for a timer, want 0", got-armed)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if !fired.Load() {
			t.Fatal("timer did not fire")
		}
		if got := c.loops.Load() - armed; got != 1 {
			t.Errorf("background goroutine woke %d times to fire one timer, want 1", got)
		}

		c.SetMode(Manual)
		c.AfterFunc(time.Second, func(time.Time) {})
		synctest.Wait()
		idle := c.loops.Load()
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if got := c.loops.Load(); got != idle {
			t.Errorf("background goroutine woke %d times in Manual mode, want 0", got-idle)
		}
	})
}
