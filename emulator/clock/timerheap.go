package clock

import (
	"math"
	"time"
)

// timerHeap is a binary min-heap of timers ordered by due instant, then by
// scheduling order. Each entry carries its timer's due instant (as Unix
// nanoseconds) and sequence number, so sifting reads and writes only the
// heap's own contiguous array: with hundreds of thousands of pending
// timers, touching a *Timer per level would miss the cache at every level.
// A 4-ary heap, half the levels for three comparisons a level, measured
// slower here (BenchmarkTimerHeapChurn: 560–700 against 460–570 ns a
// pop and push among 300,000 timers), so it stays binary.
// Stopped timers stay in the heap, marked, until they reach the top (lazy
// deletion: Stop is O(1) and the heap never follows a timer's position),
// or until the clock compacts the heap because they outnumber the live
// ones (Clock.dropStaleLocked): a stopped timer due in three days does
// not hold its memory, nor what its callback refers to, for three days.
type timerHeap []heapEntry

type heapEntry struct {
	due int64 // t.due as Unix nanoseconds
	seq uint64
	t   *Timer
}

// live reports whether e is its timer's scheduling in force and still
// pending: not stopped, and not replaced by a later Reset.
func (e *heapEntry) live() bool { return e.t.pending && e.seq == e.t.seq }

// Instants beyond what Unix nanoseconds hold (before 1678, after 2262)
// saturate: they sort before or after every representable instant, and
// among themselves in scheduling order.
var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// unixNanos returns t as Unix nanoseconds, saturated.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanos):
		return math.MinInt64
	case t.After(maxNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func (h timerHeap) less(i, j int) bool {
	a, b := &h[i], &h[j]
	if a.due != b.due {
		return a.due < b.due
	}
	return a.seq < b.seq
}

func (h timerHeap) swap(i, j int) { h[i], h[j] = h[j], h[i] }

// first returns the timer of the earliest entry and whether that entry is
// live; the heap must not be empty.
func (h timerHeap) first() (t *Timer, live bool) {
	return h[0].t, h[0].live()
}

// push adds t and reports whether it became the earliest.
func (h *timerHeap) push(t *Timer) bool {
	*h = append(*h, heapEntry{due: unixNanos(t.due), seq: t.seq, t: t})
	return h.up(len(*h)-1) == 0
}

// pop removes and returns the earliest timer; the heap must not be empty.
func (h *timerHeap) pop() *Timer {
	old := *h
	n := len(old) - 1
	t := old[0].t
	old[0] = old[n]
	old[n] = heapEntry{}
	*h = old[:n]
	if n > 0 {
		h.down(0)
	}
	return t
}

// compact drops the entries that are not live (stopped timers, replaced
// schedulings), keeping the others in heap order. It is O(len(h)).
func (h *timerHeap) compact() {
	old := *h
	kept := old[:0]
	for _, e := range old {
		if e.live() {
			kept = append(kept, e)
		}
	}
	clear(old[len(kept):])
	*h = kept
	for i := len(kept)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

// clear drops every timer, marking each not pending.
func (h *timerHeap) clear() {
	for i := range *h {
		(*h)[i].t.pending = false
		(*h)[i] = heapEntry{}
	}
	*h = (*h)[:0]
}

// up sifts the entry at i up and returns where it ends.
func (h timerHeap) up(i int) int {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return i
		}
		h.swap(i, parent)
		i = parent
	}
	return i
}

// down sifts the timer at i down and reports whether it moved.
func (h timerHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && h.less(r, l) {
			j = r
		}
		if !h.less(j, i) {
			break
		}
		h.swap(i, j)
		i = j
	}
	return i > start
}
