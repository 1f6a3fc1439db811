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
// or through the binary in cmd/emulator. The domain lives in the state,
// identity, limits and clock packages; this package holds the HTTP layer:
// the route table, thin handlers and the rendering of the service's error
// body.
package emulator
