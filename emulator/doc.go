// Package emulator is a local emulator of the Microsoft Defender for
// Endpoint live response API: runliveresponse and everything a client
// touches around it (tokens, machine actions with OData, cancel, result
// downloads, the live response library, machines), plus a control plane
// under /_emulator for tests.
//
// Use it as a library:
//
//	srv, err := emulator.New(emulator.Options{Clock: clock.Manual})
//	if err != nil { ... }
//	defer srv.Close()
//	http.ListenAndServe("127.0.0.1:8080", srv.Handler())
//
// or through the binary in cmd/emulator. The domain lives in the
// internal packages (state, identity, limits, journal, faults) and the
// clock; this package holds the HTTP layer, its files grouped by what they
// serve:
//
//   - routes.go: the route table, every route once;
//   - api_*.go: the Defender for Endpoint API's handlers (machine actions,
//     machines, the library, result links and the blob store they point
//     at) and the service's error body;
//   - identity_*.go: the identity platform's endpoints (tokens, keys,
//     OpenID discovery, the sign-in and device-code pages);
//   - control_*.go: the control plane under /_emulator (clock, fixtures,
//     machines, tokens, journal, faults, scenario packs, the classroom's
//     tenants, Prometheus metrics, the dashboard at /_emulator/ui with
//     its templates in ui/) and who may reach it;
//   - classroom.go: tenants made at start for a class (AddClassroom) and
//     their credentials;
//   - middleware_*.go: what wraps the handlers (authentication, OpenAPI
//     validation and rate limits per operation, the journal, the request
//     metrics, strict responses);
//   - request_*.go: helpers over a request (path canonicalization, the
//     redaction of secrets);
//   - server*.go: the Server, its options, its http.Server settings and
//     its in-memory client.
package emulator
