package clock_test

import (
	"syscall"
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

// BenchmarkIdleCPU measures the CPU an idle real-time clock burns while
// 10,000 timers wait far in the future: each op is 10 ms of wall time, and
// cpu-ns/op is the process's user+system time spent in it. A polling loop
// would show here; the clock waits on one timer, so it stays near zero.
func BenchmarkIdleCPU(b *testing.B) {
	c := clock.New(time.Time{}, clock.Real, 1)
	defer c.Close()
	for i := 0; i < 10000; i++ {
		c.AfterFunc(time.Duration(i+1)*time.Hour, func(time.Time) {})
	}
	before := processCPU(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-before)/float64(b.N), "cpu-ns/op")
}

// processCPU returns the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Skip("getrusage:", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
