package clock

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// resetter is a Firer that records nothing: its timer is only rescheduled.
type resetter struct{}

func (resetter) Fire(time.Time, uint64) {}

// TestStaleEntriesAreBounded stops timers and replaces schedulings far in
// the future, as cancelled actions queued for an offline machine do: the
// heap keeps at most twice its live entries and staleSlack more, instead
// of every entry until its due instant comes.
func TestStaleEntriesAreBounded(t *testing.T) {
	t0 := time.Date(2024, 3, 18, 21, 0, 0, 0, time.UTC)
	c := New(t0, Manual, 1)
	defer c.Close()
	far := t0.Add(72 * time.Hour)

	for i := range 100_000 {
		tm := c.AtFunc(far.Add(time.Duration(i)), func(time.Time) {})
		if i%100 != 0 {
			tm.Stop()
		}
		checkBound(t, c)
	}
	var r Timer
	c.InitTimer(&r, resetter{})
	for i := range 100_000 {
		r.Reset(far.Add(time.Duration(i)))
		checkBound(t, c)
	}
	if c.Pending() != 1001 {
		t.Fatalf("Pending() = %d, want 1,001", c.Pending())
	}
}

func checkBound(t *testing.T, c *Clock) {
	t.Helper()
	c.mu.Lock()
	n, live := len(c.timers), c.live
	c.mu.Unlock()
	if n > 2*live+staleSlack {
		t.Fatalf("the heap holds %d entries for %d live timers", n, live)
	}
}

// TestCompactionKeepsOrder schedules timers at random instants, stops most
// of them (compacting the heap many times over), and checks that the
// others fire exactly, in due order, ties in scheduling order.
func TestCompactionKeepsOrder(t *testing.T) {
	t0 := time.Date(2024, 3, 18, 21, 0, 0, 0, time.UTC)
	c := New(t0, Manual, 1)
	defer c.Close()
	rng := rand.New(rand.NewPCG(3, 9))
	type want struct {
		due time.Time
		id  int
	}
	var wanted []want
	var fired []int
	for id := range 50_000 {
		due := t0.Add(time.Duration(rng.IntN(3600)) * time.Second)
		tm := c.AtFunc(due, func(time.Time) { fired = append(fired, id) })
		if rng.IntN(8) != 0 {
			tm.Stop()
			continue
		}
		wanted = append(wanted, want{due, id})
	}
	slices.SortStableFunc(wanted, func(a, b want) int { return a.due.Compare(b.due) })
	c.Advance(time.Hour)
	if len(fired) != len(wanted) {
		t.Fatalf("%d timers fired, want %d", len(fired), len(wanted))
	}
	for i, w := range wanted {
		if fired[i] != w.id {
			t.Fatalf("firing %d was timer %d, want %d (due %v)", i, fired[i], w.id, w.due)
		}
	}
}
