package clock

import "time"

// OnLateness registers f to learn how late each timer fires: for every
// timer the clock fires while time flows by itself (Real mode, no Advance
// running), the wall time between the instant the timer fell due and the
// instant its callback starts. It is the clock's lag: the wall timer
// waking late, the scheduler, and callbacks before it that ran long (they
// run one at a time) all add to it. Timers that Advance fires are never
// late (time waits for them) and are not reported. f runs on the clock's
// goroutine just before the callback, without the clock's lock; keep it
// short. A nil f stops the reports; a later call replaces the earlier f.
func (c *Clock) OnLateness(f func(late time.Duration)) {
	if f == nil {
		c.lateness.Store(nil)
		return
	}
	c.lateness.Store(&f)
}

// observeLateness reports late to the OnLateness observer, if any.
func (c *Clock) observeLateness(late time.Duration) {
	if f := c.lateness.Load(); f != nil {
		(*f)(late)
	}
}

// wallLate returns how much wall time has passed since emulated time
// reached due, now being the emulated time: the emulated lateness over the
// scale.
func (b *timebase) wallLate(due, now time.Time) time.Duration {
	late := now.Sub(due)
	if late <= 0 {
		return 0
	}
	return scaleDuration(late, 1/b.scale)
}
