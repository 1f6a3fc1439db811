package state

import (
	"cmp"
	"iter"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// Retention bounds the finished actions a Store keeps. An action that
// reached a final status (Succeeded, Failed, TimeOut, Cancelled) is
// forgotten, with its results, once it is among the oldest finished over
// MaxActions or over MaxBytes, or once MaxAge has passed since it
// finished; it then answers as an action that never existed. Live actions
// (Pending, InProgress) are never forgotten and do not count.
type Retention struct {
	// MaxActions is how many finished actions the store keeps, over all
	// its tenants; the first to have finished go first. Zero or less: no
	// bound.
	MaxActions int
	// MaxAge is how long a finished action is kept after it finished, in
	// emulated time (docs/time.md: an action's age belongs to the
	// emulated world). Zero or less: no bound.
	MaxAge time.Duration
	// MaxBytes bounds the heap the kept actions hold, as their footprint
	// counts it (Action.footprint): actions of a few hundred bytes fill
	// MaxActions long before it, and a client that sends comments and
	// arguments of a megabyte cannot make MaxActions of them a hundred
	// GB. Zero or less: no bound.
	MaxBytes int64
}

// BytesPerKeptAction is the average footprint the retention allows a
// finished action (BytesFor): four times what a typical one holds.
const BytesPerKeptAction = 4 << 10

// minRetainedBytes is the least MaxBytes BytesFor gives, so that a small
// count (a test's 2) is not also a bound of a few KB.
const minRetainedBytes = 64 << 20

// BytesFor returns the MaxBytes that goes with keeping maxActions
// finished actions: BytesPerKeptAction each, and at least 64 MiB; no
// bound (0) when maxActions is none.
func BytesFor(maxActions int) int64 {
	if maxActions <= 0 {
		return 0
	}
	return max(int64(maxActions)*BytesPerKeptAction, minRetainedBytes)
}

// DefaultRetention is the retention of a Store that was not given one:
// 100,000 finished actions of 400 MB (BytesPerKeptAction each, on
// average), each for at most 7 days of emulated time
// (docs/performance.md, Retention, for the arithmetic).
var DefaultRetention = Retention{MaxActions: 100_000, MaxAge: 7 * 24 * time.Hour, MaxBytes: BytesFor(100_000)}

// Retention returns the retention in force.
func (s *Store) Retention() Retention { return *s.retention.Load() }

// SetRetention changes the retention in force; finished actions over the
// new bounds are forgotten at once.
func (s *Store) SetRetention(r Retention) {
	s.retention.Store(&r)
	s.world.Load().finished.apply(s.clock.Now(), true)
}

// finishedQueue holds a world's finished actions in the order they
// finished, to forget the first of them when a bound is crossed: on each
// finish (count and age), and at the instant the first one gets too old
// (one clock timer at a time). Its lock is held only to push and pop; the
// tenants' lists are changed after it is released.
type finishedQueue struct {
	store *Store

	mu     sync.Mutex
	items  chunkQueue[finishedEntry] // the kept, in finish order
	bytes  int64                     // the footprint of items; a snapshot does not keep it: restoreFinished counts it
	timer  *clock.Timer              // the pending age sweep, nil: none
	closed bool                      // the world was replaced: keep nothing, schedule nothing
}

// finishedEntry is a finished action and the emulated instant it
// finished, in Unix nanoseconds (16 bytes an action, not 32).
type finishedEntry struct {
	a  *Action
	at int64
}

// finishedAt returns the instant e's action finished.
func (e finishedEntry) finishedAt() time.Time { return time.Unix(0, e.at).UTC() }

func newFinishedQueue(s *Store) *finishedQueue { return &finishedQueue{store: s} }

// add records that a finished at the emulated instant at, and forgets
// what the bounds no longer keep.
func (q *finishedQueue) add(a *Action, at time.Time) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	size := a.keep()
	q.items.push(finishedEntry{a: a, at: at.UnixNano()})
	q.bytes += size
	q.mu.Unlock()
	q.apply(q.store.clock.Now(), false)
}

// apply forgets the finished actions over the bounds at the emulated
// instant now, and schedules the next age sweep; reschedule replaces a
// pending sweep (the bounds changed).
func (q *finishedQueue) apply(now time.Time, reschedule bool) {
	r := q.store.Retention()
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	victims := q.popLocked(r, now)
	if reschedule && q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	q.scheduleLocked(r)
	q.mu.Unlock()
	evict(victims)
}

// sweep is the age sweep, run by the clock at the instant the first
// finished action gets too old.
func (q *finishedQueue) sweep(now time.Time) {
	q.mu.Lock()
	q.timer = nil
	q.mu.Unlock()
	q.apply(now, false)
}

