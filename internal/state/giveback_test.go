package state

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// forgetAll makes the retention forget every finished action of e at once,
// then keeps them without bound again.
func (e *env) forgetAll(tb testing.TB) {
	tb.Helper()
	e.s.SetRetention(Retention{MaxActions: 1, MaxAge: time.Nanosecond})
	e.s.SetRetention(Retention{})
	if n := e.s.world.Load().finished.kept(); n != 0 {
		tb.Fatalf("%d finished actions still kept", n)
	}
}

// made reports whether e's fleet holds a *Machine for machine number i.
func (e *env) made(i int) bool { return e.ten.fleet.madeMachine(i) != nil }

// TestGiveBack: a generated machine made for a request is given back to
// its number when an action of it is forgotten and it is as the fixture
// makes it, whatever actions it still has (they are by its number), and
// answers as one never touched; one that differs from the fixture in
// anything is kept.
func TestGiveBack(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 8, profile(t, "unlimited"))
	ms := machinesOf(e.ten) // made, all of them
	pristine := e.ten.fleet.pristine(e.ten, 1).View(e.clk.Now())

	// 1: finished, forgotten: given back. 2: offline. 3: an outcome
	// queued. 4: a live action. 5: two actions, one kept. 6: offline then
	// online again (its lastSeen history differs).
	for _, i := range []int{1, 2, 3, 5, 6} {
		e.submit(t, ms[i-1].ID(), runScript("ok.ps1"))
	}
	e.at(time.Hour)
	keep := e.submit(t, ms[4].ID(), runScript("ok.ps1")) // machine 5's second, finished below
	ms[1].SetOnline(false)
	if err := ms[2].QueueOutcomes([]Outcome{{Output: "queued"}}); err != nil {
		t.Fatal(err)
	}
	ms[5].SetOnline(false)
	ms[5].SetOnline(true)
	e.at(2 * time.Hour)
	e.s.SetRetention(Retention{MaxActions: 1}) // keeps the last to finish: machine 5's second
	e.submit(t, ms[3].ID(), runScript("ok.ps1"))
	if got := ids(e.ten.Actions()); len(got) != 2 || got[1] != keep.ID {
		t.Fatalf("kept %v, want machine 4's live action and %s", got, keep.ID)
	}

	// 4 had nothing forgotten, so it was not looked at; 5 lost its first
	// action and is given back though its second is kept.
	for i, want := range []bool{false, true, true, true, false, true, true, true} {
		if got := e.made(i + 1); got != want {
			t.Errorf("machine %d made: %v, want %v", i+1, got, want)
		}
	}
	if !ms[0].gone || ms[1].gone || !ms[4].gone {
		t.Errorf("gone: machine 1 %v, machine 2 %v, machine 5 %v; want true, false, true", ms[0].gone, ms[1].gone, ms[4].gone)
	}
	if got := ids(e.ten.ActionsOnFor(caller, []string{ms[4].ID()})); len(got) != 1 || got[0] != keep.ID {
		t.Errorf("actions on machine 5, given back: %v, want [%s]", got, keep.ID)
	}
	if a, ok := ms[3].ActiveAction(); !ok || a.MachineID != ms[3].ID() {
		t.Errorf("machine 4's active action: %+v %v, want its live one", a, ok)
	}
	// Machines 7 and 8 never took an action: given back when nothing was
	// forgotten for them? No: only a forgetting gives a machine back.
	for _, i := range []int{7, 8} {
		if ms[i-1].gone {
			t.Errorf("machine %d gone without an action forgotten", i)
		}
	}

	// Given back, machine 1 reads as the fixture makes it, through the
	// pointer held from before as through a new lookup.
	now := e.clk.Now()
	fresh, err := e.ten.Machine(ms[0].ID())
	if err != nil {
		t.Fatal(err)
	}
	if fresh == ms[0] {
		t.Fatal("the lookup found the machine given back")
	}
	if !e.made(1) {
		t.Error("the lookup did not make machine 1 again")
	}
	pristine.LastSeen = fresh.View(now).LastSeen // online: it moves with now
	if d := cmp.Diff(pristine, fresh.View(now), viewOpts); d != "" {
		t.Errorf("machine 1 made again differs from the fixture's (-want +got):\n%s", d)
	}
	if d := cmp.Diff(fresh.View(now), ms[0].View(now), viewOpts); d != "" {
		t.Errorf("machine 1 read through the old pointer differs (-fresh +old):\n%s", d)
	}
	if got := ids(e.ten.ActionsOnFor(caller, []string{ms[0].ID()})); len(got) != 0 {
		t.Errorf("actions on machine 1: %v, want none", got)
	}
	// It takes a live response again.
	v := e.submit(t, ms[0].ID(), runScript("ok.ps1"))
	if got := ids(e.ten.ActionsOnFor(caller, []string{ms[0].ID()})); len(got) != 1 || got[0] != v.ID {
		t.Errorf("actions on machine 1: %v, want [%s]", got, v.ID)
	}
	e.checkIndex(t)
}

