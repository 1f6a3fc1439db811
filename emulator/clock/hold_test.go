package clock

import (
	"slices"
	"testing"
	"time"
)

// TestHoldGivesWhatHasFired checks Hold's instant on a manual clock: zero
// before any firing, the end of each Advance after it, and zero again
// after a Reset.
func TestHoldGivesWhatHasFired(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start, Manual, 1)
	defer c.Close()
	firedTo := func() (f time.Time) {
		c.Hold(func(t time.Time) { f = t })
		return f
	}
	if f := firedTo(); !f.IsZero() {
		t.Fatalf("before any firing: %v", f)
	}
	c.AfterFunc(time.Second, func(time.Time) {})
	c.Advance(5 * time.Second)
	if f := firedTo(); !f.Equal(start.Add(5 * time.Second)) {
		t.Fatalf("after Advance(5s): %v", f)
	}
	c.Reset(start, Manual, 1)
	if f := firedTo(); !f.IsZero() {
		t.Fatalf("after Reset: %v", f)
	}
}

// TestHoldOnARealClock checks that a real clock's Hold instant follows
// its firing: a timer due in the past has fired once the instant passes
// it, and no timer fires while f runs.
func TestHoldOnARealClock(t *testing.T) {
	c := New(time.Time{}, Real, 1)
	defer c.Close()
	fired := make(chan time.Time, 1)
	due := c.Now().Add(time.Millisecond)
	c.AtFunc(due, func(now time.Time) { fired <- now })
	<-fired
	var f time.Time
	for range 1000 { // the loop notes the instant once the callback returns
		c.Hold(func(t time.Time) { f = t })
		if !f.Before(due) {
			break
		}
		SleepWall(t.Context(), time.Millisecond)
	}
	if f.Before(due) {
		t.Fatalf("Hold's instant %v is before the fired timer's due %v", f, due)
	}
	ran := make(chan struct{})
	c.Hold(func(time.Time) {
		c.AtFunc(c.Now(), func(time.Time) { close(ran) })
		SleepWall(t.Context(), 20*time.Millisecond)
		select {
		case <-ran:
			t.Error("a timer fired while Hold's function ran")
		default:
		}
	})
	<-ran
}

// TestJumpToLeavesTimersPending checks that JumpTo moves the reading
// without firing, and that the next AdvanceTo fires what was left behind
// in order, each at its due instant.
func TestJumpToLeavesTimersPending(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := New(start, Manual, 1)
	defer c.Close()
	var got []time.Duration
	for _, d := range []time.Duration{3, 1, 7} {
		c.AfterFunc(d*time.Second, func(now time.Time) { got = append(got, now.Sub(start)) })
	}
	c.JumpTo(start.Add(5 * time.Second))
	if now := c.Now(); !now.Equal(start.Add(5 * time.Second)) {
		t.Fatalf("Now after JumpTo: %v", now)
	}
	if len(got) != 0 || c.Pending() != 3 {
		t.Fatalf("JumpTo fired %v (pending %d)", got, c.Pending())
	}
	c.JumpTo(start) // not after Now: no change
	if now := c.Now(); !now.Equal(start.Add(5 * time.Second)) {
		t.Fatalf("JumpTo back moved the clock to %v", now)
	}
	c.AdvanceTo(start.Add(6 * time.Second))
	if want := []time.Duration{time.Second, 3 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	c.Advance(time.Second)
	if want := []time.Duration{time.Second, 3 * time.Second, 7 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
}
