package pollnudge

import (
	"io"
	"net"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// spin works for d without yielding.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// yield works for d in slices of 20 µs, yielding between them, as the
// runtime's sweeper and a loop of short callbacks do: none of its runs
// is long, and each yield puts it on the global run queue.
func yield(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		spin(20 * time.Microsecond)
		runtime.Gosched()
	}
}

// echoPair returns a loopback TCP connection whose peer echoes what it
// reads, and a count of the round trips a goroutine makes over it, a byte
// at a time, until the test ends.
func echoPair(t *testing.T) *atomic.Int64 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var trips atomic.Int64
	go func() {
		b := []byte{0}
		for {
			if _, err := conn.Write(b); err != nil {
				return
			}
			if _, err := io.ReadFull(conn, b); err != nil {
				return
			}
			trips.Add(1)
		}
	}()
	return &trips
}

// tripsWhileYielding counts the round trips made while a goroutine yields
// in a loop for d, with nudge (if not nil) running beside it.
func tripsWhileYielding(trips *atomic.Int64, d time.Duration, n *Nudger) int64 {
	var yielding atomic.Bool
	yielding.Store(true)
	done := make(chan struct{})
	if n != nil {
		go func() {
			defer close(done)
			n.While(yielding.Load)
		}()
	} else {
		close(done)
	}
	from := trips.Load()
	yield(d)
	got := trips.Load() - from
	yielding.Store(false)
	<-done
	return got
}

// TestNudgeReadsTheNetworkBesideAYielder runs, on one processor, a
// loopback exchange beside a goroutine that yields in a loop: alone, the
// exchange moves only when sysmon polls the network (every 10 ms, two
// polls a round trip); with a Nudger it moves each period, because the
// Nudger sees the network unpolled and nudges. It compares the two
// rather than timing the machine.
func TestNudgeReadsTheNetworkBesideAYielder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	trips := echoPair(t)
	for start := time.Now(); trips.Load() < 100; { // the exchange going
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%d round trips in 5 s", trips.Load())
		}
		time.Sleep(time.Millisecond)
	}
	n, err := New(DefaultPeriod)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()

	const d = 200 * time.Millisecond
	alone := tripsWhileYielding(trips, d, nil)
	nudged := tripsWhileYielding(trips, d, n)
	checks, nudges := n.Stats()
	t.Logf("in %v beside a yielder: %d round trips alone, %d with a Nudger (%d checks, %d nudges)", d, alone, nudged, checks, nudges)
	if nudges == 0 {
		t.Errorf("the Nudger never nudged (%d checks)", checks)
	}
	if alone > int64(d/(5*time.Millisecond)) {
		t.Errorf("%d round trips in %v beside a yielder without a Nudger: the scheduler polls the network more than sysmon does, and a Nudger is not needed", alone, d)
	}
	if nudged < 3*alone+10 {
		t.Errorf("%d round trips with a Nudger against %d without: want at least three times as many", nudged, alone)
	}
}

// TestWhileStops: While returns once busy reports false, and when the
// Nudger is closed; an idle process, with nothing to wait for, is not
// nudged.
func TestWhileStops(t *testing.T) {
	n, err := New(DefaultPeriod)
	if err != nil {
		t.Fatal(err)
	}
	left := 20
	n.While(func() bool { left--; return left >= 0 })
	checks, nudges := n.Stats()
	if checks != 20 {
		t.Errorf("%d checks, want 20", checks)
	}
	t.Logf("%d nudges in 20 checks of an idle process", nudges)

	done := make(chan struct{})
	go func() {
		defer close(done)
		n.While(func() bool { return true })
	}()
	time.Sleep(10 * DefaultPeriod)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("While still running 5 s after Close")
	}
}

// TestAfterCollectionsRunsOnlyWhileSweeping: after a collection the
// Nudger checks the network until the sweep is over, then stops until the
// next collection, and not at all once stopped.
func TestAfterCollectionsRunsOnlyWhileSweeping(t *testing.T) {
	n, err := New(DefaultPeriod)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	stop := n.AfterCollections()
	defer stop()

	// settled waits until the checks stop growing and returns their count.
	settled := func(what string) uint64 {
		t.Helper()
		last, _ := n.Stats()
		for start := time.Now(); ; {
			time.Sleep(20 * DefaultPeriod)
			c, _ := n.Stats()
			if c == last {
				return c
			}
			last = c
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: still checking after 10 s (%d checks)", what, c)
			}
		}
	}
	// collected runs a collection and waits for the checks it starts.
	collected := func(what string, from uint64) {
		t.Helper()
		runtime.GC()
		for start := time.Now(); ; time.Sleep(DefaultPeriod) {
			if c, _ := n.Stats(); c > from {
				return
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("%s: no check in 10 s after a collection", what)
			}
		}
	}

	base := settled("before any collection")
	collected("first collection", base)
	first := settled("after the first collection")
	time.Sleep(100 * DefaultPeriod)
	if c, _ := n.Stats(); c != first {
		t.Errorf("%d checks between two collections, want none", c-first)
	}
	collected("second collection", first)
	second := settled("after the second collection")
	t.Logf("checks: %d after the first collection, %d after the second", first-base, second-first)

	stop()
	runtime.GC()
	time.Sleep(100 * DefaultPeriod)
	if c, _ := n.Stats(); c != second {
		t.Errorf("%d checks after a collection once stopped, want none", c-second)
	}
}

// node is a small object with a pointer, as most of the emulator's are.
type node struct {
	next *node
	_    [2]uint64
}

// metric returns the runtime metric named.
func metric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// frees returns the objects the collector has freed so far.
func frees() uint64 { return metric("/gc/heap/frees:objects") }

// TestWatchCollectionsTellsBeforeTheSweepEnds: a collection that finds
// two million dead objects is told while its sweep still has most of them
// to free, not once it is over (as a cleanup would be).
func TestWatchCollectionsTellsBeforeTheSweepEnds(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var stopped atomic.Bool
	defer stopped.Store(true)
	swept := make(chan struct{}, 1)
	watchCollections(&stopped, swept)

	keep := make([]*node, 2_000_000)
	for i := range keep {
		keep[i] = &node{}
	}
	runtime.GC() // they are live: the sweep frees none of them
	runtime.KeepAlive(keep)
	cycles := metric("/gc/cycles/total:gc-cycles")

	// Allocate until the next collection is told: the sweep goes on as the
	// processor yields, in the background sweeper, and as this allocates.
	var sink []byte
	before := frees()
	deadline := time.Now().Add(30 * time.Second)
	for told := false; !told; {
		select {
		case <-swept: // a tell of a collection before the next is late
			told = metric("/gc/cycles/total:gc-cycles") > cycles
		default:
			if time.Now().After(deadline) {
				t.Fatal("no collection told in 30 s")
			}
			sink = make([]byte, 64<<10)
			runtime.Gosched()
		}
	}
	_ = sink
	atTell := frees()
	runtime.GC() // finishes that sweep, and sweeps once more
	after := frees()
	t.Logf("freed %d objects before the tell, %d after it", atTell-before, after-atTell)
	if after-atTell < 1_000_000 {
		t.Errorf("told after %d of the sweep's frees, with only %d left: the sweep was nearly over", atTell-before, after-atTell)
	}
}
