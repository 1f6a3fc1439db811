package state

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/limits"
)

// snapshotYAML is Contoso's library on 13 online machines (m1..m13, the
// first in a device group), one offline machine, a machine with a file,
// and Fabrikam.
func snapshotYAML() string {
	lib := contosoYAML[strings.Index(contosoYAML, "  library:"):strings.Index(contosoYAML, "- id: 2222")]
	fab := contosoYAML[strings.Index(contosoYAML, "- id: 2222"):]
	var b strings.Builder
	fmt.Fprintf(&b, "tenants:\n- id: %s\n  name: Contoso\n  deviceGroups:\n  - {id: 1, name: Servers, remediationLevel: Full - remediate threats automatically}\n  machines:\n", contosoID)
	for i := 1; i <= 13; i++ {
		fmt.Fprintf(&b, "  - id: %040x\n    computerDnsName: m%d.contoso.local\n    osPlatform: Windows11\n", i, i)
		if i == 1 {
			b.WriteString("    rbacGroupId: 1\n")
		}
		if i == 7 {
			b.WriteString("    files:\n    - {path: 'C:\\Temp\\report.txt', content: \"quarterly numbers\\n\"}\n")
		}
	}
	fmt.Fprintf(&b, "  - id: %040x\n    computerDnsName: off.contoso.local\n    osPlatform: Windows11\n    offline: true\n", 99)
	b.WriteString(lib)
	b.WriteString(fab)
	return b.String()
}

// snapshotMachine is the id of machine mi of snapshotYAML.
func snapshotMachine(i int) string { return fmt.Sprintf("%040x", i) }

// snapshotProfile waits for sessions rather than refuse (pending actions
// hold none), with five of them and a queue timeout of an hour.
func snapshotProfile(tb testing.TB) limits.Profile {
	p := profile(tb, "default")
	p.PendingCountsAsSession = false
	p.Sessions = 5
	p.QueueTimeout = time.Hour
	return p
}

var snapshotRetention = Retention{MaxActions: 5, MaxAge: 30 * time.Minute}

