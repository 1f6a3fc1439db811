package state

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// TestStepQueueAgainstModel drives a stepQueue with random schedulings,
// replacements, drops and takes of the earliest, and checks it against a
// plain list after each: the same steps, the earliest first by due then
// order, every action knowing its entry's place. Most steps of a kind
// come in the order they are due, as a steady load schedules them (its
// lane takes them), some before (the heap takes them).
func TestStepQueueAgainstModel(t *testing.T) {
	clk := clock.New(start, clock.Manual, 1) // never advanced: nothing fires
	defer clk.Close()
	ten := &Tenant{}
	q := &ten.steps
	q.init(ten, clk)
	actions := make([]*Action, 1000) // four chunks and more
	for i := range actions {
		actions[i] = ten.slab.next(0)
	}
	type want struct {
		a     *Action
		due   int64
		order uint64
	}
	model := map[*Action]want{}
	r := rand.New(rand.NewPCG(3, 4))
	order := uint64(0)
	base := start
	kinds := []stepKind{stepPickup, stepExpiry, stepCommandEnd, stepSettle}
	delay := map[stepKind]time.Duration{stepPickup: 5 * time.Second, stepExpiry: 72 * time.Hour, stepCommandEnd: 3 * time.Second, stepSettle: 2 * time.Second}
	inLanes, inHeap := 0, 0
	for step := range 60_000 {
		a := actions[r.IntN(len(actions))]
		switch op := r.IntN(10); {
		case op < 5: // schedule, or replace a's step
			order++
			k := kinds[r.IntN(len(kinds))]
			base = base.Add(time.Duration(r.IntN(3)) * time.Millisecond) // many alike: order decides
			due := base.Add(delay[k])
			if r.IntN(8) == 0 {
				due = due.Add(-time.Duration(r.IntN(2000)) * time.Millisecond) // out of turn: before its kind's last
			}
			q.schedule(a, pendingStep{order: order, kind: k, due: due}, due)
			model[a] = want{a, due.UnixNano(), order}
			if a.queued < 0 {
				inLanes++
			} else {
				inHeap++
			}
		case op < 7: // drop
			q.drop(a)
			delete(model, a)
		default: // take the earliest, as Fire does
			if len(model) == 0 {
				break
			}
			ws := slices.Collect(maps.Values(model))
			first := slices.MinFunc(ws, func(x, y want) int {
				return cmp.Or(cmp.Compare(x.due, y.due), cmp.Compare(x.order, y.order))
			})
			if got := q.earliest(); got == nil || q.action(got) != first.a || got.order != first.order {
				t.Fatalf("step %d: earliest is not order %d", step, first.order)
			}
			if _, ok := q.take(first.a, first.order+1); ok {
				t.Fatalf("step %d: take of an order not in force succeeded", step)
			}
			st, ok := q.take(first.a, first.order)
			if !ok || st.order != first.order {
				t.Fatalf("step %d: take = %v, %v", step, st.order, ok)
			}
			delete(model, first.a)
		}
		if q.len() != len(model) {
			t.Fatalf("step %d: %d queued, want %d", step, q.len(), len(model))
		}
		if most := q.n/stepChunkLen + 2; len(q.chunks) > most {
			t.Fatalf("step %d: %d chunks for %d entries, want at most %d", step, len(q.chunks), q.n, most)
		}
		for i := range q.n {
			e := q.at(i)
			if a := q.action(e); int(a.queued) != i+1 {
				t.Fatalf("step %d: entry %d's action says %d", step, i, a.queued-1)
			}
			if p := (i - 1) / stepHeapArity; i > 0 && e.before(q.at(p)) {
				t.Fatalf("step %d: entry %d is before its parent", step, i)
			}
		}
		live := 0
		for k := range q.lanes {
			l := &q.lanes[k]
			if h := l.head(); h != nil && h.ref == 0 {
				t.Fatalf("step %d: lane %d begins with a hole", step, k)
			}
			n := 0
			var prev *queuedStep
			for p := l.first; p < l.end; p++ {
				e := l.at(p)
				if prev != nil && e.before(prev) {
					t.Fatalf("step %d: lane %d out of order at %d", step, k, p)
				}
				prev = e
				if e.ref == 0 {
					continue
				}
				n++
				if a := q.action(e); a.queued != laneLoc(stepKind(k), p) {
					t.Fatalf("step %d: lane %d entry %d's action says %d", step, k, p, a.queued)
				}
			}
			if n != l.live {
				t.Fatalf("step %d: lane %d holds %d live, says %d", step, k, n, l.live)
			}
			if span := l.end - l.first; span > 2*l.live+stepChunkLen+1 {
				t.Fatalf("step %d: lane %d spans %d for %d live", step, k, span, l.live)
			}
			if len(l.chunks) > (l.end-l.first)/stepChunkLen+2 {
				t.Fatalf("step %d: lane %d keeps %d chunks for a span of %d", step, k, len(l.chunks), l.end-l.first)
			}
			live += n
		}
		if live != q.laneN {
			t.Fatalf("step %d: lanes hold %d, queue says %d", step, live, q.laneN)
		}
		for a, w := range model {
			if e := q.entry(a); e == nil || e.order != w.order || e.due != w.due || q.action(e) != a {
				t.Fatalf("step %d: an action's entry is not its step of order %d", step, w.order)
			}
		}
		for _, a := range actions {
			if _, ok := model[a]; !ok && a.queued != 0 {
				t.Fatalf("step %d: an action not queued says %d", step, a.queued)
			}
		}
	}
	if inLanes < 10_000 || inHeap < 1_000 {
		t.Fatalf("%d steps went to lanes, %d to the heap: the test did not cover both", inLanes, inHeap)
	}
}

