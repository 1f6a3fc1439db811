package state

import "iter"

// chunkLen is how many entries a chunk of a chunkQueue holds.
const chunkLen = 512

// chunkQueue is a first-in first-out queue kept in chunks of chunkLen
// entries, so that it grows and shrinks a chunk at a time and no push
// allocates more than one chunk. A single slice reallocated as it grew
// was, at 100,000 entries, an allocation of megabytes that the
// allocating goroutine paid for in mark assist when it came during a
// collection: an 18 ms stall of the clock's goroutine in a trace of
// bench/run's GET load (docs/performance.md, "The fractional mark
// worker"). The zero value is an empty queue.
type chunkQueue[T any] struct {
	chunks [][]T // each of capacity chunkLen; the front is chunks[0][head]
	head   int
	n      int
}

// push adds v at the back.
func (q *chunkQueue[T]) push(v T) {
	if k := len(q.chunks); k == 0 || len(q.chunks[k-1]) == chunkLen {
		q.chunks = append(q.chunks, make([]T, 0, chunkLen))
	}
	last := &q.chunks[len(q.chunks)-1]
	*last = append(*last, v)
	q.n++
}

// len returns how many entries q holds.
func (q *chunkQueue[T]) len() int { return q.n }

// front returns the entry at the front; q must not be empty.
func (q *chunkQueue[T]) front() T { return q.chunks[0][q.head] }

// pop removes and returns the entry at the front, whose place is cleared
// (an entry holding a pointer lets go of it); q must not be empty. A
// chunk emptied is let go.
func (q *chunkQueue[T]) pop() T {
	c := q.chunks[0]
	v := c[q.head]
	var zero T
	c[q.head] = zero
	q.head++
	q.n--
	if q.head == len(c) {
		q.chunks[0] = nil
		q.chunks, q.head = q.chunks[1:], 0
		if len(q.chunks) == 0 {
			q.chunks = nil // not a slice whose front holds the rest of its room
		}
	}
	return v
}

// all yields q's entries, front first.
func (q *chunkQueue[T]) all() iter.Seq[T] {
	return func(yield func(T) bool) {
		for i, c := range q.chunks {
			from := 0
			if i == 0 {
				from = q.head
			}
			for _, v := range c[from:] {
				if !yield(v) {
					return
				}
			}
		}
	}
}

// chunkCount returns how many chunks q holds (for tests of its bound).
func (q *chunkQueue[T]) chunkCount() int { return len(q.chunks) }
