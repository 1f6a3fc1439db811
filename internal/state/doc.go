// Package state is the emulator's domain: the tenants loaded from fixtures
// (tenant.go, store.go), their machines and device groups (machines.go),
// their live response libraries (library.go), machine actions, submitted
// and cancelled (actions.go), the outcomes a test queues for coming
// commands (outcomes.go), the lifecycle engine that runs each action on
// the emulator's clock (lifecycle.go), what a completed command leaves
// to download (results.go), how long finished actions are kept
// (retention.go), tenants made on the fly from a template (tenants.go),
// and read-only views for the dashboard and the metrics (recent.go,
// stats.go).
//
// It knows nothing of HTTP: no request, URL, header or status. The
// emulator's handlers call its methods and render what they return; they
// add what belongs to a response (@odata.context, result download links
// and their signatures, the blob store's errors). Its errors are
// *apierr.Error values that carry the service's error code; the views
// (ActionView, MachineView, LibraryFileView) are the service's entities,
// property for property.
//
// Concurrency: there is no global lock. A tenant's action index has its own
// short-held lock, each machine and each action has its own mutex (always
// taken machine first, then action), the library has its own, and session
// counting is atomic. Lifecycle steps wait in their tenant's step queue,
// whose short-held lock comes after an action's; they run from one clock
// callback a tenant, which the clock serializes, in the order of their
// due instants and then of their scheduling, so the order of events is
// deterministic.
package state
