package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

// An emulator whose control plane is exposed is driven with its control
// token, from --control-token or MDE_CONTROL_TOKEN; without it the kit
// says the control plane refused.
func TestAPIWithControlToken(t *testing.T) {
	srv, err := emulator.New(emulator.Options{Clock: clock.Real, ExposeControl: true, ControlToken: "kit-control-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	if code, out := conformance(t, "api", "--target", hs.URL, "--tags", "@auth", "--format", "progress", "--no-colors"); code != 2 || !strings.Contains(out, "401") {
		t.Errorf("without the token: exit %d\n%s", code, out)
	}
	if code, out := conformance(t, "api", "--target", hs.URL, "--control-token", "kit-control-token", "--tags", "@auth", "--format", "progress", "--no-colors"); code != 0 {
		t.Fatalf("with --control-token: exit %d\n%s", code, out)
	}
	t.Setenv("MDE_CONTROL_TOKEN", "kit-control-token")
	if code, out := conformance(t, "api", "--target", hs.URL, "--tags", "@auth && @emulator-only", "--format", "progress", "--no-colors"); code != 0 {
		t.Fatalf("with MDE_CONTROL_TOKEN: exit %d\n%s", code, out)
	}
}
