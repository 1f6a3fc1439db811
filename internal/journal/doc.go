// Package journal is the emulator's request journal: a bounded, in-memory
// log of the requests the emulator answered, so that tests can check what a
// client actually sent (how many calls, in what order, with what bodies, and
// which of them were throttled or faulted). It is pure domain logic: it
// never reads a clock (the emulated and wall times come in each [Entry]) and
// knows nothing of HTTP; the HTTP layer records one entry per request and
// serves [Journal.Query], [Journal.Wait] and [ParseFilter] on its admin
// routes.
//
// # Recording
//
// [Journal.Record] numbers entries 1, 2, 3... ([Entry.Seq]) and keeps the
// last capacity of them in a ring, overwriting the oldest when full
// ([Stats.Dropped] counts those). Request bodies are cut to a byte cap
// ([Entry.BodyTruncated] says so), so memory stays bounded by capacity ×
// (entry + body cap). Record takes one short mutex section and allocates
// nothing in the steady state. [Journal.Clear] empties the journal but does
// not reset Seq, so AfterSeq cursors stay valid.
//
// # Filters
//
// A [Filter] selects entries by method, path glob ('*' matches anything,
// including '/'), status or status class, tenant, app, action, error code,
// fault rule, an emulated time range, a Seq cursor (AfterSeq) and a count
// of most recent entries (Limit). [ParseFilter] builds one from admin query
// parameters.
//
// # Waiting
//
// [Journal.Wait] is "verification that waits": it returns as soon as the
// journal holds at least n matching entries, or when its context is done.
// Entries already recorded count, so a test that only wants new ones sets
// AfterSeq to [Stats.Recorded] read beforehand.
//
// Each sleeping Wait is kept in a list with its filter, its target count and
// the number of matching entries in the journal. Record, under the same
// mutex, updates those numbers for the entry it adds (and the one it
// overwrites) and closes the channel of each waiter that is now satisfied.
// This was chosen over a broadcast channel swapped on each Record because a
// broadcast wakes every waiter on every request and makes each rescan the
// whole ring, and costs an allocation per Record; with the list, Record
// pays nothing when nobody waits, one filter match per waiter otherwise, and
// a waiter wakes once. Wait counts the journal and registers itself without
// releasing the mutex, so an entry recorded between the check and the sleep
// cannot be missed.
package journal
