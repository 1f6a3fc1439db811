// Command startup measures a server's start-up as a client sees it: from
// exec until it has a token from POST /_emulator/tokens and a first
// POST /api/machines/{id}/runliveresponse answered 201. It polls the token
// endpoint every millisecond, starts the server --runs times (stopping it
// between runs with SIGTERM) and prints one line a run,
//
//	run 1: 41.3 ms (token after 38.9 ms)
//
// then "median N ms (min A, max B)". Time is wall time, read through
// emulator/clock, from the exec of CMD itself: --cpu binds CMD to a CPU
// and --env adds to its environment without a taskset or env exec'd
// before it (each ~3 ms on a small machine, which would count as the
// server's start-up).
//
//	startup --addr 127.0.0.1:18090 --machine ID [--runs 5] [--cpu 0] [--env GOMAXPROCS=1] -- CMD [ARGS...]
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

const (
	// tokenRequest asks for a token of the default tenant's SOAR app,
	// which the default fixture and bench/fleet's fixtures both have.
	tokenRequest = `{"tenantId":"8ac829e3-bb83-48d7-8cfb-45ebe834d8e1","clientId":"0120a4f9-196a-4f9e-b9f5-23f31f914da7"}`
	// submitBody is the first live response: a script that
	// fixtures/default.yaml and bench/fleet's fixtures have.
	submitBody = `{"Comment":"bench start-up","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`
	// pollEvery is the wait between two tries of the token endpoint.
	pollEvery = time.Millisecond
	// maxRuns bounds --runs.
	maxRuns = 1000
	// maxTimeout bounds --timeout.
	maxTimeout = 10 * time.Minute
	// maxCPU bounds --cpu: the CPUs a Linux CPU set can name.
	maxCPU = 1024
)

// launch is how to start the server: its command line, the CPU to bind
// it to (-1: none) and what to add to its environment.
type launch struct {
	cmd []string
	cpu int
	env []string
}

// envList is the repeatable --env flag.
type envList []string

func (e *envList) String() string { return strings.Join(*e, " ") }

// Set adds one KEY=VALUE.
func (e *envList) Set(v string) error {
	if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	addr := fs.String("addr", "", "host:port the server listens on (required)")
	machine := fs.String("machine", "", "machine id of the first runliveresponse (required)")
	runs := fs.Int("runs", 5, "how many times to start the server (1 to 1000)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up on a run after this long (at most 10m)")
	cpu := fs.Int("cpu", -1, "bind CMD to this CPU (Linux; -1: the CPUs this command has)")
	var env envList
	fs.Var(&env, "env", "KEY=VALUE added to CMD's environment (repeatable)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	cmd := fs.Args()
	switch {
	case *addr == "" || *machine == "" || len(cmd) == 0:
		fmt.Fprintln(os.Stderr, "usage: startup --addr HOST:PORT --machine ID [--runs N] [--cpu N] [--env KEY=VALUE]... -- CMD [ARGS...]")
		os.Exit(2)
	case *runs < 1 || *runs > maxRuns:
		fmt.Fprintf(os.Stderr, "startup: --runs must be 1 to %d\n", maxRuns)
		os.Exit(2)
	case *timeout <= 0 || *timeout > maxTimeout:
		fmt.Fprintf(os.Stderr, "startup: --timeout must be over 0 and at most %v\n", maxTimeout)
		os.Exit(2)
	case *cpu < -1 || *cpu >= maxCPU:
		fmt.Fprintf(os.Stderr, "startup: --cpu must be -1 to %d\n", maxCPU-1)
		os.Exit(2)
	}
	run := launch{cmd: cmd, cpu: *cpu, env: env}
	var totals []float64
	for i := 1; i <= *runs; i++ {
		r, err := measure(run, *addr, *machine, *timeout)
		if err != nil {
			fmt.Fprintf(os.Stderr, "startup: run %d: %v\n", i, err)
			os.Exit(1)
		}
		fmt.Printf("run %d: %.1f ms (token after %.1f ms)\n", i, ms(r.total), ms(r.token))
		totals = append(totals, ms(r.total))
	}
	slices.Sort(totals)
	fmt.Printf("median %.1f ms (min %.1f, max %.1f)\n", median(totals), totals[0], totals[len(totals)-1])
}

// result is one start-up: exec to the token, exec to the first 201.
type result struct{ token, total time.Duration }

// measure starts the server as run says, waits for a token and a first
// 201 from addr, then stops it with SIGTERM.
func measure(run launch, addr, machine string, timeout time.Duration) (result, error) {
	cmd := run.cmd
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	var stderr bytes.Buffer
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdout = io.Discard
	c.Stderr = &stderr
	if len(run.env) > 0 {
		c.Env = append(os.Environ(), run.env...)
	}
	start := clock.Wall()
	if err := startOn(c, run.cpu); err != nil {
		return result{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- c.Wait() }()
	defer func() {
		select {
		case <-exited:
			return
		default:
		}
		c.Process.Signal(syscall.SIGTERM)
		grace, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case <-exited:
		case <-grace.Done():
			c.Process.Kill()
			<-exited
		}
	}()
	var r result
	var token string
	for {
		select {
		case err := <-exited:
			exited <- err // for the deferred stop
			return r, fmt.Errorf("%s exited before answering (%v): %s", cmd[0], err, bytes.TrimSpace(stderr.Bytes()))
		default:
		}
		tok, err := getToken(ctx, client, addr)
		if err == nil {
			token = tok
			break
		}
		if ctx.Err() != nil {
			return r, fmt.Errorf("no token within %v: %v", timeout, err)
		}
		clock.SleepWall(ctx, pollEvery)
	}
	r.token = clock.Wall().Sub(start)
	status, body, err := post(ctx, client, "http://"+addr+"/api/machines/"+machine+"/runliveresponse", token, submitBody)
	if err != nil {
		return r, err
	}
	if status != http.StatusCreated {
		return r, fmt.Errorf("the first runliveresponse answered %d, not 201: %.300s", status, body)
	}
	r.total = clock.Wall().Sub(start)
	return r, nil
}

// getToken asks addr for a token through POST /_emulator/tokens.
func getToken(ctx context.Context, client *http.Client, addr string) (string, error) {
	status, body, err := post(ctx, client, "http://"+addr+"/_emulator/tokens", "", tokenRequest)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("POST /_emulator/tokens answered %d: %.300s", status, body)
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", errors.New("POST /_emulator/tokens answered no access_token")
	}
	return t.AccessToken, nil
}

// post sends a JSON body to url, with a bearer token when token is not
// empty, and returns the status and the body.
func post(ctx context.Context, client *http.Client, url, token, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// ms returns d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median returns the median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
