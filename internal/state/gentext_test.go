package state

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	"unsafe"
)

// TestGenTextBlocks checks that the actions of generated machines name
// their machine rightly across blocks (the last one short), that a block
// is held while any of its machines has kept actions and let go when the
// last is forgotten, and that a machine's later actions share its text.
func TestGenTextBlocks(t *testing.T) {
	const n = 2*genTextBlockLen + 6
	e := generatedEnv(t, n, profile(t, "unlimited"))
	req := SubmitRequest{Commands: []Command{runScript("ok.ps1")}}
	for i := 1; i <= n; i++ {
		v, err := e.ten.Submit(caller, e.ten.fleet.id(i), req)
		if err != nil {
			t.Fatal(err)
		}
		id, name := e.ten.fleet.idName(i)
		if v.MachineID != id || v.ComputerDNSName != name {
			t.Fatalf("machine %d: action names %s %s, want %s %s", i, v.MachineID, v.ComputerDNSName, id, name)
		}
	}
	if len(e.ten.gtexts) != 3 {
		t.Errorf("%d text blocks for %d machines, want 3", len(e.ten.gtexts), n)
	}
	e.checkIndex(t)
	e.at(time.Minute)

	// A second action of machine 1 shares the first's text.
	v := e.submit(t, e.ten.fleet.id(1), runScript("ok.ps1"))
	e.ten.mu.RLock()
	l := e.ten.gens.get(1)
	older := e.ten.actions.withSeq(l.appendNewestFirst(nil, &e.ten.actions)[1].seq)
	newer := e.ten.actions.withSeq(l.newest())
	e.ten.mu.RUnlock()
	if newer.ID() != v.ID || newer.gblock != older.gblock || unsafe.StringData(newer.MachineID()) != unsafe.StringData(older.MachineID()) {
		t.Errorf("machine 1's two actions do not share its text")
	}
	if newer.tenant() != e.ten || older.tenant() != e.ten {
		t.Errorf("machine 1's actions do not know their tenant")
	}
	e.at(2 * time.Minute)

	e.forgetAll(t)
	if len(e.ten.gtexts) != 0 {
		t.Errorf("%d text blocks held with no kept action", len(e.ten.gtexts))
	}
	e.checkIndex(t)
}

// TestGenIndex holds genIndex to a model (a map of each machine's kept
// seqs) through random adds and removes over machines in several chunks:
// every machine's list, all's machines in order, more holding exactly the
// machines with more than one, and the chunks let go once empty.
func TestGenIndex(t *testing.T) {
	var g genIndex
	model := map[uint32][]uint64{}
	nums := []uint32{1, 2, genChunkLen - 1, genChunkLen, 3*genChunkLen + 5, 10 * genChunkLen}
	r := rand.New(rand.NewPCG(3, 4))
	check := func(step int) {
		t.Helper()
		var prev uint32
		seen := 0
		for n, l := range g.all() {
			if seen > 0 && n <= prev {
				t.Fatalf("step %d: all yields %d after %d", step, n, prev)
			}
			prev = n
			seen++
			if l.live() == 0 {
				t.Fatalf("step %d: machine %d yielded empty", step, n)
			}
		}
		if seen != len(model) {
			t.Fatalf("step %d: all yields %d machines, want %d", step, seen, len(model))
		}
		more := 0
		for _, n := range nums {
			l := g.get(n)
			want := model[n]
			if l.live() != len(want) || (len(want) > 0 && l.newest() != want[len(want)-1]) {
				t.Fatalf("step %d: machine %d has %d (newest %d), want %v", step, n, l.live(), l.newest(), want)
			}
			if len(want) > 1 {
				more++
			}
		}
		if len(g.more) != more {
			t.Fatalf("step %d: %d machines in more, want %d", step, len(g.more), more)
		}
	}
	seq := uint64(0)
	for step := range 5000 {
		n := nums[r.IntN(len(nums))]
		l := g.get(n)
		if have := model[n]; len(have) > 0 && r.IntN(2) == 0 {
			s := have[r.IntN(len(have))]
			if !l.remove(s) {
				t.Fatalf("step %d: remove(%d) from machine %d = false", step, s, n)
			}
			model[n] = slices.DeleteFunc(slices.Clone(have), func(x uint64) bool { return x == s })
			if len(model[n]) == 0 {
				delete(model, n)
			}
		} else {
			seq++
			l.add(seq)
			model[n] = append(model[n], seq)
		}
		g.set(n, l)
		check(step)
	}
	for n, have := range model {
		l := g.get(n)
		for _, s := range have {
			l.remove(s)
		}
		g.set(n, l)
	}
	if len(g.chunks) != 0 || len(g.more) != 0 {
		t.Errorf("with no kept action: %d chunks, %d in more", len(g.chunks), len(g.more))
	}
}
