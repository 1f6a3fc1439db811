package faults

import "math/rand/v2"

// Counts is where a rule stands in the calls it sees: how many it saw and
// fired on, and the state of its random numbers. The Counts of one
// injector, given to another holding the same rules (the same IDs and
// definitions), make it go on as the first would: the emulator keeps them
// across a restart.
type Counts struct {
	ID    string `json:"id"`
	Seen  int64  `json:"seen"`
	Fired int64  `json:"fired"`
	// Random is the state of the rule's random numbers (rand.PCG's
	// binary form); nil for a rule that draws none.
	Random []byte `json:"random,omitempty"`
}

// Counts returns the counts of every rule, in the order they were added.
func (in *Injector) Counts() []Counts {
	var out []Counts
	for _, e := range in.load() {
		e.mu.Lock()
		c := Counts{ID: e.rule.ID, Seen: e.seen, Fired: e.fired}
		if e.src != nil {
			c.Random, _ = e.src.MarshalBinary() // never fails
		}
		e.mu.Unlock()
		out = append(out, c)
	}
	return out
}

// RestoreCounts sets the counts of the rules cs names (as Counts returned
// them, perhaps of another injector); counts of rules it does not hold are
// ignored, as is a random state that does not load or of a rule that
// draws none.
func (in *Injector) RestoreCounts(cs []Counts) {
	byID := make(map[string]*Counts, len(cs))
	for i := range cs {
		byID[cs[i].ID] = &cs[i]
	}
	for _, e := range in.load() {
		c, ok := byID[e.rule.ID]
		if !ok {
			continue
		}
		e.mu.Lock()
		e.seen, e.fired = c.Seen, c.Fired
		if e.src != nil && c.Random != nil {
			src := new(rand.PCG)
			if src.UnmarshalBinary(c.Random) == nil {
				e.src, e.rng = src, rand.New(src)
			}
		}
		e.mu.Unlock()
	}
}
