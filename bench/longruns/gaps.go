package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// netGap is a stretch of a trace in which no goroutine parked on a
// network read was woken: a request that arrived in it waited for its
// end to be read. held is how long goroutines ran in it, by the function
// each started in (root).
type netGap struct {
	from, to trace.Time
	held     map[string]time.Duration
}

// gaps returns tr's network gaps longer than over, in the order they
// came, and what ran in each. The stretches before the first wake and
// after the last are not gaps: the trace does not say when the network
// was polled then.
func gaps(tr traced, over time.Duration) []netGap {
	wakes := slices.Clone(tr.wakes)
	slices.Sort(wakes)
	runs := slices.Clone(tr.runs)
	slices.SortFunc(runs, func(a, b run) int { return cmp.Compare(a.from, b.from) })
	var longest time.Duration
	for _, r := range runs {
		longest = max(longest, r.dur)
	}
	var out []netGap
	for i := 1; i < len(wakes); i++ {
		from, to := wakes[i-1], wakes[i]
		if to.Sub(from) <= over {
			continue
		}
		g := netGap{from: from, to: to, held: map[string]time.Duration{}}
		// No run that began before from-longest reaches into the gap.
		k, _ := slices.BinarySearchFunc(runs, trace.Time(int64(from)-int64(longest)), func(r run, t trace.Time) int { return cmp.Compare(r.from, t) })
		for ; k < len(runs) && runs[k].from < to; k++ {
			if s, e := max(runs[k].from, from), min(runs[k].to, to); e > s {
				g.held[root(runs[k].end)] += e.Sub(s)
			}
		}
		out = append(out, g)
	}
	return out
}

// root returns the outermost function of a frames string: the one its
// goroutine started in.
func root(frames string) string {
	if frames == "" {
		return "(no stack)"
	}
	if i := strings.LastIndex(frames, " < "); i >= 0 {
		return frames[i+len(" < "):]
	}
	return frames
}

// printGaps prints tr's network gaps over over: how many, how long in
// all, what held the processor in them, and the top longest one by one.
func printGaps(tr traced, over time.Duration, top int) {
	gs := gaps(tr, over)
	var total time.Duration
	held := map[string]time.Duration{}
	for _, g := range gs {
		total += g.to.Sub(g.from)
		for k, d := range g.held {
			held[k] += d
		}
	}
	fmt.Printf("%d network wakes; %d gaps over %v, %.2f ms in all; in them, goroutines ran (by the function they started in):\n",
		len(tr.wakes), len(gs), over, ms(total))
	for _, k := range byTime(held) {
		fmt.Printf("%9.2f ms  %s\n", ms(held[k]), k)
	}
	if len(gs) == 0 {
		return
	}
	fmt.Println("longest gaps:")
	start := slices.Min(tr.wakes)
	slices.SortFunc(gs, func(a, b netGap) int { return cmp.Compare(b.to.Sub(b.from), a.to.Sub(a.from)) })
	for _, g := range gs[:min(top, len(gs))] {
		fmt.Printf("%9.2f ms at %.3f s:", ms(g.to.Sub(g.from)), g.from.Sub(start).Seconds())
		for _, k := range byTime(g.held) {
			fmt.Printf(" %s %.2f ms;", k, ms(g.held[k]))
		}
		fmt.Println()
	}
}

// byTime returns the keys of held, the longest held first.
func byTime(held map[string]time.Duration) []string {
	keys := slices.Collect(maps.Keys(held))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(held[b], held[a]), cmp.Compare(a, b)) })
	return keys
}
