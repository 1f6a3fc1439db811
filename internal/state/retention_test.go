package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// ids returns the ids of views, in their order.
func ids(views []ActionView) []string {
	out := make([]string, len(views))
	for i, v := range views {
		out[i] = v.ID
	}
	return out
}

// requireGone checks that the action id answers as an unknown action.
func (e *env) requireGone(tb testing.TB, id string) {
	tb.Helper()
	_, err := e.ten.Action(id)
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.ResourceNotFound {
		tb.Errorf("Action(%s) = %v, want ResourceNotFound", id, err)
	}
	if _, err := e.ten.Cancel(caller, id, "x"); !errors.As(err, &ae) || ae.Code != apierr.ResourceNotFound {
		tb.Errorf("Cancel(%s) = %v, want ResourceNotFound", id, err)
	}
}

// checkIndex checks that the tenant's list, id map, machine index and the
// world's finished queue agree.
func (e *env) checkIndex(tb testing.TB) {
	tb.Helper()
	t := e.ten
	t.mu.RLock()
	defer t.mu.RUnlock()
	byMachine := 0
	machines := slices.Clone(t.order)
	for i := 1; i <= t.fleet.size(); i++ {
		if m := t.fleet.madeMachine(i); m != nil {
			machines = append(machines, m)
		}
	}
	for _, m := range machines {
		l := &m.actions
		if l.live == 0 && (len(l.entries) != 0 || cap(l.entries) > 4) {
			tb.Errorf("machine %s keeps an empty list of %d entries, room for %d", m.ID(), len(l.entries), cap(l.entries))
		}
		if m.num > 0 && len(l.entries) > 0 {
			tb.Errorf("generated machine %s lists actions itself, not in the tenant's gens", m.ID())
		}
		byMachine += l.live
		for i := range l.entries {
			if a := l.action(i); a != nil && (a.machine != m || t.actionLocked(a.ID()) != a) {
				tb.Errorf("machine %s lists %s, which is not its own or not kept", m.ID(), a.ID())
			}
		}
	}
	for n, l := range t.gens.all() {
		if l.live() == 0 {
			tb.Errorf("generated machine %d has an empty list in gens", n)
		}
		byMachine += l.live()
		id, name := t.fleet.idName(int(n))
		if got := l.appendNewestFirst(nil, &t.actions); len(got) != l.live() {
			tb.Errorf("generated machine %d lists %d actions, %d of them kept", n, l.live(), len(got))
		}
		for _, a := range l.appendNewestFirst(nil, &t.actions) {
			if a.gen != n || a.machine != nil || a.MachineID() != id || t.actionLocked(a.ID()) != a {
				tb.Errorf("generated machine %d lists %s, which is not its own or not kept", n, a.ID())
			}
			if a.machineName() != name {
				tb.Errorf("action %s of generated machine %d names it %q, want %q", a.ID(), n, a.machineName(), name)
			}
		}
	}
	// Each block of machines' texts is held by those of its machines
	// with kept actions, and only while there are some.
	refs := map[uint32]int{}
	for n := range t.gens.all() {
		refs[(n-1)/genTextBlockLen]++
	}
	for k, b := range t.gtexts {
		if b.refs != refs[k] {
			tb.Errorf("text block %d held by %d machines, %d have kept actions", k, b.refs, refs[k])
		}
	}
	for k := range refs {
		if t.gtexts[k] == nil {
			tb.Errorf("text block %d missing, its machines have kept actions", k)
		}
	}
	// The id index holds the ids the tenant did not make, of kept actions
	// only; every kept action is found by its id.
	foreign := 0
	for i := range t.actions.entries {
		a := t.actions.action(i)
		if a == nil {
			continue
		}
		if t.actionLocked(a.ID()) != a {
			tb.Errorf("kept action %s is not found by its id", a.ID())
		}
		if a.shape.oddID != "" || t.ids.seqOf(a.key) != a.seq {
			foreign++
		}
	}
	if t.actions.live != byMachine || foreign != len(t.byID)+len(t.otherIDs) {
		tb.Errorf("kept: list %d, by machine %d; ids not made by the tenant %d, indexed %d", t.actions.live, byMachine, foreign, len(t.byID)+len(t.otherIDs))
	}
}

