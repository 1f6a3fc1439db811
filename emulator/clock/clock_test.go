package clock_test

import (
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

var t0 = time.Date(2024, 3, 18, 21, 0, 0, 0, time.UTC)

// firing is one callback run, as seen from inside the callback.
type firing struct {
	ID  int
	Arg time.Time // the argument f received
	Now time.Time // Now() inside f
}

func newManual(t *testing.T) *clock.Clock {
	t.Helper()
	c := clock.New(t0, clock.Manual, 1)
	t.Cleanup(c.Close)
	return c
}

func TestNew(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("Paris", 3600)
	tests := []struct {
		name      string
		start     time.Time
		mode      clock.Mode
		scale     float64
		wantNow   time.Time
		wantMode  clock.Mode
		wantScale float64
	}{
		{name: "manual", start: t0, mode: clock.Manual, scale: 60, wantNow: t0, wantMode: clock.Manual, wantScale: 60},
		{name: "zero scale is 1", start: t0, mode: clock.Manual, scale: 0, wantNow: t0, wantMode: clock.Manual, wantScale: 1},
		{name: "negative scale is 1", start: t0, mode: clock.Manual, scale: -3, wantNow: t0, wantMode: clock.Manual, wantScale: 1},
		{name: "start converted to UTC", start: t0.In(paris), mode: clock.Manual, scale: 1, wantNow: t0, wantMode: clock.Manual, wantScale: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := clock.New(tt.start, tt.mode, tt.scale)
			defer c.Close()
			got := c.Now()
			if !got.Equal(tt.wantNow) || got.Location() != time.UTC {
				t.Errorf("Now() = %v, want %v in UTC", got, tt.wantNow)
			}
			if c.Mode() != tt.wantMode {
				t.Errorf("Mode() = %q, want %q", c.Mode(), tt.wantMode)
			}
			if c.Scale() != tt.wantScale {
				t.Errorf("Scale() = %v, want %v", c.Scale(), tt.wantScale)
			}
		})
	}
}

func TestNewZeroStartIsWallNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(time.Time{}, "", 0)
		defer c.Close()
		if got, want := c.Now(), time.Now().UTC(); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Now() = %v, want %v in UTC", got, want)
		}
		if c.Mode() != clock.Real {
			t.Errorf("Mode() = %q, want %q", c.Mode(), clock.Real)
		}
	})
}

