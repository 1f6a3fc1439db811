package limits

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdelive/mde-emulator/emulator/fixture"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

var (
	keyA      = Key{Tenant: "tenant-a", App: "app-1", Endpoint: "runliveresponse"}
	keyOther  = Key{Tenant: "tenant-a", App: "app-1", Endpoint: "machineactions"}
	keyByApp  = Key{Tenant: "tenant-a", App: "app-2", Endpoint: "runliveresponse"}
	keyByTen  = Key{Tenant: "tenant-b", App: "app-1", Endpoint: "runliveresponse"}
	keyOther2 = Key{Tenant: "tenant-a", App: "app-1", Endpoint: "machines"}
)

func mustLookup(t testing.TB, name string) Profile {
	t.Helper()
	p, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// step is n calls at t0+at, each expected to get ok and retry.
type step struct {
	at    time.Duration
	key   Key
	class Class
	n     int // 0 means 1
	ok    bool
	retry time.Duration
}

// result is what one Allow returned.
type result struct {
	Retry time.Duration
	OK    bool
}

// lr and other build steps for keyA (LiveResponse) and keyOther (Other).
func lr(at time.Duration, n int, ok bool, retry time.Duration) step {
	return step{at: at, key: keyA, class: LiveResponse, n: n, ok: ok, retry: retry}
}

func other(at time.Duration, n int, ok bool, retry time.Duration) step {
	return step{at: at, key: keyOther, class: Other, n: n, ok: ok, retry: retry}
}

func TestAllowSequence(t *testing.T) {
	t.Parallel()
	def := mustLookup(t, "default")
	// 100 calls in each of the first 15 minutes: 1,500 in the hour.
	var fillHour []step
	for m := range 15 {
		fillHour = append(fillHour, other(time.Duration(m)*time.Minute, 100, true, 0))
	}
	tests := []struct {
		name    string
		profile Profile
		steps   []step
	}{
		{
			name:    "10 a minute, the 11th waits exactly until the first leaves",
			profile: def,
			steps: []step{
				lr(0, 1, true, 0),
				lr(time.Second, 9, true, 0),
				lr(30*time.Second, 1, false, 30*time.Second),
				lr(time.Minute-time.Nanosecond, 1, false, time.Nanosecond),
				lr(time.Minute, 1, true, 0),
				lr(time.Minute, 1, false, time.Second), // now the oldest is at +1s
				lr(time.Minute+time.Second, 9, true, 0),
				lr(time.Minute+time.Second, 1, false, 59*time.Second),
			},
		},
		{
			name:    "the window slides: no reset at a minute boundary",
			profile: def,
			steps: []step{
				lr(50*time.Second, 5, true, 0),
				lr(70*time.Second, 5, true, 0),
				lr(80*time.Second, 1, false, 30*time.Second),
				lr(110*time.Second, 5, true, 0),
				lr(110*time.Second, 1, false, 20*time.Second),
				lr(130*time.Second, 5, true, 0),
				lr(130*time.Second, 1, false, 40*time.Second),
			},
		},
		{
			name:    "Other: 100 a minute",
			profile: def,
			steps: []step{
				other(0, 100, true, 0),
				other(0, 1, false, time.Minute),
				other(59*time.Second, 3, false, time.Second),
				other(time.Minute, 100, true, 0),
				other(time.Minute, 1, false, time.Minute),
			},
		},
		{
			name:    "Other: the hour window refuses after 1,500, the wait is the larger one",
			profile: def,
			steps: append(fillHour,
				// Both windows full: minute says 30s, hour says 45m30s.
				other(14*time.Minute+30*time.Second, 1, false, 45*time.Minute+30*time.Second),
				// Minute window free, hour window full.
				other(15*time.Minute, 1, false, 45*time.Minute),
				other(time.Hour-time.Nanosecond, 1, false, time.Nanosecond),
				// The first 100 leave the hour: 100 more in this minute.
				other(time.Hour, 100, true, 0),
				// Minute full (wait 1m) and hour full (oldest at +1m: wait 1m).
				other(time.Hour, 1, false, time.Minute),
				other(time.Hour+time.Minute, 100, true, 0),
			),
		},
		{
			name:    "Other: the minute wait is larger than the hour wait",
			profile: def.Override(fixture.Limits{OtherPerMinute: 3, OtherPerHour: 4}),
			steps: []step{
				other(0, 1, true, 0),
				other(59*time.Minute+10*time.Second, 1, true, 0),
				other(59*time.Minute+30*time.Second, 1, true, 0),
				other(59*time.Minute+40*time.Second, 1, true, 0),
				// Minute: oldest +59m10s, wait 20s. Hour: oldest +0, wait 10s.
				other(59*time.Minute+50*time.Second, 1, false, 20*time.Second),
				// Hour free again, minute still full.
				other(time.Hour, 1, false, 10*time.Second),
				other(time.Hour+10*time.Second, 1, true, 0),
				// Hour now holds +59m10s..+60m10s.
				other(time.Hour+20*time.Second, 1, false, 58*time.Minute+50*time.Second),
			},
		},
		{
			name:    "keys are independent",
			profile: def,
			steps: []step{
				lr(0, 10, true, 0),
				lr(0, 1, false, time.Minute),
				{key: keyByApp, class: LiveResponse, n: 10, ok: true},
				{key: keyByApp, class: LiveResponse, ok: false, retry: time.Minute},
				{key: keyByTen, class: LiveResponse, n: 10, ok: true},
				{key: keyByTen, class: LiveResponse, ok: false, retry: time.Minute},
				other(0, 100, true, 0),
				other(0, 1, false, time.Minute),
				{key: keyOther2, class: Other, n: 100, ok: true},
				{key: keyOther2, class: Other, ok: false, retry: time.Minute},
			},
		},
		{
			name:    "a limit of zero is no limit",
			profile: def.Override(fixture.Limits{}).withLR(0),
			steps: []step{
				lr(0, 1000, true, 0),
				other(0, 100, true, 0),
				other(0, 1, false, time.Minute),
			},
		},
		{
			name:    "unlimited",
			profile: mustLookup(t, "unlimited"),
			steps: []step{
				lr(0, 1000, true, 0),
				other(0, 5000, true, 0),
			},
		},
		{
			name:    "unlimited override beats the numbers",
			profile: def.Override(fixture.Limits{Unlimited: true}),
			steps: []step{
				lr(0, 1000, true, 0),
				other(0, 5000, true, 0),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLimiter(tt.profile)
			for i, s := range tt.steps {
				n := max(s.n, 1)
				want := result{Retry: s.retry, OK: s.ok}
				for j := range n {
					retry, ok := l.Allow(s.key, s.class, t0.Add(s.at))
					if diff := cmp.Diff(want, result{retry, ok}); diff != "" {
						t.Fatalf("step %d (%v, call %d of %d): Allow(%v, %v) (-want +got):\n%s",
							i, s.at, j+1, n, s.key, s.class, diff)
					}
				}
			}
		})
	}
}

// withLR returns p with LiveResponsePerMinute set to n (Override cannot set
// zero).
func (p Profile) withLR(n int) Profile {
	p.LiveResponsePerMinute = n
	return p
}

func TestAllowRefusedCallsAreNotCounted(t *testing.T) {
	t.Parallel()
	l := NewLimiter(mustLookup(t, "default"))
	for range 10 {
		if _, ok := l.Allow(keyA, LiveResponse, t0); !ok {
			t.Fatal("call within the limit refused")
		}
	}
	// A client hammering the endpoint for the whole minute.
	for ms := 1; ms < 60_000; ms += 7 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		retry, ok := l.Allow(keyA, LiveResponse, now)
		if ok {
			t.Fatalf("call at +%dms allowed", ms)
		}
		if want := time.Minute - time.Duration(ms)*time.Millisecond; retry != want {
			t.Fatalf("call at +%dms: retryAfter = %v, want %v", ms, retry, want)
		}
	}
	for i := range 10 {
		if retry, ok := l.Allow(keyA, LiveResponse, t0.Add(time.Minute)); !ok {
			t.Fatalf("call %d at +1m refused (retryAfter %v): refused calls were counted", i+1, retry)
		}
	}
}