func TestRetentionByCount(t *testing.T) {
	e := generatedEnv(t, 10, profile(t, "unlimited"))
	e.s.SetRetention(Retention{MaxActions: 4})
	var made []string
	for _, m := range machinesOf(e.ten) {
		made = append(made, e.submit(t, m.ID(), runScript("ok.ps1")).ID)
	}
	// Finished newest first: the last four cancelled, the four oldest
	// made, are the ones kept.
	for i := len(made) - 1; i >= 0; i-- {
		if _, err := e.ten.Cancel(canceller, made[i], "stop"); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{made[3], made[2], made[1], made[0]} // newest first
	if got := ids(e.ten.Actions()); !slices.Equal(got, want) {
		t.Errorf("Actions() = %v, want %v", got, want)
	}
	for _, id := range made[4:] {
		e.requireGone(t, id)
	}
	if got := ids(e.ten.ActionsOnFor(caller, []string{machinesOf(e.ten)[9].ID()})); len(got) != 0 {
		t.Errorf("ActionsOnFor(an evicted action's machine) = %v, want none", got)
	}
	if got := ids(e.ten.ActionsOnFor(caller, []string{strings.ToUpper(machinesOf(e.ten)[1].ID())})); !slices.Equal(got, []string{made[1]}) {
		t.Errorf("ActionsOnFor(machine 1, upper case) = %v, want %v", got, made[1:2])
	}
	e.checkIndex(t)
	if got := e.s.world.Load().finished.kept(); got != 4 {
		t.Errorf("finished queue keeps %d, want 4", got)
	}

	// The machine of an evicted action takes new ones; when one more
	// finishes, the first of the kept to have finished goes.
	v := e.submit(t, machinesOf(e.ten)[9].ID(), runScript("ok.ps1"))
	e.at(time.Minute)
	if got := ids(e.ten.Actions()); !slices.Equal(got, []string{v.ID, made[2], made[1], made[0]}) {
		t.Errorf("Actions() after one more = %v", got)
	}
	e.requireGone(t, made[3])
	e.checkIndex(t)
}

func TestRetentionKeepsLiveActions(t *testing.T) {
	set := parseFixture(t, fmt.Sprintf("tenants:\n- id: %s\n  generateMachines: 4\n  library:\n  - fileName: ok.ps1\n", contosoID)).Expanded()
	for i := range set.Tenants[0].Machines[:3] {
		set.Tenants[0].Machines[i].Offline = true
	}
	e := newEnvWith(t, set, profile(t, "unlimited"))
	e.s.SetRetention(Retention{MaxActions: 1, MaxAge: time.Hour})
	ms := machinesOf(e.ten)
	var queued []string
	for _, m := range ms[:3] {
		queued = append(queued, e.submit(t, m.ID(), runScript("ok.ps1")).ID)
	}
	// Finished actions come and go; the queued ones, older than both
	// bounds allow for finished ones, stay.
	for i := range 5 {
		e.at(time.Duration(i) * 10 * time.Minute)
		e.submit(t, ms[3].ID(), runScript("ok.ps1"))
	}
	e.at(50*time.Minute + 30*time.Second)
	e.at(5 * time.Hour)
	for _, id := range queued {
		if v := e.view(t, id); v.Status != StatusPending {
			t.Errorf("queued action %s is %s, want Pending", id, v.Status)
		}
	}
	if got := len(e.ten.Actions()); got != 3 {
		t.Errorf("%d actions kept 5 h on, want the 3 queued", got)
	}
	// At the queue timeout all three end TimeOut at once: one is kept.
	e.at(e.s.Profile().QueueTimeout + time.Minute)
	if got := e.ten.Actions(); len(got) != 1 || got[0].Status != StatusTimeOut {
		t.Errorf("Actions() after the queue timeout = %v, want one TimeOut", ids(got))
	}
	e.checkIndex(t)
}

func TestRetentionByAge(t *testing.T) {
	e := generatedEnv(t, 2, profile(t, "unlimited"))
	e.s.SetRetention(Retention{MaxAge: time.Hour})
	ms := machinesOf(e.ten)
	a := e.submit(t, ms[0].ID(), runScript("ok.ps1"))
	e.at(30 * time.Minute)
	b := e.submit(t, ms[1].ID(), runScript("ok.ps1"))
	e.at(31 * time.Minute)
	aEnd := e.view(t, a.ID).LastUpdateDateTimeUtc.Time()
	bEnd := e.view(t, b.ID).LastUpdateDateTimeUtc.Time()
	if e.view(t, a.ID).Status != StatusSucceeded || e.view(t, b.ID).Status != StatusSucceeded {
		t.Fatal("actions not finished")
	}

	e.clk.AdvanceTo(aEnd.Add(time.Hour - Tick))
	e.view(t, a.ID) // still there
	e.clk.AdvanceTo(aEnd.Add(time.Hour))
	e.requireGone(t, a.ID)
	if got := ids(e.ten.Actions()); !slices.Equal(got, []string{b.ID}) {
		t.Errorf("Actions() = %v, want [%s]", got, b.ID)
	}
	e.clk.AdvanceTo(bEnd.Add(time.Hour))
	e.requireGone(t, b.ID)
	if got := len(e.ten.Actions()); got != 0 {
		t.Errorf("%d actions kept, want 0", got)
	}
	e.checkIndex(t)
}

func TestSetRetentionShrinks(t *testing.T) {
	e := generatedEnv(t, 20, profile(t, "unlimited"))
	e.s.SetRetention(Retention{})
	for _, m := range machinesOf(e.ten) {
		e.submit(t, m.ID(), runScript("ok.ps1"))
	}
	e.at(time.Minute)
	all := ids(e.ten.Actions())
	if len(all) != 20 {
		t.Fatalf("%d actions, want 20", len(all))
	}
	e.s.SetRetention(Retention{MaxActions: 3})
	if got := ids(e.ten.Actions()); !slices.Equal(got, all[:3]) {
		t.Errorf("Actions() = %v, want %v", got, all[:3])
	}
	// An age bound set later counts from when each finished.
	e.s.SetRetention(Retention{MaxActions: 3, MaxAge: 30 * time.Second})
	if got := len(e.ten.Actions()); got != 0 {
		t.Errorf("%d actions kept, want 0 (they finished 50 s ago)", got)
	}
	e.checkIndex(t)
}

func TestRetentionAfterLoad(t *testing.T) {
	e := generatedEnv(t, 3, profile(t, "unlimited"))
	e.s.SetRetention(Retention{MaxActions: 1, MaxAge: time.Hour})
	for _, m := range machinesOf(e.ten) {
		e.submit(t, m.ID(), runScript("ok.ps1"))
	}
	e.at(time.Minute)
	old := e.s.world.Load().finished
	e.s.Load(parseFixture(t, fmt.Sprintf("tenants:\n- id: %s\n  generateMachines: 3\n  library:\n  - fileName: ok.ps1\n", contosoID)))
	if got := old.kept(); got != 0 {
		t.Errorf("the old world's queue keeps %d", got)
	}
	e.ten = e.s.Tenants()[0]
	for _, m := range machinesOf(e.ten) {
		e.submit(t, m.ID(), runScript("ok.ps1"))
	}
	e.at(2 * time.Minute)
	if got := len(e.ten.Actions()); got != 1 {
		t.Errorf("%d actions kept after Load, want 1 (the retention stays)", got)
	}
	e.at(3 * time.Hour)
	if got := len(e.ten.Actions()); got != 0 {
		t.Errorf("%d actions kept 3 h on, want 0", got)
	}
}

// TestActionListRandom holds actionList to a plain slice under random
// adds and removes.
func TestActionListRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		var l actionList
		var slab actionSlab
		var ref []*Action
		seq := uint64(0)
		for range 2000 {
			if len(ref) == 0 || rng.IntN(3) > 0 {
				seq += 1 + uint64(rng.IntN(3))
				a := slab.next(0)
				a.seq, a.shape = seq, &actionShape{oddID: fmt.Sprint(seq)}
				l.add(a, &slab)
				ref = append(ref, a)
				continue
			}
			i := rng.IntN(len(ref))
			if !l.remove(ref[i]) {
				t.Fatalf("round %d: remove(%d) = false", round, ref[i].seq)
			}
			if l.remove(ref[i]) {
				t.Fatalf("round %d: second remove(%d) = true", round, ref[i].seq)
			}
			ref = slices.Delete(ref, i, i+1)
		}
		got := l.appendNewestFirst(nil)
		slices.Reverse(got)
		if !slices.Equal(got, ref) || l.live != len(ref) {
			t.Fatalf("round %d: list of %d (live %d), want %d", round, len(got), l.live, len(ref))
		}
	}
}

