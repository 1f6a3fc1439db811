// Package intern keeps one copy of the short strings that request after
// request repeats: a script's name and arguments, a comment, a parameter's
// key. An action keeps the strings of its request for as long as it is
// kept, so under load each repeated value would otherwise be one more
// object per action for the collector to mark, and one more allocation
// per request.
//
// A Table is a fixed number of slots in pairs: a string hashes to one
// pair and is found in either slot; one not found replaces the string
// of a slot of its pair picked at random, so that two strings that hash
// to the same pair and come up in turn (a script's name and its
// arguments, request after request) soon sit side by side instead of
// replacing each other on every lookup. A table never grows, whatever a
// client sends, and keeps alive at most Slots strings of at most MaxLen
// bytes each.
package intern

import (
	"hash/maphash"
	"math/rand/v2"
	"sync/atomic"
)

// Slots is the number of strings a Table holds at most.
const Slots = 1024

// MaxLen is the length of the longest string a Table keeps; a longer one
// is returned as a new string each time.
const MaxLen = 128

// seed is the hash seed of every Table in the process.
var seed = maphash.MakeSeed()

// Table is a bounded set of strings, safe for concurrent use. The zero
// Table is empty and ready to use.
type Table struct {
	slots [Slots]atomic.Pointer[string]
}

// Pointer returns a pointer to a string equal to b: the one the table
// holds, else a new one, which the table then holds. The string must not
// be changed through the pointer, which other callers share.
func (t *Table) Pointer(b []byte) *string {
	if len(b) > MaxLen {
		s := string(b)
		return &s
	}
	h := maphash.Bytes(seed, b)
	pair := t.slots[h%(Slots/2)*2:][:2]
	for i := range pair {
		if p := pair[i].Load(); p != nil && *p == string(b) {
			return p
		}
	}
	s := string(b)
	pair[rand.IntN(2)].Store(&s)
	return &s
}

// String returns a string equal to b, the table's copy when it holds one.
func (t *Table) String(b []byte) string { return *t.Pointer(b) }
