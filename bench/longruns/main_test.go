package main

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

// spin holds its processor for d without parking.
//
//go:noinline
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// TestReadFindsTheLongRun traces a goroutine that holds the one processor
// for 30 ms among others that park at once, and expects read to find
// that run, with spin on the stack it left from.
func TestReadFindsTheLongRun(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	path := traceOf(t, func() {
		done := make(chan struct{})
		for range 20 {
			go func() { done <- struct{}{} }()
		}
		for range 20 {
			<-done
		}
		go func() {
			spin(30 * time.Millisecond)
			runtime.Gosched() // leaves the processor from spin's caller
			done <- struct{}{}
		}()
		<-done
	})

	runs, total, err := read(path)
	if err != nil {
		t.Fatal(err)
	}
	var longest run
	for _, r := range runs {
		if r.dur > longest.dur {
			longest = r
		}
	}
	// Preemption may cut the spin at 10 ms (sysmon's slice): the run
	// found is at least that, and ended in the spinning goroutine.
	if longest.dur < 10*time.Millisecond {
		t.Errorf("longest run %v, want at least 10ms", longest.dur)
	}
	if !strings.Contains(longest.end, "TestReadFindsTheLongRun") {
		t.Errorf("longest run ended at %q, want in the spinning goroutine", longest.end)
	}
	if total < longest.dur {
		t.Errorf("total %v under the longest run %v", total, longest.dur)
	}
}

func TestShort(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"a < b < c < d", 2, "a < b"},
		{"a < b", 4, "a < b"},
		{"", 3, "(no stack)"},
	} {
		if got := short(c.in, c.n); got != c.want {
			t.Errorf("short(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// traceOf runs f under runtime/trace and returns the trace's file.
func traceOf(t *testing.T, f func()) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trace.out")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(out); err != nil {
		t.Fatal(err)
	}
	f()
	trace.Stop()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
