// Package persist keeps the emulator's state on disk for --data DIR: one
// bbolt file (go.etcd.io/bbolt: a single file, ACID transactions each
// ended by an fsync, a file lock that refuses a second process, pure Go)
// holding the fixtures the emulator started from, its signing keys, where
// its clock started, and an append-only log of the changes made since,
// each at its emulated instant. Replaying the log on the fixtures, on a
// manual clock moved to each record's instant, rebuilds the state.
//
// The package knows nothing of HTTP nor of the emulator's domain: a
// record is a kind and a JSON payload the emulator defines. Appends are
// group-committed: a committer goroutine writes whatever records arrived
// while it was writing the previous batch in one transaction, so that
// many concurrent changes share one fsync.
package persist
