//go:build race

package emulator_test

// raceSlowdown is how many times wall-time bounds of tests stretch under
// the race detector: it slows the emulator several times, and .ci/run
// runs the package under it beside other packages' tests. The bounds as
// written are checked by .ci/run's run of the same tests without it.
const raceSlowdown = 5