// TestStepQueueHoldsOnlyLiveSteps: the queue holds one step for each live
// action and none once it is final, whether it ended, was cancelled while
// queued for days, or timed out; so cancelling in a loop leaves nothing
// behind to wait for its due.
func TestStepQueueHoldsOnlyLiveSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	live := e.submit(t, win1, runScript("ok.ps1"))
	if n := e.ten.steps.len(); n != 1 {
		t.Fatalf("%d steps queued for one live action, want 1", n)
	}
	for i := range 50 { // queued on an offline machine for 3 days, cancelled at once
		a := e.submit(t, off1, runScript("ok.ps1"))
		if _, err := e.ten.Cancel(caller, a.ID, "again"); err != nil {
			t.Fatalf("cancel %d: %v", i, err)
		}
	}
	if n := e.ten.steps.len(); n != 1 {
		t.Fatalf("%d steps queued after 50 cancels, want 1 (the live action's)", n)
	}
	e.at(time.Minute)
	if v := e.view(t, live.ID); v.Status != StatusSucceeded {
		t.Fatalf("the live action is %s, want Succeeded", v.Status)
	}
	if n := e.ten.steps.len(); n != 0 {
		t.Fatalf("%d steps queued with no live action, want 0", n)
	}
	e.submit(t, off1, runScript("ok.ps1")) // times out after 3 days
	e.at(73 * time.Hour)
	if n := e.ten.steps.len(); n != 0 {
		t.Fatalf("%d steps queued after the queue timeout, want 0", n)
	}
}

// TestStepQueueSameInstantInOrder: steps due at the same instant run in
// the order they were scheduled, as the clock fires timers. With two
// sessions, four actions submitted at one instant are picked up at one
// instant, and the first two submitted take the sessions, whatever their
// machines.
func TestStepQueueSameInstantInOrder(t *testing.T) {
	t.Parallel()
	for _, order := range [][]int{{5, 2, 0, 4}, {0, 4, 2, 5}} {
		p := profile(t, "default")
		p.Sessions, p.PendingCountsAsSession = 2, false
		e := generatedEnv(t, 6, p)
		ms := machinesOf(e.ten)
		var ids []string
		for _, i := range order {
			ids = append(ids, e.submit(t, ms[i].ID(), runScript("ok.ps1")).ID)
		}
		e.at(5 * time.Second) // every pickup due now
		for k, id := range ids {
			want := StatusPending
			if k < 2 {
				want = StatusInProgress
			}
			if got := e.view(t, id).Status; got != want {
				t.Errorf("machines %v: action %d (machine %d) is %s at 5s, want %s", order, k, order[k], got, want)
			}
		}
	}
}

