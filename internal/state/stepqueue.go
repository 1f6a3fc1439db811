package state

import (
	"runtime"
	"sync"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// stepQueue is a tenant's pending lifecycle steps, earliest first, run by
// one clock timer set to the earliest. Each live action has one entry,
// which holds its next step (pendingStep) and which the action knows the
// place of (Action.queued). Before it, each live action had an object of
// its own (the step, with its timer) and an entry in the clock's heap:
// under bench/run's POST load that is 170,000 more objects for the
// collector to mark (docs/performance.md, "The step queue"). The entries
// are values in chunks, and a step that is replaced or dropped leaves no
// stale entry behind: the queue holds exactly the live actions' steps.
//
// A step goes to its kind's lane (stepLane) when it is due no earlier
// than the last that lane took, as under a steady load, and to a heap
// otherwise; the earliest is the heap's or a lane's first.
//
// Lock order: an action's mu, then the queue's.
type stepQueue struct {
	tenant *Tenant
	timer  clock.Timer

	mu sync.Mutex
	// chunks hold the entries, a 4-ary heap by (due, order), entry i at
	// chunks[i/stepChunkLen][i%stepChunkLen]: the queue grows and shrinks
	// a chunk of 22 KiB at a time. One slice of 190,000 entries (bench/run's
	// POST load) reallocated megabytes as it grew and shrank, which the
	// clock's goroutine paid for in mark assists of up to 22 ms when it
	// came during a collection.
	chunks [][]queuedStep
	n      int // entries
	// lanes hold the steps of each kind scheduled in the order they are
	// due (stepLane), laneN how many live steps they hold in all. An
	// action's queued is its heap entry's index plus one, or below 0 its
	// lane entry's (laneLoc).
	lanes [stepLaneCount]stepLane
	laneN int
	armed int64 // the due, Unix nanoseconds, the timer is set to; 0: not set
}

// stepChunkLen is how many entries a chunk of a stepQueue holds.
const stepChunkLen = 256

// queuedStep is an action's entry in a stepQueue: when it is due (Unix
// nanoseconds, after the clock's time when it was scheduled), the action,
// by its place in the tenant's slab (actionRef), and its next step
// (pendingStep) in fewer words: the times as numbers, and no pointer at
// all. What a step holds by pointer (the command's result, a failure's
// text, a file a PutFile drops) is kept in its action instead
// (Action.stepResult, actionExtra's stepFail and stepPut), which has one
// step at a time: the queue's chunks are memory the collector does not
// scan. Each live action has an entry: 170,000 under bench/run's POST
// load, five pointer words each in 88 bytes, then two in 56, now none in
// 40 (docs/performance.md, "Fewer words to scan", "The network poller",
// "Ids that carry their seq").
type queuedStep struct {
	due     int64
	ref     actionRef // the action, by its place in the tenant's slab
	stepDue int64     // pendingStep.due, Unix nanoseconds (due may be later: Tenant.at)
	order   uint64
	index   int32
	kind    stepKind
	timeout bool
}

// newQueuedStep returns the entry of a's step st, due at due, and keeps
// what st holds by pointer in a. Call it with a.mu held.
func newQueuedStep(a *Action, st pendingStep, due time.Time) queuedStep {
	a.stepResult = st.result
	switch {
	case st.fail != "" || st.put != nil:
		x := a.extraLocked()
		x.stepFail, x.stepPut = st.fail, st.put
	case a.extra != nil:
		a.extra.stepFail, a.extra.stepPut = "", nil
	}
	return queuedStep{
		due: due.UnixNano(), ref: a.ref, stepDue: st.due.UnixNano(),
		order: st.order, index: st.index, kind: st.kind, timeout: st.timeout,
	}
}

// step returns the step e, a's entry, holds. Call it with a.mu held.
func (e *queuedStep) step(a *Action) pendingStep {
	st := pendingStep{
		due: unixTime(e.stepDue), result: a.stepResult,
		order: e.order, index: e.index, kind: e.kind, timeout: e.timeout,
	}
	if x := a.extra; x != nil {
		st.fail, st.put = x.stepFail, x.stepPut
	}
	return st
}

// letGoStep lets go of what a's step, taken out of its queue, held by
// pointer. Call it with a.mu held.
func letGoStep(a *Action) {
	a.stepResult = nil
	if x := a.extra; x != nil {
		x.stepFail, x.stepPut = "", nil
	}
}

// before orders entries as the clock fires timers: by due, then in the
// order they were scheduled.
func (e *queuedStep) before(f *queuedStep) bool {
	return e.due < f.due || e.due == f.due && e.order < f.order
}

// init makes q t's queue on c, stopped until something is scheduled.
func (q *stepQueue) init(t *Tenant, c *clock.Clock) {
	q.tenant = t
	c.InitTimer(&q.timer, q)
}

// schedule makes st, due at due, a's next step, replacing the one it had.
// Call it with a.mu held.
func (q *stepQueue) schedule(a *Action, st pendingStep, due time.Time) {
	e := newQueuedStep(a, st, due)
	q.mu.Lock()
	if i := int(a.queued) - 1; i >= 0 {
		*q.at(i) = e
		q.fix(i)
	} else {
		if a.queued < 0 {
			q.removeLane(a)
		}
		q.insert(a, e)
	}
	q.armLocked()
	q.mu.Unlock()
}

// insert adds e, a's entry; a has none. Call it with q.mu held.
func (q *stepQueue) insert(a *Action, e queuedStep) {
	if k := e.kind; k > stepNone && int(k) < stepLaneCount && q.lanes[k].fits(&e) {
		l := &q.lanes[k]
		a.queued = laneLoc(k, l.push(e))
		q.laneN++
		return
	}
	if q.n == len(q.chunks)*stepChunkLen {
		q.chunks = append(q.chunks, make([]queuedStep, stepChunkLen))
	}
	q.n++
	*q.at(q.n - 1) = e
	a.queued = int32(q.n)
	q.up(q.n - 1)
}

// entry returns a's entry, nil for none. Call it with q.mu held.
func (q *stepQueue) entry(a *Action) *queuedStep {
	switch {
	case a.queued > 0:
		return q.at(int(a.queued) - 1)
	case a.queued < 0:
		k, m := laneOf(a.queued)
		l := &q.lanes[k]
		return l.at(l.position(m))
	}
	return nil
}

// removeEntry takes a's entry out, if it has one. Call it with q.mu held.
func (q *stepQueue) removeEntry(a *Action) {
	switch {
	case a.queued > 0:
		q.remove(int(a.queued) - 1)
	case a.queued < 0:
		q.removeLane(a)
	}
}

// removeLane takes a's lane entry out. Call it with q.mu held.
func (q *stepQueue) removeLane(a *Action) {
	k, m := laneOf(a.queued)
	l := &q.lanes[k]
	l.kill(l.position(m))
	a.queued = 0
	q.laneN--
	if l.holey() {
		q.compact(k)
	}
}

// compact moves lane k's live entries together, after its end, and tells
// their actions. Call it with q.mu held.
func (q *stepQueue) compact(k stepKind) {
	l := &q.lanes[k]
	old := *l
	l.chunks, l.base, l.first, l.live = nil, old.end/stepChunkLen, old.end, 0
	for p := old.first; p < old.end; p++ {
		if e := old.at(p); e.ref != 0 {
			q.action(e).queued = laneLoc(k, l.appendEntry(e))
		}
	}
}

// earliest returns the earliest entry, in the heap or a lane's first;
// nil when the queue is empty. Call it with q.mu held.
func (q *stepQueue) earliest() *queuedStep {
	var m *queuedStep
	if q.n > 0 {
		m = q.at(0)
	}
	if q.laneN == 0 {
		return m
	}
	for k := range q.lanes {
		if h := q.lanes[k].head(); h != nil && (m == nil || h.before(m)) {
			m = h
		}
	}
	return m
}

// drop takes a's next step out of the queue, if it has one. Call it with
// a.mu held.
func (q *stepQueue) drop(a *Action) {
	q.mu.Lock()
	q.removeEntry(a)
	q.mu.Unlock()
	letGoStep(a)
}

// take takes a's next step out of the queue if it is the one scheduled as
// order, and reports whether it was. Call it with a.mu held.
func (q *stepQueue) take(a *Action, order uint64) (pendingStep, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e := q.entry(a)
	if e == nil || e.order != order {
		return pendingStep{}, false
	}
	st := e.step(a)
	q.removeEntry(a)
	letGoStep(a)
	return st, true
}

// next returns a's next step; ok is false when it has none. Call it with
// a.mu held.
func (q *stepQueue) next(a *Action) (st pendingStep, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.entry(a); e != nil {
		return e.step(a), true
	}
	return pendingStep{}, false
}

// armLocked sets the timer to the earliest entry's due, unless it is set
// to it already. A timer set to a later due is moved; one set to an
// earlier due fires first and sets it again (Fire).
func (q *stepQueue) armLocked() {
	m := q.earliest()
	if m == nil {
		return
	}
	due := m.due
	if q.armed != 0 && q.armed <= due {
		return
	}
	q.armed = due
	q.timer.Reset(time.Unix(0, due))
}

// Fire runs the steps due by now, earliest first, each at its own due
// (clock.Firer). A step that schedules another due by now runs in the same
// loop, in its order. Each runs with its action's mu held and the queue's
// not (Tenant.fire), and leaves the queue then.
//
// Between two steps it lets the goroutines waiting for the processor run,
// as the clock does between two timers: steps due at one instant (those a
// Restore finds overdue are all due at once) would otherwise hold a
// processor for as long as they all take.
func (q *stepQueue) Fire(now time.Time, _ uint64) {
	limit := now.UnixNano()
	for ran := false; ; ran = true {
		if ran {
			runtime.Gosched()
		}
		q.mu.Lock()
		m := q.earliest()
		if m == nil || m.due > limit {
			q.armed = 0
			q.armLocked()
			q.mu.Unlock()
			return
		}
		e := *m
		a := q.action(&e)
		q.mu.Unlock()
		// The entry stays until the step runs: a Snapshot meanwhile
		// sees it. If another took its place first, the loop finds
		// what is earliest now.
		q.tenant.fire(a, e.order, time.Unix(0, e.due))
	}
}

// len returns how many steps are queued.
func (q *stepQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n + q.laneN
}

// action returns e's action. Call it with q.mu held: the action is live
// while its entry is queued, and its block in the slab's table.
func (q *stepQueue) action(e *queuedStep) *Action {
	return q.tenant.slab.at(e.ref)
}

// at returns entry i. Call it with q.mu held.
func (q *stepQueue) at(i int) *queuedStep {
	return &q.chunks[i/stepChunkLen][i%stepChunkLen]
}

// remove takes entry i out of the heap. Call it with q.mu held.
func (q *stepQueue) remove(i int) {
	q.action(q.at(i)).queued = 0
	last := q.n - 1
	if i != last {
		*q.at(i) = *q.at(last)
		q.action(q.at(i)).queued = int32(i + 1)
	}
	*q.at(last) = queuedStep{} // no pointer left behind in a free place
	q.n--
	if i != last {
		q.fix(i)
	}
	// Let go of the chunks past the one in use and a spare, so that a
	// queue going back and forth over a chunk's edge does not allocate.
	if keep := q.n/stepChunkLen + 2; len(q.chunks) > keep {
		clear(q.chunks[keep:])
		q.chunks = q.chunks[:keep]
	}
}

// fix restores the heap order around entry i, which changed.
func (q *stepQueue) fix(i int) {
	if !q.down(i) {
		q.up(i)
	}
}

// stepHeapArity is how many children an entry of a stepQueue's heap has.
// Four rather than two: taking the earliest of 170,000 entries (bench/run
// after its POST load) sifts an entry down 9 levels instead of 17, each a
// few cache misses among the entries and in the actions swapped entries
// tell their place; its four children lie side by side. A profile of the
// GET load that follows the POST load put 40% of the lifecycle's steps in
// the binary heap's sift; BenchmarkStepQueue: 706-724 ns a step with two
// children, 514-626 with four (docs/performance.md, "Fewer words to
// scan").
const stepHeapArity = 4

// up moves entry i towards the root while it is before its parent.
// The entry is held aside and its ancestors move down into the hole it
// leaves, each action told its new place once, rather than swapped
// level by level: a swap tells two actions, each a cache miss of its own
// among 170,000 (docs/performance.md, "The network poller").
func (q *stepQueue) up(i int) {
	e := *q.at(i)
	start := i
	for i > 0 {
		p := (i - 1) / stepHeapArity
		if !e.before(q.at(p)) {
			break
		}
		q.put(i, *q.at(p))
		i = p
	}
	if i != start {
		q.put(i, e)
	}
}

// down moves entry i towards the leaves while a child is before it, and
// reports whether it moved; as up, through a hole.
func (q *stepQueue) down(i int) bool {
	e := *q.at(i)
	start := i
	for {
		first := stepHeapArity*i + 1
		if first >= q.n {
			break
		}
		c := first // the earliest child
		for k := first + 1; k < min(first+stepHeapArity, q.n); k++ {
			if q.at(k).before(q.at(c)) {
				c = k
			}
		}
		if !q.at(c).before(&e) {
			break
		}
		q.put(i, *q.at(c))
		i = c
	}
	if i == start {
		return false
	}
	q.put(i, e)
	return true
}

// put makes e entry i and tells its action.
func (q *stepQueue) put(i int, e queuedStep) {
	*q.at(i) = e
	q.action(&e).queued = int32(i + 1)
}
