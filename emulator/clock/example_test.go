package clock_test

import (
	"fmt"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// A live response session queued for an offline machine expires after
// three days; in Manual mode the test sees that at once.
func ExampleClock_Advance() {
	c := clock.New(time.Date(2024, 3, 18, 21, 0, 0, 0, time.UTC), clock.Manual, 1)
	defer c.Close()

	c.AfterFunc(72*time.Hour, func(now time.Time) {
		fmt.Println("queue expired at", now.Format(time.RFC3339))
	})
	c.AfterFunc(10*time.Minute, func(now time.Time) {
		fmt.Println("script timed out at", now.Format(time.RFC3339), "; Now() =", c.Now().Format(time.RFC3339))
	})
	fmt.Println("advanced to", c.Advance(72*time.Hour).Format(time.RFC3339))
	// Output:
	// script timed out at 2024-03-18T21:10:00Z ; Now() = 2024-03-18T21:10:00Z
	// queue expired at 2024-03-21T21:00:00Z
	// advanced to 2024-03-21T21:00:00Z
}

// In Real mode with scale 60, ten emulated minutes take ten wall seconds,
// and a Retry-After of one emulated minute is one wall second.
func ExampleClock_WallDuration() {
	c := clock.New(time.Time{}, clock.Real, 60)
	defer c.Close()
	fmt.Println(c.WallDuration(10*time.Minute), c.WallDuration(time.Minute))
	// Output: 10s 1s
}