// popLocked takes the finished actions over r's bounds at now off the
// front of the queue and returns them (nil: none). Call it with q.mu held.
func (q *finishedQueue) popLocked(r Retention, now time.Time) []*Action {
	var victims []*Action
	for q.items.len() > 0 {
		e := q.items.front()
		overCount := r.MaxActions > 0 && q.items.len() > r.MaxActions
		overBytes := r.MaxBytes > 0 && q.bytes > r.MaxBytes
		tooOld := r.MaxAge > 0 && !e.finishedAt().Add(r.MaxAge).After(now)
		if !overCount && !overBytes && !tooOld {
			break
		}
		q.bytes -= e.a.keptBytes()
		victims = append(victims, e.a)
		q.items.pop() // and lets the action go
	}
	return victims
}

// scheduleLocked makes sure an age sweep is pending for the first kept
// action, when there is one and r bounds the age. Call it with q.mu held.
func (q *finishedQueue) scheduleLocked(r Retention) {
	if r.MaxAge <= 0 || q.timer != nil || q.items.len() == 0 {
		return
	}
	q.timer = q.store.clock.AtFunc(q.items.front().finishedAt().Add(r.MaxAge), q.sweep)
}

// close forgets the queue: its world was replaced by a Load.
func (q *finishedQueue) close() {
	q.mu.Lock()
	q.closed = true
	if q.timer != nil {
		q.timer.Stop()
		q.timer = nil
	}
	q.items, q.bytes = chunkQueue[finishedEntry]{}, 0
	q.mu.Unlock()
}

// kept returns how many finished actions the queue keeps.
func (q *finishedQueue) kept() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.items.len()
}

// actionOverhead is what a finished action holds besides its strings:
// its objects and its timestamps, about 290 bytes with one command since
// actions asked alike share their shape (docs/performance.md, "Fewer
// words to scan"; 525 before, 790 before "Actions side by side"), rounded
// up: the byte bound errs on the side of keeping fewer, and counts each
// action's strings as its own even when its shape is shared.
const actionOverhead = 1 << 10

// commandOverhead and paramOverhead are what each further command and
// each parameter add besides their strings: a command's state (32 bytes
// and its command's 40; 128 when these were set) and a share for its
// result; a parameter's two string headers.
// A request of 1 MiB may hold some 19,000 short commands (the API
// documents no bound on their number), whose objects outweigh their
// strings many times: 2,000 GetFile commands hold 178 bytes of heap each
// for 12 of strings (TestFootprintOfManyCommands).
const (
	commandOverhead = 192
	paramOverhead   = 32
)

// footprint returns about how many bytes of heap a finished action holds:
// actionOverhead (commandOverhead for each command past the first), its
// comment, its commands' parameters and errors, its scripts' results, and
// the content a queued outcome gave a GetFile (Result.own). The bytes of a file a GetFile collected from the machine
// are not its own: they are the fixture's machine file, or a library file
// the tenant's storage counts (Result.held). A finished action does not
// change, so the answer does not either; nil (an action of a removed
// tenant, restored) holds nothing here.
func (a *Action) footprint() int64 {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := actionOverhead + len(a.shape.requestor)
	if a.shape.comment != nil {
		n += len(*a.shape.comment)
	}
	if c := a.cancelled(); c != nil {
		n += len(c.by) + len(c.note)
	}
	n += max(a.commandCount()-1, 0) * commandOverhead
	for i := range a.commandCount() {
		for _, p := range a.command(i).Params {
			n += paramOverhead + len(p.Key) + len(p.Value)
		}
		n += len(a.failOf(i))
		c := a.state(i)
		if r := c.result; r != nil && r.script != nil {
			n += len(r.script.ScriptName) + len(r.script.ScriptOutput) + len(r.script.ScriptErrors)
		}
		if r := c.result; r != nil && r.own {
			n += len(r.file)
		}
	}
	return int64(n)
}

// keep returns a's footprint and keeps it in a (kept), so that its going
// reads it back without walking its cold strings again (keptBytes). The
// retention calls it when a is queued (finishedQueue.add, restoreFinished).
func (a *Action) keep() int64 {
	n := a.footprint()
	if a != nil {
		a.kept = int32(min(n, math.MaxInt32))
	}
	return n
}

// keptBytes returns the footprint keep counted for a (nil: 0).
func (a *Action) keptBytes() int64 {
	if a == nil {
		return 0
	}
	return int64(a.kept)
}

// evict forgets each of victims in its tenant; a nil one stands for an
// action of a removed tenant (Restore) and only counted.
func evict(victims []*Action) {
	for _, a := range victims {
		if a == nil {
			continue
		}
		t := a.tenant()
		t.mu.Lock()
		t.removeLocked(a)
		t.mu.Unlock()
		a.release()
		t.slab.letGo(a)
		if a.gen > 0 {
			if m := a.made(); m != nil {
				t.fleet.giveBack(m) // made for its files or outcomes, it may be as the fixture makes it again
			}
		}
	}
}