// snapshotWorkload drives e to start+27s with an action in every state:
// finished (succeeded with results, failed, cancelled; some forgotten by
// retention), in progress mid-command, settling, pending, queued on an
// offline machine, waiting for a session, a running script bound to time
// out; a PutFile that changed a machine, queued outcomes used and not,
// library uploads and deletes, a tenant made by AddTenant with an action.
func snapshotWorkload(tb testing.TB, e *env, set *fixture.Set) {
	tb.Helper()
	m := snapshotMachine
	e.submit(tb, m(1), runScript("ok.ps1"), getFile(reportPath)) // m1 has no such file: fails at the GetFile
	e.submit(tb, m(2), runScript("fail.ps1"))
	e.submit(tb, m(3), runScript("hang.ps1")) // times out at 10m5s
	a4 := e.submit(tb, m(4), runScript("ok.ps1"))
	if err := e.machine(tb, m(5)).QueueOutcomes([]Outcome{{Duration: fixture.Duration(7 * time.Second), Output: "queued", ExitCode: 2}}); err != nil {
		tb.Fatal(err)
	}
	if err := e.machine(tb, m(6)).QueueOutcomes([]Outcome{{Type: GetFile, Fail: "not now"}, {Script: "args.ps1", Output: "later"}}); err != nil {
		tb.Fatal(err)
	}
	e.submit(tb, m(5), runScript("ok.ps1"))
	e.submit(tb, m(7), putFile("tool.exe"), runScript("args.ps1", "-slow"), getFile(winPutPath))
	if _, err := e.ten.Library().Put(Upload{FileName: "new.ps1", Content: []byte("Write-Output new"), CreatedBy: "me"}, e.clk.Now()); err != nil {
		tb.Fatal(err)
	}
	if err := e.ten.Library().Delete("exit3.sh"); err != nil {
		tb.Fatal(err)
	}
	if err := e.machine(tb, m(1)).SetRemediationLevel("No automated response"); err != nil {
		tb.Fatal(err)
	}
	fab, _ := e.s.Tenant(fabrikamID)
	if _, err := fab.Submit(Caller{TenantID: fabrikamID, Name: "Fab"}, "pc1.fabrikam.local", SubmitRequest{Commands: []Command{runScript("ok.ps1")}}); err != nil {
		tb.Fatal(err)
	}
	if err := e.machine(tb, m(10)).QueueOutcomes([]Outcome{{Type: PutFile, Duration: fixture.Duration(5 * time.Second)}}); err != nil {
		tb.Fatal(err)
	}
	tmpl, err := FromTemplate(&set.Tenants[1], "Class 1")
	if err != nil {
		tb.Fatal(err)
	}
	ct, err := e.s.AddTenant(tmpl, fabrikamID)
	if err != nil {
		tb.Fatal(err)
	}
	e.at(time.Second)
	if _, err := e.ten.Cancel(canceller, a4.ID, "wrong box"); err != nil {
		tb.Fatal(err)
	}
	if _, err := ct.Submit(Caller{TenantID: ct.ID, Name: "Trainee"}, machinesOf(ct)[0].ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}}); err != nil {
		tb.Fatal(err)
	}
	e.at(18 * time.Second)
	e.submit(tb, m(2), runScript("ok.ps1"))                    // picked up at 23s, done at 26s: settling at 27s
	e.machine(tb, m(8)).SetOnline(false)                       // offline since 18s
	e.submit(tb, m(8), runScript("ok.ps1"))                    // queued on a machine gone offline
	e.submit(tb, snapshotMachine(99), runScript("ok.ps1"))     // queued on an offline machine
	e.at(20 * time.Second)                                     //
	e.submit(tb, m(1), runScript("hang.ps1"), getFile("C:/x")) // picked up at 25s: mid-command at 27s
	a4b := e.submit(tb, m(4), runScript("ok.ps1"))
	e.at(21 * time.Second)
	e.submit(tb, m(10), putFile("tool.exe"))   // picked up at 26s, the fifth session; the PutFile runs 5s
	e.submit(tb, m(9), runScript("ok.ps1"))    // at 26s the five sessions are held: it waits,
	e.submit(tb, m(11), runScript("hang.ps1")) // as these do; at 86s three sessions are free,
	e.submit(tb, m(12), runScript("hang.ps1")) // for the first three to retry then (in the
	e.submit(tb, m(13), runScript("ok.ps1"))   // order they were scheduled)
	e.at(22 * time.Second)
	if _, err := e.ten.Cancel(canceller, a4b.ID, "pending"); err != nil {
		tb.Fatal(err)
	}
	e.at(25 * time.Second)
	e.submit(tb, m(6), runScript("args.ps1"), getFile(reportPath)) // pending at 27s; takes both outcomes
	e.at(27 * time.Second)
}

// snapshotPair runs the workload on a store, snapshots it, round-trips
// the snapshot through JSON and restores it into a fresh store loaded
// from the same fixtures, its clock at the same instant.
func snapshotPair(t *testing.T) (orig, restored *env, snap *Snapshot) {
	t.Helper()
	set := parseFixture(t, snapshotYAML())
	orig = newEnvWith(t, set, snapshotProfile(t))
	orig.s.SetRetention(snapshotRetention)
	snapshotWorkload(t, orig, set)
	snap, err := orig.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	clk := clock.New(snap.At, clock.Manual, 1)
	t.Cleanup(clk.Close)
	s := New(clk, profile(t, "default"), set) // the profile is the snapshot's
	s.SetRetention(snapshotRetention)
	if err := s.Restore(&back); err != nil {
		t.Fatal(err)
	}
	restored = &env{s: s, clk: clk, ten: s.Tenants()[0]}
	return orig, restored, snap
}

// storeState is what a store shows: every tenant's actions, machines,
// libraries, outcomes, sessions and results.
type storeState struct {
	Profile  limits.Profile
	Tenants  []string
	Actions  map[string][]ActionView
	Machines map[string][]MachineView
	Library  map[string][]LibraryFileView
	Content  map[string][]byte // of every library file
	Outcomes map[string][]Outcome
	Sessions map[string]int
	Results  map[string]string // action/index → content
	Active   map[string]string // machine → its active action
	Origins  map[string]string // tenant → template, instant, fixture
	Kept     int
	Pending  int
	Next     map[string]string // action → its pending step
}

