package limits

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRestoredLimiterDecidesAsTheFirst drives one limiter with random calls
// over two hours, takes its Calls at instants along the way, restores them
// (through JSON, as the store keeps them) into a new limiter, and checks
// that both then answer every later call the same, Retry-After included.
func TestRestoredLimiterDecidesAsTheFirst(t *testing.T) {
	p := mustLookup(t, "default")
	p.OtherPerMinute, p.OtherPerHour = 20, 60 // reached within the test
	keys := []struct {
		k Key
		c Class
	}{{keyA, LiveResponse}, {keyByApp, LiveResponse}, {keyOther, Other}, {keyOther2, Other}}
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 6 {
		first := NewLimiter(p)
		now := t0
		// The first limiter's history, up to a random instant.
		for range 150 + rng.IntN(400) {
			now = now.Add(time.Duration(rng.Int64N(int64(20 * time.Second))))
			kc := keys[rng.IntN(len(keys))]
			first.Allow(kc.k, kc.c, now)
		}
		b, err := json.Marshal(first.Calls(now))
		if err != nil {
			t.Fatal(err)
		}
		var cs []Calls
		if err := json.Unmarshal(b, &cs); err != nil {
			t.Fatal(err)
		}
		restored := NewLimiter(p)
		restored.Restore(cs)
		if diff := cmp.Diff(first.Calls(now), restored.Calls(now)); diff != "" {
			t.Fatalf("round %d: calls differ after the restore (-first +restored):\n%s", round, diff)
		}
		refused := 0
		for i := range 400 {
			now = now.Add(time.Duration(rng.Int64N(int64(15 * time.Second))))
			kc := keys[rng.IntN(len(keys))]
			w1, ok1 := first.Allow(kc.k, kc.c, now)
			w2, ok2 := restored.Allow(kc.k, kc.c, now)
			if ok1 != ok2 || w1 != w2 {
				t.Fatalf("round %d, call %d (%v %v at %v): first said %v %v, restored %v %v", round, i, kc.k, kc.c, now, ok1, w1, ok2, w2)
			}
			if !ok1 {
				refused++
			}
		}
		if refused == 0 {
			t.Fatalf("round %d: no call was refused; the test checks nothing of the windows", round)
		}
	}
}

// TestCallsLeavesOutWhatLeftTheWindow checks that Calls keeps only the
// instants inside the widest window, oldest first, and nothing for a key
// whose calls all left it.
func TestCallsLeavesOutWhatLeftTheWindow(t *testing.T) {
	l := NewLimiter(mustLookup(t, "default"))
	for i := range 3 {
		l.Allow(keyA, LiveResponse, t0.Add(time.Duration(i)*20*time.Second))
		l.Allow(keyOther, Other, t0.Add(time.Duration(i)*40*time.Minute))
	}
	now := t0.Add(90 * time.Minute)
	got := l.Calls(now)
	want := []Calls{{Key: keyOther, Class: Other, At: []int64{t0.Add(40 * time.Minute).UnixNano(), t0.Add(80 * time.Minute).UnixNano()}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Calls at +90m (-want +got):\n%s", diff)
	}
}

// TestCountIgnoresTheLimits checks that Count records a call the limits
// would refuse, and that an unlimited profile counts nothing.
func TestCountIgnoresTheLimits(t *testing.T) {
	l := NewLimiter(mustLookup(t, "default"))
	for range 12 {
		l.Count(keyA, LiveResponse, t0)
	}
	if got := l.Calls(t0); len(got) != 1 || len(got[0].At) != 10 {
		t.Fatalf("after 12 Counts: %v, want the 10 the minute ring holds", got)
	}
	if _, ok := l.Allow(keyA, LiveResponse, t0.Add(time.Second)); ok {
		t.Fatal("a call was allowed past 10 counted calls in the minute")
	}
	u := NewLimiter(mustLookup(t, "unlimited"))
	u.Count(keyA, LiveResponse, t0)
	if got := u.Calls(t0); got != nil {
		t.Fatalf("unlimited: Calls = %v, want none", got)
	}
}
