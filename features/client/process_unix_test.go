//go:build unix

package client_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	client "github.com/mdelive/mde-emulator/features/client"
)

// processAlive reports whether a process with pid exists (a zombie, not
// yet reaped by its new parent, counts as gone).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	return !isZombie(pid)
}

// TestHungClient checks that a client still running at its deadline is
// reported hung and killed with the processes it started.
func TestHungClient(t *testing.T) {
	t.Parallel()
	sh := need(t, "sh")
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	script := `sleep 300 & echo $! > "$1"; wait`
	var out bytes.Buffer
	res, err := client.Run(context.Background(), client.Config{
		Command: []string{sh, "-c", script, "adapter", pidFile},
		Tags:    "@happy && @upload", Format: "progress", NoColors: true, Output: &out,
		WorkDir: t.TempDir(), DeadlineFactor: 1.0 / 30, // 60 s → 2 s
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if len(res.Scenarios) != 1 || res.Scenarios[0].Outcome != client.Hung {
		t.Fatalf("scenarios = %+v, want one hung\n%s", res.Scenarios, out.String())
	}
	if !strings.Contains(res.Scenarios[0].Message, "was still running after 2s") {
		t.Errorf("message = %q", res.Scenarios[0].Message)
	}
	if res.OK() {
		t.Error("OK() = true with a hung required scenario")
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	// SIGKILL is delivered at once but the process ends when the kernel
	// gets to it: give a loaded machine a few seconds.
	for deadline := time.Now().Add(5 * time.Second); processAlive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("the client's child process %d still runs 5 s after the kill", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
