package state

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestTimestampAppendFormat holds Timestamp.AppendFormat to
// time.Time.AppendFormat with TimestampLayout: random instants over the
// years 0001 to 9999 at every resolution, the edges of the fraction, and
// years past the four digits (which take time's own path).
func TestTimestampAppendFormat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(tm time.Time) {
		t.Helper()
		want := tm.UTC().AppendFormat(nil, TimestampLayout)
		if got := Timestamp(tm).AppendFormat(nil); string(got) != string(want) {
			t.Fatalf("%v: AppendFormat %q, want %q", tm, got, want)
		}
	}
	lo := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	for i := range 200_000 {
		ns := rng.IntN(1e9)
		switch i % 4 { // whole seconds, ticks, tenths, anything
		case 0:
			ns = 0
		case 1:
			ns -= ns % 100
		case 2:
			ns -= ns % 1e8
		}
		check(time.Unix(lo+rng.Int64N(hi-lo+1), int64(ns)))
	}
	for _, tm := range []time.Time{
		time.Date(2026, 12, 1, 12, 0, 0, 100, time.UTC),
		time.Date(2026, 12, 1, 12, 0, 0, 99, time.UTC), // under a tick: cut
		time.Date(2026, 12, 1, 12, 0, 0, 999_999_999, time.UTC),
		time.Date(2026, 12, 1, 12, 0, 0, 1_000_000, time.FixedZone("x", 5*3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 500, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		{},
	} {
		check(tm)
	}
	if got, err := Stamp(time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)).MarshalJSON(); err != nil || string(got) != `"2026-01-02T03:04:05.0000006Z"` {
		t.Errorf("MarshalJSON = %s, %v", got, err)
	}
}

func BenchmarkTimestampAppendFormat(b *testing.B) {
	ts := Stamp(time.Date(2026, 12, 1, 12, 34, 56, 789_012_300, time.UTC))
	buf := make([]byte, 0, 64)
	b.Run("Timestamp", func(b *testing.B) {
		for b.Loop() {
			buf = ts.AppendFormat(buf[:0])
		}
	})
	b.Run("time", func(b *testing.B) {
		for b.Loop() {
			buf = time.Time(ts).UTC().AppendFormat(buf[:0], TimestampLayout)
		}
	})
}
