package intern

import (
	"fmt"
	"hash/maphash"
	"testing"
)

// samePair returns n distinct strings that hash to one pair of slots.
func samePair(n int) []string {
	byPair := map[uint64][]string{}
	for i := 0; ; i++ {
		s := fmt.Sprintf("script-%d.ps1", i)
		pair := maphash.String(seed, s) % (Slots / 2)
		byPair[pair] = append(byPair[pair], s)
		if len(byPair[pair]) == n {
			return byPair[pair]
		}
	}
}

// TestTwoStringsOfOnePairSettle looks up, in turn, two strings that hash
// to the same pair of slots, as a script's name and its arguments would
// be request after request: they soon sit side by side, and from then on
// neither lookup allocates.
func TestTwoStringsOfOnePairSettle(t *testing.T) {
	var tab Table
	two := samePair(2)
	a, b := []byte(two[0]), []byte(two[1])
	for range 1000 { // each miss picks a slot at random: settled long before
		tab.String(a)
		tab.String(b)
	}
	if n := testing.AllocsPerRun(100, func() { tab.String(a); tab.String(b) }); n != 0 {
		t.Fatalf("%q and %q, which share a pair, still allocate %v times a round", two[0], two[1], n)
	}
	if got := tab.String(a); got != two[0] {
		t.Fatalf("String(%q) = %q", two[0], got)
	}
}

// TestTableFillsItsSlots puts many distinct strings through a table: every
// slot ends up holding one of them, and no more than Slots are held.
func TestTableFillsItsSlots(t *testing.T) {
	var tab Table
	put := map[string]bool{}
	for i := range 20 * Slots {
		s := fmt.Sprintf("value-%d", i)
		put[s] = true
		tab.String([]byte(s))
	}
	for i := range tab.slots {
		p := tab.slots[i].Load()
		if p == nil {
			t.Fatalf("slot %d is empty after %d strings", i, 20*Slots)
		}
		if !put[*p] {
			t.Fatalf("slot %d holds %q, never looked up", i, *p)
		}
	}
}
