// Package clock is the emulator's one clock. Every time read and every
// timer in the emulator goes through a *Clock, so the whole emulator can run
// in real time, in real time sped up by a factor, or in manual time that
// moves only when a test (or the /_emulator/advance route) says so. A
// three-day live response queue is then testable in milliseconds.
//
// The three modes share one code path:
//
//   - Real with scale 1: emulated time follows the wall clock.
//   - Real with scale s: emulated time runs s times faster than the wall
//     clock (scale 60: ten emulated minutes take ten wall seconds).
//   - Manual: emulated time stands still until Advance moves it.
//
// Advance works in every mode. It fires, one at a time and in due order,
// every timer that falls due in the advanced range, including timers that
// callbacks (or other goroutines) schedule while it runs, and while a
// callback runs Now reports that callback's due instant. Advancing 72 hours
// at once is therefore the same as advancing one second 259,200 times.
//
// In Real mode one background goroutine waits on a single time.Timer armed
// for the wall-clock instant of the earliest timer, so an idle clock costs
// nothing. Callbacks never run concurrently with each other, and they run
// without the clock's state lock held: a callback may call Now, AfterFunc,
// AtFunc, Stop, Timer.Reset, SetMode, SetScale, Reset and Close, but
// never Advance or AdvanceTo (that deadlocks).
//
// A timer is either one-shot (AfterFunc, AtFunc: a new Timer and its
// closure each time) or reusable (InitTimer, then Reset as often as
// needed: no allocation, and a Firer told which scheduling fired). The
// emulator keeps one reusable timer per live action, so that a busy
// emulator's lifecycle steps add nothing for the collector to mark.
//
// Times returned by the clock are in UTC and carry no monotonic reading.
package clock
