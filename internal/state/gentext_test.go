package state

import (
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

// TestGenIndex checks that a machine with one kept action is held in the
// map without pointers, one with more in the other, and one with none in
// neither, whatever it had before.
func TestGenIndex(t *testing.T) {
	var g genIndex
	check := func(step string, one, more int) {
		t.Helper()
		n := 0
		for range g.all() {
			n++
		}
		if len(g.one) != one || len(g.more) != more || n != one+more {
			t.Errorf("%s: %d with one, %d with more (all yields %d); want %d, %d", step, len(g.one), len(g.more), n, one, more)
		}
	}
	l := g.get(7)
	l.add(3)
	g.set(7, l)
	check("one action", 1, 0)
	l = g.get(7)
	l.add(5)
	g.set(7, l)
	check("two actions", 0, 1)
	if got := g.get(7); got.live() != 2 || got.newest() != 5 {
		t.Errorf("two actions: live %d, newest %d", got.live(), got.newest())
	}
	for _, s := range []uint64{3, 5} {
		l = g.get(7)
		if !l.remove(s) {
			t.Fatalf("remove(%d) = false", s)
		}
		g.set(7, l)
	}
	check("none", 0, 0)
	l = g.get(9)
	l.add(11)
	g.set(9, l)
	l.remove(11)
	g.set(9, l)
	check("one, then none", 0, 0)
	n := 0
	for range g.all() {
		n++
	}
	if n != 0 {
		t.Errorf("all() yields %d machines of none", n)
	}
}