// TestAllowMatchesModel checks the rings against a direct count of the
// accepted calls in each window, over random call instants.
func TestAllowMatchesModel(t *testing.T) {
	t.Parallel()
	p := mustLookup(t, "default").Override(fixture.Limits{LiveResponsePerMinute: 3, OtherPerMinute: 5, OtherPerHour: 17})
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		l := NewLimiter(p)
		type call struct {
			class Class
			key   Key
		}
		accepted := map[call][]time.Time{}
		now := t0
		for i := range 3000 {
			// Bursts of close calls between longer pauses, and now and
			// then an idle stretch that empties every window.
			gap := 40 * time.Second
			switch {
			case rng.IntN(100) == 0:
				gap = 3 * time.Hour
			case rng.IntN(2) == 0:
				gap = 2 * time.Second
			}
			now = now.Add(time.Duration(rng.Int64N(int64(gap))))
			c := call{Class(rng.IntN(2)), keyA}
			if c.class == Other {
				c.key = keyOther
			}
			limits := []struct {
				n int
				w time.Duration
			}{{p.LiveResponsePerMinute, time.Minute}}
			if c.class == Other {
				limits = []struct {
					n int
					w time.Duration
				}{{p.OtherPerMinute, time.Minute}, {p.OtherPerHour, time.Hour}}
			}
			var want result
			want.OK = true
			for _, lim := range limits {
				var in []time.Time
				for _, a := range accepted[c] {
					if a.After(now.Add(-lim.w)) {
						in = append(in, a)
					}
				}
				if len(in) >= lim.n {
					want.OK = false
					want.Retry = max(want.Retry, in[0].Add(lim.w).Sub(now))
				}
			}
			retry, ok := l.Allow(c.key, c.class, now)
			if got := (result{retry, ok}); got != want {
				t.Fatalf("seed %d, call %d at %v (%v): (-want +got):\n%s", seed, i, now.Sub(t0), c.class, cmp.Diff(want, got))
			}
			if ok {
				accepted[c] = append(accepted[c], now)
			}
			// Forget calls older than the longest window.
			for len(accepted[c]) > 0 && !accepted[c][0].After(now.Add(-time.Hour)) {
				accepted[c] = accepted[c][1:]
			}
		}
	}
}

func TestAllowConcurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		key   Key
		class Class
		want  int64
	}{
		{"LiveResponse", keyA, LiveResponse, 10},
		{"Other", keyOther, Other, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLimiter(mustLookup(t, "default"))
			var accepted, badRetry atomic.Int64
			start := make(chan struct{})
			var wg sync.WaitGroup
			for range 1000 {
				wg.Go(func() {
					<-start
					retry, ok := l.Allow(tt.key, tt.class, t0)
					switch {
					case ok:
						accepted.Add(1)
					case retry != time.Minute:
						badRetry.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if got := accepted.Load(); got != tt.want {
				t.Errorf("1000 concurrent calls: %d accepted, want %d", got, tt.want)
			}
			if n := badRetry.Load(); n != 0 {
				t.Errorf("%d refusals with retryAfter other than 1m", n)
			}
		})
	}
}

func TestAllowConcurrentManyKeys(t *testing.T) {
	t.Parallel()
	l := NewLimiter(mustLookup(t, "default"))
	const keys = 20
	var accepted [keys]atomic.Int64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2000 {
		wg.Go(func() {
			<-start
			k := Key{Tenant: fmt.Sprintf("tenant-%d", g%keys), App: "app", Endpoint: "runliveresponse"}
			// Instants spread over 30s: all inside one window.
			now := t0.Add(time.Duration(g) * 15 * time.Millisecond)
			if _, ok := l.Allow(k, LiveResponse, now); ok {
				accepted[g%keys].Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range accepted {
		if got := accepted[i].Load(); got != 10 {
			t.Errorf("tenant-%d: %d accepted, want 10", i, got)
		}
	}
}

// holder is a ProfileSource whose profile changes, as the emulator's
// state is.
type holder struct{ p atomic.Pointer[Profile] }

func newHolder(p Profile) *holder {
	h := &holder{}
	h.p.Store(&p)
	return h
}

func (h *holder) Profile() Profile { return *h.p.Load() }
func (h *holder) set(p Profile)    { h.p.Store(&p) }

var _ ProfileSource = (*holder)(nil)

func TestLimiterFollowsItsSourceAndReset(t *testing.T) {
	t.Parallel()
	def := mustLookup(t, "default")
	src := newHolder(def)
	l := NewLimiter(src)
	fill := func(n int) int {
		got := 0
		for range n {
			if _, ok := l.Allow(keyA, LiveResponse, t0); ok {
				got++
			}
		}
		return got
	}
	if got := fill(20); got != 10 {
		t.Fatalf("default profile: %d of 20 accepted, want 10", got)
	}
	wider := def.Override(fixture.Limits{LiveResponsePerMinute: 15})
	src.set(wider)
	if diff := cmp.Diff(wider, l.Profile()); diff != "" {
		t.Errorf("Profile() after the source changed (-want +got):\n%s", diff)
	}
	if got := fill(20); got != 0 {
		t.Errorf("before Reset: %d of 20 accepted, want 0 (the window keeps its limits)", got)
	}
	if _, ok := l.Allow(keyByApp, LiveResponse, t0); !ok {
		t.Error("a new key was refused")
	}
	l.Reset()
	if diff := cmp.Diff(wider, l.Profile()); diff != "" {
		t.Errorf("Profile() after Reset (-want +got):\n%s", diff)
	}
	if got := fill(20); got != 15 {
		t.Errorf("after Reset: %d of 20 accepted, want 15", got)
	}
	src.set(mustLookup(t, "unlimited"))
	if got := fill(20); got != 20 {
		t.Errorf("unlimited: %d of 20 accepted, want 20 (no Reset needed)", got)
	}
}

func TestRingStaysSortedOutOfOrder(t *testing.T) {
	t.Parallel()
	// Concurrent callers may record instants slightly out of order; the
	// oldest instant must still be the first to leave the window.
	p := mustLookup(t, "default").Override(fixture.Limits{LiveResponsePerMinute: 3})
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	tests := []struct {
		name    string
		calls   []time.Duration // all accepted
		probe   time.Duration
		wantRet time.Duration
	}{
		{
			name:    "while filling",
			calls:   []time.Duration{0, sec(2), sec(1)},
			probe:   sec(10),
			wantRet: sec(50), // +0 leaves first
		},
		{
			name: "once full",
			// +60 is accepted (the +0 call left) but is older than +100.
			calls:   []time.Duration{0, sec(50), sec(100), sec(60), sec(110)},
			probe:   sec(115),
			wantRet: sec(5), // left: +60, +100, +110
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := NewLimiter(p)
			for _, at := range tt.calls {
				if retry, ok := l.Allow(keyA, LiveResponse, t0.Add(at)); !ok {
					t.Fatalf("call at +%v refused (retryAfter %v)", at, retry)
				}
			}
			retry, ok := l.Allow(keyA, LiveResponse, t0.Add(tt.probe))
			if diff := cmp.Diff(result{tt.wantRet, false}, result{retry, ok}); diff != "" {
				t.Errorf("call at +%v (-want +got):\n%s", tt.probe, diff)
			}
		})
	}
}

func TestClassString(t *testing.T) {
	t.Parallel()
	got := []string{LiveResponse.String(), Other.String(), Class(7).String()}
	want := []string{"LiveResponse", "Other", "Class(unknown)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Class.String (-want +got):\n%s", diff)
	}
}

func BenchmarkAllowParallel(b *testing.B) {
	def, err := Lookup("default")
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]Key, 1024)
	for i := range keys {
		keys[i] = Key{Tenant: fmt.Sprintf("tenant-%d", i%16), App: fmt.Sprintf("app-%d", i/16), Endpoint: "machineactions"}
	}
	run := func(b *testing.B, p Profile, pick func(i int) Key) {
		l := NewLimiter(p)
		var clock atomic.Int64 // emulated nanoseconds since t0, shared
		var seq atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1)) * 7919
			for pb.Next() {
				now := t0.Add(time.Duration(clock.Add(int64(time.Millisecond))))
				l.Allow(pick(i), Other, now)
				i++
			}
		})
	}
	b.Run("ManyKeys", func(b *testing.B) {
		run(b, def, func(i int) Key { return keys[i%len(keys)] })
	})
	b.Run("OneKey", func(b *testing.B) {
		run(b, def, func(int) Key { return keys[0] })
	})
	b.Run("Unlimited", func(b *testing.B) {
		run(b, mustLookup(b, "unlimited"), func(i int) Key { return keys[i%len(keys)] })
	})
}