// TestRetentionConcurrent submits, cancels, reads and finishes actions
// from many goroutines (run it with -race): the bound holds exactly at
// the end and every index agrees.
func TestRetentionConcurrent(t *testing.T) {
	const workers, perWorker, rounds, keep = 8, 8, 30, 50
	e := generatedEnv(t, workers*perWorker, profile(t, "unlimited"))
	e.s.SetRetention(Retention{MaxActions: keep, MaxAge: 10 * time.Minute})
	ms := machinesOf(e.ten)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := ms[w*perWorker : (w+1)*perWorker]
			for r := range rounds {
				for _, m := range mine {
					v, err := e.ten.Submit(caller, m.ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
					var ae *apierr.Error
					if errors.As(err, &ae) && ae.Code == apierr.ActiveRequestAlreadyExists {
						continue // the last one still runs
					}
					if err != nil {
						t.Error(err)
						return
					}
					if r%2 == 0 {
						if _, err := e.ten.Cancel(canceller, v.ID, "x"); err != nil && !(errors.As(err, &ae) && ae.Code == apierr.BadRequest) {
							t.Error(err) // BadRequest: it finished meanwhile
							return
						}
					}
				}
				if r%2 == 0 {
					_ = e.ten.Actions()
					_ = e.ten.ActionsOnFor(caller, []string{mine[0].ID(), mine[1].ID()})
				}
			}
		}()
	}
	wg.Add(1)
	go func() { // time passes meanwhile: steps and age sweeps run
		defer wg.Done()
		for range 100 {
			e.clk.Advance(3 * time.Second)
		}
	}()
	wg.Wait()
	e.clk.Advance(time.Minute)
	if got := len(e.ten.Actions()); got != keep {
		t.Errorf("%d actions kept, want %d", got, keep)
	}
	e.checkIndex(t)
	e.clk.Advance(time.Hour)
	if got := len(e.ten.Actions()); got != 0 {
		t.Errorf("%d actions kept an hour on, want 0", got)
	}
	e.checkIndex(t)
}

