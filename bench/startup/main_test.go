package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// referenceBin is bench/reference built once for the tests of the
// package (in referenceDir, removed by TestMain).
var (
	referenceOnce sync.Once
	referenceDir  string
	referenceBin  string
	referenceErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if referenceDir != "" {
		os.RemoveAll(referenceDir)
	}
	os.Exit(code)
}

// buildReference builds bench/reference, once, and returns the binary.
func buildReference(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build bench/reference")
	}
	referenceOnce.Do(func() {
		if referenceDir, referenceErr = os.MkdirTemp("", "bench-reference"); referenceErr != nil {
			return
		}
		referenceBin = filepath.Join(referenceDir, "reference")
		if out, err := exec.Command(gobin, "build", "-o", referenceBin, "../reference").CombinedOutput(); err != nil {
			referenceErr = fmt.Errorf("go build ../reference: %v\n%s", err, out)
		}
	})
	if referenceErr != nil {
		t.Fatal(referenceErr)
	}
	return referenceBin
}

// freeAddr returns a loopback address no one listens on (now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestMeasureReference builds the reference server and measures its
// start-up: a token, then a 201, with the token before the total.
func TestMeasureReference(t *testing.T) {
	bin := buildReference(t)
	addr := freeAddr(t)
	r, err := measure(launch{cmd: []string{bin, "--addr", addr}, cpu: -1}, addr, "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r.token <= 0 || r.total < r.token {
		t.Errorf("token after %v, total %v: want 0 < token <= total", r.token, r.total)
	}
}

// TestMeasureNot201 fails a start-up whose first runliveresponse is not
// answered 201 (here the reference's 404 for the unknown machine).
func TestMeasureNot201(t *testing.T) {
	bin := buildReference(t)
	addr := freeAddr(t)
	_, err := measure(launch{cmd: []string{bin, "--addr", addr}, cpu: -1}, addr, "0000000000000000000000000000000000000000", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("measure with an unknown machine = %v, want an error naming the 404", err)
	}
}

// TestMeasureExited fails at once when the server exits before answering.
func TestMeasureExited(t *testing.T) {
	bin := buildReference(t)
	addr := freeAddr(t)
	_, err := measure(launch{cmd: []string{bin, "--no-such-flag"}, cpu: -1}, addr, "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("measure of a server that exits = %v, want an error saying it exited", err)
	}
}

// TestMedian is the median of an odd and an even count.
func TestMedian(t *testing.T) {
	if got := median([]float64{1, 2, 9}); got != 2 {
		t.Errorf("median(1,2,9) = %v", got)
	}
	if got := median([]float64{1, 2, 4, 9}); got != 3 {
		t.Errorf("median(1,2,4,9) = %v", got)
	}
}

// TestEnvList takes KEY=VALUE only.
func TestEnvList(t *testing.T) {
	var e envList
	for _, bad := range []string{"", "GOMAXPROCS", "=1"} {
		if err := e.Set(bad); err == nil {
			t.Errorf("--env %q accepted, want an error", bad)
		}
	}
	if err := e.Set("GOMAXPROCS=1"); err != nil {
		t.Fatal(err)
	}
	if err := e.Set("GODEBUG=a=1,b=2"); err != nil {
		t.Fatal(err)
	}
	if got := e.String(); got != "GOMAXPROCS=1 GODEBUG=a=1,b=2" {
		t.Errorf("--env twice = %q", got)
	}
}

// TestMeasureWithEnv starts the server with --env added: a GODEBUG the
// reference prints under (inittrace, on its standard error) shows the
// variable reached it.
func TestMeasureWithEnv(t *testing.T) {
	bin := buildReference(t)
	addr := freeAddr(t)
	_, err := measure(launch{cmd: []string{bin, "--addr", addr, "--no-such-flag"}, cpu: -1, env: []string{"GODEBUG=inittrace=1"}}, addr, "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "init net/http @") {
		t.Errorf("measure with GODEBUG=inittrace=1 of a server that exits = %v, want its init trace in the error", err)
	}
}