// TestStepQueueUnderConcurrency runs submits, cancels, machines going
// offline and online, and snapshots against a clock that a goroutine
// moves on meanwhile, so that steps run while others are scheduled,
// replaced and dropped. Under -race it checks the locking; after, every
// action is final and the queue is empty.
func TestStepQueueUnderConcurrency(t *testing.T) {
	t.Parallel()
	const machines, workers, rounds = 20, 4, 400
	e := generatedEnv(t, machines, profile(t, "unlimited"))
	ms := machinesOf(e.ten)
	stop := make(chan struct{})
	var advancing sync.WaitGroup
	advancing.Add(1)
	go func() {
		defer advancing.Done()
		for {
			select {
			case <-stop:
				return
			default:
				e.clk.Advance(700 * time.Millisecond)
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			var mine []string
			for range rounds {
				m := ms[r.IntN(machines)]
				switch op := r.IntN(10); {
				case op < 5:
					cmds := []Command{runScript("ok.ps1")}
					if r.IntN(3) == 0 {
						cmds = append(cmds, getFile(reportPath)) // no such file here: Failed
					}
					if v, err := e.ten.Submit(caller, m.ID(), SubmitRequest{Commands: cmds}); err == nil {
						mine = append(mine, v.ID)
					}
				case op < 7 && len(mine) > 0:
					_, _ = e.ten.Cancel(caller, mine[r.IntN(len(mine))], "stop") // may be final already
				case op < 9:
					m.SetOnline(r.IntN(2) == 0)
				default:
					if _, err := e.s.Snapshot(); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	advancing.Wait()
	for _, m := range ms {
		m.SetOnline(true)
	}
	e.clk.Advance(100 * time.Hour)
	count := map[string]int{}
	for _, v := range e.ten.Actions() {
		count[v.Status]++
		if !isFinal(v.Status) {
			t.Errorf("action %s is %s after 100 hours", v.ID, v.Status)
		}
	}
	// How many submits find their machine free depends on how the
	// goroutines interleave: 83 to 220 of 800 tries in runs under load.
	if count[StatusSucceeded] == 0 || count[StatusCancelled] == 0 || len(e.ten.Actions()) < 20 {
		t.Errorf("statuses %v: the test did not run what it means to", count)
	}
	if testing.Verbose() {
		t.Logf("statuses %v", count)
	}
	if n := e.ten.steps.len(); n != 0 {
		t.Errorf("%d steps queued with every action final, want 0", n)
	}
	if n := e.ten.Sessions(); n != 0 {
		t.Errorf("%d sessions held with every action final, want 0", n)
	}
}

// TestQueuedStepRoundTrip checks that an entry and its action give back
// the step it was made of, failure, file and all; that the entry has no
// pointer (the queue's chunks are not scanned by the collector); that a
// step without a failure or a file clears those its action's previous
// step had; and that taking the step lets go of what it held.
func TestQueuedStepRoundTrip(t *testing.T) {
	if reflect.TypeFor[queuedStep]().Size() != 40 {
		t.Errorf("queuedStep is %d bytes, want 40", reflect.TypeFor[queuedStep]().Size())
	}
	for f := range reflect.TypeFor[queuedStep]().Fields() {
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface:
			t.Errorf("queuedStep.%s is a %s: the queue's chunks would be scanned", f.Name, f.Type.Kind())
		}
	}
	due := start.Add(90 * time.Second)
	f := &LibraryFile{FileName: "tool.exe"}
	r := &Result{path: `C:\x`}
	a := &Action{}
	for _, st := range []pendingStep{
		{kind: stepPickup, due: due, order: 7},
		{kind: stepCommandEnd, due: due, order: 8, index: 2, result: r},
		{kind: stepCommandEnd, due: due, order: 9, index: 1, fail: "boom", timeout: true},
		{kind: stepCommandEnd, due: due, order: 10, put: f},
		{kind: stepSettle, due: due, order: 11},
	} {
		e := newQueuedStep(a, st, due.Add(time.Second))
		if got := e.step(a); got != st || !got.due.Equal(st.due) || got.due.Location() != time.UTC {
			t.Errorf("step %d: got back %+v, want %+v", st.order, got, st)
		}
		if e.due != due.Add(time.Second).UnixNano() {
			t.Errorf("step %d: due %d, want the queue's", st.order, e.due)
		}
	}
	newQueuedStep(a, pendingStep{kind: stepCommandEnd, due: due, result: r, put: f}, due)
	letGoStep(a)
	if a.stepResult != nil || a.extra.stepPut != nil {
		t.Error("a taken step's result and file still held by its action")
	}
}

// BenchmarkStepQueue times a step of the lifecycle's queue in the state
// bench/run's POST load leaves: 170,000 live actions, each with a step.
// Each op takes the earliest step out, as Fire does, and schedules that
// action's next one later, as the step it ran would: at random
// ("random", the heap's case), or as a steady load does ("steady": each
// action picked up 5 s after it was submitted, its script done 3 s later,
// settled 2 s after that, and submitted again; its lanes' case).
func BenchmarkStepQueue(b *testing.B) {
	for _, steady := range []bool{false, true} {
		name := map[bool]string{false: "random", true: "steady"}[steady]
		b.Run(name, func(b *testing.B) {
			clk := clock.New(start, clock.Manual, 1) // never advanced: nothing fires
			defer clk.Close()
			ten := &Tenant{}
			q := &ten.steps
			q.init(ten, clk)
			const n = 170_000
			r := rand.New(rand.NewPCG(5, 6))
			order := uint64(0)
			next := map[stepKind]stepKind{stepPickup: stepCommandEnd, stepCommandEnd: stepSettle, stepSettle: stepPickup}
			delay := map[stepKind]time.Duration{stepPickup: 5 * time.Second, stepCommandEnd: 3 * time.Second, stepSettle: 2 * time.Second}
			for i := range n {
				order++
				due := start.Add(time.Duration(r.IntN(60_000)) * time.Millisecond)
				if steady {
					due = start.Add(time.Duration(i) * 10 * time.Second / n) // submitted in turn over the last 10 s
				}
				q.schedule(ten.slab.next(0), pendingStep{order: order, kind: stepPickup, due: due}, due)
			}
			for b.Loop() {
				e := *q.earliest()
				a := q.action(&e)
				if _, ok := q.take(a, e.order); !ok {
					b.Fatal("the earliest step could not be taken")
				}
				order++
				kind := stepCommandEnd
				due := time.Unix(0, e.due).Add(time.Duration(1+r.IntN(60_000)) * time.Millisecond)
				if steady {
					kind = next[e.kind]
					due = time.Unix(0, e.due).Add(delay[kind])
				}
				q.schedule(a, pendingStep{order: order, kind: kind, due: due}, due)
			}
		})
	}
}