// TestActionsOnForMatchesActions holds the machine index to the list:
// for random sets of machine ids (any case, unknown ones too), after
// random evictions, ActionsOnFor is Actions restricted to those machines.
func TestActionsOnForMatchesActions(t *testing.T) {
	e := generatedEnv(t, 12, profile(t, "unlimited"))
	e.s.SetRetention(Retention{MaxActions: 40})
	rng := rand.New(rand.NewPCG(3, 4))
	ms := machinesOf(e.ten)
	for step := range 300 {
		m := ms[rng.IntN(len(ms))]
		if v, err := e.ten.Submit(caller, m.ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}}); err == nil && rng.IntN(2) == 0 {
			_, _ = e.ten.Cancel(canceller, v.ID, "x")
		}
		e.clk.Advance(time.Duration(rng.IntN(4)) * time.Second)
		var want []string
		set := map[string]bool{}
		var asked []string
		for range rng.IntN(4) {
			id := ms[rng.IntN(len(ms))].ID()
			set[id] = true
			if rng.IntN(2) == 0 {
				id = strings.ToUpper(id)
			}
			asked = append(asked, id)
		}
		if rng.IntN(4) == 0 {
			asked = append(asked, "not-a-machine")
		}
		for _, v := range e.ten.Actions() {
			if set[v.MachineID] {
				want = append(want, v.ID)
			}
		}
		if got := ids(e.ten.ActionsOnFor(caller, asked)); !slices.Equal(got, want) {
			t.Fatalf("step %d: ActionsOnFor(%v) = %v, want %v", step, asked, got, want)
		}
	}
	e.checkIndex(t)
}

// BenchmarkRetainedHeap reports the heap that finished actions hold, per
// kept action (docs/performance.md, Retention): 50,000 actions over
// 10,000 machines, all kept or 10,000 kept.
func BenchmarkRetainedHeap(b *testing.B) {
	for _, bound := range []int{0, 10_000} {
		for _, cmds := range [][]Command{{runScript("ok.ps1")}, {runScript("ok.ps1"), getFile(reportPath)}} {
			b.Run(fmt.Sprintf("keep=%d/commands=%d", bound, len(cmds)), func(b *testing.B) {
				for b.Loop() {
					e := generatedEnv(b, 10_000, profile(b, "unlimited"))
					e.s.SetRetention(Retention{MaxActions: bound})
					var m0, m1 runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&m0)
					for r := range 5 {
						for _, m := range machinesOf(e.ten) {
							e.submit(b, m.ID(), cmds...)
						}
						e.at(time.Duration(r+1) * time.Minute)
					}
					runtime.GC()
					runtime.ReadMemStats(&m1)
					kept := len(e.ten.Actions())
					b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/float64(kept), "heapB/kept")
					b.ReportMetric(float64(kept), "kept")
				}
			})
		}
	}
}

