package main

import (
	"math"
	"os"
	"runtime/debug"

	"github.com/mdelive/mde-emulator/internal/pollnudge"
	"github.com/mdelive/mde-emulator/internal/state"
)

// The emulator keeps its whole state in memory and allocates a few KB
// per request. Under load, how often the collector runs sets the latency
// tail: while it marks, the one processor of a pinned emulator gives it
// a quarter of its time and requests help it. The collector's share of
// the CPU goes as the inverse of GOGC, whatever the live heap, so the
// binary collects at five times the live heap instead of twice
// (GOGC=400), and bounds what that costs with a soft memory limit that
// grows with the finished actions it is told to keep (collectorPercent,
// memoryLimit; docs/performance.md, "The collector"). GOGC and
// GOMEMLIMIT in the environment override either.
const collectorPercent = 400

// baseMemoryLimit is the soft memory limit of an emulator that keeps at
// most state.DefaultRetention's finished actions: with the 400,000
// machine fleet and 100,000 actions kept, the live heap under load stays
// near 200 MB, so GOGC=400 alone would reach about 1 GB.
const baseMemoryLimit = 896 << 20

// memoryPerKeptAction is the soft limit added for each finished action
// kept past state.DefaultRetention's count: twice the 1 KiB the
// retention's byte bound counts for one (about 0.3 KiB of heap in fact
// since docs/performance.md's "Fewer words to scan"), room for the
// collector to work without running back to back.
const memoryPerKeptAction = 2 << 10

// memoryLimit returns the soft memory limit for an emulator that keeps at
// most retain finished actions (-1: no bound, and then no limit).
func memoryLimit(retain int) int64 {
	if retain < 0 {
		return math.MaxInt64
	}
	return baseMemoryLimit + int64(max(retain-state.DefaultRetention.MaxActions, 0))*memoryPerKeptAction
}

// tuneCollector sets the collector's pacing for an emulator that keeps at
// most retain finished actions, where the environment does not.
func tuneCollector(retain int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(collectorPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit(retain))
	}
}

// nudgeSwitch is the environment variable that turns the network poller's
// nudge off when set to "off" (for measuring the binary without it, as
// GOGC=off measures it without collections).
const nudgeSwitch = "MDE_POLL_NUDGE"

// nudgePoller starts, unless the environment turns it off, a
// pollnudge.Nudger that keeps the network read while the runtime sweeps
// after each collection, and returns what stops it. On one processor
// under load the sweeper's yields otherwise hold back every request that
// arrives during a sweep until sysmon polls the network, up to 10 ms
// (docs/performance.md, "The network poller nudged").
func nudgePoller() (stop func()) {
	if os.Getenv(nudgeSwitch) == "off" {
		return func() {}
	}
	n, err := pollnudge.New(pollnudge.DefaultPeriod)
	if err != nil { // no pipe to spare: serve without it
		return func() {}
	}
	stopWatching := n.AfterCollections()
	return func() {
		stopWatching()
		_ = n.Close()
	}
}
