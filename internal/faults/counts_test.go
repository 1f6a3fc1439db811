package faults

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// TestRestoredCountsGoOnAsTheFirst drives rules of every kind of call
// selection (every, next, a seeded probability with a latency range) for
// a while, gives their Counts (through JSON) to a second injector holding
// the same rules, and checks that both then decide every call alike.
func TestRestoredCountsGoOnAsTheFirst(t *testing.T) {
	rules := []Rule{
		{Name: "every3", Match: Match{Path: "/api/machines"}, Calls: Calls{Every: 3}, Effect: Effect{Status: 503}},
		{Name: "next4", Match: Match{Path: "/api/machineactions/*"}, Calls: Calls{Next: 4}, Effect: Effect{Status: 500}},
		{Name: "coin", Match: Match{Method: "POST"}, Calls: Calls{Probability: 0.5, Seed: 42},
			Effect: Effect{Latency: fixture.Duration(time.Millisecond), LatencyMax: fixture.Duration(time.Second)}},
	}
	first, second := New(), New()
	for _, r := range rules {
		if _, err := first.Add(r); err != nil {
			t.Fatal(err)
		}
		if _, err := second.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	calls := []Request{runLR, getAct, listMac, {Method: "GET", Path: "/api/machines"}}
	for i := range 17 {
		first.Decide(calls[i%len(calls)])
	}
	b, err := json.Marshal(first.Counts())
	if err != nil {
		t.Fatal(err)
	}
	var cs []Counts
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	second.RestoreCounts(cs)
	for i := range 60 {
		req := calls[(i*7)%len(calls)]
		d1, f1 := first.Decide(req)
		d2, f2 := second.Decide(req)
		if f1 != f2 || d1 != d2 {
			t.Fatalf("call %d (%v): first %v %+v, restored %v %+v", i, req, f1, d1, f2, d2)
		}
	}
	for i, r := range second.List() {
		if f := first.List()[i]; r.Seen != f.Seen || r.Fired != f.Fired {
			t.Errorf("rule %s: seen/fired %d/%d, first %d/%d", r.ID, r.Seen, r.Fired, f.Seen, f.Fired)
		}
	}
}
