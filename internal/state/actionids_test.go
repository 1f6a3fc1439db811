package state

import (
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/mdelive/mde-emulator/internal/guid"
)

// TestSeqMixerInverts holds unmix to mix's inverse, on edge values and
// random ones, for two tenants' keys.
func TestSeqMixerInverts(t *testing.T) {
	t.Parallel()
	for _, a := range []uint64{mixMul1, mixMul2} {
		if a*inverseOdd(a) != 1 {
			t.Fatalf("inverseOdd(%#x) = %#x, not its inverse", a, inverseOdd(a))
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range []seqMixer{newSeqMixer("8ac829e3-bb83-48d7-8cfb-45ebe834d8e1"), newSeqMixer("other")} {
		for _, seq := range []uint64{0, 1, 2, 1 << 63, ^uint64(0)} {
			if got := k.unmix(k.mix(seq)); got != seq {
				t.Errorf("unmix(mix(%d)) = %d", seq, got)
			}
		}
		for range 10_000 {
			seq := r.Uint64()
			if got := k.unmix(k.mix(seq)); got != seq {
				t.Fatalf("unmix(mix(%d)) = %d", seq, got)
			}
		}
	}
}

// TestNewKeysLookRandom: a tenant's ids are version 4 GUIDs that carry
// their seq, and consecutive ones share no visible counter: the bytes
// that carry the seq differ in about half their bits (a seq XOR a key
// alone would differ in one or two).
func TestNewKeysLookRandom(t *testing.T) {
	t.Parallel()
	k := newSeqMixer("8ac829e3-bb83-48d7-8cfb-45ebe834d8e1")
	carried := func(b [16]byte) (x uint64) {
		for j := len(seqCarrier) - 1; j >= 0; j-- {
			x = x<<8 | uint64(b[seqCarrier[j]])
		}
		return x
	}
	seen := map[[16]byte]bool{}
	var prev [16]byte
	flipped := 0
	const n = 2000
	for seq := uint64(1); seq <= n; seq++ {
		b := k.newKey(seq)
		if b[6]>>4 != 4 || b[8]>>6 != 2 {
			t.Fatalf("id %s of seq %d is not a version 4 GUID", guid.Format(b), seq)
		}
		if _, ok := guid.Parse(guid.Format(b)); !ok {
			t.Fatalf("id %s does not parse", guid.Format(b))
		}
		if got := k.seqOf(b); got != seq {
			t.Fatalf("id %s of seq %d carries %d", guid.Format(b), seq, got)
		}
		if seen[b] {
			t.Fatalf("id %s made twice", guid.Format(b))
		}
		seen[b] = true
		if seq > 1 {
			flipped += bits.OnesCount64(carried(b) ^ carried(prev))
		}
		prev = b
	}
	if mean := float64(flipped) / (n - 1); mean < 24 || mean > 40 {
		t.Errorf("consecutive ids differ in %.1f of the 64 bits that carry the seq on average, want about 32", mean)
	}
	if other := newSeqMixer("another tenant"); other.mix(1) == k.mix(1) {
		t.Error("two tenants carry seq 1 alike")
	}
}

// TestOwnIDsNeedNoIndex: the ids the tenant makes are found without an
// entry in its id index, a forged id that carries a kept action's seq is
// not found, a GUID the tenant did not make is indexed, and each is
// found again after a snapshot is restored.
func TestOwnIDsNeedNoIndex(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 50, profile(t, "unlimited"))
	var ids []string
	for i := 1; i <= 40; i++ {
		ids = append(ids, e.submit(t, machineID(e, i), runScript("ok.ps1")).ID)
	}
	given := "0d4bd7e3-4e8d-4b2a-8a2d-3f1c9a0b7e2f"
	if _, err := e.ten.SubmitWithID(caller, machineID(e, 41), SubmitRequest{Commands: []Command{runScript("ok.ps1")}}, given); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, given)
	e.ten.mu.RLock()
	indexed := len(e.ten.byID) + len(e.ten.otherIDs)
	e.ten.mu.RUnlock()
	if indexed != 1 {
		t.Errorf("the id index holds %d ids, want 1 (the given one)", indexed)
	}
	for _, id := range ids {
		if a, err := e.ten.Action(id); err != nil || a.ID() != id {
			t.Errorf("Action(%s) = %v, %v", id, a, err)
		}
	}
	// Same seq carried, another random byte: not an id the tenant made.
	key, _ := guid.Parse(ids[3])
	key[15] ^= 1
	if a, err := e.ten.Action(guid.Format(key)); err == nil {
		t.Errorf("forged id %s found action %s", guid.Format(key), a.ID())
	}
	// The nil GUID is an id a replay may give: kept as given.
	const nilGUID = "00000000-0000-0000-0000-000000000000"
	if _, err := e.ten.SubmitWithID(caller, machineID(e, 42), SubmitRequest{Commands: []Command{runScript("ok.ps1")}}, nilGUID); err != nil {
		t.Fatal(err)
	}
	if a, err := e.ten.Action(nilGUID); err != nil || a.ID() != nilGUID {
		t.Errorf("Action(nil GUID) = %v, %v", a, err)
	}
	ids = append(ids, nilGUID)
	e.checkIndex(t)

	snap, err := e.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := generatedEnv(t, 50, profile(t, "unlimited"))
	if err := r.s.Restore(snap); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if a, err := r.ten.Action(id); err != nil || a.ID() != id {
			t.Errorf("restored: Action(%s) = %v, %v", id, a, err)
		}
	}
	r.ten.mu.RLock()
	indexed = len(r.ten.byID) + len(r.ten.otherIDs)
	r.ten.mu.RUnlock()
	if indexed != 2 {
		t.Errorf("restored: the id index holds %d ids, want 2 (the given ones)", indexed)
	}
	r.checkIndex(t)
}
