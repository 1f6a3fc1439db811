package state

import "sync"

// actionSlab hands out a tenant's new Actions from blocks of consecutive
// ones, so that the actions a tenant makes one after another lie side by
// side in memory, not each in a span of its own among the garbage of the
// requests that made them. The collector marks a kept action through the
// block it is in: under bench/run's POST load, 260,000 actions in ~4,000
// blocks rather than in spans they share with freed request objects,
// which it visits one by one (docs/performance.md, "Actions side by
// side"). A block lives while any of its actions is referenced; actions
// are forgotten nearly in the order they were made, so few are held by a
// neighbour, and what a forgotten action held that may be large (its
// results) is let go when it is forgotten (Action.release).
//
// Blocks start small and double up to actionBlockMax actions, so a
// tenant that makes a few actions holds a few. A full block is one large
// object (64 KiB, a span of its own): the collector marks the pointers to
// its actions, from the tenant's list and step queue, at one mark bit,
// and a collection of bench/run's state after its POST load took ~18 ms
// instead of ~24 with blocks of 64 actions (8 KiB, small objects;
// docs/performance.md, "Fewer words to scan"). What that costs: an action
// kept long (one queued for an offline machine, up to three days) holds
// its block, forgotten neighbours and all, 128 bytes each once they have
// let go of their results.
//
// The slab also makes the actions' shapes (shape), under the same lock.
type actionSlab struct {
	mu    sync.Mutex
	block []Action // the current block; next hands out block[used]
	used  int
	// shapes are the shapes of the latest actions asked alike, at most
	// shapeCacheMax of them; the map is emptied when it is full.
	shapes map[shapeKey]*actionShape
}

// actionBlockMin and actionBlockMax are the actions of a tenant's first
// block and of its largest: 512 actions of 128 bytes are 64 KiB.
const (
	actionBlockMin = 4
	actionBlockMax = 512
)

// next returns a zeroed Action of its own.
func (s *actionSlab) next() *Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used == len(s.block) {
		n := min(max(2*len(s.block), actionBlockMin), actionBlockMax)
		s.block, s.used = make([]Action, n), 0
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
