package clock

import "time"

// Timer is a callback scheduled on a Clock: once, by AfterFunc or AtFunc,
// or as often as it is Reset, when InitTimer made it.
type Timer struct {
	c       *Clock
	due     time.Time
	seq     uint64 // the scheduling in force: its heap entry carries the same
	f       func(now time.Time)
	firer   Firer // instead of f, for a timer made by InitTimer
	pending bool  // in c.timers and neither fired, stopped nor dropped. Guarded by c.mu.
}

// Firer is what a reusable timer runs (InitTimer): Fire gets the
// emulated instant the timer was due at and the number Reset returned
// when it scheduled that firing, so a callback can tell a firing that
// a later Reset has replaced from the one in force.
type Firer interface {
	Fire(now time.Time, seq uint64)
}

// InitTimer makes t, a zero Timer, a timer of c that calls f.Fire each
// time it comes due, stopped until Reset schedules it. Unlike AtFunc it
// allocates nothing, then or when Reset: a Timer kept inside the value
// it serves, and rescheduled step after step, costs the collector no
// object of its own. t must not be copied once initialized.
func (c *Clock) InitTimer(t *Timer, f Firer) {
	if f == nil {
		panic("clock: nil Firer")
	}
	*t = Timer{c: c, firer: f}
}

// Reset schedules t, made by InitTimer, to fire at the emulated instant
// due, replacing the firing scheduled before if it is still pending. A
// due that is not after Now makes it due now, as AtFunc does. It returns
// the scheduling's sequence number, which the Firer receives; numbers
// grow with every timer scheduled on the clock, so none is 0.
func (t *Timer) Reset(due time.Time) uint64 {
	c := t.c
	if t.firer == nil {
		panic("clock: Reset of a timer not made by InitTimer")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.base.Load().now(); due.Before(now) {
		due = now
	}
	c.seq++
	t.due, t.seq = due.UTC(), c.seq
	if c.closed {
		return t.seq
	}
	if !t.pending {
		t.pending = true
		c.live++
	}
	// The entry of the replaced firing stays in the heap until it reaches
	// the top, where its old sequence number marks it stale, or until
	// dropStaleLocked compacts the heap.
	if c.timers.push(t) && c.base.Load().flowing() {
		c.kick()
	}
	c.dropStaleLocked()
	return t.seq
}

// Due returns the emulated instant the timer is, or was, due at: for a
// timer made by InitTimer, that of its latest Reset. For a timer
// scheduled in the past it is the clock's time when it was scheduled.
func (t *Timer) Due() time.Time {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	return t.due
}

// Stop prevents the timer from firing. It returns true if it stopped the
// timer, false if the timer had already fired (or started firing), had been
// stopped, or was dropped by the clock's Reset or Close. Stop is O(1): the
// timer stays in the heap, marked, until it reaches the top. A timer made
// by InitTimer can be Reset again after Stop.
func (t *Timer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.pending {
		return false
	}
	t.pending = false
	c.live--
	c.dropStaleLocked()
	return true
}

// staleSlack is how many stale entries (stopped timers, replaced
// schedulings) the heap may hold beyond as many as it has live ones.
const staleSlack = 1024

// dropStaleLocked compacts the heap when its stale entries outnumber its
// live ones by staleSlack: each compaction is O(heap) and comes after at
// least as many Stops and Resets, so it costs O(1) amortized, and the
// heap holds at most twice its live entries and staleSlack more.
func (c *Clock) dropStaleLocked() {
	if len(c.timers) > 2*c.live+staleSlack {
		c.timers.compact()
	}
}

// run calls the timer's callback for its firing seq, due at due.
func (t *Timer) run(due time.Time, seq uint64) {
	if t.firer != nil {
		t.firer.Fire(due, seq)
		return
	}
	t.f(due)
}

// AfterFunc schedules f to run when emulated time reaches Now()+d. f
// receives its due instant. A d <= 0 makes the timer due now: it fires at
// the next opportunity (at once in Real mode, at the next Advance in Manual
// mode). It panics if f is nil.
func (c *Clock) AfterFunc(d time.Duration, f func(now time.Time)) *Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.base.Load().now()
	return c.addLocked(now, now.Add(d), f)
}

