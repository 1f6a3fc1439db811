package main

import (
	"math"
	"testing"

	"github.com/mdelive/mde-emulator/internal/state"
)

// TestMemoryLimitFollowsRetention: the soft memory limit is the base one
// up to the default retention, grows by memoryPerKeptAction for each
// finished action kept past it, and is gone when nothing bounds them.
func TestMemoryLimitFollowsRetention(t *testing.T) {
	def := state.DefaultRetention.MaxActions
	for _, c := range []struct {
		retain int
		want   int64
	}{
		{-1, math.MaxInt64},
		{0, baseMemoryLimit},
		{1000, baseMemoryLimit},
		{def, baseMemoryLimit},
		{def + 1, baseMemoryLimit + memoryPerKeptAction},
		{1_000_000, baseMemoryLimit + int64(1_000_000-def)*memoryPerKeptAction},
	} {
		if got := memoryLimit(c.retain); got != c.want {
			t.Errorf("memoryLimit(%d) = %d, want %d", c.retain, got, c.want)
		}
	}
	// A million kept actions (~1 KB of heap each) leave the collector
	// room: the limit is at least twice their heap.
	if got := memoryLimit(1_000_000); got < 2*1_000_000<<10 {
		t.Errorf("memoryLimit(1,000,000) = %d MiB: no room past the actions' heap", got>>20)
	}
}
