package state

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLoadWritesNoMachine: Load leaves the set's machines as they are
// (a Frozen set shares them with its clones), ids in upper case and times
// left out included, and the machines show the same ids and seen times as
// when the times were filled in the set, even for a tenant added later
// from a template.
func TestLoadWritesNoMachine(t *testing.T) {
	t.Parallel()
	set := parseFixture(t, contosoYAML)
	for i := range set.Tenants[0].Machines {
		m := &set.Tenants[0].Machines[i]
		m.ID = strings.ToUpper(m.ID)
	}
	before := set.Clone()
	filled := set.Clone()
	filled.FillTimes(start)
	e := newEnvWith(t, set, profile(t, "default"))
	if diff := cmp.Diff(before.Tenants[0].Machines, set.Tenants[0].Machines); diff != "" {
		t.Errorf("Load changed the set's machines (-before +after):\n%s", diff)
	}
	if !set.Start.Equal(start) {
		t.Errorf("set start %v, want the clock's %v", set.Start, start)
	}

	tmpl, err := FromTemplate(&set.Tenants[0], "class-01")
	if err != nil {
		t.Fatal(err)
	}
	added, err := e.s.AddTenant(tmpl, set.Tenants[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	e.at(time.Hour)
	for i, fm := range filled.Tenants[0].Machines {
		m := machinesOf(e.ten)[i]
		if want := strings.ToLower(fm.ID); m.ID() != want {
			t.Errorf("machine %d: id %s, want %s", i, m.ID(), want)
		}
		for _, m := range []*Machine{m, machinesOf(added)[i]} {
			v := m.View(start)
			lastSeen := fm.LastSeen
			if m.Online() {
				lastSeen = start.Add(-lastSeenLag).Truncate(time.Second)
			}
			if !v.FirstSeen.Time().Equal(fm.FirstSeen) || !v.LastSeen.Time().Equal(lastSeen) {
				t.Errorf("%s: seen %s to %s, want %s to %s", m, v.FirstSeen, v.LastSeen, fm.FirstSeen, lastSeen)
			}
		}
	}
}
