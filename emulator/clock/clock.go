package clock

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Mode says how emulated time moves.
type Mode string

const (
	// Real makes emulated time flow with the wall clock: emulated time is
	// start + scale * wall time elapsed, plus any manual advances.
	Real Mode = "real"
	// Manual makes emulated time move only through Advance.
	Manual Mode = "manual"
)

// ParseMode returns the Mode named s ("real" or "manual"), for admin routes
// and flags. The empty string is Real.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case Real, "":
		return Real, nil
	case Manual:
		return Manual, nil
	}
	return "", fmt.Errorf("clock: unknown mode %q (want %q or %q)", s, Real, Manual)
}

// Clock is the emulator's clock. Create it with New and Close it when done;
// all its methods are safe for concurrent use.
type Clock struct {
	// base is the current time base. Now reads it without locking; it is
	// replaced (never mutated) with mu held.
	base atomic.Pointer[timebase]

	mu     sync.Mutex // guards the fields below and every store to base
	timers timerHeap
	live   int    // timers pending: in timers and not stopped
	seq    uint64 // scheduling order, breaks ties between equal due instants
	gen    uint64 // bumped by Reset and Close: in-flight firing loops stop
	closed bool
	// firedTo is the instant up to which every timer due has fired, as
	// of generation firedGen (Hold).
	firedTo  time.Time
	firedGen uint64

	// fireMu is held while callbacks run, so they run one at a time.
	fireMu sync.Mutex

	wake      chan struct{} // re-arm request for the background goroutine
	done      chan struct{} // closed by Close
	closeOnce sync.Once
	loops     atomic.Int64                             // background goroutine iterations, for tests
	lateness  atomic.Pointer[func(late time.Duration)] // OnLateness's observer
}

// timebase maps wall-clock time to emulated time. It is immutable once
// published.
type timebase struct {
	emu    time.Time // emulated instant at wall
	wall   time.Time // wall-clock reading (monotonic) that matches emu
	mode   Mode
	scale  float64
	frozen bool // an Advance is running: time stands at emu
}

func newTimebase(start time.Time, mode Mode, scale float64, wall time.Time) *timebase {
	if start.IsZero() {
		start = wall
	}
	return &timebase{emu: start.UTC(), wall: wall, mode: checkMode(mode), scale: checkScale(scale)}
}

// flowing reports whether emulated time follows the wall clock.
func (b *timebase) flowing() bool { return b.mode == Real && !b.frozen }

// at returns the emulated time at the wall-clock reading wall.
func (b *timebase) at(wall time.Time) time.Time {
	if !b.flowing() {
		return b.emu
	}
	return b.emu.Add(scaleDuration(wall.Sub(b.wall), b.scale))
}

func (b *timebase) now() time.Time {
	if !b.flowing() {
		return b.emu
	}
	return b.at(time.Now())
}

// wallUntil returns the wall-clock time from wall until emulated time
// reaches due, rounded up so that waking then finds due reached.
func (b *timebase) wallUntil(due time.Time, wall time.Time) time.Duration {
	left := due.Sub(b.at(wall))
	if left <= 0 {
		return 0
	}
	return scaleDuration(left, 1/b.scale)
}

