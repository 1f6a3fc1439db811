package client_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	client "github.com/mdelive/mde-emulator/features/client"
)

// concurrency is how many scenarios of one client run at once: the
// clients mostly sleep, so more than the cores.
const concurrency = 8

// gradedClient is a client the kit grades in the tests, with the
// scenarios it must fail (every other applicable one must pass).
type gradedClient struct {
	name     string
	command  func(t *testing.T) []string
	manifest string   // path of its manifest, relative to this folder
	fails    []string // Failed or Hung: which of the two can depend on timing
}

// Scenario names, as the feature files write them.
const (
	happyRunScript   = "run-script prints the script's output"
	tokenReuse       = "the token is reused between calls"
	pollPace         = "polls at a sensible pace and notices the end promptly"
	finalFailed      = "treats Failed as final"
	finalCancelled   = "treats Cancelled as final"
	finalTimeOut     = "treats TimeOut as final"
	failedCommand    = "a failed command: its error is reported and the client exits non-zero"
	stopAtFailure    = "several commands stop at the first failure, and the summary says which"
	exitCode         = "a script that exits non-zero is reported with its exit code"
	scriptTimeout    = "a script cut at 10 minutes is reported as a timeout and not run again"
	offline          = "an offline machine: the client waits or gives up clearly, and does not resubmit in a loop"
	busy             = "a busy machine: the client waits for it or reports it, with few retries"
	throttledSubmit  = "429 on submit: the app used its 10 calls of this minute"
	throttledPoll    = "429 while polling"
	throttledLink    = "429 on the download link"
	sessionCap       = "the 25-session cap"
	unauthorized     = "a 401 in the middle of a run: one new token, then on"
	notFoundAfter201 = "the new action is not found at first, right after the 201"
	expiredLink      = "an expired download link: a new link, not a new action"
	internalError    = "500 while polling: retries with backoff"
	unavailable      = "503 while polling: retries with backoff"
	dropped          = "dropped connections while polling"
	down             = "the API stays down: bounded retries, then a clear failure"
)

func clients() []gradedClient {
	return []gradedClient{
		{
			name:     "reference (Go)",
			command:  func(t *testing.T) []string { return []string{buildLRClient(t)} },
			manifest: "../../cmd/lrclient/manifest.json",
		},
		{
			name:    "python example",
			command: func(t *testing.T) []string { return []string{need(t, "python3"), "examples/python/mdeclient.py"} },
		},
		{
			name: "shell example",
			command: func(t *testing.T) []string {
				need(t, "curl")
				need(t, "jq")
				return []string{need(t, "bash"), "examples/shell/adapter.sh"}
			},
			manifest: "examples/shell/manifest.json",
		},
		{
			// No retries, ignores Retry-After, polls every 0.1 s, waits only
			// for Succeeded or Failed, exits 0 whatever happens.
			name: "naive curl script",
			command: func(t *testing.T) []string {
				need(t, "curl")
				need(t, "jq")
				return []string{need(t, "bash"), "examples/naive/naive.sh"}
			},
			fails: []string{
				pollPace,
				finalFailed,
				finalCancelled,
				finalTimeOut,
				failedCommand,
				stopAtFailure,
				exitCode,
				scriptTimeout,
				offline,
				busy,
				throttledSubmit,
				throttledPoll,
				throttledLink,
				sessionCap,
				unauthorized,
				notFoundAfter201,
				expiredLink,
				internalError,
				unavailable,
				dropped,
				down,
			},
		},
		{
			// A token per request, crashes on a 429 from the submit,
			// ignores Retry-After elsewhere, resubmits a timed-out action,
			// exits 0 on a script's non-zero exit code, never re-mints a
			// link.
			name:    "flawed python client",
			command: func(t *testing.T) []string { return []string{need(t, "python3"), "examples/flawed/flawed.py"} },
			fails: []string{
				tokenReuse,
				exitCode,
				scriptTimeout,
				offline,
				throttledSubmit,
				throttledPoll,
				throttledLink,
				sessionCap,
				unauthorized,
				expiredLink,
			},
		},
	}
}

