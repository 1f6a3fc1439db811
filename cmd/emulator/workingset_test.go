package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// TestQuietWatch: a quiet spell is a time of at least the period with no
// request begun and none in flight; each is reported once, and only when
// something was served since the last one reported.
func TestQuietWatch(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// Start-up released at t0 with 3 requests begun; period 30 s.
	w := quietWatch{period: 30 * time.Second, last: 3, since: t0}
	for i, c := range []struct {
		at      int // seconds
		began   uint64
		serving int
		want    bool
	}{
		{40, 3, 0, false},  // nothing served since start-up's release
		{45, 5, 0, false},  // requests began
		{50, 9, 1, false},  // and still
		{80, 9, 1, false},  // a request in flight (a slow download) for 30 s
		{105, 9, 0, false}, // done: 25 s quiet since it was last seen
		{110, 9, 0, true},  // 30 s
		{115, 9, 0, false}, // the same spell goes on
		{500, 9, 0, false}, //
		{505, 10, 0, false},
		{530, 10, 0, false}, // 25 s
		{535, 10, 0, true},  // a new spell
		{540, 11, 0, false}, // a client polling every 15 s keeps it busy
		{555, 12, 0, false},
		{570, 13, 0, false},
		{585, 14, 0, false},
		{645, 15, 0, false}, // a scrape a minute leaves room for one
		{675, 15, 0, true},
	} {
		if got := w.quiet(at(c.at), c.began, c.serving); got != c.want {
			t.Errorf("read %d (at %d s, began %d, serving %d): quiet = %v, want %v", i, c.at, c.began, c.serving, got, c.want)
		}
	}
}

// TestReleaseWhenIdle: memory goes back once start-up has settled, once
// after requests stop, and not again while the emulator stays alone.
func TestReleaseWhenIdle(t *testing.T) {
	const period = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var began atomic.Uint64
	var released atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		releaseWhenIdle(ctx, period, 4*period, period,
			func() (uint64, int) { return began.Load(), 0 },
			func() { released.Add(1) })
	}()
	waitFor := func(n int32) {
		t.Helper()
		for deadline := clock.Wall().Add(10 * time.Second); released.Load() < n; {
			if clock.Wall().After(deadline) {
				t.Fatalf("%d releases after 10 s, want %d", released.Load(), n)
			}
			_ = clock.SleepWall(ctx, time.Millisecond)
		}
	}
	waitFor(1) // start-up
	_ = clock.SleepWall(ctx, 20*period)
	if n := released.Load(); n != 1 {
		t.Fatalf("%d releases with nothing served since start-up, want 1", n)
	}
	began.Add(4) // a client came and went
	waitFor(2)
	_ = clock.SleepWall(ctx, 20*period)
	if n := released.Load(); n != 2 {
		t.Fatalf("%d releases in one quiet spell, want 2 in all", n)
	}
	cancel()
	<-done
}

// TestReleaseWhenIdleAfterBusyStart: with a request in flight when
// start-up settles, memory goes back only once it is over and a quiet
// spell has passed.
func TestReleaseWhenIdleAfterBusyStart(t *testing.T) {
	const period = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var serving atomic.Int32
	serving.Store(1)
	var released atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		releaseWhenIdle(ctx, period, 4*period, period,
			func() (uint64, int) { return 1, int(serving.Load()) },
			func() { released.Add(1) })
	}()
	_ = clock.SleepWall(ctx, 30*period)
	if n := released.Load(); n != 0 {
		t.Fatalf("%d releases with a request in flight, want 0", n)
	}
	serving.Store(0)
	for deadline := clock.Wall().Add(10 * time.Second); released.Load() < 1; {
		if clock.Wall().After(deadline) {
			t.Fatal("no release 10 s after the request ended")
		}
		_ = clock.SleepWall(ctx, time.Millisecond)
	}
	_ = clock.SleepWall(ctx, 20*period)
	if n := released.Load(); n != 1 {
		t.Fatalf("%d releases, want 1", n)
	}
	cancel()
	<-done
}
