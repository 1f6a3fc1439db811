package clock

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTimerHeapOrder pushes timers in random order, with ties, stops
// some, compacts, and pops the rest: they must come out by due instant,
// then by scheduling order, whatever the heap's shape.
func TestTimerHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 4, 5, 6, 17, 100, 1000, 4097} {
		var h timerHeap
		var all []*Timer
		for i := range n {
			tm := &Timer{due: heapBase.Add(time.Duration(rng.IntN(n/3+1)) * time.Second), seq: uint64(i + 1), pending: true}
			all = append(all, tm)
			h.push(tm)
		}
		for _, tm := range all {
			if rng.IntN(4) == 0 {
				tm.pending = false // stopped: compact drops it
			}
		}
		h.compact()
		var want []*Timer
		for _, tm := range all {
			if tm.pending {
				want = append(want, tm)
			}
		}
		slices.SortStableFunc(want, func(a, b *Timer) int { return a.due.Compare(b.due) })
		if len(h) != len(want) {
			t.Fatalf("n=%d: %d entries after compact, want %d", n, len(h), len(want))
		}
		for i, w := range want {
			if got := h.pop(); got != w {
				t.Fatalf("n=%d: pop %d gave the timer due %v seq %d, want due %v seq %d", n, i, got.due, got.seq, w.due, w.seq)
			}
		}
		if len(h) != 0 {
			t.Fatalf("n=%d: %d entries left", n, len(h))
		}
	}
}

// BenchmarkTimerHeapChurn is the emulator's lifecycle under load in the
// heap alone: 300,000 pending timers (the steps of as many live actions),
// each op pops the earliest and schedules that action's next step a few
// seconds later.
func BenchmarkTimerHeapChurn(b *testing.B) {
	const n = 300_000
	rng := rand.New(rand.NewPCG(3, 4))
	var h timerHeap
	timers := make([]Timer, n)
	for i := range timers {
		timers[i] = Timer{due: heapBase.Add(time.Duration(rng.Int64N(int64(10 * time.Second)))), seq: 1, pending: true}
		h.push(&timers[i])
	}
	seq := uint64(1)
	for b.Loop() {
		tm := h.pop()
		seq++
		tm.due = tm.due.Add(time.Duration(1 + rng.Int64N(int64(5*time.Second))))
		tm.seq = seq
		h.push(tm)
	}
}

// heapBase is the instant the heap tests schedule from.
var heapBase = time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
