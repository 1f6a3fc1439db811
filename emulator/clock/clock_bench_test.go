package clock_test

import (
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

func BenchmarkAdvance3DaysWith10000Timers(b *testing.B) {
	const n = 10000
	spacing := 72 * time.Hour / n
	fired := 0
	for range b.N {
		b.StopTimer()
		c := clock.New(t0, clock.Manual, 1)
		for i := range n {
			c.AfterFunc(time.Duration(i+1)*spacing, func(time.Time) {
				fired++
				c.AfterFunc(spacing/2, func(time.Time) { fired++ })
			})
		}
		b.StartTimer()
		c.Advance(72 * time.Hour)
		b.StopTimer()
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(fired)/float64(b.N), "callbacks/op")
}

func BenchmarkNow(b *testing.B) {
	for _, mode := range []clock.Mode{clock.Real, clock.Manual} {
		b.Run(string(mode), func(b *testing.B) {
			c := clock.New(t0, mode, 60)
			defer c.Close()
			for b.Loop() {
				c.Now()
			}
		})
		b.Run(string(mode)+"/parallel", func(b *testing.B) {
			c := clock.New(t0, mode, 60)
			defer c.Close()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.Now()
				}
			})
		})
	}
}