func TestLimiterUsage(t *testing.T) {
	l := NewLimiter(mustLookup(t, "default"))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := Key{Tenant: "t", App: "a", Endpoint: "runliveresponse"}
	for i := range 3 {
		if _, ok := l.Allow(k, LiveResponse, t0.Add(time.Duration(i)*10*time.Second)); !ok {
			t.Fatalf("call %d refused", i)
		}
	}
	u := l.Usage(t0.Add(25 * time.Second))
	if len(u) != 1 {
		t.Fatalf("Usage = %+v, want one window", u)
	}
	want := Usage{Key: k, Class: LiveResponse, Window: time.Minute, Limit: 10, Used: 3, FreesAt: t0.Add(time.Minute)}
	if u[0] != want {
		t.Errorf("Usage = %+v, want %+v", u[0], want)
	}
	// 65 s in, the first call has left the window; 2 minutes in, all have.
	if u := l.Usage(t0.Add(65 * time.Second)); len(u) != 1 || u[0].Used != 2 || !u[0].FreesAt.Equal(t0.Add(70*time.Second)) {
		t.Errorf("Usage at 65 s = %+v, want 2 used, freeing at 70 s", u)
	}
	if u := l.Usage(t0.Add(2 * time.Minute)); len(u) != 0 {
		t.Errorf("Usage at 2 min = %+v, want none", u)
	}
}

