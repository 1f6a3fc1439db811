package faults

import "testing"

func TestAddAsKeepsTheIDAndLaterIDsGoOn(t *testing.T) {
	in := New()
	r := Rule{Match: Match{Path: "/api/machines"}, Calls: Calls{Every: 3}, Effect: Effect{Status: 503}}
	got, err := in.AddAs(r, "f7")
	if err != nil || got.ID != "f7" {
		t.Fatalf("AddAs f7: %+v %v", got, err)
	}
	in.Reserve(9) // f8 and f9 were given and removed before the restore
	if got, _ := in.Add(r); got.ID != "f10" {
		t.Fatalf("Add after AddAs f7 and Reserve 9: id %s, want f10", got.ID)
	}
	in.Reserve(2) // never back
	if got, _ := in.Add(r); got.ID != "f11" || in.LastID() != 11 {
		t.Fatalf("Add after Reserve 2: id %s, last %d", got.ID, in.LastID())
	}
	for _, bad := range []string{"", "f", "f0", "x3", "f-1"} {
		if _, err := in.AddAs(r, bad); err == nil {
			t.Errorf("AddAs %q: no error", bad)
		}
	}
}
