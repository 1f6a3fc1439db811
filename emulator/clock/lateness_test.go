package clock

import (
	"sync"
	"testing"
	"time"
)

// TestWallLate converts emulated lateness to wall time by the scale.
func TestWallLate(t *testing.T) {
	due := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		scale float64
		late  time.Duration // emulated
		want  time.Duration // wall
	}{
		{1, 250 * time.Millisecond, 250 * time.Millisecond},
		{60, time.Minute, time.Second},
		{0.5, time.Second, 2 * time.Second},
		{60, 0, 0},
		{60, -time.Second, 0}, // not yet due: not late
	} {
		b := &timebase{mode: Real, scale: tc.scale}
		if got := b.wallLate(due, due.Add(tc.late)); got != tc.want {
			t.Errorf("scale %v, %v late: wallLate = %v, want %v", tc.scale, tc.late, got, tc.want)
		}
	}
}

// lateness collects what OnLateness reports.
type lateness struct {
	mu   sync.Mutex
	seen []time.Duration
}

func (l *lateness) observe(d time.Duration) {
	l.mu.Lock()
	l.seen = append(l.seen, d)
	l.mu.Unlock()
}

func (l *lateness) get() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Duration(nil), l.seen...)
}

// TestOnLatenessReportsLongCallbacks: in Real mode a callback that runs
// long makes the next timer late by at least what it overran, and each
// fired timer is reported once, before its callback.
func TestOnLatenessReportsLongCallbacks(t *testing.T) {
	c := New(time.Time{}, Real, 1)
	defer c.Close()
	var l lateness
	c.OnLateness(l.observe)
	done := make(chan struct{})
	var reportedBefore int
	c.AfterFunc(10*time.Millisecond, func(time.Time) { time.Sleep(60 * time.Millisecond) })
	c.AfterFunc(20*time.Millisecond, func(time.Time) { reportedBefore = len(l.get()); close(done) })
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the timers did not fire")
	}
	seen := l.get()
	if len(seen) != 2 || reportedBefore != 2 {
		t.Fatalf("reports %v (%d before the second callback), want 2, both before their callbacks", seen, reportedBefore)
	}
	// The second timer was due at 20ms and could start only after the
	// first callback, which started at 10ms or later and slept 60ms.
	if seen[1] < 50*time.Millisecond {
		t.Errorf("second timer reported %v late, want at least 50ms", seen[1])
	}
}

// TestOnLatenessIgnoresAdvance: timers that Advance fires are on time by
// construction and not reported; a nil observer stops the reports.
func TestOnLatenessIgnoresAdvance(t *testing.T) {
	c := New(time.Time{}, Manual, 1)
	defer c.Close()
	var l lateness
	c.OnLateness(l.observe)
	fired := 0
	c.AfterFunc(time.Hour, func(time.Time) { fired++ })
	c.Advance(2 * time.Hour)
	if fired != 1 || len(l.get()) != 0 {
		t.Errorf("Advance fired %d timer(s) and reported %v, want 1 and no report", fired, l.get())
	}

	r := New(time.Time{}, Real, 1)
	defer r.Close()
	r.OnLateness(l.observe)
	r.OnLateness(nil)
	done := make(chan struct{})
	r.AfterFunc(0, func(time.Time) { close(done) })
	<-done
	if len(l.get()) != 0 {
		t.Errorf("after OnLateness(nil): reported %v", l.get())
	}
}
