//go:build !race

package emulator_test

// raceSlowdown is how many times wall-time bounds of tests stretch under
// the race detector; without it, none.
const raceSlowdown = 1
