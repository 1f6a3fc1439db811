package client

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// outputCap bounds how much of each of the adapter's output streams the
// kit keeps: a client that prints without end cannot exhaust the kit.
const outputCap = 1 << 20

// run is one run of the adapter.
type run struct {
	args     []string // the operation and its operands
	exitCode int      // -1 when it was killed or could not start
	stdout   string
	stderr   string
	hung     bool          // killed at the deadline
	startErr error         // the command could not be started
	elapsed  time.Duration // wall time
}

// cappedBuffer keeps the first outputCap bytes written to it.
type cappedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	cut bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := outputCap - b.buf.Len(); room < len(p) {
		b.buf.Write(p[:max(room, 0)])
		b.cut = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cut {
		return b.buf.String() + "\n[output cut at 1 MiB]"
	}
	return b.buf.String()
}

// output is what the adapter writes, readable while it runs (the scenes
// that react to what the client shows, such as a device code).
type output struct {
	stdout, stderr cappedBuffer
}

// String returns both streams so far, standard output first.
func (o *output) String() string { return o.stdout.String() + "\n" + o.stderr.String() }

// runAdapter runs command with args appended, in dir, with env and stdin,
// writing its output to out, and kills it (and its process group, so a
// script's children go too) when deadline passes.
func runAdapter(ctx context.Context, command, args []string, dir string, env []string, stdin string, deadline time.Duration, out *output) *run {
	r := &run{args: args, exitCode: -1}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	argv := append(append([]string(nil), command[1:]...), args...)
	cmd := exec.CommandContext(ctx, command[0], argv...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out.stdout, &out.stderr
	setProcessGroup(cmd)
	cmd.Cancel = func() error { return killProcessGroup(cmd) }
	cmd.WaitDelay = 2 * time.Second
	start := clock.Wall()
	err := cmd.Run()
	r.elapsed = clock.Wall().Sub(start)
	r.stdout, r.stderr = out.stdout.String(), out.stderr.String()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.hung = true
	case errors.As(err, &exit):
		r.exitCode = exit.ExitCode()
	case err != nil:
		r.startErr = err
	default:
		r.exitCode = 0
	}
	return r
}

// environment returns the adapter's environment: the kit's own (without
// MDE_USERNAME, MDE_PASSWORD and MDE_SIGN_IN), then extra, then the MDE_
// variables of the scenario.
func environment(extra []string, vars map[string]string) []string {
	// A user's sign-in in the kit's own environment must not turn a
	// scenario of the app's sign-in into a user's.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MDE_USERNAME=") || strings.HasPrefix(kv, "MDE_PASSWORD=") || strings.HasPrefix(kv, "MDE_SIGN_IN=")
	})
	env = append(env, extra...)
	for _, k := range sortedKeys(vars) {
		env = append(env, k+"="+vars[k])
	}
	return env
}
