package state

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// TestActionSlabBlocks checks that a slab hands out distinct zeroed slots
// in blocks that double from actionBlockMin to actionBlockSmall, and on to
// actionBlockMax only while each block fills within actionBlockFast (back
// to actionBlockSmall when one does not), each slot after the previous one
// in its block, and that undo takes back only the last slot handed out.
func TestActionSlabBlocks(t *testing.T) {
	var s actionSlab
	seen := map[*Action]bool{}
	var prev *Action
	now := int64(0)
	// fill hands out n slots, step apart in time, and returns the sizes
	// of the blocks it began.
	fill := func(n int, step time.Duration) (sizes []int) {
		t.Helper()
		for range n {
			slot := slab(t, &s, seen, now)
			if slot != &s.cur.actions[s.used-1] {
				t.Fatalf("slot not the last handed out of its block")
			}
			if s.at(slot.ref) != slot {
				t.Fatalf("slot's place %x names another", slot.ref)
			}
			if s.used == 1 {
				sizes = append(sizes, len(s.cur.actions)) // a new block
			} else if &s.cur.actions[s.used-2] != prev {
				t.Fatalf("slot %d of its block does not follow the previous one", s.used)
			}
			slot.seq = 1 // used
			prev = slot
			now += int64(step)
		}
		return sizes
	}
	doubling := func(from, to int) (sizes []int) {
		for n := from; n <= to; n *= 2 {
			sizes = append(sizes, n)
		}
		return sizes
	}
	// A slow flow (one action a second: 64 take over a minute) stays at
	// actionBlockSmall.
	want := append(doubling(actionBlockMin, actionBlockSmall), actionBlockSmall, actionBlockSmall)
	if got := fill(2*actionBlockSmall-actionBlockMin+2*actionBlockSmall, time.Second); !slices.Equal(got, want) {
		t.Fatalf("slow: block sizes %v, want %v", got, want)
	}
	// A fast one grows to actionBlockMax and stays there, from the block
	// after the first it fills.
	want = append(append([]int{actionBlockSmall}, doubling(2*actionBlockSmall, actionBlockMax)...), actionBlockMax)
	if got := fill(actionBlockSmall+2*actionBlockMax-2*actionBlockSmall+actionBlockMax, time.Millisecond); !slices.Equal(got, want) {
		t.Fatalf("fast: block sizes %v, want %v", got, want)
	}
	// Slow again: the block after the first that fills slowly is small
	// again.
	want = []int{actionBlockMax, actionBlockSmall, actionBlockSmall}
	if got := fill(actionBlockMax+2*actionBlockSmall, time.Second); !slices.Equal(got, want) {
		t.Fatalf("slow after fast: block sizes %v, want %v", got, want)
	}

	// undo of the last slot: handed out again, zeroed; of another: kept.
	last := prev
	s.undo(last)
	if again := s.next(now); again != last || again.seq != 0 {
		t.Errorf("after undo of the last slot, next = %p (seq %d), want %p zeroed", again, again.seq, last)
	}
	first := &s.cur.actions[0]
	used, live := s.used, s.cur.live
	s.undo(first)
	if s.used != used {
		t.Errorf("undo of a slot not the last changed the block's use: %d, want %d", s.used, used)
	}
	if s.cur.live != live-1 {
		t.Errorf("undo of a slot not the last: %d live in the block, want %d", s.cur.live, live-1)
	}
}

