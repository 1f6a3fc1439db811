package state

import "sync"

// actionSlot is the memory of a new action of the usual shape: one
// command with at most two parameters (a RunScript's ScriptName and Args,
// a GetFile's Path), the action, its command and the parameters side by
// side.
type actionSlot struct {
	a      Action
	cmd    [1]commandState
	params [2]Param
}

// actionSlab hands out a tenant's actionSlots from blocks of consecutive
// slots, so that the actions a tenant makes one after another lie side by
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
// Blocks start small and double up to actionBlockMax slots, so a tenant
// that makes a few actions holds a few slots.
type actionSlab struct {
	mu    sync.Mutex
	block []actionSlot // the current block; next hands out block[used]
	used  int
}

// actionBlockMin and actionBlockMax are the slots of a tenant's first
// block and of its largest: 64 slots of 384 bytes are a 24 KiB object.
const (
	actionBlockMin = 4
	actionBlockMax = 64
)

// next returns a zeroed slot of its own.
func (s *actionSlab) next() *actionSlot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used == len(s.block) {
		n := min(max(2*len(s.block), actionBlockMin), actionBlockMax)
		s.block, s.used = make([]actionSlot, n), 0
	}
	s.used++
	return &s.block[s.used-1]
}

// undo takes back slot, which next returned and nothing else refers to
// (a submit refused after its action was made), when it is the last one
// handed out: a client retrying a busy machine reuses one slot instead of
// filling blocks. Otherwise the slot stays unused in its block.
func (s *actionSlab) undo(slot *actionSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used > 0 && &s.block[s.used-1] == slot {
		s.used--
		s.block[s.used] = actionSlot{}
	}
}