// TestGiveBackStalePointer: every change made through a machine looked up
// before it was given back reaches the machine that stands for it now,
// and every read through it sees that machine.
func TestGiveBackStalePointer(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 4, profile(t, "unlimited"))
	giveBack := func(i int) *Machine {
		t.Helper()
		m, err := e.ten.Machine(machineID(e, i))
		if err != nil {
			t.Fatal(err)
		}
		e.submit(t, m.ID(), runScript("ok.ps1"))
		e.clk.Advance(time.Hour)
		e.forgetAll(t)
		if !m.gone {
			t.Fatalf("machine %d not given back", i)
		}
		return m
	}
	now := func(i int) *Machine {
		t.Helper()
		m, err := e.ten.Machine(machineID(e, i))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	// One machine each: one that went offline is not given back again.
	stale := giveBack(1)
	stale.SetOnline(false)
	if now(1).Online() {
		t.Error("SetOnline(false) through the stale pointer was lost")
	}
	if v := stale.View(e.clk.Now()); v.HealthStatus != "Inactive" {
		t.Errorf("the stale pointer reads health %s, want Inactive (the machine now)", v.HealthStatus)
	}

	stale = giveBack(2)
	if err := stale.QueueOutcomes([]Outcome{{Output: "through the stale pointer"}}); err != nil {
		t.Fatal(err)
	}
	if got := now(2).Outcomes(); len(got) != 1 || got[0].Output != "through the stale pointer" {
		t.Errorf("outcomes of the machine now: %v", got)
	}
	if got := stale.Outcomes(); len(got) != 1 {
		t.Errorf("outcomes read through the stale pointer: %v, want the machine's one", got)
	}
	stale.ClearOutcomes()
	if got := now(2).Outcomes(); len(got) != 0 {
		t.Errorf("ClearOutcomes through the stale pointer left %v", got)
	}

	stale = giveBack(3)
	v := e.submit(t, machineID(e, 3), runScript("ok.ps1"))
	if a, ok := stale.ActiveAction(); !ok || a.ID != v.ID {
		t.Errorf("ActiveAction through the stale pointer: %v %v, want %s", a.ID, ok, v.ID)
	}
}

// machineID returns the id of e's generated machine number i.
func machineID(e *env, i int) string { return e.ten.fleet.pristine(e.ten, i).ID() }

// TestGiveBackRacesSubmit: submits, changes and forgettings on the same
// machines at once lose nothing: after them, each machine holds exactly
// the actions kept for it, the one still live among them is its active
// one (a second submit is refused), and a change made while it was given
// back is on it. Run it with -race.
func TestGiveBackRacesSubmit(t *testing.T) {
	t.Parallel()
	const machines, rounds = 4, 200
	e := generatedEnv(t, machines, profile(t, "unlimited"))
	for r := range rounds {
		var wg sync.WaitGroup
		live := make([]string, machines)
		for i := 1; i <= machines; i++ {
			id := machineID(e, i)
			m, err := e.ten.Machine(id) // looked up before the forgetting
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				v, err := e.ten.Submit(caller, id, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
				if err != nil {
					t.Errorf("round %d, machine %d: %v", r, i, err)
					return
				}
				live[i-1] = v.ID
			}()
			go func() {
				defer wg.Done()
				if err := m.QueueOutcomes([]Outcome{{Output: "x"}}); err != nil {
					t.Error(err)
				}
				m.ClearOutcomes()
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.forgetAll(t)
		}()
		wg.Wait()
		for i := 1; i <= machines; i++ {
			m, err := e.ten.Machine(machineID(e, i))
			if err != nil {
				t.Fatal(err)
			}
			a, ok := m.ActiveAction()
			if !ok || a.ID != live[i-1] {
				t.Fatalf("round %d, machine %d: active %q %v, want %s", r, i, a.ID, ok, live[i-1])
			}
			if got := ids(e.ten.ActionsOnFor(caller, []string{m.ID()})); len(got) != 1 || got[0] != live[i-1] {
				t.Fatalf("round %d, machine %d: actions %v, want [%s]", r, i, got, live[i-1])
			}
			_, err = e.ten.Submit(caller, m.ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
			var ae *apierr.Error
			if !errors.As(err, &ae) || ae.Code != apierr.ActiveRequestAlreadyExists {
				t.Fatalf("round %d, machine %d: a second submit: %v, want ActiveRequestAlreadyExists", r, i, err)
			}
		}
		e.checkIndex(t)
		e.clk.Advance(time.Hour) // they finish
	}
}
