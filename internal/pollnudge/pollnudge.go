// Package pollnudge lets a busy processor read the network while the
// runtime's background sweeper runs after a collection.
//
// The Go scheduler reads the network (a non-blocking poll of epoll) when
// a processor finds nothing else to run, when sysmon finds it unpolled
// for 10 ms, and at the end of every stop of the world. It takes a
// goroutine from the global run queue before it polls: a goroutine that
// yields in a loop (runtime.Gosched) goes there, and so does the runtime's
// background sweeper each time it yields after a batch of spans. On one
// processor under load, then, a connection that becomes readable while
// the sweeper runs (tens of milliseconds after each collection of a large
// heap) waits for sysmon, up to 10 ms, however short each of the
// sweeper's runs is: that wait was the emulator's latency tail
// (docs/performance.md, "The network poller", "Nudging the network
// poller" and "The network poller nudged"; golang/go#56060).
//
// A Nudger notices that the network has not been polled for a period and
// then stops the world for a moment (runtime.ReadMemStats, ~15 µs on one
// processor with the emulator's heap), whose end polls the network. It
// notices with a pipe: a goroutine parked on the pipe's read end is woken
// only by a poll of the network, so a byte written to the pipe and not
// read within the period means the network has not been polled for that
// long. Nudging only then, rather than on every period, matters: a poll
// each period under a closed-loop load hands the processor as many
// requests as it serves in a period, its run queue never empties, and
// what waits on the global run queue (the sweeper itself) starves.
//
// A Nudger runs only while it is told the process is busy (While), or
// from each collection until its sweep is over (AfterCollections): an
// idle process is not woken each period.
//
// The Nudger's times are the machine's own (time.NewTimer), not the
// emulator's clock: they measure the scheduler, which runs in wall time
// whatever the emulated time does.
package pollnudge

import (
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPeriod is the longest the network may go unpolled, while a
// Nudger runs, before it nudges: a tenth of sysmon's 10 ms, and a little
// less than a 64-connection load's batch takes to serve on the
// benchmark's machine, so that a poll the scheduler makes of its own
// accord between two batches makes a nudge needless.
const DefaultPeriod = time.Millisecond

// sweepQuietChecks is how many checks in a row must see no object freed
// before AfterCollections takes the sweep for over.
const sweepQuietChecks = 3

// Nudger polls the network, by a short stop of the world, when a period
// has gone by without a poll. Its methods may be called from any
// goroutine; While runs one at a time.
type Nudger struct {
	period time.Duration
	r, w   *os.File
	polled chan struct{} // a word from the reader each time it read; closed when it stops

	run     sync.Mutex // held by While
	mem     runtime.MemStats
	checks  atomic.Uint64
	nudges  atomic.Uint64
	closing sync.Once
}

// New returns a Nudger that nudges when the network has gone unpolled for
// period. Close releases its pipe and reader.
func New(period time.Duration) (*Nudger, error) {
	r, w, err := os.Pipe() // both ends non-blocking: the reader parks in the network poller
	if err != nil {
		return nil, err
	}
	n := &Nudger{period: period, r: r, w: w, polled: make(chan struct{}, 1)}
	go n.read()
	return n, nil
}

// read tells the Nudger each time a poll of the network wakes it with
// bytes to read, until the pipe is closed.
func (n *Nudger) read() {
	defer close(n.polled)
	var b [16]byte
	for {
		if _, err := n.r.Read(b[:]); err != nil {
			return
		}
		select {
		case n.polled <- struct{}{}:
		default:
		}
	}
}

// Close stops the Nudger's reader; a While running returns.
func (n *Nudger) Close() error {
	var err error
	n.closing.Do(func() {
		err = n.w.Close()
		if rerr := n.r.Close(); err == nil {
			err = rerr
		}
	})
	return err
}

// Stats returns how many periods the Nudger has checked and how many of
// them ended in a nudge.
func (n *Nudger) Stats() (checks, nudges uint64) {
	return n.checks.Load(), n.nudges.Load()
}

// While checks the network is polled once a period, nudging when it is
// not, for as long as busy reports true (asked before each period) and
// the Nudger is open.
func (n *Nudger) While(busy func() bool) {
	n.run.Lock()
	defer n.run.Unlock()
	period := time.NewTimer(n.period)
	defer period.Stop()
	one := []byte{0}
	for busy() {
		if _, err := n.w.Write(one); err != nil {
			return
		}
		period.Reset(n.period)
		n.checks.Add(1)
		select {
		case _, ok := <-n.polled:
			if !ok {
				return
			}
			<-period.C // one check a period
		case <-period.C:
			n.nudge()
			if _, ok := <-n.polled; !ok { // the nudge's poll wakes the reader
				return
			}
		}
	}
}

// nudge stops the world for a moment: the world's start polls the
// network.
func (n *Nudger) nudge() {
	runtime.ReadMemStats(&n.mem)
	n.nudges.Add(1)
}

// AfterCollections runs While from the end of each collection until its
// sweep is over (no object freed over sweepQuietChecks periods), until
// stop is called. Between a sweep and the next collection the Nudger does
// not run at all.
func (n *Nudger) AfterCollections() (stop func()) {
	done := make(chan struct{})
	swept := make(chan struct{}, 1)
	var stopped atomic.Bool
	watchCollections(&stopped, swept)
	go func() {
		frees := []metrics.Sample{{Name: "/gc/heap/frees:objects"}}
		for {
			select {
			case <-done:
				return
			case <-swept:
			}
			var last uint64
			quiet := 0
			n.While(func() bool {
				select {
				case <-done:
					return false
				default:
				}
				metrics.Read(frees)
				if f := frees[0].Value.Uint64(); f != last {
					last, quiet = f, 0
				} else {
					quiet++
				}
				return quiet < sweepQuietChecks
			})
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			stopped.Store(true)
			close(done)
		})
	}
}

// sentinel is an object nothing keeps: its finalizer runs once a
// collection has found it unreachable, as that collection's sweep frees
// it. It is one pointer: not a tiny allocation (those hold no pointers),
// whose finalizer may never run, and of the smallest size class with
// pointers, whose spans the runtime sweeps before any other class's
// (spans are swept in the order of their class), so that the finalizer
// is queued as the sweep begins, not as it ends.
type sentinel struct {
	_ *byte
}

// watchCollections tells swept, without blocking, each time a collection
// has ended and its sweep begun, until stopped.
//
// It is told by a finalizer, not a cleanup (runtime.AddCleanup): the
// runtime hands a sweep's cleanups to their goroutines only once the
// whole sweep is over, while the scheduler wakes the finalizer's
// goroutine as soon as the sweeper queues one.
func watchCollections(stopped *atomic.Bool, swept chan<- struct{}) {
	var arm func()
	arm = func() {
		runtime.SetFinalizer(new(sentinel), func(*sentinel) {
			if stopped.Load() {
				return
			}
			select {
			case swept <- struct{}{}:
			default:
			}
			arm()
		})
	}
	arm()
}