func stateOf(tb testing.TB, s *Store) storeState {
	tb.Helper()
	now := s.clock.Now()
	st := storeState{
		Profile: s.Profile(), Actions: map[string][]ActionView{}, Machines: map[string][]MachineView{},
		Library: map[string][]LibraryFileView{}, Content: map[string][]byte{}, Outcomes: map[string][]Outcome{},
		Sessions: map[string]int{}, Results: map[string]string{}, Active: map[string]string{},
		Origins: map[string]string{}, Kept: s.world.Load().finished.kept(), Pending: s.clock.Pending(),
		Next: map[string]string{},
	}
	for _, t := range s.Tenants() {
		st.Tenants = append(st.Tenants, t.ID)
		if o := t.Origin(); o != nil {
			fx, err := json.Marshal(o.Fixture)
			if err != nil {
				tb.Fatal(err)
			}
			st.Origins[t.ID] = fmt.Sprintf("%s %s %s", o.Template, o.Created.Format(time.RFC3339Nano), fx)
		}
		st.Actions[t.ID] = t.Actions()
		st.Library[t.ID] = t.Library().List()
		for _, f := range st.Library[t.ID] {
			lf, _ := t.Library().Get(f.FileName)
			st.Content[t.ID+"/"+f.FileName] = lf.Content
		}
		st.Sessions[t.ID] = t.Sessions()
		for _, m := range machinesOf(t) {
			st.Machines[t.ID] = append(st.Machines[t.ID], m.View(now))
			st.Outcomes[m.ID()] = m.Outcomes()
			if v, ok := m.ActiveAction(); ok {
				st.Active[m.ID()] = v.ID
			}
			for _, p := range []string{winPutPath, reportPath} {
				if f, ok := m.file(p); ok {
					st.Content[m.ID()+"/"+p] = f.content
				}
			}
		}
		for _, v := range st.Actions[t.ID] {
			a, _ := t.Action(v.ID)
			a.mu.Lock()
			if p, ok := t.steps.next(a); ok && p.kind != stepNone {
				st.Next[v.ID] = fmt.Sprintf("%s at %s", stepNames[p.kind], p.due.Format(time.RFC3339Nano))
			}
			a.mu.Unlock()
			for i := range v.Commands {
				if r, err := a.Result(i); err == nil {
					st.Results[fmt.Sprintf("%s/%d", v.ID, i)] = string(r.Content(start))
				}
			}
		}
	}
	return st
}

// TestSnapshotRestore: a store restored from a snapshot of another shows
// the same state, and goes on the same way: the same steps at the same
// instants, to the same end.
func TestSnapshotRestore(t *testing.T) {
	orig, restored, snap := snapshotPair(t)
	want := stateOf(t, orig.s)
	// The workload reached what it means to test.
	statuses := map[string]int{}
	for _, vs := range want.Actions {
		for _, v := range vs {
			statuses[v.Status]++
		}
	}
	for _, s := range []string{StatusPending, StatusInProgress, StatusSucceeded, StatusFailed, StatusCancelled} {
		if statuses[s] == 0 {
			t.Errorf("no action %s at the snapshot: %v", s, statuses)
		}
	}
	steps := map[stepKind]int{}
	settling := 0
	for _, ts := range snap.Tenants {
		for _, a := range ts.Actions {
			if a.Next != nil {
				steps[stepKind(slices.Index(stepNames[:], a.Next.Kind))]++
			}
			if a.Settling {
				settling++
			}
		}
	}
	if steps[stepPickup] < 2 || steps[stepExpiry] < 2 || steps[stepCommandEnd] < 2 || settling != 1 {
		t.Errorf("steps at the snapshot: %v, settling %d", steps, settling)
	}
	if made := snap.Tenants[0].Seq; len(snap.Finished) != snapshotRetention.MaxActions || made <= uint64(len(want.Actions[contosoID])) {
		t.Errorf("retention forgot nothing: %d finished kept, %d actions kept of %d", len(snap.Finished), len(want.Actions[contosoID]), made)
	}
	if len(want.Outcomes[snapshotMachine(6)]) != 2 || len(want.Origins) != 1 {
		t.Errorf("outcomes of m6 %v, created tenants %d", want.Outcomes[snapshotMachine(6)], len(want.Origins))
	}

	compare := func(when string) {
		t.Helper()
		if diff := cmp.Diff(stateOf(t, orig.s), stateOf(t, restored.s), viewOpts); diff != "" {
			t.Fatalf("%s: restored store differs (-orig +restored):\n%s", when, diff)
		}
	}
	compare("at the snapshot")
	// Lockstep through every step that remains: each second for the
	// first 15 minutes, then around the queue timeout and the retention
	// age, then until nothing is pending.
	var instants []time.Duration
	for d := 28 * time.Second; d <= 15*time.Minute; d += time.Second {
		instants = append(instants, d)
	}
	for d := 16 * time.Minute; d < time.Hour; d += time.Minute {
		instants = append(instants, d)
	}
	for _, d := range []time.Duration{time.Hour + 17*time.Second, time.Hour + 18*time.Second, time.Hour + 19*time.Second, time.Hour + 20*time.Second, time.Hour + 21*time.Second, 2 * time.Hour, 3 * time.Hour} {
		instants = append(instants, d)
	}
	for _, d := range instants {
		orig.at(d)
		restored.at(d)
		compare(fmt.Sprintf("at start+%s", d))
	}
	if n := orig.clk.Pending(); n != 0 {
		t.Errorf("%d timers still pending at the end", n)
	}
}