// scaleDuration returns d*s rounded up to the nanosecond, saturating
// instead of overflowing.
func scaleDuration(d time.Duration, s float64) time.Duration {
	if s == 1 {
		return d
	}
	f := math.Ceil(float64(d) * s)
	switch {
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(f)
}

func checkMode(m Mode) Mode {
	got, err := ParseMode(string(m))
	if err != nil {
		panic(err)
	}
	return got
}

func checkScale(s float64) float64 {
	if !(s > 0) || math.IsInf(s, 1) {
		return 1
	}
	return s
}

// New returns a running clock whose emulated time starts at start (the wall
// clock's now if start is zero) in the given mode. A scale that is not a
// positive finite number means 1; the empty mode means Real; an unknown mode
// panics (use ParseMode on user input). Call Close to stop the clock's
// background goroutine.
func New(start time.Time, mode Mode, scale float64) *Clock {
	c := &Clock{wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.base.Store(newTimebase(start, mode, scale, time.Now()))
	go c.run()
	return c
}

// Now returns the current emulated time, in UTC. While a callback runs
// inside Advance, Now returns that callback's due instant (or the time the
// Advance reached, if the timer was already late). Now takes no lock.
func (c *Clock) Now() time.Time {
	return c.base.Load().now()
}

// Mode returns the clock's mode.
func (c *Clock) Mode() Mode { return c.base.Load().mode }

// Scale returns the clock's scale: emulated seconds per wall second in
// Real mode.
func (c *Clock) Scale() float64 { return c.base.Load().scale }

// WallDuration expresses the emulated duration d in wall-clock time: d/scale
// in Real mode (rounded up to the nanosecond) and d in Manual mode, where
// no wall time will ever make it pass. Use it for Retry-After.
func (c *Clock) WallDuration(d time.Duration) time.Duration {
	b := c.base.Load()
	if b.mode != Real {
		return d
	}
	return scaleDuration(d, 1/b.scale)
}

// EmulatedDuration is the inverse of WallDuration: it expresses the wall
// duration d in emulated time, d*scale in Real mode (rounded up to the
// nanosecond) and d in Manual mode (where, by WallDuration's convention,
// wall and emulated durations are the same). Use it for what a client
// measures with its own clock, such as a token's expires_in: something that
// must stop working once d of wall time has passed ends d*scale of emulated
// time from now. The conversion uses the mode and scale of the moment; a
// later SetMode or SetScale does not change durations already converted.
func (c *Clock) EmulatedDuration(d time.Duration) time.Duration {
	b := c.base.Load()
	if b.mode != Real {
		return d
	}
	return scaleDuration(d, b.scale)
}

// SetMode switches the clock to mode m, keeping emulated time continuous:
// Now right after the switch is Now right before it. An unknown mode panics.
func (c *Clock) SetMode(m Mode) {
	m = checkMode(m)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rebaseLocked(func(b *timebase) { b.mode = m })
}

// SetScale changes the speed of Real mode, keeping emulated time
// continuous. A scale that is not a positive finite number means 1. In
// Manual mode it only records the scale for a later switch to Real.
func (c *Clock) SetScale(scale float64) {
	scale = checkScale(scale)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rebaseLocked(func(b *timebase) { b.scale = scale })
}

// rebaseLocked publishes a time base that starts at the current emulated
// time, changed by change, and has the background goroutine re-arm.
func (c *Clock) rebaseLocked(change func(*timebase)) {
	old := c.base.Load()
	w := time.Now()
	b := *old
	b.emu, b.wall = old.at(w), w
	change(&b)
	c.base.Store(&b)
	c.kick()
}

// Reset drops all pending timers (they never fire, and Stop on them returns
// false) and restarts the clock as New would, without a new goroutine. A
// callback that is running finishes; an Advance in progress stops firing and
// returns. Unlike Advance, Reset may be called from a callback. After Close,
// Reset moves the time but timers still never fire.
func (c *Clock) Reset(start time.Time, mode Mode, scale float64) {
	mode = checkMode(mode)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.timers.clear()
	c.live = 0
	c.base.Store(newTimebase(start, mode, scale, time.Now()))
	c.kick()
}

// Close stops the background goroutine and drops all pending timers: they
// never fire, and timers scheduled afterwards never fire either. Now,
// Advance, SetMode and the like keep working. Close does not wait for a
// running callback and may be called more than once, or from a callback.
func (c *Clock) Close() {
	c.mu.Lock()
	c.closed = true
	c.gen++
	c.timers.clear()
	c.live = 0
	c.mu.Unlock()
	c.closeOnce.Do(func() { close(c.done) })
}

// Hold runs f while no timer fires, and gives it the instant up to which
// every timer due has fired (zero: none has since New or Reset). A timer
// of a real clock fires a little after its due instant; a change made
// under Hold can note that instant, and a replay of the change run after
// the same timers only (AdvanceTo it, then JumpTo the change's instant).
// f must not call Advance or AdvanceTo, which wait for Hold to end.
func (c *Clock) Hold(f func(firedTo time.Time)) {
	c.fireMu.Lock()
	defer c.fireMu.Unlock()
	c.mu.Lock()
	firedTo := c.firedTo
	if c.firedGen != c.gen {
		firedTo = time.Time{}
	}
	c.mu.Unlock()
	f(firedTo)
}

// JumpTo moves a manual clock's reading on to t without firing the timers
// due by then: they stay pending, and the next Advance or AdvanceTo fires
// them in order, each with its own due instant, before the later ones. A
// real clock, or a t not after Now, is left as it is.
func (c *Clock) JumpTo(t time.Time) {
	c.fireMu.Lock()
	defer c.fireMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	b := *c.base.Load()
	if b.mode != Manual || !t.After(b.now()) {
		return
	}
	b.emu, b.wall = t.UTC(), time.Now()
	c.base.Store(&b)
	c.kick()
}

// Pending returns the number of timers waiting to fire.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// kick asks the background goroutine to re-arm its wall timer.
func (c *Clock) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Wall returns the wall clock's time. It is for what is really measured in
// wall time (request durations, journal wall stamps), never for emulated
// time: use Now for that.
func Wall() time.Time { return time.Now() }

// SleepWall waits for d of wall time or until ctx is done, whichever comes
// first (injected latency is wall time: a client's timeouts are).
func SleepWall(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
