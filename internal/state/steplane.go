package state

// stepLane is a first-in, first-out part of a stepQueue for the steps of
// one kind scheduled in the order they are due: under a steady load each
// kind's steps are (an action picked up five seconds after it was
// submitted, its script ended three seconds after that, settled two
// seconds later). Taking the earliest from a lane and adding to it move
// no other entry, where the queue's heap sifts one through ~9 levels of
// 400,000 entries, each a cache miss of its own and a write to the
// action it names (docs/performance.md, "The network poller"). A step
// that is due before the last one its kind's lane took goes to the heap.
//
// Entries are at absolute positions [first, end), in chunks of
// stepChunkLen; a removed entry stays as a hole (ref 0, its due and order
// kept) until the front passes it, and the lane is compacted when holes
// outnumber the live entries, so that a lane holds at most twice its live
// steps and two chunks: cancelling queued actions in a loop leaves no
// hole behind for days.
type stepLane struct {
	chunks     [][]queuedStep // chunks[k] holds the positions from (base+k)*stepChunkLen
	base       int
	first, end int
	live       int
	last       queuedStep // the due and order of the entry pushed last, which decide what fits
}

// stepLanePosMask bounds the position an Action.queued keeps of a lane
// entry: positions are kept modulo 2^27 and read back against the lane's
// first, which holds while a lane spans fewer (compaction keeps a span
// within twice the live entries and two chunks).
const stepLanePosMask = 1<<27 - 1

// stepLaneCount is the number of lanes, one for each step kind (the
// lane of stepNone is unused).
const stepLaneCount = int(stepSettle) + 1

// laneLoc returns the Action.queued of lane k's entry at position p.
func laneLoc(k stepKind, p int) int32 {
	return -int32(1 + int(k) + stepLaneCount*(p&stepLanePosMask))
}

// laneOf returns the lane and masked position an Action.queued below 0
// names.
func laneOf(queued int32) (k stepKind, masked int) {
	v := int(-queued) - 1
	return stepKind(v % stepLaneCount), v / stepLaneCount
}

// fits reports whether e may be added at the end of l: l is empty, or e
// is not before the entry l took last.
func (l *stepLane) fits(e *queuedStep) bool {
	return l.end == l.first || !e.before(&l.last)
}

// push adds e at the end of l, which it fits, and returns its position.
func (l *stepLane) push(e queuedStep) int {
	if l.end == l.first { // empty: start afresh
		clear(l.chunks)
		l.chunks, l.first, l.end, l.base = l.chunks[:0], 0, 0, 0
	}
	l.last = queuedStep{due: e.due, order: e.order}
	return l.appendEntry(&e)
}

// appendEntry puts e at l's end and returns its position; push and
// compaction add through it.
func (l *stepLane) appendEntry(e *queuedStep) int {
	if c := l.end/stepChunkLen - l.base; c == len(l.chunks) {
		l.chunks = append(l.chunks, make([]queuedStep, stepChunkLen))
	}
	p := l.end
	*l.at(p) = *e
	l.end++
	l.live++
	return p
}

// at returns the entry at absolute position p.
func (l *stepLane) at(p int) *queuedStep {
	return &l.chunks[p/stepChunkLen-l.base][p%stepChunkLen]
}

// position returns the absolute position of a masked one.
func (l *stepLane) position(masked int) int {
	return l.first + (masked-l.first)&stepLanePosMask
}

// head returns l's first entry, nil when l is empty. The first entry is
// never a hole (kill moves the front past them).
func (l *stepLane) head() *queuedStep {
	if l.end == l.first {
		return nil
	}
	return l.at(l.first)
}

// kill makes the entry at position p a hole and moves the front past the
// holes at it, letting go of the chunks it leaves.
func (l *stepLane) kill(p int) {
	e := l.at(p)
	e.ref = 0
	l.live--
	for l.first < l.end && l.at(l.first).ref == 0 {
		l.first++
	}
	for len(l.chunks) > 0 && (l.base+1)*stepChunkLen <= l.first {
		l.chunks[0] = nil
		l.chunks = l.chunks[1:]
		l.base++
	}
	if l.first == l.end {
		l.chunks = nil
	}
}

// holey reports whether l has more holes than live entries and a chunk.
func (l *stepLane) holey() bool {
	return l.end-l.first-l.live > l.live+stepChunkLen
}