func TestParseMode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    clock.Mode
		wantErr bool
	}{
		{in: "real", want: clock.Real},
		{in: "manual", want: clock.Manual},
		{in: "", want: clock.Real},
		{in: "Manual", wantErr: true},
		{in: "fast", wantErr: true},
	}
	for _, tt := range tests {
		got, err := clock.ParseMode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestAdvanceFiresInDueOrder(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	rng := rand.New(rand.NewPCG(1, 2))
	type sched struct {
		id  int
		due time.Time
	}
	var want []sched
	var got []firing
	for id := range 1000 {
		// Whole minutes over three days, so many timers tie.
		d := time.Duration(rng.IntN(72*60)+1) * time.Minute
		tm := c.AfterFunc(d, func(now time.Time) {
			got = append(got, firing{ID: id, Arg: now, Now: c.Now()})
		})
		want = append(want, sched{id: id, due: tm.Due()})
	}
	sort.SliceStable(want, func(i, j int) bool { return want[i].due.Before(want[j].due) })
	wantFirings := make([]firing, len(want))
	for i, s := range want {
		wantFirings[i] = firing{ID: s.id, Arg: s.due, Now: s.due}
	}

	if got, want := c.Advance(72*time.Hour), t0.Add(72*time.Hour); !got.Equal(want) {
		t.Errorf("Advance returned %v, want %v", got, want)
	}
	if diff := cmp.Diff(wantFirings, got); diff != "" {
		t.Errorf("firings (-want +got):\n%s", diff)
	}
	if got, want := c.Now(), t0.Add(72*time.Hour); !got.Equal(want) {
		t.Errorf("Now() after Advance = %v, want %v", got, want)
	}
	if c.Pending() != 0 {
		t.Errorf("Pending() = %d, want 0", c.Pending())
	}
}

func TestAdvanceFiresOnlyTheAdvancedRange(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	var got []int
	for id, d := range []time.Duration{2*time.Hour + 1, time.Hour, 2 * time.Hour, 0} {
		c.AfterFunc(d, func(time.Time) { got = append(got, id) })
	}
	c.Advance(2 * time.Hour)
	if diff := cmp.Diff([]int{3, 1, 2}, got); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	if c.Pending() != 1 {
		t.Errorf("Pending() = %d, want 1", c.Pending())
	}
	c.Advance(1)
	if diff := cmp.Diff([]int{3, 1, 2, 0}, got); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
}

func TestChainedTimersFireWithinTheSameAdvance(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	var got []firing
	var chain func(id int) func(time.Time)
	chain = func(id int) func(time.Time) {
		return func(now time.Time) {
			got = append(got, firing{ID: id, Arg: now, Now: c.Now()})
			c.AfterFunc(10*time.Minute, chain(id+1)) // the last one lands after the range
			if id == 1 {
				c.AfterFunc(0, chain(100)) // due now: fires before the clock moves on
			}
		}
	}
	c.AfterFunc(10*time.Minute, chain(0))
	c.AfterFunc(25*time.Minute, func(now time.Time) {
		got = append(got, firing{ID: 50, Arg: now, Now: c.Now()})
	})
	c.Advance(30 * time.Minute)
	at := func(m time.Duration) time.Time { return t0.Add(m * time.Minute) }
	want := []firing{
		{ID: 0, Arg: at(10), Now: at(10)},
		{ID: 1, Arg: at(20), Now: at(20)},
		{ID: 100, Arg: at(20), Now: at(20)},
		{ID: 50, Arg: at(25), Now: at(25)},
		{ID: 2, Arg: at(30), Now: at(30)},
		{ID: 101, Arg: at(30), Now: at(30)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("firings (-want +got):\n%s", diff)
	}
	if c.Pending() != 2 {
		t.Errorf("Pending() = %d, want 2 (ids 3 and 102)", c.Pending())
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	t.Run("before firing", func(t *testing.T) {
		t.Parallel()
		c := newManual(t)
		fired := false
		tm := c.AfterFunc(time.Minute, func(time.Time) { fired = true })
		if !tm.Stop() {
			t.Error("first Stop() = false, want true")
		}
		if tm.Stop() {
			t.Error("second Stop() = true, want false")
		}
		c.Advance(time.Hour)
		if fired {
			t.Error("stopped timer fired")
		}
		if c.Pending() != 0 {
			t.Errorf("Pending() = %d, want 0", c.Pending())
		}
	})
	t.Run("after firing", func(t *testing.T) {
		t.Parallel()
		c := newManual(t)
		tm := c.AfterFunc(time.Minute, func(time.Time) {})
		c.Advance(time.Minute)
		if tm.Stop() {
			t.Error("Stop() after firing = true, want false")
		}
	})
	t.Run("own timer inside its callback", func(t *testing.T) {
		t.Parallel()
		c := newManual(t)
		var tm *clock.Timer
		stopped := true
		tm = c.AfterFunc(time.Minute, func(time.Time) { stopped = tm.Stop() })
		c.Advance(time.Minute)
		if stopped {
			t.Error("Stop() inside own callback = true, want false")
		}
	})
	t.Run("later timer from an earlier callback in the same Advance", func(t *testing.T) {
		t.Parallel()
		c := newManual(t)
		var got []int
		var later *clock.Timer
		c.AfterFunc(time.Minute, func(time.Time) {
			got = append(got, 1)
			if !later.Stop() {
				t.Error("Stop() of a later timer = false, want true")
			}
		})
		later = c.AfterFunc(2*time.Minute, func(time.Time) { got = append(got, 2) })
		c.AfterFunc(3*time.Minute, func(time.Time) { got = append(got, 3) })
		c.Advance(time.Hour)
		if diff := cmp.Diff([]int{1, 3}, got); diff != "" {
			t.Errorf("fired (-want +got):\n%s", diff)
		}
	})
	t.Run("many timers, every other one stopped", func(t *testing.T) {
		t.Parallel()
		c := newManual(t)
		rng := rand.New(rand.NewPCG(3, 4))
		var timers []*clock.Timer
		var got []int
		for id := range 5000 {
			timers = append(timers, c.AfterFunc(time.Duration(rng.Int64N(int64(time.Hour))), func(time.Time) {
				got = append(got, id)
			}))
		}
		var want []int
		for id, tm := range timers {
			if id%2 == 0 {
				if !tm.Stop() {
					t.Fatalf("Stop() of pending timer %d = false", id)
				}
			} else {
				want = append(want, id)
			}
		}
		if c.Pending() != len(want) {
			t.Errorf("Pending() = %d, want %d", c.Pending(), len(want))
		}
		c.Advance(time.Hour)
		sort.Ints(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("fired (-want +got):\n%s", diff)
		}
	})
}

// scenario schedules a seeded mix of timers over three days, each of which
// may schedule follow-ups (some due at once), advances 72 hours in steps of
// step and returns what fired.
func scenario(t *testing.T, step time.Duration) (got []firing, end time.Time, pending int) {
	c := newManual(t)
	rng := rand.New(rand.NewPCG(5, 6))
	nextID := 0
	var schedule func(d time.Duration, depth int)
	schedule = func(d time.Duration, depth int) {
		id := nextID
		nextID++
		c.AfterFunc(d, func(now time.Time) {
			got = append(got, firing{ID: id, Arg: now, Now: c.Now()})
			if depth < 3 {
				schedule(time.Duration(rng.Int64N(int64(12*time.Hour))), depth+1)
			}
			if id%7 == 0 {
				schedule(0, 3)
			}
		})
	}
	for i := range 3000 {
		d := time.Duration(rng.Int64N(int64(80 * time.Hour)))
		if i%3 == 0 {
			d = d.Truncate(time.Minute) // ties
		}
		schedule(d, 0)
	}
	for elapsed := time.Duration(0); elapsed < 72*time.Hour; elapsed += step {
		c.Advance(step)
	}
	return got, c.Now(), c.Pending()
}

func TestOneBigAdvanceEqualsManySmallOnes(t *testing.T) {
	t.Parallel()
	bigFirings, bigEnd, bigPending := scenario(t, 72*time.Hour)
	smallFirings, smallEnd, smallPending := scenario(t, time.Second)
	if len(bigFirings) < 5000 {
		t.Fatalf("only %d firings; the scenario is too small to mean anything", len(bigFirings))
	}
	if diff := cmp.Diff(bigFirings, smallFirings); diff != "" {
		t.Errorf("firings, one Advance(72h) vs 259,200 Advance(1s) (-big +small):\n%s", diff)
	}
	if !bigEnd.Equal(smallEnd) || !bigEnd.Equal(t0.Add(72*time.Hour)) {
		t.Errorf("end = %v (big), %v (small), want %v", bigEnd, smallEnd, t0.Add(72*time.Hour))
	}
	if bigPending != smallPending {
		t.Errorf("Pending() = %d (big), %d (small)", bigPending, smallPending)
	}
	for i := 1; i < len(bigFirings); i++ {
		if bigFirings[i].Arg.Before(bigFirings[i-1].Arg) {
			t.Fatalf("firing %d at %v came after %v", i, bigFirings[i].Arg, bigFirings[i-1].Arg)
		}
	}
	for _, f := range bigFirings {
		if !f.Now.Equal(f.Arg) {
			t.Fatalf("timer %d: Now() = %v inside callback, want its due %v", f.ID, f.Now, f.Arg)
		}
	}
}

func TestAtFunc(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	var got []firing
	record := func(id int) func(time.Time) {
		return func(now time.Time) { got = append(got, firing{ID: id, Arg: now, Now: c.Now()}) }
	}
	c.AtFunc(t0.Add(time.Hour).In(time.FixedZone("X", 7200)), record(1))
	past := c.AtFunc(t0.Add(-time.Hour), record(0))
	if !past.Due().Equal(t0) {
		t.Errorf("Due() of a timer in the past = %v, want the clock's time %v", past.Due(), t0)
	}
	if c.Pending() != 2 {
		t.Fatalf("Pending() = %d, want 2", c.Pending())
	}
	c.Advance(0)
	want := []firing{{ID: 0, Arg: t0, Now: t0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Advance(0) (-want +got):\n%s", diff)
	}
	c.Advance(2 * time.Hour)
	want = append(want, firing{ID: 1, Arg: t0.Add(time.Hour), Now: t0.Add(time.Hour)})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after Advance(2h) (-want +got):\n%s", diff)
	}
}

func TestAdvanceTo(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	fired := 0
	c.AfterFunc(time.Hour, func(time.Time) { fired++ })
	if got := c.AdvanceTo(t0.Add(-time.Hour)); !got.Equal(t0) {
		t.Errorf("AdvanceTo(past) = %v, want unchanged %v", got, t0)
	}
	if got, want := c.AdvanceTo(t0.Add(90*time.Minute)), t0.Add(90*time.Minute); !got.Equal(want) {
		t.Errorf("AdvanceTo = %v, want %v", got, want)
	}
	if fired != 1 {
		t.Errorf("fired %d times, want 1", fired)
	}
}

func TestConcurrentSchedulingDuringAdvance(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	var (
		mu        sync.Mutex
		fired     = map[int]bool{}
		scheduled = map[int]time.Time{}
		inflight  atomic.Int32
	)
	callback := func(id int) func(time.Time) {
		return func(time.Time) {
			if n := inflight.Add(1); n != 1 {
				t.Errorf("%d callbacks running at once", n)
			}
			mu.Lock()
			fired[id] = true
			mu.Unlock()
			inflight.Add(-1)
		}
	}
	for id := range 2000 {
		scheduled[id] = c.AfterFunc(time.Duration(id)*time.Minute, callback(id)).Due()
	}

	var wg sync.WaitGroup
	var end time.Time
	wg.Go(func() { end = c.Advance(72 * time.Hour) })
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			last := c.Now()
			for i := range 500 {
				id := 10000*(g+1) + i
				due := c.AfterFunc(time.Duration(rng.Int64N(int64(2*time.Hour)))+1, callback(id)).Due()
				mu.Lock()
				scheduled[id] = due
				mu.Unlock()
				if now := c.Now(); now.Before(last) {
					t.Errorf("Now() went back from %v to %v", last, now)
				} else {
					last = now
				}
			}
		})
	}
	wg.Wait()

	if !end.Equal(t0.Add(72 * time.Hour)) {
		t.Fatalf("Advance returned %v, want %v", end, t0.Add(72*time.Hour))
	}
	pending := 0
	for id, due := range scheduled {
		want := !due.After(end)
		if fired[id] != want {
			t.Errorf("timer %d due %v: fired = %v, want %v", id, due, fired[id], want)
		}
		if !want {
			pending++
		}
	}
	if c.Pending() != pending {
		t.Errorf("Pending() = %d, want %d", c.Pending(), pending)
	}
}

func TestWallDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mode  clock.Mode
		scale float64
		d     time.Duration
		want  time.Duration
	}{
		{name: "real, scale 1", mode: clock.Real, scale: 1, d: time.Minute, want: time.Minute},
		{name: "real, scale 60", mode: clock.Real, scale: 60, d: 10 * time.Minute, want: 10 * time.Second},
		{name: "real, slowed down", mode: clock.Real, scale: 0.5, d: time.Minute, want: 2 * time.Minute},
		{name: "real, rounded up", mode: clock.Real, scale: 3, d: 10, want: 4},
		{name: "manual ignores scale", mode: clock.Manual, scale: 60, d: time.Minute, want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := clock.New(t0, tt.mode, tt.scale)
			defer c.Close()
			if got := c.WallDuration(tt.d); got != tt.want {
				t.Errorf("WallDuration(%v) = %v, want %v", tt.d, got, tt.want)
			}
		})
	}
}

func TestEmulatedDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mode  clock.Mode
		scale float64
		d     time.Duration
		want  time.Duration
	}{
		{name: "real, scale 1", mode: clock.Real, scale: 1, d: time.Minute, want: time.Minute},
		{name: "real, scale 60", mode: clock.Real, scale: 60, d: 2 * time.Second, want: 2 * time.Minute},
		{name: "real, slowed down", mode: clock.Real, scale: 0.5, d: 2 * time.Minute, want: time.Minute},
		{name: "real, rounded up", mode: clock.Real, scale: 1.0 / 3, d: 10, want: 4},
		{name: "manual ignores scale", mode: clock.Manual, scale: 60, d: time.Minute, want: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := clock.New(t0, tt.mode, tt.scale)
			defer c.Close()
			got := c.EmulatedDuration(tt.d)
			if got != tt.want {
				t.Errorf("EmulatedDuration(%v) = %v, want %v", tt.d, got, tt.want)
			}
			// The inverse of WallDuration: rounding is up, so the round
			// trip never comes back shorter than d.
			if back := c.WallDuration(got); back < tt.d {
				t.Errorf("WallDuration(EmulatedDuration(%v)) = %v", tt.d, back)
			}
		})
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	fired := false
	old := c.AfterFunc(time.Minute, func(time.Time) { fired = true })
	c.Advance(30 * time.Second)

	start := t0.Add(-24 * time.Hour)
	c.Reset(start, clock.Manual, 10)
	if c.Pending() != 0 {
		t.Errorf("Pending() after Reset = %d, want 0", c.Pending())
	}
	if got := c.Now(); !got.Equal(start) {
		t.Errorf("Now() after Reset = %v, want %v", got, start)
	}
	if c.Scale() != 10 {
		t.Errorf("Scale() after Reset = %v, want 10", c.Scale())
	}
	if old.Stop() {
		t.Error("Stop() of a timer dropped by Reset = true, want false")
	}
	c.Advance(48 * time.Hour)
	if fired {
		t.Error("timer dropped by Reset fired")
	}
}

