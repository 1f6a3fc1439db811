// Package state is the emulator's domain: tenants, their machines, the live
// response library, machine actions and the lifecycle engine that runs each
// live response action on the emulator's clock. It knows nothing of HTTP:
// handlers call its methods and render what they return; errors are
// *apierr.Error values that carry the service's error code.
//
// Concurrency: there is no global lock. A tenant's action index has its own
// short-held lock, each machine and each action has its own mutex (always
// taken machine first, then action), the library has its own, and session
// counting is atomic. Lifecycle steps run as clock callbacks, which the
// clock serializes, so the order of events is deterministic.
package state