// TestActionSlabTable checks the slab's table of blocks against a model:
// every action handed out and not let go is found at its place; a block
// leaves the table once it is full and all it handed out are let go, the
// current one never; and the table's chunks stay within those that hold
// a block, however far apart the blocks still in use are (an action kept
// long among many forgotten), and begin at the first that does.
func TestActionSlabTable(t *testing.T) {
	var s actionSlab
	rng := rand.New(rand.NewPCG(3, 4))
	var live []*Action
	pinned := s.next(0) // kept for half the run: the first block stays till then
	now := int64(0)
	for step := range 200_000 {
		if step == 100_000 {
			s.letGo(pinned)
			pinned = s.next(now)
		}
		if len(live) == 0 || rng.IntN(5) < 3 {
			a := s.next(now)
			now += int64(time.Second) // slow: blocks of actionBlockSmall, many of them
			live = append(live, a)
		} else {
			// Mostly the oldest, as the retention forgets them.
			i := 0
			if rng.IntN(10) == 0 {
				i = rng.IntN(len(live))
			}
			a := live[i]
			live = slices.Delete(live, i, i+1)
			if rng.IntN(50) == 0 {
				s.undo(a) // a refused submit's, let go unused
			} else {
				s.letGo(a)
			}
		}
		if step%997 != 0 {
			continue
		}
		for _, a := range append(live, pinned) {
			if s.at(a.ref) != a {
				t.Fatalf("step %d: the action at %x is not the one handed out there", step, a.ref)
			}
		}
		blocks := map[uint32]bool{s.curNo: true}
		for _, a := range append(live, pinned) {
			blocks[a.ref.block()] = true
		}
		tab := s.table.Load()
		inUse := map[uint32]bool{}
		for no := range blocks {
			inUse[no/blockChunkLen] = true
		}
		for i, c := range tab.chunks {
			if c == nil {
				continue
			}
			k := tab.first + uint32(i)
			if !inUse[k] {
				t.Fatalf("step %d: chunk %d kept with no block in use", step, k)
			}
			for j := range blockChunkLen {
				no := k*blockChunkLen + uint32(j)
				if held := c.blocks[j].Load() != nil; held != blocks[no] {
					t.Fatalf("step %d: block %d in the table %v, in use %v", step, no, held, blocks[no])
				}
			}
		}
		if tab.chunks[0] == nil {
			t.Fatalf("step %d: the table begins with an empty chunk", step)
		}
	}
	if s.curNo < 3*blockChunkLen {
		t.Fatalf("only %d blocks made: the test covers too few chunks", s.curNo)
	}
	if n := len(s.table.Load().chunks); n > int(s.curNo/blockChunkLen)+1 {
		t.Fatalf("%d chunks", n)
	}
}

// slab returns s.next(), failing when it was handed out before or is not
// zeroed.
func slab(tb testing.TB, s *actionSlab, seen map[*Action]bool, now int64) *Action {
	tb.Helper()
	slot := s.next(now)
	if seen[slot] {
		tb.Fatalf("slot %p handed out twice", slot)
	}
	seen[slot] = true
	if slot.seq != 0 || slot.shape != nil || slot.extra != nil || slot.ref == 0 {
		tb.Fatalf("slot %p not zeroed", slot)
	}
	return slot
}

// TestRefusedSubmitGivesBackItsSlot checks that a submit refused after its
// action was made (the machine busy) leaves no slot used: a client
// retrying a busy machine does not fill blocks.
func TestRefusedSubmitGivesBackItsSlot(t *testing.T) {
	e := generatedEnv(t, 4, profile(t, "unlimited"))
	id := machinesOf(e.ten)[0].ID()
	e.submit(t, id, runScript("ok.ps1"))
	used := e.ten.slab.used
	for range 100 {
		_, err := e.ten.Submit(caller, id, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code != apierr.ActiveRequestAlreadyExists {
			t.Fatalf("second submit: %v, want ActiveRequestAlreadyExists", err)
		}
	}
	if e.ten.slab.used != used {
		t.Errorf("100 refused submits used %d slots", e.ten.slab.used-used)
	}
}

// TestForgottenActionLetsGoOfResults checks that an action the retention
// forgets lets go of its results, which the block it shares with kept
// actions would otherwise hold, and that a caller who found it before
// reads its result as an unknown action's.
func TestForgottenActionLetsGoOfResults(t *testing.T) {
	e := generatedEnv(t, 4, profile(t, "unlimited"))
	e.s.SetRetention(Retention{MaxActions: 1})
	ms := machinesOf(e.ten)
	first := e.submit(t, ms[0].ID(), runScript("ok.ps1"))
	e.at(time.Minute)
	a, err := e.ten.Action(first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Result(0); err != nil {
		t.Fatalf("result before it is forgotten: %v", err)
	}
	e.submit(t, ms[1].ID(), runScript("ok.ps1"))
	e.at(2 * time.Minute) // the second finishes: the first is forgotten
	e.requireGone(t, first.ID)
	a.mu.Lock()
	held := a.first.result
	a.mu.Unlock()
	if held != nil {
		t.Errorf("a forgotten action still holds its result")
	}
	var ae *apierr.Error
	if _, err := a.Result(0); !errors.As(err, &ae) || ae.Code != apierr.ResourceNotFound {
		t.Errorf("Result of a forgotten action found before: %v, want ResourceNotFound", err)
	}
	if v := a.View(); v.ID != first.ID || v.Status != StatusSucceeded {
		t.Errorf("view of a forgotten action found before: %s %s, want %s Succeeded", v.ID, v.Status, first.ID)
	}
}
