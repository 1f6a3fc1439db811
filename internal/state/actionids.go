package state

import (
	"hash/fnv"

	"github.com/mdelive/mde-emulator/internal/guid"
)

// The ids the emulator makes for its actions carry their seq: eight of
// a new id's bytes are the action's seq, mixed by a permutation of the
// 64-bit numbers keyed by its tenant (seqMixer), the other eight random
// (with the GUID's version and variant bits). A client sees random
// version 4 GUIDs, as the service's; the tenant reads the seq back from
// an id and finds the action in its list by seq, then checks the id's
// sixteen bytes against the action's. So a kept action needs no entry in
// a map from id to seq: no insert when it is made, no delete when the
// retention forgets it (~600 ns of the lifecycle's steps under
// bench/run's GET load, and ~50 bytes an action kept; docs/performance.md,
// "Ids that carry their seq"). An id the emulator did not make (a GUID a
// replay or a scenario passes, an id restored from a snapshot of another
// scheme) does not read back to its action's seq, and is kept in the
// tenant's byID map as before.

// seqCarrier are the places of a GUID's bytes that carry the mixed seq:
// none is byte 6 (the version) or byte 8 (the variant).
var seqCarrier = [8]int{0, 1, 2, 3, 4, 5, 10, 11}

// seqMixer turns a tenant's seqs into the numbers its ids carry and back:
// a permutation of the 64-bit numbers (splitmix64's finalizer, whose
// steps each have an inverse) of the seq XOR the tenant's key, so that
// one tenant's consecutive ids look unrelated, and two tenants' ids for
// the same seq differ. The key is derived from the tenant's id, so a
// restored tenant reads the ids it made before.
type seqMixer uint64

// newSeqMixer returns the mixer of the tenant with id tenantID.
func newSeqMixer(tenantID string) seqMixer {
	h := fnv.New64a()
	h.Write([]byte(tenantID))
	return seqMixer(h.Sum64())
}

// The multipliers of splitmix64's finalizer and their inverses modulo
// 2^64.
const (
	mixMul1 = 0xbf58476d1ce4e5b9
	mixMul2 = 0x94d049bb133111eb
)

var (
	mixInv1 = inverseOdd(mixMul1)
	mixInv2 = inverseOdd(mixMul2)
)

// inverseOdd returns the inverse of the odd number a modulo 2^64
// (Newton's iteration: each step doubles the bits that are right).
func inverseOdd(a uint64) uint64 {
	x := a // right in the low 3 bits for any odd a
	for range 5 {
		x *= 2 - a*x
	}
	return x
}

// mix returns the number seq's id carries.
func (k seqMixer) mix(seq uint64) uint64 {
	x := seq ^ uint64(k)
	x ^= x >> 30
	x *= mixMul1
	x ^= x >> 27
	x *= mixMul2
	x ^= x >> 31
	return x
}

// unmix returns the seq whose id carries x: mix's inverse.
func (k seqMixer) unmix(x uint64) uint64 {
	x ^= x>>31 ^ x>>62
	x *= mixInv2
	x ^= x>>27 ^ x>>54
	x *= mixInv1
	x ^= x>>30 ^ x>>60
	return x ^ uint64(k)
}

// newKey returns a new id, as its 16 bytes, for the action seq: random
// but for the bytes that carry seq.
func (k seqMixer) newKey(seq uint64) [16]byte {
	b := guid.NewBytes()
	x := k.mix(seq)
	for _, i := range seqCarrier {
		b[i] = byte(x)
		x >>= 8
	}
	return b
}

// seqOf returns the seq that the id key carries (whatever key is: an id
// the emulator did not make carries some seq too).
func (k seqMixer) seqOf(key [16]byte) uint64 {
	var x uint64
	for j := len(seqCarrier) - 1; j >= 0; j-- {
		x = x<<8 | uint64(key[seqCarrier[j]])
	}
	return k.unmix(x)
}
