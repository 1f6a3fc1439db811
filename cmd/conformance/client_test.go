package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A client that fails a required scenario makes "conformance client" exit
// 1, with the failure in the report and in the JUnit file asked for.
func TestClientFailsARequiredScenario(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	junit := filepath.Join(t.TempDir(), "client.xml")
	code, out := conformance(t, "client", "--tags", "@happy && @cancel", "--no-colors", "--format", "progress,junit:"+junit,
		"--", sh, "-c", `echo "cannot cancel $1" >&2; exit 3`, "adapter")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"FAILED         required    cancel cancels an action that has not started",
		"The client should have exited 0 (the operation succeeded); it exited 3.",
		"| cannot cancel ",
		"required 0/1, recommended 0/0: the client fails required behaviours",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `<failure`) || !strings.Contains(string(b), "cancel cancels an action that has not started") {
		t.Errorf("JUnit report lacks the failure:\n%s", b)
	}
}

// A manifest without an operation makes its scenarios not applicable: the
// run passes with nothing to run but them.
func TestClientManifestNotApplicable(t *testing.T) {
	t.Parallel()
	manifest := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(manifest, []byte(`{"name":"uploader","operations":["upload"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := conformance(t, "client", "--tags", "@happy && @cancel", "--manifest", manifest, "--no-colors", "--format", "progress", "--", "false")
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, out)
	}
	for _, want := range []string{"Client conformance of uploader", "NOT APPLICABLE required    cancel cancels", "required 0/0, recommended 0/0, not applicable 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestClientUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"client"}, "no client command"},
		{[]string{"client", "--format", "html", "--", "x"}, `unknown format "html"`},
		{[]string{"client", "--manifest", "/nonexistent.json", "--", "x"}, "nonexistent.json"},
		{[]string{"client", "--tags", "@nothing", "--", "x"}, `no scenario matches the tags "@nothing"`},
	} {
		code, out := conformance(t, tc.args...)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("%q: exit %d, output %q; want 2 and %q", tc.args, code, out, tc.want)
		}
	}
}