// A ring whose calls have all left its window starts over in the space it
// has: its size follows the calls in a window, not every call the key
// ever made.
func TestRingStartsOverWhenIdle(t *testing.T) {
	t.Parallel()
	l := NewLimiter(mustLookup(t, "default"))
	now := t0
	for day := range 5 {
		for range 50 {
			now = now.Add(10 * time.Second)
			if _, ok := l.Allow(keyOther, Other, now); !ok {
				t.Fatalf("day %d: refused", day)
			}
		}
		now = now.Add(24 * time.Hour)
	}
	v, ok := l.windows.Load().Load(windowKey{Key: keyOther, class: Other})
	if !ok {
		t.Fatal("no window")
	}
	w := v.(*window)
	for _, r := range w.rings {
		if len(r.buf) > 50 || cap(r.buf) > 128 {
			t.Errorf("the %v ring holds %d instants (capacity %d) after five days of 50 calls; want at most 50", time.Duration(r.width), len(r.buf), cap(r.buf))
		}
	}
}

// ForgetTenant drops every window of a tenant, whatever the case of its
// id, and nothing of the others.
func TestLimiterForgetTenant(t *testing.T) {
	t.Parallel()
	p := mustLookup(t, "default").Override(fixture.Limits{LiveResponsePerMinute: 2})
	l := NewLimiter(p)
	for _, k := range []Key{keyA, keyByApp, keyByTen} {
		for range 2 {
			l.Allow(k, LiveResponse, t0)
		}
	}
	l.Allow(keyOther, Other, t0)
	l.ForgetTenant("TENANT-A")
	var left []Key
	for _, u := range l.Usage(t0) {
		left = append(left, u.Key)
	}
	if diff := cmp.Diff([]Key{keyByTen}, left); diff != "" {
		t.Errorf("keys with calls after ForgetTenant (-want +got):\n%s", diff)
	}
	if _, ok := l.Allow(keyA, LiveResponse, t0); !ok {
		t.Error("a forgotten key is still limited")
	}
	if _, ok := l.Allow(keyByTen, LiveResponse, t0); ok {
		t.Error("the other tenant's key was forgotten too")
	}
}