// actionList is a list of actions in the order of their seq (the order
// the tenant made them), from which an action is removed in O(log n),
// amortized: its entry is blanked, and the list is compacted when over
// half of it is blank. It names each action by its place in the tenant's
// slab (actionRef), which the collector does not follow
// (docs/performance.md, "The network poller").
type actionList struct {
	entries []listEntry
	live    int
	slab    *actionSlab // the slab of its actions; set by add
}

// listEntry is one place of an actionList; ref is 0 once removed.
type listEntry struct {
	seq uint64
	ref actionRef
}

// add appends a, whose seq is above every other's in l, an action of
// slab.
func (l *actionList) add(a *Action, slab *actionSlab) {
	l.entries = append(l.entries, listEntry{seq: a.seq, ref: a.ref})
	l.live++
	l.slab = slab
}

// action returns the action of entry i, nil for a removed one.
func (l *actionList) action(i int) *Action {
	if r := l.entries[i].ref; r != 0 {
		return l.slab.at(r)
	}
	return nil
}

// bySeq orders a list's entries by seq, for a binary search.
func bySeq(e listEntry, seq uint64) int { return cmp.Compare(e.seq, seq) }

// remove takes a out of l, reporting whether it was there.
func (l *actionList) remove(a *Action) bool {
	i, ok := slices.BinarySearchFunc(l.entries, a.seq, bySeq)
	if !ok || l.entries[i].ref != a.ref {
		return false
	}
	l.entries[i].ref = 0
	l.live--
	if l.live == 0 {
		// Emptied: a small list keeps its room (a made machine's first
		// entry is allocated with it), a larger one is let go.
		if cap(l.entries) > 4 {
			*l = actionList{}
		} else {
			l.entries = l.entries[:0]
		}
		return true
	}
	if n := len(l.entries); n >= 32 && l.live*2 < n {
		kept := l.entries[:0]
		for _, e := range l.entries {
			if e.ref != 0 {
				kept = append(kept, e)
			}
		}
		clear(l.entries[len(kept):])
		l.entries = kept
		if cap(l.entries) > 4*len(l.entries)+64 {
			l.entries = slices.Clip(slices.Clone(l.entries))
		}
	}
	return true
}

// genList is a generated machine's kept actions (Tenant.gens), oldest
// first, by their seq in the tenant's list: numbers, not pointers. A map
// of pointers would have the collector follow them in the map's order,
// at random over the heap: with 260,000 live actions that made each
// collection half again as long as the machines it replaced
// (docs/performance.md, "Generated machines without a *Machine"). The
// one seq a machine most often has is in one; a second moves both to
// more.
type genList struct {
	one  uint64   // the seq of the only one, while more is nil (0: none)
	more []uint64 // every one's seq, once a second came
}

// genIndex is the genList of each generated machine that has kept
// actions, by number. The seq of a machine's only kept action, as most
// have, is in a table by number (genChunk, a chunk of consecutive
// numbers made when one of them first has an action and dropped when
// none has): a lookup is an index, not a hash, and the table is memory
// the collector does not scan. A machine with more is in the map more,
// its place in the table moreMark. A map from number to seq was ~600 ns
// a lookup (a cache miss or two in a map of 400,000 machines) under
// bench/run's GET load, where the retention looks up the machine of
// each action it forgets (docs/performance.md, "Ids that carry their
// seq"); one map of genList values was 23 MB of map memory with a
// pointer word in each entry, scanned on every cycle.
type genIndex struct {
	chunks []*genChunk // by number / genChunkLen; nil: none of its machines has kept actions
	more   map[uint32][]uint64
}

// genChunk is the genIndex places of genChunkLen consecutive machine
// numbers: 0, none; moreMark, in genIndex.more; else the seq of the
// machine's only kept action.
type genChunk struct {
	seqs [genChunkLen]uint64
	used int // its non-zero places
}

// genChunkLen is how many machine numbers a genChunk holds: 32 KiB.
const genChunkLen = 4096

// moreMark is the genIndex place of a machine with more than one kept
// action: no seq reaches it.
const moreMark = ^uint64(0)

// place returns the place of machine n, nil when its chunk is not made.
func (g *genIndex) place(n uint32) *uint64 {
	if k := int(n / genChunkLen); k < len(g.chunks) && g.chunks[k] != nil {
		return &g.chunks[k].seqs[n%genChunkLen]
	}
	return nil
}

// get returns the genList of machine n (empty for none).
func (g *genIndex) get(n uint32) genList {
	p := g.place(n)
	switch {
	case p == nil:
		return genList{}
	case *p == moreMark:
		return genList{more: g.more[n]}
	default:
		return genList{one: *p}
	}
}