func TestResetFromCallbackEndsTheAdvance(t *testing.T) {
	t.Parallel()
	c := newManual(t)
	var got []int
	c.AfterFunc(time.Minute, func(time.Time) {
		got = append(got, 1)
		c.Reset(t0, clock.Manual, 1)
		c.AfterFunc(time.Second, func(time.Time) { got = append(got, 3) })
	})
	c.AfterFunc(2*time.Minute, func(time.Time) { got = append(got, 2) })
	if now := c.Advance(time.Hour); !now.Equal(t0) {
		t.Errorf("Advance interrupted by Reset returned %v, want %v", now, t0)
	}
	if diff := cmp.Diff([]int{1}, got); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
	if c.Pending() != 1 {
		t.Errorf("Pending() = %d, want 1 (the timer scheduled after Reset)", c.Pending())
	}
	c.Advance(time.Second)
	if diff := cmp.Diff([]int{1, 3}, got); diff != "" {
		t.Errorf("fired (-want +got):\n%s", diff)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	c := clock.New(t0, clock.Manual, 1)
	fired := false
	c.AfterFunc(time.Minute, func(time.Time) { fired = true })
	c.Close()
	c.Close()
	after := c.AfterFunc(time.Minute, func(time.Time) { fired = true })
	if got, want := c.Advance(time.Hour), t0.Add(time.Hour); !got.Equal(want) {
		t.Errorf("Advance after Close = %v, want %v", got, want)
	}
	if fired {
		t.Error("a timer fired after Close")
	}
	if after.Stop() {
		t.Error("Stop() of a timer scheduled after Close = true, want false")
	}
	if c.Pending() != 0 {
		t.Errorf("Pending() = %d, want 0", c.Pending())
	}
}

func TestAdvanceSurvivesPanickingCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := clock.New(t0, clock.Real, 60)
		defer c.Close()
		c.AfterFunc(time.Hour, func(time.Time) { panic("boom") })
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recover() = %v, want boom", r)
				}
			}()
			c.Advance(2 * time.Hour)
		}()
		if got, want := c.Now(), t0.Add(time.Hour); !got.Equal(want) {
			t.Errorf("Now() after the panic = %v, want the panicking timer's due %v", got, want)
		}
		time.Sleep(time.Second)
		if got, want := c.Now(), t0.Add(time.Hour+time.Minute); !got.Equal(want) {
			t.Errorf("Now() a wall second later = %v, want %v (time flows again)", got, want)
		}
	})
}

// Instants far outside what Unix nanoseconds hold sort after every
// representable one.
func TestFarInstantsKeepTheirOrder(t *testing.T) {
	c := clock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), clock.Manual, 1)
	defer c.Close()
	var got []string
	c.AtFunc(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), func(time.Time) { got = append(got, "9999") })
	c.AtFunc(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC), func(time.Time) { got = append(got, "2300") })
	c.AfterFunc(time.Hour, func(time.Time) { got = append(got, "1h") })
	c.Advance(time.Hour)
	if len(got) != 1 || got[0] != "1h" || c.Pending() != 2 {
		t.Errorf("fired %v, %d pending", got, c.Pending())
	}
}
