package faults

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	runLR   = Request{Method: "POST", Path: "/api/machines/m1/runliveresponse", TenantID: "tenant-a", AppID: "app-1"}
	getAct  = Request{Method: "GET", Path: "/api/machineactions/a1", TenantID: "tenant-a", AppID: "app-1"}
	listMac = Request{Method: "GET", Path: "/api/machines", TenantID: "tenant-b", AppID: "app-2"}
)

func mustAdd(t testing.TB, in *Injector, r Rule) Rule {
	t.Helper()
	got, err := in.Add(r)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// fires returns, for each of n calls of req, whether a rule fired.
func fires(in *Injector, req Request, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		_, out[i] = in.Decide(req)
	}
	return out
}

// firedAt returns the 1-based indexes of the true values of b.
func firedAt(b []bool) []int {
	var out []int
	for i, v := range b {
		if v {
			out = append(out, i+1)
		}
	}
	return out
}

// TestPathGlob checks that Match.Path is a glob (package glob tests the
// patterns themselves).
func TestPathGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"/api/machines", "/api/machines", true},
		{"/api/machines", "/api/machines/", false},
		{"/api/machines/*/runliveresponse", "/api/machines/a/b/runliveresponse", true},
		{"/API/Machines/*/RunLiveResponse", "/api/machines/m1/runliveresponse", true},
		{"/api/machines/*/runliveresponse", "/API/MACHINES/M1/RUNLIVERESPONSE", true},
		{"/api/*/*/x", "/api/a/x", false},
	}
	for _, tt := range tests {
		in := New()
		mustAdd(t, in, Rule{Match: Match{Path: tt.pattern}, Effect: Effect{Drop: true}})
		if _, got := in.Decide(Request{Path: tt.path}); got != tt.want {
			t.Errorf("path %q matches %q = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestDecideMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		match Match
		want  []bool // fired for runLR, getAct, listMac
	}{
		{"everything", Match{}, []bool{true, true, true}},
		{"method", Match{Method: "GET"}, []bool{false, true, true}},
		{"method lower case", Match{Method: "post"}, []bool{true, false, false}},
		{"path", Match{Path: "/api/machines*"}, []bool{true, false, true}},
		{"path glob", Match{Path: "/api/machines/*/runliveresponse"}, []bool{true, false, false}},
		{"tenant", Match{TenantID: "TENANT-A"}, []bool{true, true, false}},
		{"app", Match{AppID: "app-2"}, []bool{false, false, true}},
		{"all of them", Match{Method: "GET", Path: "/api/machine*", TenantID: "tenant-a", AppID: "app-1"}, []bool{false, true, false}},
		{"no request matches", Match{Method: "DELETE"}, []bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := New()
			mustAdd(t, in, Rule{Match: tt.match, Effect: Effect{Status: 503}})
			var got []bool
			for _, req := range []Request{runLR, getAct, listMac} {
				_, ok := in.Decide(req)
				got = append(got, ok)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("fired (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecision(t *testing.T) {
	t.Parallel()
	in := New()
	mustAdd(t, in, Rule{Name: "throttle", Match: Match{Path: "/api/machines/*"},
		Effect: Effect{Status: 429, RetryAfter: ms(30000), Latency: ms(250)}})
	mustAdd(t, in, Rule{Effect: Effect{NotFoundFor: ms(3000)}})
	mustAdd(t, in, Rule{Match: Match{TenantID: "tenant-b"}, Effect: Effect{Drop: true}})

	tests := []struct {
		req  Request
		want Decision
	}{
		{runLR, Decision{RuleID: "f1", RuleName: "throttle", Status: 429, Code: "TooManyRequests",
			Message: "Too many requests.", RetryAfter: 30 * time.Second, Latency: 250 * time.Millisecond}},
		{getAct, Decision{RuleID: "f2", NotFoundFor: 3 * time.Second}},
		{Request{Method: "GET", Path: "/api/libraryfiles", TenantID: "tenant-b"}, Decision{RuleID: "f3", Drop: true}},
	}
	for _, tt := range tests {
		got, ok := in.Decide(tt.req)
		if !ok {
			t.Errorf("Decide(%+v) fired no rule", tt.req)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Decide(%+v) (-want +got):\n%s", tt.req, diff)
		}
	}
	if d, ok := in.Decide(Request{Method: "POST", Path: "/api/libraryfiles", TenantID: "tenant-a"}); ok {
		t.Errorf("Decide(unmatched) = %+v, true; want no rule", d)
	}
}

func TestDecideNext(t *testing.T) {
	t.Parallel()
	in := New()
	mustAdd(t, in, Rule{Calls: Calls{Next: 3}, Effect: Effect{Status: 500}})
	got := firedAt(fires(in, runLR, 10))
	if diff := cmp.Diff([]int{1, 2, 3}, got); diff != "" {
		t.Errorf("next 3 fired at (-want +got):\n%s", diff)
	}
	// Exhausted, the rule stays listed with its counts.
	want := []Rule{{ID: "f1", Calls: Calls{Next: 3},
		Effect: Effect{Status: 500, Code: "InternalServerError", Message: "An internal error occurred."}, Fired: 3, Seen: 10}}
	if diff := cmp.Diff(want, in.List()); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestDecideEvery(t *testing.T) {
	t.Parallel()
	in := New()
	mustAdd(t, in, Rule{Match: Match{Method: "POST"}, Calls: Calls{Every: 5}, Effect: Effect{Status: 429}})
	// Calls the rule does not match do not count.
	var got []bool
	for range 12 {
		_, ok := in.Decide(runLR)
		got = append(got, ok)
		in.Decide(getAct)
	}
	if diff := cmp.Diff([]int{5, 10}, firedAt(got)); diff != "" {
		t.Errorf("every 5 fired at (-want +got):\n%s", diff)
	}
	if r := in.List()[0]; r.Seen != 12 || r.Fired != 2 {
		t.Errorf("Seen, Fired = %d, %d; want 12, 2", r.Seen, r.Fired)
	}
}

func TestDecideEveryOne(t *testing.T) {
	t.Parallel()
	in := New()
	mustAdd(t, in, Rule{Calls: Calls{Every: 1}, Effect: Effect{Status: 429}})
	if got := firedAt(fires(in, runLR, 3)); len(got) != 3 {
		t.Errorf("every 1 fired at %v, want every call", got)
	}
}

func TestDecideProbability(t *testing.T) {
	t.Parallel()
	const n = 10000
	sequence := func(seed int64) []bool {
		in := New()
		mustAdd(t, in, Rule{Calls: Calls{Probability: 0.2, Seed: seed}, Effect: Effect{Status: 503}})
		return fires(in, runLR, n)
	}
	a, b := sequence(42), sequence(42)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different sequences (-first +second):\n%s", diff)
	}
	if c := sequence(43); cmp.Equal(a, c) {
		t.Error("seeds 42 and 43 gave the same sequence")
	}
	if cmp.Equal(sequence(0), sequence(DefaultSeed)) != true {
		t.Error("seed 0 does not give the sequence of DefaultSeed")
	}
	// 0.2 of 10,000 calls: 2,000 ± 4 standard deviations (40 each).
	if k := len(firedAt(a)); k < 1840 || k > 2160 {
		t.Errorf("probability 0.2 fired %d times in %d calls, want about 2000", k, n)
	}
}

func TestDecideProbabilityOne(t *testing.T) {
	t.Parallel()
	in := New()
	mustAdd(t, in, Rule{Calls: Calls{Probability: 1}, Effect: Effect{Drop: true}})
	if got := firedAt(fires(in, runLR, 100)); len(got) != 100 {
		t.Errorf("probability 1 fired %d times in 100 calls", len(got))
	}
}

func TestDecideLatencyRange(t *testing.T) {
	t.Parallel()
	const lo, hi = 100 * time.Millisecond, 900 * time.Millisecond
	latencies := func(seed int64) []time.Duration {
		in := New()
		mustAdd(t, in, Rule{Calls: Calls{Seed: seed}, Effect: Effect{Latency: Duration(lo), LatencyMax: Duration(hi)}})
		var out []time.Duration
		for range 1000 {
			d, ok := in.Decide(runLR)
			if !ok {
				t.Fatal("latency rule did not fire")
			}
			out = append(out, d.Latency)
		}
		return out
	}
	a := latencies(7)
	distinct := map[time.Duration]bool{}
	var sum time.Duration
	for _, d := range a {
		if d < lo || d > hi {
			t.Fatalf("latency %v out of [%v, %v]", d, lo, hi)
		}
		distinct[d] = true
		sum += d
	}
	if len(distinct) < 900 {
		t.Errorf("only %d distinct latencies in 1000 draws", len(distinct))
	}
	// The mean of 1000 uniform draws on [100ms, 900ms] is 500ms ± about 7ms.
	if mean := sum / time.Duration(len(a)); mean < 470*time.Millisecond || mean > 530*time.Millisecond {
		t.Errorf("mean latency %v, want about 500ms", mean)
	}
	if diff := cmp.Diff(a, latencies(7)); diff != "" {
		t.Errorf("same seed, different latencies (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, latencies(8)) {
		t.Error("seeds 7 and 8 gave the same latencies")
	}
}

// TestDecideIndependentRules checks that a rule's decisions do not depend
// on the rules before it: its RNG advances on shadowed calls too.
func TestDecideIndependentRules(t *testing.T) {
	t.Parallel()
	prob := Rule{Calls: Calls{Probability: 0.5, Seed: 9}, Effect: Effect{Latency: ms(1), LatencyMax: ms(1000)}}
	decide := func(in *Injector) []Decision {
		var out []Decision
		for range 200 {
			d, _ := in.Decide(runLR)
			out = append(out, d)
		}
		return out
	}
	alone := New()
	mustAdd(t, alone, prob)
	want := decide(alone)

	behind := New()
	mustAdd(t, behind, Rule{Calls: Calls{Every: 3}, Effect: Effect{Status: 500}})
	mustAdd(t, behind, prob)
	got := decide(behind)
	for i := range got {
		if (i+1)%3 == 0 {
			if got[i].RuleID != "f1" {
				t.Fatalf("call %d: rule %q fired, want f1", i+1, got[i].RuleID)
			}
			continue
		}
		w := want[i]
		if w.RuleID != "" {
			w.RuleID = "f2"
		}
		if diff := cmp.Diff(w, got[i]); diff != "" {
			t.Fatalf("call %d behind another rule (-alone +behind):\n%s", i+1, diff)
		}
	}
}

func TestDecideFirstRuleWins(t *testing.T) {
	t.Parallel()
	in := New()
	mustAdd(t, in, Rule{Calls: Calls{Every: 2}, Effect: Effect{Status: 500}})
	mustAdd(t, in, Rule{Calls: Calls{Next: 3}, Effect: Effect{Status: 503}})
	mustAdd(t, in, Rule{Match: Match{Method: "GET"}, Effect: Effect{Status: 404}})
	mustAdd(t, in, Rule{Effect: Effect{Latency: ms(5)}})

	var got []int
	for range 8 {
		d, _ := in.Decide(runLR)
		got = append(got, d.Status)
	}
	// f1 takes every second call; f2 fires on the next three others, its
	// budget kept while f1 shadows it; then f4 (latency only, status 0).
	want := []int{503, 500, 503, 500, 503, 500, 0, 500}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	type counts struct {
		ID          string
		Seen, Fired int64
	}
	var gotCounts []counts
	for _, r := range in.List() {
		gotCounts = append(gotCounts, counts{r.ID, r.Seen, r.Fired})
	}
	wantCounts := []counts{{"f1", 8, 4}, {"f2", 8, 3}, {"f3", 0, 0}, {"f4", 8, 1}}
	if diff := cmp.Diff(wantCounts, gotCounts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
}

func TestRemoveClearReset(t *testing.T) {
	t.Parallel()
	in := New()
	for range 3 {
		mustAdd(t, in, Rule{Effect: Effect{Drop: true}})
	}
	ids := func() []string {
		var out []string
		for _, r := range in.List() {
			out = append(out, r.ID)
		}
		return out
	}
	if diff := cmp.Diff([]string{"f1", "f2", "f3"}, ids()); diff != "" {
		t.Fatalf("IDs (-want +got):\n%s", diff)
	}
	if !in.Remove("f2") {
		t.Error(`Remove("f2") = false`)
	}
	if in.Remove("f2") || in.Remove("nope") {
		t.Error("Remove of a missing ID = true")
	}
	if _, ok := in.Get("f2"); ok {
		t.Error(`Get("f2") found a removed rule`)
	}
	if r, ok := in.Get("f3"); !ok || r.ID != "f3" {
		t.Errorf(`Get("f3") = %+v, %v`, r, ok)
	}
	if diff := cmp.Diff([]string{"f1", "f3"}, ids()); diff != "" {
		t.Errorf("IDs after Remove (-want +got):\n%s", diff)
	}
	if d, _ := in.Decide(runLR); d.RuleID != "f1" {
		t.Errorf("Decide after Remove fired %q, want f1", d.RuleID)
	}

	in.Clear()
	if got := in.List(); len(got) != 0 {
		t.Errorf("List after Clear = %+v", got)
	}
	if d, ok := in.Decide(runLR); ok {
		t.Errorf("Decide after Clear = %+v", d)
	}
	if r := mustAdd(t, in, Rule{Effect: Effect{Drop: true}}); r.ID != "f4" {
		t.Errorf("ID after Clear = %q, want f4", r.ID)
	}

	in.Reset()
	if r := mustAdd(t, in, Rule{Effect: Effect{Drop: true}}); r.ID != "f1" || len(in.List()) != 1 {
		t.Errorf("after Reset: ID %q and %d rules, want f1 and 1", r.ID, len(in.List()))
	}
}

// TestNoRules is not parallel: AllocsPerRun refuses parallel tests.
func TestNoRules(t *testing.T) {
	var nilInjector *Injector
	if d, ok := nilInjector.Decide(runLR); ok {
		t.Errorf("nil Injector decided %+v", d)
	}
	var zero Injector
	if _, ok := zero.Decide(runLR); ok {
		t.Error("zero Injector fired")
	}
	if got := zero.List(); len(got) != 0 {
		t.Errorf("zero Injector List = %+v", got)
	}
	in := New()
	if allocs := testing.AllocsPerRun(100, func() { in.Decide(runLR) }); allocs != 0 {
		t.Errorf("Decide without rules allocates %v times", allocs)
	}
}

func TestConcurrentNext(t *testing.T) {
	t.Parallel()
	in := New()
	mustAdd(t, in, Rule{Calls: Calls{Next: 10}, Effect: Effect{Status: 429}})
	mustAdd(t, in, Rule{Calls: Calls{Probability: 0.5}, Effect: Effect{Latency: ms(1), LatencyMax: ms(9)}})
	var fired atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			for range 20 {
				if d, ok := in.Decide(runLR); ok && d.RuleID == "f1" {
					fired.Add(1)
				}
				if len(in.List()) != 2 {
					t.Error("List lost a rule")
				}
			}
		})
	}
	// Rules added and removed meanwhile do not disturb the others.
	for range 50 {
		r := mustAdd(t, in, Rule{Match: Match{Method: "DELETE"}, Effect: Effect{Drop: true}})
		in.Remove(r.ID)
	}
	wg.Wait()
	if got := fired.Load(); got != 10 {
		t.Errorf("next 10 fired %d times from 100 goroutines, want 10", got)
	}
	if r, _ := in.Get("f1"); r.Fired != 10 || r.Seen != 2000 {
		t.Errorf("f1 Fired, Seen = %d, %d; want 10, 2000", r.Fired, r.Seen)
	}
}

func BenchmarkDecideNoRules(b *testing.B) {
	in := New()
	for b.Loop() {
		in.Decide(runLR)
	}
}

func BenchmarkDecideThreeRules(b *testing.B) {
	in := New()
	mustAdd(b, in, Rule{Match: Match{Method: "DELETE"}, Effect: Effect{Drop: true}})
	mustAdd(b, in, Rule{Match: Match{Path: "/api/machines/*/runliveresponse"}, Calls: Calls{Probability: 0.1}, Effect: Effect{Status: 503}})
	mustAdd(b, in, Rule{Calls: Calls{Every: 100}, Effect: Effect{Latency: ms(1), LatencyMax: ms(5)}})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			in.Decide(runLR)
		}
	})
}
