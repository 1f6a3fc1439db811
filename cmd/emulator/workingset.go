package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// An idle emulator gives memory back to the system twice over: once
// start-up is over, and again whenever it has served nothing for
// quietPeriod (docs/performance.md, "Idle RSS").
//
//   - The heap: debug.FreeOSMemory collects and returns every free page.
//     Left to itself, the runtime keeps what the last collection found in
//     use, and with GOGC=400 (collector.go) an idle emulator that has just
//     served a burst holds it until the collection the runtime forces every
//     two minutes, then gives it back over minutes more: after the API
//     conformance suite, whose live heap is 19 MB, 331 MiB for two minutes
//     and 93 MiB a minute later.
//   - The binary's pages: start-up runs a little of nearly every 64 KiB of
//     the 27 MB binary (every package's initialization, the document's
//     loading), and the kernel maps each such neighbourhood whole: 16 MiB
//     of the 18 MiB resident at idle. trimBinaryPages drops them from the
//     process's page tables. They stay in the page cache: serving maps back
//     the part it runs without reading the disk (a few milliseconds more
//     for the first request after a release, about a hundred minor
//     faults).
//
// Neither happens while a request is being served: the cost falls on the
// first request after a quiet spell, never on one in flight.

// startupSettle is how long after it starts serving the emulator gives
// back start-up's memory: after the first requests, since a forced
// collection on the way to the first answer costs start-up several
// milliseconds.
const startupSettle = time.Second

// quietPeriod is how long the emulator serves nothing before it gives its
// memory back again, and quietChecks how often it looks. A client polling
// every few seconds keeps it from happening, as does a dashboard left open;
// a training room left overnight, a CI agent between jobs or a scraper of
// the metrics at Prometheus' default minute do not.
const (
	quietPeriod = 30 * time.Second
	quietChecks = 5 * time.Second
)

// activity tells how many requests have begun since the process started
// and how many are being served now.
type activity func() (began uint64, serving int)

// releaseWhenIdle gives memory back (release) settle after it is called
// unless a request is in flight then, and afterwards whenever a quietWatch,
// reading the activity every check, finds a quiet spell of at least quiet.
// It returns when ctx is done.
func releaseWhenIdle(ctx context.Context, settle, quiet, check time.Duration, act activity, release func()) {
	if clock.SleepWall(ctx, settle) != nil {
		return
	}
	began, serving := act()
	w := quietWatch{period: quiet, last: began, since: clock.Wall(), owed: serving > 0}
	if serving == 0 {
		release()
	}
	for clock.SleepWall(ctx, check) == nil {
		began, serving := act()
		if w.quiet(clock.Wall(), began, serving) {
			release()
		}
	}
}

// quietWatch finds the quiet spells in an activity read from time to
// time: no request begun and none in flight for at least period. It
// reports a spell once, and only when something was served since the
// last one it reported: an emulator left alone gives its memory back
// once, not at every check.
type quietWatch struct {
	period time.Duration
	last   uint64    // requests begun at the read before
	since  time.Time // the read where activity was last seen
	owed   bool      // something was served since the last spell reported
}

// quiet takes a read of the activity made at now and reports whether it
// ends a quiet spell to give memory back in.
func (w *quietWatch) quiet(now time.Time, began uint64, serving int) bool {
	if began != w.last || serving > 0 {
		w.last, w.since, w.owed = began, now, true
		return false
	}
	if !w.owed || now.Sub(w.since) < w.period {
		return false
	}
	w.owed = false
	return true
}

// releaseMemory returns the free heap and the binary's idle pages to the
// system, and says so at debug level (-v).
func releaseMemory(log *slog.Logger) {
	debug.FreeOSMemory()
	n := trimBinaryPages()
	if log != nil {
		log.Debug("emulator: idle: memory given back", "binary_pages_kib", n>>10)
	}
}