// AtFunc schedules f to run when emulated time reaches t. f receives its due
// instant. A t that is not after Now makes the timer due now (its due
// instant, and f's argument, is the clock's time at the call): it fires at
// the next opportunity (at once in Real mode, at the next Advance in Manual
// mode). It panics if f is nil.
func (c *Clock) AtFunc(t time.Time, f func(now time.Time)) *Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addLocked(c.base.Load().now(), t.UTC(), f)
}

func (c *Clock) addLocked(now, due time.Time, f func(time.Time)) *Timer {
	if f == nil {
		panic("clock: nil timer func")
	}
	if due.Before(now) {
		due = now
	}
	c.seq++
	t := &Timer{c: c, due: due, seq: c.seq, f: f}
	if c.closed {
		return t
	}
	t.pending = true
	c.live++
	if c.timers.push(t) && c.base.Load().flowing() {
		c.kick()
	}
	return t
}

// Advance moves emulated time forward by d, in any mode, and returns the new
// time. Before it returns, every timer due up to the new time fires, one at
// a time, in due order (ties in scheduling order), including timers already
// late and timers that callbacks or other goroutines schedule meanwhile.
// While a callback runs, Now returns its due instant. One Advance(72*time.Hour)
// fires exactly what 259,200 calls of Advance(time.Second) fire, in the same
// order and with the same instants. A negative d counts as 0; Advance(0)
// fires what is already due.
//
// Advance must not be called from a timer callback: it would deadlock.
// If a callback panics, the clock is left at that callback's due instant
// (flowing again in Real mode) and the panic propagates.
func (c *Clock) Advance(d time.Duration) time.Time {
	return c.advance(func(now time.Time) time.Time { return now.Add(d) })
}

// AdvanceTo is Advance(t.Sub(Now())), computed atomically; if t is not after
// Now, time does not move but what is already due fires.
func (c *Clock) AdvanceTo(t time.Time) time.Time {
	t = t.UTC()
	return c.advance(func(time.Time) time.Time { return t })
}

func (c *Clock) advance(target func(now time.Time) time.Time) time.Time {
	c.fireMu.Lock()
	defer c.fireMu.Unlock()

	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.gen
	now := c.base.Load().now()
	end := target(now)
	if end.Before(now) {
		end = now
	}
	c.freezeLocked(now)
	finished := false
	defer func() {
		// Normal return: resume at end. Panicking callback: resume where
		// it stood. A Reset or Close meanwhile owns the time base.
		if c.gen != gen {
			return
		}
		b := *c.base.Load()
		if finished {
			b.emu = end
		}
		b.wall, b.frozen = time.Now(), false
		c.base.Store(&b)
		c.kick()
	}()
	for c.gen == gen {
		t := c.earliestLocked()
		if t == nil || t.due.After(end) {
			break
		}
		c.timers.pop()
		t.pending = false
		c.live--
		if t.due.After(now) {
			now = t.due
			c.freezeLocked(now)
		}
		c.firedThroughLocked(t.due)
		due, seq := t.due, t.seq // a reusable timer's may change once unlocked
		c.mu.Unlock()
		func() {
			defer c.mu.Lock()
			t.run(due, seq)
		}()
	}
	finished = true
	if c.gen != gen {
		return c.base.Load().now()
	}
	c.firedThroughLocked(end)
	return end
}

// freezeLocked stops time at now, keeping mode and scale.
func (c *Clock) freezeLocked(now time.Time) {
	b := *c.base.Load()
	b.emu, b.frozen = now, true
	c.base.Store(&b)
}
