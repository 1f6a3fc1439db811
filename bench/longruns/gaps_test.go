package main

import (
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// yielder works for d in slices of 20 µs, yielding between them, as a
// loop of short callbacks does: no run of its is long.
//
//go:noinline
func yielder(d time.Duration, done chan<- struct{}) {
	for end := time.Now().Add(d); time.Now().Before(end); {
		spin(20 * time.Microsecond)
		runtime.Gosched()
	}
	done <- struct{}{}
}

// TestGapsFindTheYielder traces, on one processor, a client and a server
// exchanging bytes over loopback TCP while a goroutine yields in a loop
// for 60 ms, and expects a network gap of several milliseconds in which
// that goroutine held the processor most, though none of its runs is
// long: the scheduler takes it from the global run queue before it
// polls the network.
func TestGapsFindTheYielder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // echoes a byte at a time
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
	defer conn.Close()

	stop := make(chan struct{})
	pinged := make(chan error, 1)
	path := traceOf(t, func() {
		go func() {
			b := []byte{0}
			for {
				select {
				case <-stop:
					pinged <- nil
					return
				default:
				}
				if _, err := conn.Write(b); err != nil {
					pinged <- err
					return
				}
				if _, err := io.ReadFull(conn, b); err != nil {
					pinged <- err
					return
				}
			}
		}()
		time.Sleep(20 * time.Millisecond) // the exchange going
		done := make(chan struct{})
		go yielder(60*time.Millisecond, done)
		<-done
		time.Sleep(20 * time.Millisecond)
		close(stop)
	})
	if err := <-pinged; err != nil {
		t.Fatal(err)
	}

	tr, err := readTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.wakes) < 100 {
		t.Fatalf("%d network wakes, want the exchange's many", len(tr.wakes))
	}
	var longestRun time.Duration
	for _, r := range tr.runs {
		if strings.HasSuffix(r.end, "main.yielder") {
			longestRun = max(longestRun, r.dur)
		}
	}
	found := false
	for _, g := range gaps(tr, 3*time.Millisecond) {
		if y := g.held["github.com/mdelive/mde-emulator/bench/longruns.yielder"] + g.held["main.yielder"]; 2*y > g.to.Sub(g.from) {
			found = true
		}
	}
	if !found {
		t.Errorf("no network gap over 3 ms held mostly by the yielder (its longest run %v)", longestRun)
	}
}

func TestRoot(t *testing.T) {
	for in, want := range map[string]string{
		"a < b < c": "c",
		"a":         "a",
		"":          "(no stack)",
	} {
		if got := root(in); got != want {
			t.Errorf("root(%q) = %q, want %q", in, got, want)
		}
	}
}