// TestClients grades five clients and checks that the kit passes the
// correct ones on every applicable scenario and fails the flawed ones on
// exactly the scenarios their flaws should fail. It takes a minute or two
// of wall time, so it is opt-in: MDE_SLOW_TESTS=1 (.ci/run sets it).
func TestClients(t *testing.T) {
	if os.Getenv("MDE_SLOW_TESTS") != "1" || testing.Short() {
		t.Skip("the client scenarios take a minute or two of wall time: run with MDE_SLOW_TESTS=1")
	}
	t.Parallel()
	for _, c := range clients() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := client.Config{Command: c.command(t), Format: "progress", NoColors: true, Concurrency: concurrency, WorkDir: t.TempDir()}
			if c.manifest != "" {
				m, err := client.ReadManifest(c.manifest)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Manifest = m
			}
			var out bytes.Buffer
			cfg.Output = &out
			res, err := client.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			got := map[string]client.Outcome{}
			want := map[string]client.Outcome{}
			for _, s := range res.Scenarios {
				got[s.Name] = s.Outcome
				if s.Outcome == client.Hung {
					got[s.Name] = client.Failed
				}
				want[s.Name] = client.Passed
				if cfg.Manifest != nil && !slices.ContainsFunc(cfg.Manifest.Operations, func(op string) bool { return slices.Contains(s.Tags, "@"+op) }) {
					want[s.Name] = client.NotApplicable
				}
				if slices.Contains(s.Tags, "@sign-in-password") && !cfg.Manifest.SignsIn("password") {
					want[s.Name] = client.NotApplicable
				}
				if slices.Contains(s.Tags, "@sign-in-device-code") && !cfg.Manifest.SignsIn("device-code") {
					want[s.Name] = client.NotApplicable
				}
				if slices.Contains(c.fails, s.Name) {
					want[s.Name] = client.Failed
				}
			}
			for _, name := range c.fails {
				if _, ok := got[name]; !ok {
					t.Errorf("no scenario %q", name)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s\n%s", diff, out.String())
			}
			wantOK := true
			for _, s := range res.Scenarios {
				if s.Required && (want[s.Name] == client.Failed || want[s.Name] == client.Hung) {
					wantOK = false
				}
			}
			if res.OK() != wantOK {
				t.Errorf("OK() = %v, want %v", res.OK(), wantOK)
			}
		})
	}
}

// need returns the path of a program the test needs; CI installs them
// all (.ci/run), so only a developer's machine may skip.
func need(t *testing.T, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run should install it", program)
		}
		t.Skipf("%s is not installed", program)
	}
	return p
}

// buildLRClient builds the reference client's adapter.
func buildLRClient(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lrclient")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/mdelive/mde-emulator/cmd/lrclient")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build lrclient: %v\n%s", err, out)
	}
	return bin
}

func TestReadManifest(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body, err string
	}{
		{"ok", `{"name":"x","operations":["run-script","cancel"]}`, ""},
		{"unknown operation", `{"operations":["run-scripts"]}`, `unknown operation "run-scripts"`},
		{"no operations", `{"name":"x"}`, "no operations"},
		{"unknown field", `{"ops":["cancel"]}`, `unknown field "ops"`},
		{"sign-in", `{"name":"x","operations":["run-script","cancel"],"signIn":["client_credentials","password"]}`, ""},
		{"device code sign-in", `{"name":"x","operations":["run-script","cancel"],"signIn":["device-code"]}`, ""},
		{"unknown sign-in", `{"operations":["cancel"],"signIn":["device_code"]}`, `unknown signIn "device_code"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			if err := os.WriteFile(p, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := client.ReadManifest(p)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("ReadManifest: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("ReadManifest error = %v, want one containing %q", err, tc.err)
			case tc.err == "" && !slices.Equal(m.Operations, []string{"run-script", "cancel"}):
				t.Fatalf("operations = %q", m.Operations)
			}
		})
	}
}

// Device code scenario names.
const (
	deviceCodeRunScript = "a user signs in with a device code and runs a script"
	deviceCodeDeclined  = "a user declines the device code sign-in"
)

// TestDeviceCodeKitNeedsTheCodeShown grades the reference client with its
// standard error thrown away: the kit never reads the device code, signs
// the user in after its fallback all the same (the scenarios that do not
// judge the display pass), and fails the client for not showing the code
// and, in the declined scenario, for not reporting the refusal. About 20 s
// of wall time: MDE_SLOW_TESTS=1.
func TestDeviceCodeKitNeedsTheCodeShown(t *testing.T) {
	if os.Getenv("MDE_SLOW_TESTS") != "1" || testing.Short() {
		t.Skip("the device code scenarios take about 20 s of wall time: run with MDE_SLOW_TESTS=1")
	}
	t.Parallel()
	m, err := client.ReadManifest("../../cmd/lrclient/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := client.Run(context.Background(), client.Config{
		Command:  []string{need(t, "sh"), "-c", `exec "$0" "$@" 2>/dev/null`, buildLRClient(t)},
		Manifest: m, Tags: "@sign-in-device-code", Format: "progress", NoColors: true,
		Concurrency: concurrency, WorkDir: t.TempDir(), Output: &out,
	})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := map[string]client.Outcome{}
	for _, s := range res.Scenarios {
		got[s.Name] = s.Outcome
		if s.Name == deviceCodeRunScript && !strings.Contains(s.Message, "never showed") {
			t.Errorf("%q failed with %q, want it to say the output never showed the code", s.Name, s.Message)
		}
	}
	want := map[string]client.Outcome{
		deviceCodeRunScript: client.Failed,
		deviceCodeDeclined:  client.Failed,
		"the client polls at the device code's interval while the user signs in": client.Passed,
		"the refresh token is used instead of a new device code sign-in":         client.Passed,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s\n%s", diff, out.String())
	}
}
