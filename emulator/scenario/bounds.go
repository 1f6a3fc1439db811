package scenario

import "time"

// The bounds of a scenario file. A file past one is refused by Parse with
// a line-numbered error; docs/scenarios.md lists them.
const (
	// MaxSize is the largest scenario file, inline fixture included, in
	// bytes (1 MiB).
	MaxSize = 1 << 20
	// MaxEvents is the most events a timeline has.
	MaxEvents = 200
	// MaxAt is the latest an event may happen after the load: 30 days of
	// emulated time (the live response queue holds an action 3 days).
	MaxAt = 30 * 24 * time.Hour
	// MaxNameLen is the longest name, in bytes.
	MaxNameLen = 64
	// MaxTitleLen is the longest title, in characters (one line).
	MaxTitleLen = 100
	// MaxSummaryLen is the longest summary, in characters.
	MaxSummaryLen = 500
	// MaxInstructorLen is the longest instructor text, in bytes (16 KiB).
	MaxInstructorLen = 16 << 10
	// MaxTextLen is the longest description or note of an event, in
	// characters.
	MaxTextLen = 1000
	// MaxOutcomes is the most outcomes one nextOutcomes event queues.
	MaxOutcomes = 100
	// MaxCommands is the most commands one startAction has.
	MaxCommands = 20
)
