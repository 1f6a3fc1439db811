package state

import (
	"fmt"
	"testing"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// TestActionShapeShared checks that actions asked alike share one shape,
// that any difference in what was asked (the arguments, the comment, no
// comment against an empty one, the user) makes another, that an action
// whose id is not a GUID has a shape of its own, and that the slab's
// cache of shapes stays within shapeCacheMax.
func TestActionShapeShared(t *testing.T) {
	e := generatedEnv(t, 400, profile(t, "unlimited"))
	ms := machinesOf(e.ten)
	next := 0
	submit := func(c Caller, comment *string, cmds ...Command) *Action {
		t.Helper()
		v, err := e.ten.Submit(c, ms[next].ID(), SubmitRequest{Comment: comment, Commands: cmds})
		if err != nil {
			t.Fatal(err)
		}
		next++
		a, err := e.ten.Action(v.ID)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	why, empty := "triage", ""
	why2 := "triage" // equal, another string
	a := submit(caller, &why, runScript("ok.ps1", "-Fast"))
	if b := submit(caller, &why2, runScript("ok.ps1", "-Fast")); b.shape != a.shape {
		t.Errorf("two actions asked alike have two shapes")
	}
	user := caller
	user.User = &User{ObjectID: "oid-1", UPN: "ann@contoso.com", Role: fixture.UserRole{LiveResponse: fixture.LiveResponseAdvanced}}
	for name, b := range map[string]*Action{
		"other args":    submit(caller, &why, runScript("ok.ps1", "-Slow")),
		"no args":       submit(caller, &why, runScript("ok.ps1")),
		"other comment": submit(caller, &empty, runScript("ok.ps1", "-Fast")),
		"no comment":    submit(caller, nil, runScript("ok.ps1", "-Fast")),
		"a user":        submit(user, &why, runScript("ok.ps1", "-Fast")),
	} {
		if b.shape == a.shape {
			t.Errorf("%s: shares the shape of another request", name)
		}
	}
	if v := submit(caller, nil, runScript("ok.ps1", "-Fast")).View(); v.RequestorComment != nil {
		t.Errorf("no comment reads back as %q", *v.RequestorComment)
	}
	if v := submit(caller, &empty, runScript("ok.ps1", "-Fast")).View(); v.RequestorComment == nil || *v.RequestorComment != "" {
		t.Errorf("an empty comment reads back as %v", v.RequestorComment)
	}

	// An id that is not a GUID: a shape of its own, the others untouched.
	v, err := e.ten.SubmitWithID(caller, ms[next].ID(), SubmitRequest{Comment: &why, Commands: []Command{runScript("ok.ps1", "-Fast")}}, "Recorded-1")
	if err != nil {
		t.Fatal(err)
	}
	next++
	odd, err := e.ten.Action("recorded-1")
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != "recorded-1" || odd.shape == a.shape || a.ID() == "recorded-1" {
		t.Errorf("odd id %q: shape shared %v; the first action's id now %s", v.ID, odd.shape == a.shape, a.ID())
	}

	// The cache is bounded; what it forgot is still right.
	for i := range shapeCacheMax + 50 {
		b := submit(caller, &why, runScript("ok.ps1", fmt.Sprint("-N", i)))
		if got := b.View().Commands[0].Command.Params[1].Value; got != fmt.Sprint("-N", i) {
			t.Fatalf("action %d's argument %q", i, got)
		}
	}
	if n := len(e.ten.slab.shapes); n > shapeCacheMax {
		t.Errorf("%d shapes cached, over %d", n, shapeCacheMax)
	}
	if got := a.View(); got.Commands[0].Command.Params[1].Value != "-Fast" || *got.RequestorComment != "triage" {
		t.Errorf("the first action reads back %+v", got.Commands[0].Command)
	}
}
