package state

import (
	"testing"
	"time"
)

func TestRecentActionsAndActiveAction(t *testing.T) {
	e := newEnv(t)
	if got := e.ten.RecentActions(5); len(got) != 0 {
		t.Fatalf("RecentActions on no action = %v", got)
	}
	m, err := e.ten.Machine(win1)
	if err != nil {
		t.Fatal(err)
	}
	if _, busy := m.ActiveAction(); busy {
		t.Fatal("an idle machine is busy")
	}
	first := e.submit(t, win1, runScript("ok.ps1"))
	if a, busy := m.ActiveAction(); !busy || a.ID != first.ID {
		t.Fatalf("ActiveAction = %v %v, want %s", a.ID, busy, first.ID)
	}
	e.clk.Advance(time.Hour) // the action ends: the machine is free
	if a, busy := m.ActiveAction(); busy {
		t.Fatalf("after the action ended, busy with %s (%s)", a.ID, a.Status)
	}
	second := e.submit(t, win1, runScript("ok.ps1"))
	third := e.submit(t, lin1, runScript("exit3.sh"))
	got := e.ten.RecentActions(2)
	if len(got) != 2 || got[0].ID != third.ID || got[1].ID != second.ID {
		t.Errorf("RecentActions(2) = %v, want %s, %s", ids(got), third.ID, second.ID)
	}
	if got := e.ten.RecentActions(10); len(got) != 3 || got[2].ID != first.ID {
		t.Errorf("RecentActions(10) = %v, want all three, newest first", ids(got))
	}
}