// The finished queue moves what it keeps to the front once the popped
// are at least half of it, so its slice stays within a small multiple of
// what it keeps, however many actions went through it.
func TestFinishedQueueStaysCompact(t *testing.T) {
	e := generatedEnv(t, 1, profile(t, "unlimited"))
	e.s.SetRetention(Retention{MaxActions: 10})
	q := e.s.world.Load().finished
	now := e.s.Clock().Now()
	for range 5000 {
		q.add(nil, now) // nil: an action of a removed tenant, only counted
	}
	q.mu.Lock()
	kept, chunks := q.items.len(), q.items.chunkCount()
	q.mu.Unlock()
	if kept != 10 || chunks > 2 {
		t.Errorf("the queue keeps %d in %d chunks after 5,000 actions; want 10 in at most 2", kept, chunks)
	}
}

// Actions with big comments fill MaxBytes before MaxActions: the first to
// have finished go, and what is kept stays within the bound.
func TestRetentionByBytes(t *testing.T) {
	e := generatedEnv(t, 10, profile(t, "unlimited"))
	const comment = 100 << 10
	e.s.SetRetention(Retention{MaxActions: 100, MaxBytes: 3*comment + 3*actionOverhead + 4<<10})
	big := strings.Repeat("c", comment)
	var made []string
	for _, m := range machinesOf(e.ten) {
		v, err := e.ten.Submit(caller, m.ID(), SubmitRequest{Comment: &big, Commands: []Command{runScript("ok.ps1")}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.ten.Cancel(canceller, v.ID, "stop"); err != nil {
			t.Fatal(err)
		}
		made = append(made, v.ID)
	}
	want := []string{made[9], made[8], made[7]} // newest first
	if got := ids(e.ten.Actions()); !slices.Equal(got, want) {
		t.Errorf("Actions() = %v, want the last three %v", got, want)
	}
	q := e.s.world.Load().finished
	var sum int64
	for _, id := range want {
		a, _ := e.ten.Action(id)
		sum += a.footprint()
	}
	q.mu.Lock()
	bytes := q.bytes
	q.mu.Unlock()
	if bytes != sum || sum < 3*comment {
		t.Errorf("queue counts %d bytes, the kept actions' footprints add to %d", bytes, sum)
	}
	e.checkIndex(t)
}

func TestBytesFor(t *testing.T) {
	for _, c := range []struct {
		n    int
		want int64
	}{{0, 0}, {-1, 0}, {2, 64 << 20}, {100_000, 100_000 * BytesPerKeptAction}} {
		if got := BytesFor(c.n); got != c.want {
			t.Errorf("BytesFor(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// An action of many short commands (a 1 MiB request may hold some 19,000)
// holds several times its strings in objects: its footprint counts them,
// so that the retention's bytes bound holds for such actions too.
func TestFootprintOfManyCommands(t *testing.T) {
	e := generatedEnv(t, 1, profile(t, "unlimited"))
	m := machinesOf(e.ten)[0].ID()
	cmds := make([]Command, 2000)
	for i := range cmds {
		cmds[i] = Command{Type: GetFile, Params: []Param{{Key: "Path", Value: fmt.Sprintf(`C:\f%04d`, i)}}}
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	v, err := e.ten.Submit(caller, m, SubmitRequest{Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ten.Cancel(canceller, v.ID, "stop"); err != nil {
		t.Fatal(err)
	}
	held := int64(heap() - before)
	a, err := e.ten.Action(v.ID)
	if err != nil {
		t.Fatal(err)
	}
	fp := a.footprint()
	t.Logf("2,000 GetFile commands: %d bytes of heap held, footprint %d", held, fp)
	// The heap read moves by some KB between two reads; the footprint
	// is an estimate, a little over rather than under.
	if fp < held*3/4 || fp > held*2 {
		t.Errorf("footprint %d of an action holding %d bytes of heap: want three quarters to twice that", fp, held)
	}
}
