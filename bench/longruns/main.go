// Command longruns reads a Go runtime trace (runtime/trace, or
// /debug/pprof/trace of an emulator started with --pprof) and prints the
// longest uninterrupted runs of goroutines: how long each held a
// processor before it parked, yielded or was preempted, and the stack it
// left from. On a server pinned to one processor, a run of 15 ms is 15 ms
// that every request waiting for the processor waits too: the latency
// tail (docs/performance.md, "The fractional mark worker").
//
//	go run ./bench/longruns [-top N] [-over D] TRACE
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
	g   trace.GoID
	dur time.Duration
	end string // the stack it left the processor from, innermost first
}

func main() {
	top := flag.Int("top", 20, "how many of the longest runs to print")
	over := flag.Duration("over", 2*time.Millisecond, "sum the runs longer than this by the stack that ended them")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: longruns [-top N] [-over D] TRACE")
		os.Exit(2)
	}
	runs, total, err := read(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "longruns:", err)
		os.Exit(1)
	}
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

// read returns every completed run of the trace at path and their sum.
func read(path string) ([]run, time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		return nil, 0, err
	}
	began := map[trace.GoID]trace.Time{}
	var runs []run
	var total time.Duration
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			return runs, total, nil
		}
		if err != nil {
			return nil, 0, err
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
			if t, ok := began[g]; ok {
				d := ev.Time().Sub(t)
				total += d
				runs = append(runs, run{g: g, dur: d, end: frames(ev.Stack())})
				delete(began, g)
			}
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
