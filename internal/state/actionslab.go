package state

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// actionSlab hands out a tenant's new Actions from blocks of consecutive
// ones, so that the actions a tenant makes one after another lie side by
// side in memory, not each in a span of its own among the garbage of the
// requests that made them. The collector marks a kept action through the
// block it is in: under bench/run's POST load, 260,000 actions in ~520
// blocks rather than in spans they share with freed request objects,
// which it visits one by one (docs/performance.md, "Actions side by
// side"). A block lives while any of its actions is kept (and while a
// caller holds a pointer to one); actions are forgotten nearly in the
// order they were made, so few are held by a neighbour, and what a
// forgotten action held that may be large (its results) is let go when
// it is forgotten (Action.release).
//
// Blocks start small and double up to actionBlockSmall actions, so a
// tenant that makes a few actions holds a few; past it they go on
// doubling, up to actionBlockMax, only while each fills within
// actionBlockFast of the emulator's time, for a tenant under load. A
// block of actionBlockMax is one large object (72 KiB, a span of its
// own): the collector marks the pointers to its actions, from callers
// and the retention's queue, at one mark bit, and a collection of
// bench/run's state after its POST load took ~18 ms instead of ~24 with
// blocks of 64 actions (8 KiB, small objects; docs/performance.md, "Fewer
// words to scan"). A tenant that makes actions slowly keeps blocks of 64:
// a block lives as long as its longest-kept action, so a block of 512
// filled over a week would hold its memory in steps of 72 KiB, and an
// action kept long (queued for an offline machine, up to three days)
// would hold 512 neighbours' memory, 144 bytes each once forgotten.
//
// The tenant's list, its step queue and its machines' lists name an
// action by its place in the slab (actionRef), not by a pointer: the
// collector follows no pointer of theirs into the blocks. A pointer from
// them to an action in a block cost it ~15 ns on every cycle (the
// tenant's list alone was ~4 ms of a ~17 ms collection of bench/run's
// state after its POST load; docs/performance.md, "The network poller").
// So the slab holds its blocks itself, by number, in a table that
// lock-free readers resolve a place through (at); a block leaves the
// table when it is full and every action it handed out is let go
// (letGo), and the collector frees it once no pointer from a caller
// holds it.
//
// The slab also makes the actions' shapes (shape), under the same lock.
type actionSlab struct {
	mu    sync.Mutex
	cur   *actionBlock // the current block; next hands out cur.actions[used]
	curNo uint32       // its number
	used  int
	began int64 // when the current block handed out its first action, Unix nanoseconds of the emulator's time
	table atomic.Pointer[blockTable]
	// shapes are the shapes of the latest actions asked alike, at most
	// shapeCacheMax of them; the map is emptied when it is full.
	shapes map[shapeKey]*actionShape
}

// actionRef is an action's place in its tenant's slab: its block's
// number in the high 32 bits, its index in the block in the low ones. 0
// is no action (block numbers start at 1). A slab numbers 2^32-1 blocks
// of at least actionBlockMin actions, the first few, and 64 past them:
// more than 2.7e11 actions, over two centuries at 40,000 a second.
type actionRef uint64

// block returns the number of r's block.
func (r actionRef) block() uint32 { return uint32(r >> 32) }

// index returns r's index in its block.
func (r actionRef) index() int { return int(uint32(r)) }

// actionBlock is a block of a slab's actions and how many of them are
// handed out and not let go (guarded by the slab's mu).
type actionBlock struct {
	actions []Action
	live    int
}

// blockTable is a slab's blocks by number, in chunks of blockChunkLen
// numbers: chunk i holds the numbers from (first+i)*blockChunkLen. A
// chunk whose blocks are all let go is nil, and those at the front are
// dropped, so that a block kept long (an action queued for an offline
// machine holds its block up to three days) holds one chunk, not a table
// of every number since. A table is never changed once published: a
// change publishes a copy of the chunk list (chunks themselves are
// shared and their places atomic), at most once per blockChunkLen
// blocks made or a chunk emptied.
type blockTable struct {
	first  uint32
	chunks []*blockChunk
}

// blockChunk is blockChunkLen places of a blockTable; a nil place is a
// block let go (or not made yet).
type blockChunk struct {
	blocks [blockChunkLen]atomic.Pointer[actionBlock]
	live   int // its non-nil places; guarded by the slab's mu
}

// blockChunkLen is how many block numbers a blockChunk covers.
const blockChunkLen = 256