// TestSnapshotJSONStable: a snapshot restored and snapshotted again is
// the same snapshot.
func TestSnapshotJSONStable(t *testing.T) {
	_, restored, snap := snapshotPair(t)
	again, err := restored.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	// The order counters differ (a fresh store counts from 0); their
	// order is what counts.
	orders := func(s *Snapshot) []string {
		var out []string
		for _, ts := range s.Tenants {
			for i := range ts.Actions {
				if n := ts.Actions[i].Next; n != nil {
					out = append(out, fmt.Sprintf("%s %d", n.Due.Format(time.RFC3339Nano), n.Order))
					n.Order = 0
				}
			}
		}
		return out
	}
	o1, o2 := orders(snap), orders(again)
	rank := func(list []string) []int {
		idx := make([]int, len(list))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			var da, db string
			var na, nb uint64
			fmt.Sscanf(list[idx[a]], "%s %d", &da, &na)
			fmt.Sscanf(list[idx[b]], "%s %d", &db, &nb)
			return da < db || da == db && na < nb
		})
		return idx
	}
	if !slices.Equal(rank(o1), rank(o2)) {
		t.Errorf("steps' order: %v, then %v", o1, o2)
	}
	// A library file's accounting (listed, holders) is live state, not
	// the snapshot's.
	if diff := cmp.Diff(snap, again, cmpopts.IgnoreUnexported(LibraryFile{})); diff != "" {
		t.Errorf("snapshot of the restored store differs (-first +again):\n%s", diff)
	}
}

// TestRestoreRefuses: a snapshot taken at another instant, or naming what
// the fixtures do not have, is refused.
func TestRestoreRefuses(t *testing.T) {
	_, _, snap := snapshotPair(t)
	fresh := func() *Store {
		clk := clock.New(snap.At, clock.Manual, 1)
		t.Cleanup(clk.Close)
		return New(clk, profile(t, "default"), parseFixture(t, snapshotYAML()))
	}
	other := *snap
	other.At = snap.At.Add(time.Second)
	if err := fresh().Restore(&other); err == nil {
		t.Error("Restore at another instant: no error")
	}
	other = *snap
	other.Tenants = slices.Clone(snap.Tenants)
	other.Tenants[0].ID = "33333333-3333-3333-3333-333333333333"
	if err := fresh().Restore(&other); err == nil || !strings.Contains(err.Error(), "no tenant") {
		t.Errorf("Restore of an unknown tenant: %v", err)
	}
}

