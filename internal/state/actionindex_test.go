package state

import (
	"strings"
	"testing"
	"time"
)

// TestActionIndex finds actions by id in any case, whether or not the id
// is a GUID (the emulator makes only GUIDs; a replay or a scenario passes
// its own), and forgets them with the retention.
func TestActionIndex(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 3, profile(t, "unlimited"))
	ids := []string{"0d4bd7e3-4e8d-4b2a-8a2d-3f1c9a0b7e2f", "not-a-guid", ""}
	for i, id := range ids[:2] {
		if _, err := e.ten.SubmitWithID(caller, machineID(e, i+1), SubmitRequest{Commands: []Command{runScript("ok.ps1")}}, id); err != nil {
			t.Fatal(err)
		}
	}
	v := e.submit(t, machineID(e, 3), runScript("ok.ps1"))
	ids[2] = v.ID
	for _, id := range ids {
		for _, key := range []string{id, strings.ToUpper(id)} {
			if a, err := e.ten.Action(key); err != nil || a.ID() != id {
				t.Errorf("Action(%q) = %v, %v; want %s", key, a, err, id)
			}
		}
	}
	for _, key := range []string{"0d4bd7e3-4e8d-4b2a-8a2d-3f1c9a0b7e2e", "not-a-guie", "", "0d4bd7e3"} {
		if a, err := e.ten.Action(key); err == nil {
			t.Errorf("Action(%q) = %s, want not found", key, a.ID())
		}
	}
	e.clk.Advance(time.Hour)
	e.forgetAll(t)
	for _, id := range ids {
		e.requireGone(t, id)
	}
	e.ten.mu.RLock()
	n := len(e.ten.byID) + len(e.ten.otherIDs)
	e.ten.mu.RUnlock()
	if n != 0 {
		t.Errorf("the index holds %d ids after every action was forgotten", n)
	}
}