// actionBlockMin, actionBlockSmall and actionBlockMax are the actions of
// a tenant's first block, of its largest under a slow flow of actions, and
// of its largest: 512 actions of 144 bytes are 72 KiB. A block that fills
// within actionBlockFast lets the next grow past actionBlockSmall.
const (
	actionBlockMin   = 4
	actionBlockSmall = 64
	actionBlockMax   = 512
	actionBlockFast  = time.Minute
)

// next returns a zeroed Action of its own, made at now (Unix nanoseconds
// of the emulator's time), whose ref is its place.
func (s *actionSlab) next(now int64) *Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.used == len(s.cur.actions) {
		size := 0
		if s.cur != nil {
			size = len(s.cur.actions)
		}
		n := min(max(2*size, actionBlockMin), actionBlockSmall)
		if size >= actionBlockSmall && now-s.began < int64(actionBlockFast) {
			n = min(2*size, actionBlockMax)
		}
		prev, prevNo := s.cur, s.curNo
		s.cur, s.used, s.began = &actionBlock{actions: make([]Action, n)}, 0, now
		s.curNo++
		s.putLocked(s.curNo, s.cur)
		if prev != nil && prev.live == 0 {
			s.putLocked(prevNo, nil) // full, and everything it handed out let go (undone)
		}
	}
	s.used++
	s.cur.live++
	a := &s.cur.actions[s.used-1]
	a.ref = actionRef(uint64(s.curNo)<<32 | uint64(s.used-1))
	return a
}

// undo takes back a, which next returned and nothing else refers to (a
// submit refused after its action was made). When it is the last one
// handed out, its place is handed out again: a client retrying a busy
// machine reuses one Action instead of filling blocks. Otherwise it is
// let go unused.
func (s *actionSlab) undo(a *Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used > 0 && &s.cur.actions[s.used-1] == a {
		s.used--
		s.cur.live--
		s.cur.actions[s.used] = Action{}
		return
	}
	s.letGoLocked(a.ref)
}

// letGo notes that a, forgotten, is no longer named by its place: its
// block leaves the table once all it handed out are let go. Call it once
// for each action kept (Action.release).
func (s *actionSlab) letGo(a *Action) {
	s.mu.Lock()
	s.letGoLocked(a.ref)
	s.mu.Unlock()
}

// letGoLocked is letGo for the place r. Call it with s.mu held.
func (s *actionSlab) letGoLocked(r actionRef) {
	b := s.block(r.block())
	if b == nil {
		panic("state: an action let go twice")
	}
	if b.live--; b.live == 0 && b != s.cur {
		s.putLocked(r.block(), nil)
	}
}

// at returns the action at place r, which must be one next handed out
// and not let go since. It takes no lock.
func (s *actionSlab) at(r actionRef) *Action {
	return &s.block(r.block()).actions[r.index()]
}

// block returns block number no, nil when it was let go.
func (s *actionSlab) block(no uint32) *actionBlock {
	t := s.table.Load()
	if t == nil || no/blockChunkLen < t.first {
		return nil
	}
	i := int(no/blockChunkLen - t.first)
	if i >= len(t.chunks) || t.chunks[i] == nil {
		return nil
	}
	return t.chunks[i].blocks[no%blockChunkLen].Load()
}

// putLocked sets the block numbered no to b (nil: let go), publishing a
// new table when a chunk is added or emptied. Call it with s.mu held.
func (s *actionSlab) putLocked(no uint32, b *actionBlock) {
	t := s.table.Load()
	if t == nil || len(t.chunks) == 0 {
		t = &blockTable{first: no / blockChunkLen}
	}
	k := no / blockChunkLen
	i := int(k - t.first)
	var c *blockChunk
	if i < len(t.chunks) {
		c = t.chunks[i]
	}
	if c == nil {
		if b == nil {
			return
		}
		// A new chunk: numbers only grow, so it goes at the end.
		c = &blockChunk{}
		chunks := make([]*blockChunk, i+1)
		copy(chunks, t.chunks)
		chunks[i] = c
		t = &blockTable{first: t.first, chunks: chunks}
		s.table.Store(t)
	}
	had := c.blocks[no%blockChunkLen].Swap(b) != nil
	switch {
	case b != nil && !had:
		c.live++
	case b == nil && had:
		c.live--
	}
	if c.live > 0 {
		return
	}
	// Emptied: a copy without it, and without the empty ones before
	// the first chunk in use.
	chunks := slices.Clone(t.chunks)
	chunks[i] = nil
	first := t.first
	for len(chunks) > 0 && chunks[0] == nil {
		chunks, first = chunks[1:], first+1
	}
	s.table.Store(&blockTable{first: first, chunks: slices.Clip(chunks)})
}
