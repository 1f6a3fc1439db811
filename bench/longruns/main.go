// Command longruns reads a Go runtime trace (runtime/trace, or
// /debug/pprof/trace of an emulator started with --pprof) and prints the
// longest uninterrupted runs of goroutines: how long each held a
// processor before it parked, yielded or was preempted, and the stack it
// left from. On a server pinned to one processor, a run of 15 ms is 15 ms
// that every request waiting for the processor waits too: the latency
// tail (docs/performance.md, "The fractional mark worker").
//
// With -gaps D it also prints the stretches of over D in which no
// goroutine parked on a network read was woken, and what held the
// processor in them, by the function each goroutine started in. On one
// processor the Go scheduler polls the network only when it has nothing
// else to run: a goroutine that yields (runtime.Gosched, or the
// runtime's background sweeper) goes back on the global run queue, which
// comes first, so a long loop of short runs delays every new request as
// much as one long run, and no run is long (docs/performance.md, "The
// network poller").
//
//	go run ./bench/longruns [-top N] [-over D] [-gaps D] TRACE
//
// It reads the trace with golang.org/x/exp/trace, the Go team's reader of
// the runtime's trace format (the one cmd/trace uses, published).
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// run is one stretch of a goroutine on a processor.
type run struct {
	g        trace.GoID
	from, to trace.Time
	dur      time.Duration
	end      string // the stack it left the processor from, innermost first
}

func main() {
	top := flag.Int("top", 20, "how many of the longest runs to print")
	over := flag.Duration("over", 2*time.Millisecond, "sum the runs longer than this by the stack that ended them")
	gapsOver := flag.Duration("gaps", 0, "print the network gaps longer than this (0: none)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: longruns [-top N] [-over D] [-gaps D] TRACE")
		os.Exit(2)
	}
	tr, err := readTrace(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "longruns:", err)
		os.Exit(1)
	}
	if *gapsOver > 0 {
		printGaps(tr, *gapsOver, *top)
		fmt.Println()
	}
	runs, total := tr.runs, tr.total
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(b.dur, a.dur) })
	fmt.Printf("%d runs, %v on a processor in all\n\nlongest:\n", len(runs), total)
	for _, r := range runs[:min(*top, len(runs))] {
		fmt.Printf("%9.2f ms  g%-8d %s\n", ms(r.dur), r.g, short(r.end, 4))
	}
	byEnd := map[string]time.Duration{}
	count := map[string]int{}
	for _, r := range runs {
		if r.dur > *over {
			k := short(r.end, 3)
			byEnd[k] += r.dur
			count[k]++
		}
	}
	keys := make([]string, 0, len(byEnd))
	for k := range byEnd {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Compare(byEnd[b], byEnd[a]) })
	fmt.Printf("\nruns over %v, by where they ended:\n", *over)
	for _, k := range keys {
		fmt.Printf("%9.2f ms in %5d runs  %s\n", ms(byEnd[k]), count[k], k)
	}
}

// traced is what longruns reads of a trace: every completed run and
// their sum, and the instants goroutines parked on a network read were
// woken.
type traced struct {
	runs  []run
	total time.Duration
	wakes []trace.Time
}

// read returns every completed run of the trace at path and their sum.
func read(path string) ([]run, time.Duration, error) {
	tr, err := readTrace(path)
	return tr.runs, tr.total, err
}

// readTrace reads the trace at path.
func readTrace(path string) (traced, error) {
	f, err := os.Open(path)
	if err != nil {
		return traced{}, err
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		return traced{}, err
	}
	var tr traced
	began := map[trace.GoID]trace.Time{}
	onNet := map[trace.GoID]bool{} // parked on a network read
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			return tr, nil
		}
		if err != nil {
			return traced{}, err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		switch {
		case to == trace.GoRunning:
			began[g] = ev.Time()
		case from == trace.GoRunning:
			end := frames(ev.Stack())
			if t, ok := began[g]; ok {
				d := ev.Time().Sub(t)
				tr.total += d
				tr.runs = append(tr.runs, run{g: g, from: t, to: ev.Time(), dur: d, end: end})
				delete(began, g)
			}
			onNet[g] = to == trace.GoWaiting && strings.Contains(end, "internal/poll.(*FD).Read")
		case from == trace.GoWaiting && to == trace.GoRunnable && onNet[g]:
			tr.wakes = append(tr.wakes, ev.Time())
			onNet[g] = false
		}
	}
}

// frames returns the functions of s, innermost first, joined by " < ".
func frames(s trace.Stack) string {
	var b strings.Builder
	for f := range s.Frames() {
		if b.Len() > 0 {
			b.WriteString(" < ")
		}
		b.WriteString(f.Func)
	}
	return b.String()
}

// short returns the first n functions of a frames string.
func short(s string, n int) string {
	parts := strings.SplitN(s, " < ", n+1)
	if len(parts) > n {
		parts = parts[:n]
	}
	if len(parts) == 1 && parts[0] == "" {
		return "(no stack)"
	}
	return strings.Join(parts, " < ")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
