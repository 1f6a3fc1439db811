package clock

import (
	"runtime"
	"time"
)

// run is the background goroutine. It sleeps on one wall-clock timer armed
// for the earliest pending timer while time flows (Real mode, no Advance
// running), and not at all otherwise; kick makes it re-arm.
func (c *Clock) run() {
	wt := time.NewTimer(time.Hour)
	wt.Stop()
	defer wt.Stop()
	for {
		c.loops.Add(1)
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		if b, t := c.base.Load(), c.earliestLocked(); b.flowing() && t != nil {
			wt.Reset(b.wallUntil(t.due, time.Now()))
		} else {
			wt.Stop()
		}
		c.mu.Unlock()

		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-wt.C:
			c.fireDue()
		}
	}
}

// fireDue fires, in order, every timer due by the flowing emulated time.
// Each callback receives its own due instant.
func (c *Clock) fireDue() {
	c.fireMu.Lock()
	defer c.fireMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		t := c.earliestLocked()
		b := c.base.Load()
		if !b.flowing() {
			return
		}
		now := b.now()
		if t == nil || t.due.After(now) {
			c.firedThroughLocked(now)
			return
		}
		c.firedThroughLocked(t.due)
		c.timers.pop()
		t.pending = false
		c.live--
		due, seq := t.due, t.seq // a reusable timer's may change once unlocked
		c.mu.Unlock()
		func() {
			defer c.mu.Lock()
			c.observeLateness(b.wallLate(due, now))
			t.run(due, seq)
			// Let the goroutines waiting for the CPU run between two
			// callbacks: a burst of due timers (thousands of actions
			// moving on at once under load) would otherwise hold a
			// processor for a whole time slice, and every request
			// queued behind it would wait that long. It does not let
			// the network be read: on one processor the scheduler
			// takes this goroutine from the global run queue before it
			// polls the network, so a request that arrives during a
			// burst waits for its end all the same (docs/performance.md,
			// "The network poller": a wait instead of the yield, tried,
			// made the tail worse).
			runtime.Gosched()
		}()
	}
}

// firedThroughLocked notes that every timer due by t has fired.
func (c *Clock) firedThroughLocked(t time.Time) {
	if c.firedGen != c.gen {
		c.firedTo, c.firedGen = time.Time{}, c.gen
	}
	if t.After(c.firedTo) {
		c.firedTo = t
	}
}

// earliestLocked drops the stopped timers at the top of the heap and
// returns the earliest pending timer, or nil when none is pending.
func (c *Clock) earliestLocked() *Timer {
	for len(c.timers) > 0 {
		if t, live := c.timers.first(); live {
			return t
		}
		c.timers.pop()
	}
	return nil
}
