// Package gcpause pauses the garbage collector while the emulator builds
// a big fleet (fixture generation, the state's load), whose allocations
// are almost all kept: a collection in the middle of one finds nothing to
// free and only costs time (docs/performance.md, "Start-up and memory").
package gcpause

import (
	"runtime/debug"
	"sync"
)

// Threshold is the fewest machines for which the builders pause the
// collector: below it a collection costs little.
const Threshold = 100_000

// paused counts the builds that paused the collector, so that the last to
// finish restores the percentage the first found: debug.SetGCPercent is
// the process's. A program that sets it itself during a big build gets
// the one from before the build back.
var paused struct {
	sync.Mutex
	n       int
	percent int
}

// For pauses the collector when machines is at least Threshold, and
// returns what resumes it (a no-op otherwise). Builds may overlap.
func For(machines int) (resume func()) {
	if machines < Threshold {
		return func() {}
	}
	paused.Lock()
	if paused.n == 0 {
		paused.percent = debug.SetGCPercent(-1)
	}
	paused.n++
	paused.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			paused.Lock()
			if paused.n--; paused.n == 0 {
				debug.SetGCPercent(paused.percent)
			}
			paused.Unlock()
		})
	}
}
