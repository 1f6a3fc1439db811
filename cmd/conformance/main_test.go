package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/features"
	"github.com/mdelive/mde-emulator/features/steps"
)

// conformance runs a command line and returns its exit code and output.
func conformance(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String() + errOut.String()
}

// The recordings of a run under each limits profile differ exactly where
// the profiles do: the 26th session is refused under default and accepted
// under current.
func TestDiffNamesTheSessionCap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "default"), filepath.Join(dir, "current")
	for _, r := range []struct{ profile, dir string }{{"default", a}, {"current", b}} {
		if code, out := conformance(t, "api", "--profile", r.profile, "--tags", "@sessions", "--format", "progress", "--no-colors", "--record", r.dir); code != 0 {
			t.Fatalf("api --profile %s: exit %d\n%s", r.profile, code, out)
		}
	}
	code, out := conformance(t, "diff", a, b)
	if code != 1 {
		t.Fatalf("diff: exit %d, want 1\n%s", code, out)
	}
	want := "limits.feature: Sessions are refused once the profile's session cap is reached: exchange 26 (POST /api/machines/<machine-26>/runliveresponse): .Response.Status: A 429, B 201"
	if !strings.Contains(out, want) {
		t.Errorf("diff output lacks\n%s\ngot:\n%s", want, out)
	}
	if strings.Contains(out, "exchange 25 ") {
		t.Errorf("the first 25 sessions differ:\n%s", out)
	}
}

// Two runs of the same scenarios, in different random orders, with new
// ids, tokens and times, record the same thing: the scrubbing removes
// everything that changes from run to run.
func TestRecordingsOfTwoRunsAgree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{a, b} {
		if code, out := conformance(t, "api", "--tags", "@submit,@lifecycle,@results,@auth,@odata && ~@large", "--format", "progress", "--no-colors", "--record", d); code != 0 {
			t.Fatalf("api: exit %d\n%s", code, out)
		}
	}
	if code, out := conformance(t, "diff", a, b); code != 0 {
		t.Errorf("diff of two identical runs: exit %d\n%s", code, out)
	}
}

// Against a target without a control plane (an emulator reached as a
// tenant is), the @emulator-only scenarios are skipped and counted.
func TestAPIAgainstATenantSkipsEmulatorOnly(t *testing.T) {
	t.Parallel()
	srv, err := emulator.New(emulator.Options{Clock: clock.Real, TimeScale: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	tenant := "8ac829e3-bb83-48d7-8cfb-45ebe834d8e1"
	code, out := conformance(t, "api", "--target", hs.URL,
		"--token-url", hs.URL+"/"+tenant+"/oauth2/v2.0/token", "--tenant", tenant,
		"--client-id", "0120a4f9-196a-4f9e-b9f5-23f31f914da7", "--client-secret", "emulator-secret",
		"--machine", steps.DefaultMachines.Windows, "--tags", "@machines", "--poll", "20ms", "--format", "progress", "--no-colors")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	skipped, err := steps.CountScenarios(features.Files, "@machines && @emulator-only")
	if err != nil || skipped == 0 {
		t.Fatalf("counting: %d, %v", skipped, err)
	}
	if want := fmt.Sprintf("skipped %d @emulator-only or @emulator-fixtures scenarios (the target has no control plane)", skipped); !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// An emulator started elsewhere is driven over real HTTP through its
// control plane.
func TestAPIAgainstAnEmulatorURL(t *testing.T) {
	t.Parallel()
	srv, err := emulator.New(emulator.Options{Clock: clock.Real})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	code, out := conformance(t, "api", "--target", hs.URL, "--tags", "@lifecycle,@results", "--format", "progress", "--no-colors")
	if code != 0 || strings.Contains(out, "@emulator-only scenarios") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if code, out := conformance(t, "api", "--target", hs.URL, "--profile", "current", "--tags", "@lifecycle"); code != 2 || !strings.Contains(out, "runs the profile default") {
		t.Errorf("profile mismatch: exit %d\n%s", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no command", nil, 2, "Usage:"},
		{"unknown command", []string{"run"}, 2, `unknown command "run"`},
		{"help", []string{"--help"}, 0, "conformance api [flags]"},
		{"api help", []string{"api", "--help"}, 0, "-client-secret string"},
		{"tenant without secret", []string{"api", "--tenant", "t", "--client-id", "c", "--client-secret", "", "--machine", "m"}, 2, "needs --client-secret"},
		{"no scenario", []string{"api", "--tags", "@no-such-tag"}, 1, "no scenario matches"},
		{"bad format", []string{"api", "--tags", "@smoke", "--format", "nope"}, 2, `unknown format "nope"`},
		{"diff arguments", []string{"diff", "a"}, 2, "Usage: conformance diff A B"},
		{"diff of nothing", []string{"diff", t.TempDir(), t.TempDir()}, 2, "no recordings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := conformance(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, tc.code, tc.out, out)
			}
		})
	}
}
