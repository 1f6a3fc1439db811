package state

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// fleetYAML has listed machines beside generated ones, one of them with
// the short name a generated machine would have, and the Contoso library.
func fleetYAML(n int) string {
	lib := contosoYAML[strings.Index(contosoYAML, "  library:"):strings.Index(contosoYAML, "- id: 2222")]
	return fmt.Sprintf(`tenants:
- id: %s
  name: Fleet Co
  machines:
  - {id: 1111111111111111111111111111111111111111, computerDnsName: gen-000002, osPlatform: Linux}
  - {id: 2222222222222222222222222222222222222222, computerDnsName: ws-01.fleet-co.local, osPlatform: Windows10, offline: true}
  generateMachines: %d
%s`, contosoID, n, lib)
}

// TestFleetBehavesAsListedMachines holds a tenant whose generated machines
// are kept as a count (what Parse gives) to the same tenant with them
// listed (fixture.Set.Expanded): the same machines found by the same keys,
// the same views, the same actions and answers, after the same requests
// and the same time.
func TestFleetBehavesAsListedMachines(t *testing.T) {
	t.Parallel()
	const n = 300
	counted := parseFixture(t, fleetYAML(n))
	if got := len(counted.Tenants[0].Machines); got != 2 {
		t.Fatalf("Parse listed %d machines, want the 2 listed ones", got)
	}
	envs := []*env{
		newEnvWith(t, counted, profile(t, "unlimited")),
		newEnvWith(t, counted.Expanded(), profile(t, "unlimited")),
	}
	if envs[0].ten.fleet == nil || envs[1].ten.fleet != nil {
		t.Fatal("the counted tenant has no fleet, or the expanded one has one")
	}
	type answer struct {
		ID     string
		Status string
		Err    string
	}
	var keys []string
	for i := 1; i <= n; i++ {
		id, name := counted.Tenants[0].GeneratedIDName(i)
		short, _, _ := strings.Cut(name, ".")
		keys = append(keys, id, strings.ToUpper(id), name, strings.ToUpper(name), short)
	}
	keys = append(keys, "gen-000000", "gen-000301", "gen-0000002", "gen-000002.other.local",
		"1111111111111111111111111111111111111111", "ws-01", "WS-01.FLEET-CO.LOCAL", strings.Repeat("g", 40))
	// What each lookup finds, then a submit on every third key: the same
	// in both.
	run := func(e *env) (found []string, answers []answer, views, actions []string) {
		for k, key := range keys {
			m, err := e.ten.Machine(key)
			if err != nil {
				found = append(found, "error: "+err.Error())
				continue
			}
			found = append(found, m.ID()+" "+m.ComputerDNSName())
			if k%3 == 0 {
				v, err := e.ten.Submit(caller, key, SubmitRequest{Commands: []Command{runScript("ok.ps1"), getFile(reportPath)}})
				a := answer{ID: v.MachineID, Status: v.Status}
				if err != nil {
					a.Err = err.Error()
				}
				answers = append(answers, a)
			}
		}
		m, _ := e.ten.Machine(keys[5*7])
		m.SetOnline(false)
		e.at(time.Hour)
		for m := range e.ten.Machines() {
			b, _ := json.Marshal(m.View(e.clk.Now()))
			views = append(views, string(b))
		}
		for _, a := range e.ten.Actions() {
			a.ID = "" // random
			b, _ := json.Marshal(a)
			actions = append(actions, string(b))
		}
		return found, answers, views, actions
	}
	f0, a0, v0, x0 := run(envs[0])
	f1, a1, v1, x1 := run(envs[1])
	if diff := cmp.Diff(f1, f0); diff != "" {
		t.Errorf("lookups (-listed +counted):\n%s", diff)
	}
	if diff := cmp.Diff(a1, a0); diff != "" {
		t.Errorf("submits (-listed +counted):\n%s", diff)
	}
	if diff := cmp.Diff(v1, v0); diff != "" {
		t.Errorf("views (-listed +counted):\n%s", diff)
	}
	if diff := cmp.Diff(x1, x0); diff != "" {
		t.Errorf("actions (-listed +counted):\n%s", diff)
	}
	if len(v0) != n+2 || envs[0].ten.MachineCount() != n+2 {
		t.Errorf("%d views, MachineCount %d; want %d", len(v0), envs[0].ten.MachineCount(), n+2)
	}
	if len(x0) < n/2 {
		t.Errorf("only %d actions: the test submitted too little to compare", len(x0))
	}
}

// TestFleetMakesAMachineOnce: a generated machine is made when it is first
// looked up, by id or by name, and is the same machine from then on, also
// when many look it up at once; Machines yields it then, and a copy that
// changes nothing before.
func TestFleetMakesAMachineOnce(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, parseFixture(t, fleetYAML(50)), profile(t, "unlimited"))
	ft := &fixture.Tenant{ID: contosoID, Name: "Fleet Co", Generate: 50}
	id, name := ft.GeneratedIDName(7)
	if m := e.ten.fleet.madeMachine(7); m != nil {
		t.Fatal("machine 7 is made before any lookup")
	}
	var peeked *Machine
	for m := range e.ten.Machines() {
		if m.ID() == id {
			peeked = m
		}
	}
	peeked.SetOnline(false) // a copy: changes nothing
	got := make([]*Machine, 16)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			key := []string{id, name, strings.ToUpper(id), "GEN-000007"}[i%4]
			m, err := e.ten.Machine(key)
			if err != nil {
				t.Error(err)
			}
			got[i] = m
		})
	}
	wg.Wait()
	for _, m := range got {
		if m != got[0] || m == peeked || m != e.ten.fleet.madeMachine(7) {
			t.Fatal("lookups of machine 7 gave different machines")
		}
	}
	if !got[0].Online() {
		t.Error("changing the copy Machines yielded changed the machine")
	}
	var yielded *Machine
	for m := range e.ten.Machines() {
		if m.ID() == id {
			yielded = m
		}
	}
	if yielded != got[0] {
		t.Error("Machines does not yield the machine made")
	}
	if e.ten.machineWithID(strings.ToUpper(id), false) != got[0] {
		t.Error("machineWithID does not find the machine made")
	}
	other, _ := ft.GeneratedIDName(8)
	if e.ten.machineWithID(other, false) != nil || e.ten.fleet.madeMachine(8) != nil {
		t.Error("machineWithID made a machine")
	}
}

// BenchmarkFleetHeap reports what a tenant of 400,000 generated machines
// keeps on the heap and what a full collection with it costs, kept as a
// count (as Parse gives it) and listed (fixture.Set.Expanded): the
// collector's work per cycle grows with the pointer-rich memory it marks.
func BenchmarkFleetHeap(b *testing.B) {
	const n = 400_000
	for _, form := range []string{"counted", "listed"} {
		b.Run(form, func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			set := parseFixture(b, fleetYAML(n))
			if form == "listed" {
				set = set.Expanded()
			}
			e := newEnvWith(b, set, profile(b, "unlimited"))
			set = nil
			runtime.GC()
			runtime.ReadMemStats(&after)
			for b.Loop() {
				runtime.GC()
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/gc")
			runtime.KeepAlive(e)
		})
	}
}
