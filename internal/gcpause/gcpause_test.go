package gcpause

import (
	"runtime/debug"
	"testing"
)

// TestForNests: overlapping pauses keep the collector off until the last
// resumes, which restores the percentage from before the first; a small
// build pauses nothing; resuming twice counts once.
func TestForNests(t *testing.T) {
	before := debug.SetGCPercent(73)
	defer debug.SetGCPercent(before)

	small := For(Threshold - 1)
	if got := debug.SetGCPercent(73); got != 73 {
		t.Errorf("a small build set GC percent %d", got)
	}
	small()

	a := For(Threshold)
	b := For(Threshold)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("paused: GC percent %d, want -1", got)
	}
	a()
	a()
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("one of two resumed (twice): GC percent %d, want -1", got)
	}
	b()
	if got := debug.SetGCPercent(73); got != 73 {
		t.Errorf("both resumed: GC percent %d, want 73", got)
	}
}