// TestSnapshotCoversFields fails when a field is added to a struct whose
// state a Snapshot holds: decide whether the snapshot keeps it (and add
// it to snapshot.go) or why not (its doc comment), then list it here.
func TestSnapshotCoversFields(t *testing.T) {
	for _, c := range []struct {
		v      any
		fields string
	}{
		{Action{}, "seq ref key shape machine gblock created mu lastUpdate extra stepResult first status settling released session kept gen queued"},
		{actionShape{}, "requestor comment user oddID commands cmd params"},
		{actionExtra{}, "cancel fails more stepFail stepPut"},
		{commandState{}, "start end result status"},
		{pendingStep{}, "due fail result put order index kind timeout"},
		{stepQueue{}, "tenant timer mu chunks n lanes laneN armed"},
		{Result{}, "script file path transcribe transcriptOf index held own"},
		{Machine{}, "info id name num group tenant actions online mu offlineSince filesMu files puts outcomesMu outcomes gone"},
		{machineFile{}, "path content size put"},
		{Tenant{}, "ID Name store gen start sessions machines byName order fleet groups users library storage settings undeclared wrapOutput done origin mu removed seq actions ids byID otherIDs gens gtexts slab steps"},
		{DeviceGroup{}, "ID Name mu remediationLevel"},
		{LibraryFile{}, "FileName Description HasParameters ParametersDescription CreatedBy CreationTime LastUpdatedTime Content SHA256 Declared Signed Behavior ByArgs listed holders results"},
		{Store{}, "clock profile retention world loads steps writers start"},
		{world{}, "tenants order sessions finished storage"},
		{finishedQueue{}, "store mu items bytes timer closed"},
		{User{}, "ObjectID UPN DisplayName Role groups"},
	} {
		typ := reflect.TypeOf(c.v)
		var got []string
		for i := range typ.NumField() {
			got = append(got, typ.Field(i).Name)
		}
		if want := strings.Fields(c.fields); !slices.Equal(got, want) {
			t.Errorf("%s has fields %v; the snapshot was written for %v", typ.Name(), got, want)
		}
	}
}

// BenchmarkSnapshot reports what a compaction's snapshot costs (the time
// changes wait for it) with 50,000 finished actions over 10,000 machines
// and 10,000 live ones: Snapshot, then its JSON.
func BenchmarkSnapshot(b *testing.B) {
	e := generatedEnv(b, 10_000, profile(b, "unlimited"))
	for r := range 5 {
		for _, m := range machinesOf(e.ten) {
			e.submit(b, m.ID(), runScript("ok.ps1"), getFile(reportPath))
		}
		e.at(time.Duration(r+1) * time.Minute)
	}
	for _, m := range machinesOf(e.ten) {
		e.submit(b, m.ID(), runScript("ok.ps1"))
	}
	var size int
	for b.Loop() {
		snap, err := e.s.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		j, err := json.Marshal(snap)
		if err != nil {
			b.Fatal(err)
		}
		size = len(j)
	}
	b.ReportMetric(float64(size), "bytes")
}

// TestSnapshotSharesContents collects one fixture file many times: the
// results share the file's bytes in memory, and the snapshot holds them
// once, not once per action; the restored results read the same bytes.
func TestSnapshotSharesContents(t *testing.T) {
	e := newEnvWith(t, parseFixture(t, contosoYAML), profile(t, "unlimited"))
	const n = 40
	var ids []string
	for range n {
		v, err := e.ten.Submit(Caller{TenantID: e.ten.ID, Name: "x"}, "win1", SubmitRequest{Commands: []Command{getFile(`C:\Temp\report.txt`)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
		e.clk.Advance(time.Minute)
	}
	snap, err := e.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Contents) != 1 || string(snap.Contents[0]) != "quarterly numbers\n" {
		t.Fatalf("the snapshot's contents: %q, want the one file once", snap.Contents)
	}
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	r := newEnvWith(t, parseFixture(t, contosoYAML), profile(t, "unlimited"))
	r.clk.AdvanceTo(snap.At)
	if err := r.s.Restore(&back); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		a, err := r.ten.Action(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(a.first.result.file); got != "quarterly numbers\n" {
			t.Fatalf("action %s's restored result: %q", id, got)
		}
	}
	var bad Snapshot
	json.Unmarshal(b, &bad)
	bad.Contents = nil
	r2 := newEnvWith(t, parseFixture(t, contosoYAML), profile(t, "unlimited"))
	r2.clk.AdvanceTo(snap.At)
	if err := r2.s.Restore(&bad); err == nil {
		t.Fatal("a snapshot whose results refer to missing contents was restored")
	}
}