// set makes l the genList of machine n; an empty l forgets n.
func (g *genIndex) set(n uint32, l genList) {
	if len(l.more) == 1 {
		l = genList{one: l.more[0]} // back to one: out of more
	}
	v := l.one
	switch {
	case l.live() == 0:
		v = 0
	case l.more != nil:
		v = moreMark
	}
	k := int(n / genChunkLen)
	if k >= len(g.chunks) {
		if v == 0 {
			return
		}
		g.chunks = append(g.chunks, make([]*genChunk, k+1-len(g.chunks))...)
	}
	c := g.chunks[k]
	if c == nil {
		if v == 0 {
			return
		}
		c = &genChunk{}
		g.chunks[k] = c
	}
	p := &c.seqs[n%genChunkLen]
	if *p == moreMark && v != moreMark {
		delete(g.more, n)
	}
	switch {
	case *p == 0 && v != 0:
		c.used++
	case *p != 0 && v == 0:
		c.used--
	}
	*p = v
	if v == moreMark {
		if g.more == nil {
			g.more = map[uint32][]uint64{}
		}
		g.more[n] = l.more
	}
	if c.used == 0 {
		g.chunks[k] = nil
		for len(g.chunks) > 0 && g.chunks[len(g.chunks)-1] == nil {
			g.chunks = g.chunks[:len(g.chunks)-1]
		}
	}
}

// all yields each machine of g and its genList, by number.
func (g *genIndex) all() iter.Seq2[uint32, genList] {
	return func(yield func(uint32, genList) bool) {
		for k, c := range g.chunks {
			if c == nil {
				continue
			}
			for i, v := range c.seqs {
				if v == 0 {
					continue
				}
				n := uint32(k*genChunkLen + i)
				l := genList{one: v}
				if v == moreMark {
					l = genList{more: g.more[n]}
				}
				if !yield(n, l) {
					return
				}
			}
		}
	}
}

// add keeps seq, above every seq l has.
func (l *genList) add(seq uint64) {
	switch {
	case l.more != nil:
		l.more = append(l.more, seq)
	case l.one == 0:
		l.one = seq
	default:
		l.more = []uint64{l.one, seq}
		l.one = 0
	}
}

// remove forgets seq, reporting whether l had it.
func (l *genList) remove(seq uint64) bool {
	if l.more == nil {
		if l.one != seq || seq == 0 {
			return false
		}
		l.one = 0
		return true
	}
	i, ok := slices.BinarySearch(l.more, seq)
	if !ok {
		return false
	}
	l.more = slices.Delete(l.more, i, i+1)
	return true
}

// live returns how many actions l has.
func (l *genList) live() int {
	if l.more != nil {
		return len(l.more)
	}
	if l.one != 0 {
		return 1
	}
	return 0
}

// newest returns the seq of l's newest action, 0 for none.
func (l *genList) newest() uint64 {
	if n := len(l.more); n > 0 {
		return l.more[n-1]
	}
	return l.one
}

// appendNewestFirst appends to out the actions of l, found by their seq
// in all (the tenant's list), newest first.
func (l *genList) appendNewestFirst(out []*Action, all *actionList) []*Action {
	if l.more == nil {
		if a := all.withSeq(l.one); a != nil {
			out = append(out, a)
		}
		return out
	}
	for i := len(l.more) - 1; i >= 0; i-- {
		if a := all.withSeq(l.more[i]); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// withSeq returns l's action whose seq is seq, nil for none.
func (l *actionList) withSeq(seq uint64) *Action {
	if i, found := slices.BinarySearchFunc(l.entries, seq, bySeq); found {
		return l.action(i)
	}
	return nil
}

// newest returns l's newest action, nil for none.
func (l *actionList) newest() *Action {
	for i := len(l.entries) - 1; i >= 0; i-- {
		if a := l.action(i); a != nil {
			return a
		}
	}
	return nil
}

// appendOlderThan appends to out l's actions whose seq is below before,
// newest first, until out holds cap(out): a reader of the list a chunk
// at a time goes on from the seq of the last one it was given.
func (l *actionList) appendOlderThan(out []*Action, before uint64) []*Action {
	i, _ := slices.BinarySearchFunc(l.entries, before, bySeq) // the first at or above before
	for i--; i >= 0 && len(out) < cap(out); i-- {
		if a := l.action(i); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// appendNewestFirst appends l's actions to out, newest first.
func (l *actionList) appendNewestFirst(out []*Action) []*Action {
	for i := len(l.entries) - 1; i >= 0; i-- {
		if a := l.action(i); a != nil {
			out = append(out, a)
		}
	}
	return out
}
