package state

import (
	"sync"
	"time"
)

// actionSlab hands out a tenant's new Actions from blocks of consecutive
// ones, so that the actions a tenant makes one after another lie side by
// side in memory, not each in a span of its own among the garbage of the
// requests that made them. The collector marks a kept action through the
// block it is in: under bench/run's POST load, 260,000 actions in ~520
// blocks rather than in spans they share with freed request objects,
// which it visits one by one (docs/performance.md, "Actions side by
// side"). A block lives while any of its actions is referenced; actions
// are forgotten nearly in the order they were made, so few are held by a
// neighbour, and what a forgotten action held that may be large (its
// results) is let go when it is forgotten (Action.release).
//
// Blocks start small and double up to actionBlockSmall actions, so a
// tenant that makes a few actions holds a few; past it they go on
// doubling, up to actionBlockMax, only while each fills within
// actionBlockFast of the emulator's time, for a tenant under load. A
// block of actionBlockMax is one large object (64 KiB, a span of its
// own): the collector marks the pointers to its actions, from the
// tenant's list and step queue, at one mark bit, and a collection of
// bench/run's state after its POST load took ~18 ms instead of ~24 with
// blocks of 64 actions (8 KiB, small objects; docs/performance.md, "Fewer
// words to scan"). A tenant that makes actions slowly keeps blocks of 64:
// a block lives as long as its longest-kept action, so a block of 512
// filled over a week would hold its memory in steps of 64 KiB, and an
// action kept long (queued for an offline machine, up to three days)
// would hold 512 neighbours' memory, 128 bytes each once forgotten.
//
// The slab also makes the actions' shapes (shape), under the same lock.
type actionSlab struct {
	mu    sync.Mutex
	block []Action // the current block; next hands out block[used]
	used  int
	began int64 // when the current block handed out its first action, Unix nanoseconds of the emulator's time
	// shapes are the shapes of the latest actions asked alike, at most
	// shapeCacheMax of them; the map is emptied when it is full.
	shapes map[shapeKey]*actionShape
}

// actionBlockMin, actionBlockSmall and actionBlockMax are the actions of
// a tenant's first block, of its largest under a slow flow of actions, and
// of its largest: 512 actions of 128 bytes are 64 KiB. A block that fills
// within actionBlockFast lets the next grow past actionBlockSmall.
const (
	actionBlockMin   = 4
	actionBlockSmall = 64
	actionBlockMax   = 512
	actionBlockFast  = time.Minute
)

// next returns a zeroed Action of its own, made at now (Unix nanoseconds
// of the emulator's time).
func (s *actionSlab) next(now int64) *Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used == len(s.block) {
		n := min(max(2*len(s.block), actionBlockMin), actionBlockSmall)
		if len(s.block) >= actionBlockSmall && now-s.began < int64(actionBlockFast) {
			n = min(2*len(s.block), actionBlockMax)
		}
		s.block, s.used, s.began = make([]Action, n), 0, now
	}
	s.used++
	return &s.block[s.used-1]
}

// undo takes back a, which next returned and nothing else refers to (a
// submit refused after its action was made), when it is the last one
// handed out: a client retrying a busy machine reuses one Action instead
// of filling blocks. Otherwise a stays unused in its block.
func (s *actionSlab) undo(a *Action) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used > 0 && &s.block[s.used-1] == a {
		s.used--
		s.block[s.used] = Action{}
	}
}
