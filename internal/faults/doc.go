// Package faults holds the emulator's fault injection rules: errors such as
// 429 with Retry-After, 500 or 503, added latency, dropped connections and
// the eventual consistency of a new machine action, fired on chosen calls
// in a reproducible way. It is pure domain logic: it knows nothing of HTTP
// and reads no clock. The HTTP layer asks [Injector.Decide] about every API
// call and applies the [Decision]; the control plane
// (POST/GET/DELETE /_emulator/faults) uses [ParseRule], [Injector.Add],
// [Injector.List], [Injector.Remove] and [Injector.Clear].
//
// # Rules
//
// A [Rule] is a match, a call selector and an effect:
//
//	{"name": "throttle runs",
//	 "match":  {"method": "POST", "path": "/api/machines/*/runliveresponse"},
//	 "calls":  {"every": 5},
//	 "effect": {"status": 429, "retryAfter": "30s"}}
//
// Match: method, tenantId and appId compare case-insensitively; path is a
// case-insensitive glob in which '*' stands for any run of characters,
// '/' included ("/api/machines/*" matches "/api/machines/m1/runliveresponse").
// An empty field, or a method of "*", matches anything.
//
// Calls: at most one of
//   - {"next": N}: the next N calls, then never again (the rule stays in the
//     list with its counts);
//   - {"every": N}: the Nth, 2Nth, ... matching call;
//   - {"probability": p, "seed": s}: each call with probability p in (0, 1];
//   - {} (none): every matching call.
//
// Effect, with durations as Go duration strings ("250ms", "2s"):
//   - {"status": 400..599, "code", "message", "retryAfter"}: answer the
//     service's error body. The code defaults from the status (400
//     BadRequest, 401 Unauthorized, 403 Forbidden, 404 ResourceNotFound, 429
//     TooManyRequests, 500 InternalServerError, 503 ServiceUnavailable,
//     anything else "Error"), the message from the code. retryAfter is only
//     allowed with 429 and defaults to [DefaultRetryAfter] (1s), so an
//     injected 429 always carries Retry-After, as the real service's do.
//     It is wall time, sent as is (rounded up to whole seconds) whatever
//     the speed of the emulator's clock.
//   - {"latency": d} or {"latency": min, "latencyMax": max}: delay the call
//     by d, or by a duration drawn uniformly from [min, max] (nanosecond
//     steps, both ends included). Both are at most [MaxLatency]. A latency
//     may be combined with a status (delay, then the error) or with
//     notFoundFor; alone, the call proceeds normally after the delay.
//   - {"drop": true}: reset the connection without a response. It excludes
//     every other effect field.
//   - {"notFoundFor": d}: GET /api/machineactions/{id} answers 404
//     ResourceNotFound until the action is d old, as right after a real
//     201 (§3.3 of the contract). The HTTP layer compares the action's age;
//     the Decision carries d. It excludes status; the rule's method must be
//     GET (the default), and its path defaults to [NotFoundPath].
//
// An effect must do something. Add and ParseRule fill in the defaults, so
// the stored rule (returned by Add and listed by List) shows exactly what
// will happen. A rule that is not valid is refused with a *[RuleError]
// listing every problem, each naming its field ("effect.status: must be
// between 400 and 599, got 200"). [ParseRule] is strict: unknown fields
// (keys compare exactly), wrong types, explicit zeros where zero is not
// allowed and trailing data are errors too.
//
// # Which rule fires
//
// Rules are kept in insertion order with IDs "f1", "f2", ...; IDs are not
// reused after Remove or Clear ([Injector.Reset] restarts them). For each
// call, every rule whose match applies sees the call (Seen counts it, its
// "every" counter and random numbers advance); the first rule in insertion
// order whose selector fires wins (Fired counts it) and makes the decision.
// A later rule that would also have fired is shadowed: neither its Fired
// count nor its "next" budget moves. To delay and fail the same call, put
// both in one effect.
//
// # Determinism
//
// Same seed, same sequence of faults. Each rule that draws random numbers
// (a probability or a latency range) has its own PCG generator from
// math/rand/v2, seeded with rand.NewPCG(seed, 0), where seed is
// Calls.Seed, or [DefaultSeed] (1) when it is zero or omitted; the stored
// rule shows the seed used. The generator advances on every matching call,
// fired or not, in a fixed way (one draw for the probability, then one for
// the latency), under the rule's own lock. So a rule's decisions depend only
// on its seed and the sequence of calls it matches, not on other rules nor
// on wall time. Under concurrent calls the sequence is the order in which
// calls take the rule's lock.
//
// # Cost
//
// Decide runs on every API call. The rules are a copy-on-write slice behind
// an atomic pointer: with no rules, Decide is one atomic load; with rules,
// it holds no global lock, only each matching rule's own mutex in turn. A
// "next N" rule fires exactly N times under any concurrency.
package faults
