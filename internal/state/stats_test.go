package state

import (
	"sync"
	"testing"
	"time"
)

// statsOf returns the stats of tenant id from s.Stats, failing without them.
func statsOf(tb testing.TB, s *Store, id string) TenantStats {
	tb.Helper()
	for _, st := range s.Stats() {
		if st.TenantID == id {
			return st
		}
	}
	tb.Fatalf("Stats() has no tenant %s", id)
	return TenantStats{}
}

// counts builds ActionCounts from status → count.
func counts(m map[string]int) ActionCounts {
	var c ActionCounts
	for i, s := range ActionStatuses {
		c[i] = m[s]
	}
	return c
}

// TestStatsCountsActionsByStatus follows actions through every final
// status and checks the counts of each tenant at each step.
func TestStatsCountsActionsByStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if got := e.s.Stats(); len(got) != 2 || got[0].TenantID != contosoID || got[1].TenantID != fabrikamID {
		t.Fatalf("Stats() = %+v, want Contoso then Fabrikam", got)
	}
	if st := statsOf(t, e.s, contosoID); st.Actions != (ActionCounts{}) || st.Sessions != 0 {
		t.Errorf("before any action: %+v, want nothing", st)
	}

	e.submit(t, win1, runScript("args.ps1", "-slow")) // picked up at 5s, runs 20s: Succeeded
	e.submit(t, lin1, runScript("fail.ps1"))          // picked up at 10s, fails 4s later
	e.submit(t, off1, runScript("ok.ps1"))            // offline: times out after 3 days
	e.at(time.Second)
	if got, want := statsOf(t, e.s, contosoID).Actions, counts(map[string]int{StatusPending: 3}); got != want {
		t.Errorf("at 1s: %v, want %v", got, want)
	}

	e.at(15 * time.Second)
	st := statsOf(t, e.s, contosoID)
	if want := counts(map[string]int{StatusPending: 1, StatusInProgress: 1, StatusFailed: 1}); st.Actions != want {
		t.Errorf("at 15s: %v, want %v", st.Actions, want)
	}
	if st.Sessions < 1 || st.Sessions != e.ten.Sessions() {
		t.Errorf("at 15s: %d sessions, want at least the running action's, as Tenant.Sessions (%d)", st.Sessions, e.ten.Sessions())
	}
	if got := st.Actions.Count(StatusInProgress); got != 1 {
		t.Errorf("Count(InProgress) = %d, want 1", got)
	}
	if got := st.Actions.Count("Unknown"); got != 0 {
		t.Errorf("Count(Unknown) = %d, want 0", got)
	}

	e.at(time.Minute)
	a := e.submit(t, lin1, runScript("ok.ps1"))
	if _, err := e.ten.Cancel(canceller, a.ID, "stop"); err != nil {
		t.Fatal(err)
	}
	e.at(4 * 24 * time.Hour)
	st = statsOf(t, e.s, contosoID)
	want := counts(map[string]int{StatusSucceeded: 1, StatusFailed: 1, StatusTimeOut: 1, StatusCancelled: 1})
	if st.Actions != want || st.Sessions != 0 {
		t.Errorf("after 4 days: %v and %d sessions, want %v and none", st.Actions, st.Sessions, want)
	}
	if fab := statsOf(t, e.s, fabrikamID); fab.Actions != (ActionCounts{}) || fab.Sessions != 0 {
		t.Errorf("Fabrikam, which had no action: %+v", fab)
	}
}

// TestStatsWhileSubmitting reads the stats while actions are submitted
// and run (for the race detector), then checks the final total.
func TestStatsWhileSubmitting(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 50, profile(t, "unlimited"))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				e.s.Stats()
			}
		}
	})
	for _, m := range machinesOf(e.ten) {
		e.submit(t, m.ID(), runScript("ok.ps1"))
		e.clk.Advance(time.Second)
	}
	e.at(time.Hour)
	close(stop)
	wg.Wait()
	if got := statsOf(t, e.s, contosoID).Actions; got != counts(map[string]int{StatusSucceeded: 50}) {
		t.Errorf("after an hour: %v, want 50 Succeeded", got)
	}
}

// TestStatusNames checks that each action and command status reads back
// as the name it was parsed from, that exactly the service's four final
// statuses are final, and that an unknown name is refused.
func TestStatusNames(t *testing.T) {
	final := map[string]bool{StatusSucceeded: true, StatusFailed: true, StatusTimeOut: true, StatusCancelled: true}
	for _, name := range ActionStatuses {
		s, ok := parseActionStatus(name)
		if !ok || s.String() != name {
			t.Errorf("parseActionStatus(%q) = %v %v", name, s, ok)
		}
		if s.final() != final[name] {
			t.Errorf("%s: final() = %v", name, s.final())
		}
	}
	for _, name := range []string{CommandCreated, CommandInProgress, CommandCompleted, CommandFailed} {
		if s, ok := parseCommandStatus(name); !ok || s.String() != name {
			t.Errorf("parseCommandStatus(%q) = %v %v", name, s, ok)
		}
	}
	if _, ok := parseActionStatus("pending"); ok {
		t.Errorf("parseActionStatus accepts a name in another case")
	}
	if _, ok := parseCommandStatus("Done"); ok {
		t.Errorf("parseCommandStatus accepts an unknown name")
	}
}
