// Package limits holds the rate limits and the live response session cap of
// the Defender for Endpoint API, and the named profiles that set their
// numbers. It is pure domain logic: it never reads a clock (every call takes
// the emulated "now") and knows nothing of HTTP; the HTTP layer turns a
// refusal into 429 with a Retry-After rounded up to whole seconds.
//
// # Profiles
//
// A [Profile] is a set of numbers: the rate limits, the per-tenant session
// cap and the time limits (offline queue, RunScript timeout, result link
// lifetime). [Lookup] returns one of the named profiles ("default",
// "current", "unlimited"); [Profile.Override] applies a fixture's
// single-number overrides. A Profile has one JSON form
// ([Profile.MarshalJSON]), the one the control plane shows and the
// conformance kit reads.
//
// An emulator holds its profile in one place, its state; the [Limiter] and
// the [Sessions] read it through a [ProfileSource] on every decision and
// keep no copy.
//
// # Rate limits
//
// The real API limits calls per application + tenant + endpoint: 10 calls a
// minute on runliveresponse, 100 a minute and 1,500 an hour on every other
// endpoint. A [Limiter] enforces them with a SLIDING window, not a fixed one:
//
//   - a call at instant now is allowed when fewer than N calls were accepted
//     in the window (now-W, now] (W is one minute or one hour);
//   - the emulator records the instant of each accepted call; a call refused
//     with 429 is not counted, so a refused client cannot extend its own ban;
//   - on refusal, retryAfter is exactly the time until the oldest counted
//     call leaves the window (for endpoints with both a minute and an hour
//     limit, the larger of the two), and is never zero. A client that waits
//     exactly retryAfter is then allowed, unless other calls for the same key
//     were accepted meanwhile.
//
// Each key keeps a ring of the last N accepted instants per window, so a
// decision costs O(1). Different keys never share a lock: the windows live
// in a concurrent map and each has its own mutex, and the check and the
// recording happen under that mutex, so the limits are exact under any
// concurrency. Keys are few (tenants × apps × endpoints) and are kept
// until [Limiter.ForgetTenant] drops a removed tenant's; a key costs at
// most about 13 KB (1,600 int64 instants for the minute and hour windows
// of an Other endpoint), allocated as calls come, and a ring whose calls
// have all left its window starts over in the space it has, so a key's
// size follows its busiest window, not every call it ever made.
// [Limiter.Reset] drops them all; a window keeps the limits it was made
// with, so the emulator resets the limiter when the profile changes.
//
// A rate or session number of zero or less in a profile means no limit for
// that number; [Profile.Unlimited] turns every limit off.
//
// The limiter assumes the emulated clock does not move back. Instants are
// kept as nanoseconds since the Unix epoch, so they must lie between the
// years 1678 and 2262.
//
// # Sessions
//
// [Sessions] counts concurrent live response sessions per tenant (25 by
// default). Which actions hold a session is the caller's choice: with
// [Profile.PendingCountsAsSession] (the default, after a user report of being
// refused with 26 Pending and 0 running actions) a session is acquired when
// the action is accepted and released when it reaches a final status.
package limits
