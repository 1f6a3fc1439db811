package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

const limitsFixture = `
profile: default
tenants:
  - id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
    apps:
      - {clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7, clientSecret: s, displayName: Limits, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
    generateMachines: 12
    library:
      - {fileName: minidump.ps1, content: "x"}
`

// TestDataKeepsRateLimitWindows uses up runliveresponse's 10 calls a
// minute, kills the emulator with SIGKILL at once (before its next clock
// mark: the calls are counted again from their changes), restarts it and
// expects the 11th call refused with 429; then stops it cleanly (the
// windows are kept with the last mark) and expects the same again.
func TestDataKeepsRateLimitWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the emulator")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "emulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fx := filepath.Join(tmp, "fixtures.yaml")
	if err := os.WriteFile(fx, []byte(limitsFixture), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(tmp, "data")
	args := []string{"--fixtures", fx, "--data", data, "--key-file", ""}
	body := []byte(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"}]}],"Comment":"limits"}`)
	submit := func(base, tok, machine string) (int, string) {
		t.Helper()
		req := base + "/api/machines/" + machine + "/runliveresponse"
		code, b, err := killCall("POST", req, tok, "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		return code, string(b)
	}

	cmd, base := startEmulator(t, bin, args...)
	tok := clientToken(t, base)
	code, b, err := killCall("GET", base+"/api/machines", tok, "", nil)
	var list struct{ Value []struct{ ID string } }
	if err != nil || code != 200 || json.Unmarshal(b, &list) != nil || len(list.Value) < 12 {
		t.Fatalf("machines: %d %v %s", code, err, b)
	}
	for i := range 10 {
		if code, b := submit(base, tok, list.Value[i].ID); code != 201 {
			t.Fatalf("call %d: %d %s", i+1, code, b)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	for _, how := range []string{"after SIGKILL", "after a clean stop"} {
		cmd, base = startEmulator(t, bin, args...)
		tok = clientToken(t, base)
		code, b := submit(base, tok, list.Value[10].ID)
		if code != 429 {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s: the 11th call of the minute got %d, want 429: %s", how, code, b)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
}
