package state

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestChunkQueueAgainstSlice drives a chunkQueue and a plain slice with
// the same random pushes and pops, across chunk boundaries, and holds
// their contents equal after each step.
func TestChunkQueueAgainstSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var q chunkQueue[int]
	var want []int
	next := 0
	for step := range 20_000 {
		if r.IntN(3) > 0 || len(want) == 0 { // grows on the whole
			for range r.IntN(2 * chunkLen) {
				q.push(next)
				want = append(want, next)
				next++
			}
		} else {
			for range min(r.IntN(3*chunkLen), len(want)) {
				if got := q.front(); got != want[0] {
					t.Fatalf("step %d: front %d, want %d", step, got, want[0])
				}
				if got := q.pop(); got != want[0] {
					t.Fatalf("step %d: pop %d, want %d", step, got, want[0])
				}
				want = want[1:]
			}
		}
		if q.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, q.len(), len(want))
		}
		if step%97 == 0 && !slices.Equal(slices.Collect(q.all()), want) {
			t.Fatalf("step %d: all() differs from the slice", step)
		}
		if chunks, most := q.chunkCount(), (len(want)+chunkLen-1)/chunkLen+1; chunks > most {
			t.Fatalf("step %d: %d chunks for %d entries, want at most %d", step, chunks, len(want), most)
		}
		if len(want) > 50_000 { // drain now and then, to empty
			for q.len() > 0 {
				q.pop()
			}
			want = want[:0]
			if q.chunkCount() != 0 {
				t.Fatalf("step %d: an empty queue holds %d chunks", step, q.chunkCount())
			}
		}
	}
}

// TestChunkQueueClearsPopped: a popped entry's place no longer holds what
// it pointed to.
func TestChunkQueueClearsPopped(t *testing.T) {
	var q chunkQueue[*int]
	for i := range 3 {
		q.push(&i)
	}
	c := q.chunks[0]
	q.pop()
	if c[0] != nil {
		t.Error("the popped place still points to its entry")
	}
}
