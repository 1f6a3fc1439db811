package state

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
)

// gatesYAML is a tenant with a machine for each gate of live response:
// onboarding statuses, agent versions, platforms.
const gatesYAML = `
tenants:
- id: 33333333-3333-3333-3333-333333333333
  name: Gates
  machines:
  - {id: c000000000000000000000000000000000000001, computerDnsName: win.gates.local, osPlatform: Windows11, agentVersion: 10.8760.22631.4317}
  - {id: c000000000000000000000000000000000000002, computerDnsName: lin.gates.local, osPlatform: Linux, agentVersion: 101.45.13}
  - {id: c000000000000000000000000000000000000003, computerDnsName: lin-old.gates.local, osPlatform: Linux, agentVersion: 101.45.12}
  - {id: c000000000000000000000000000000000000004, computerDnsName: mac-old.gates.local, osPlatform: macOS, agentVersion: 101.40.0}
  - {id: c000000000000000000000000000000000000005, computerDnsName: mac.gates.local, osPlatform: macOS, agentVersion: 101.24082.0004}
  - {id: c000000000000000000000000000000000000006, computerDnsName: mac-odd.gates.local, osPlatform: macOS, agentVersion: "unknown"}
  - {id: c000000000000000000000000000000000000007, computerDnsName: discovered.gates.local, osPlatform: Windows10, onboardingStatus: CanBeOnboarded}
  - {id: c000000000000000000000000000000000000008, computerDnsName: printer.gates.local, osPlatform: Linux, onboardingStatus: Unsupported}
  - {id: c000000000000000000000000000000000000009, computerDnsName: unknown.gates.local, osPlatform: Windows11, onboardingStatus: InsufficientInfo}
  - {id: c00000000000000000000000000000000000000a, computerDnsName: onboarded.gates.local, osPlatform: Windows11, onboardingStatus: Onboarded}
  library:
  - {fileName: unsigned.ps1, content: Write-Output hi, behavior: {output: hi}}
  - {fileName: signed.ps1, content: Write-Output hi, signed: true, behavior: {output: hi}}
  - fileName: block.ps1
    content: "Write-Output hi\n# SIG # Begin signature block\n# MIIcagYJKoZIhvcNAQcCoIIcWzCCHFcCAQExCzAJBgUrDgMCGgUAMGkGCisGAQQB\n# SIG # End signature block\n"
    behavior: {output: hi}
  - {fileName: collect.sh, content: echo hi, behavior: {output: hi}}
  - {fileName: small.bin, content: x}
  - {fileName: ten.bin, content: x}
  - {fileName: over.bin, content: x}
`

const (
	gWin, gLin, gLinOld, gMacOld = "c000000000000000000000000000000000000001", "c000000000000000000000000000000000000002", "c000000000000000000000000000000000000003", "c000000000000000000000000000000000000004"
	gMac, gMacOdd                = "c000000000000000000000000000000000000005", "c000000000000000000000000000000000000006"
)

// gatesEnv returns the gates tenant with settings in force; ten.bin is
// exactly the 10 MB PutFile limit of non-Windows devices, over.bin one
// byte more.
func gatesEnv(tb testing.TB, settings string) *env {
	tb.Helper()
	yaml := gatesYAML
	if settings != "" {
		yaml = strings.Replace(yaml, "  name: Gates\n", "  name: Gates\n  liveResponse: "+settings+"\n", 1)
	}
	set := parseFixture(tb, yaml)
	for i := range set.Tenants[0].Library {
		lf := &set.Tenants[0].Library[i]
		switch lf.FileName {
		case "ten.bin":
			lf.Content = strings.Repeat("x", fixture.DefaultPutFileLimitOther)
		case "over.bin":
			lf.Content = strings.Repeat("x", fixture.DefaultPutFileLimitOther+1)
		}
	}
	return newEnvWith(tb, set, profile(tb, "default"))
}

// TestLiveResponseDisabled: a tenant with live response off answers 403
// DisabledFeature, before it looks at the machine or the body.
func TestLiveResponseDisabled(t *testing.T) {
	t.Parallel()
	e := gatesEnv(t, "{enabled: false}")
	for _, key := range []string{gWin, "no-such-machine", gMacOld} {
		_, err := e.ten.Submit(caller, key, SubmitRequest{})
		checkErr(t, err, apierr.DisabledFeature, "Tenant feature isn't enabled")
		if s := apierr.As(err).Status(); s != http.StatusForbidden {
			t.Errorf("status %d, want 403", s)
		}
	}
	e = gatesEnv(t, "{enabled: true}")
	e.submit(t, gWin, runScript("unsigned.ps1"))
}

// TestOnboardingStatusGate: only an onboarded machine takes live
// response; the others answer 400 BadRequest naming their status, and
// every machine shows its status (Onboarded by default).
func TestOnboardingStatusGate(t *testing.T) {
	t.Parallel()
	e := gatesEnv(t, "")
	for key, want := range map[string]string{
		"discovered": "CanBeOnboarded", "printer": "Unsupported", "unknown": "InsufficientInfo",
	} {
		_, err := e.ten.Submit(caller, key, SubmitRequest{Commands: []Command{runScript("collect.sh")}})
		checkErr(t, err, apierr.BadRequest, "(onboardingStatus "+want+"): live response needs an onboarded device")
		if got := e.machine(t, key).View(e.clk.Now()).OnboardingStatus; got != want {
			t.Errorf("%s: onboardingStatus %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"onboarded", gWin} {
		if got := e.machine(t, key).View(e.clk.Now()).OnboardingStatus; got != "Onboarded" {
			t.Errorf("%s: onboardingStatus %q, want Onboarded", key, got)
		}
	}
	e.submit(t, "onboarded", runScript("unsigned.ps1"))
}

// TestAgentVersionGate: macOS and Linux agents older than the documented
// minimums answer 400 ClientVersionNotSupported; the fixture can change
// or remove a platform's minimum.
func TestAgentVersionGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, settings, key string
		want                string // "" accepted, else the minimum named
	}{
		{"Linux at the minimum", "", gLin, ""},
		{"Linux one patch older", "", gLinOld, "101.45.13"},
		{"macOS older", "", gMacOld, "101.43.84"},
		{"macOS newer (2024 numbering)", "", gMac, ""},
		{"agentVersion not a version: not compared", "", gMacOdd, ""},
		{"Windows: no minimum by default", "", gWin, ""},
		{"minimum removed", `{minAgentVersions: {macOS: ""}}`, gMacOld, ""},
		{"minimum raised", `{minAgentVersions: {Linux: "101.46"}}`, gLin, "101.46"},
		{"a Windows minimum", `{minAgentVersions: {Windows11: "10.8800"}}`, gWin, "10.8800"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := gatesEnv(t, tc.settings)
			_, err := e.ten.Submit(caller, tc.key, SubmitRequest{Commands: []Command{runScript("collect.sh")}})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Submit: %v", err)
				}
				return
			}
			checkErr(t, err, apierr.ClientVersionNotSupported, "Live response is supported on client version "+tc.want+" and above.")
			if s := apierr.As(err).Status(); s != http.StatusBadRequest {
				t.Errorf("status %d, want 400", s)
			}
		})
	}
}

// TestPutFileLimit: a PutFile of a library file over the device
// platform's limit fails when it runs, and the later commands do not run.
func TestPutFileLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, settings, key, file string
		fail                      string // "" completes
	}{
		{"Linux, exactly 10 MB", "", gLin, "ten.bin", ""},
		{"Linux, one byte over 10 MB", "", gLin, "over.bin", "File over.bin is 10485761 bytes, over the PutFile limit of 10 MB (10485760 bytes) on other platforms."},
		{"macOS, one byte over 10 MB", "", gMac, "over.bin", "over the PutFile limit of 10 MB"},
		{"Windows, over 10 MB (limit 300 MB)", "", gWin, "over.bin", ""},
		{"Windows, a lowered limit", "{putFileLimitWindows: 1000}", gWin, "ten.bin", "File ten.bin is 10485760 bytes, over the PutFile limit of 1000 bytes on Windows."},
		{"Linux, a raised limit", "{putFileLimitOther: 20971520}", gLin, "over.bin", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := gatesEnv(t, tc.settings)
			a := e.submit(t, tc.key, putFile(tc.file), runScript("collect.sh"))
			e.at(time.Minute)
			v := e.view(t, a.ID)
			if tc.fail == "" {
				if v.Status != StatusSucceeded || v.Commands[0].CommandStatus != CommandCompleted {
					t.Errorf("status %s, PutFile %s %v; want Succeeded, Completed", v.Status, v.Commands[0].CommandStatus, v.Commands[0].Errors)
				}
				return
			}
			c := v.Commands[0]
			if v.Status != StatusFailed || c.CommandStatus != CommandFailed || len(c.Errors) != 1 || !strings.Contains(c.Errors[0], tc.fail) {
				t.Errorf("status %s, PutFile %s %q; want Failed, Failed with %q", v.Status, c.CommandStatus, c.Errors, tc.fail)
			}
			if s := v.Commands[1].CommandStatus; s != CommandCreated {
				t.Errorf("the RunScript after the failed PutFile is %s, want Created", s)
			}
		})
	}
}

// TestUnsignedScripts: unsigned scripts run by default; a tenant that
// does not allow them fails a RunScript of an unsigned PowerShell script,
// and only of one.
func TestUnsignedScripts(t *testing.T) {
	t.Parallel()
	const refused = "Script unsigned.ps1 is not signed, and the tenant does not allow unsigned scripts"
	tests := []struct {
		settings, script string
		fail             string
	}{
		{"", "unsigned.ps1", ""},
		{"{allowUnsignedScripts: true}", "unsigned.ps1", ""},
		{"{allowUnsignedScripts: false}", "unsigned.ps1", refused},
		{"{allowUnsignedScripts: false}", "signed.ps1", ""},
		{"{allowUnsignedScripts: false}", "block.ps1", ""},
		{"{allowUnsignedScripts: false}", "collect.sh", ""}, // PowerShell only
	}
	for _, tc := range tests {
		t.Run(tc.settings+" "+tc.script, func(t *testing.T) {
			t.Parallel()
			e := gatesEnv(t, tc.settings)
			a := e.submit(t, gWin, runScript(tc.script))
			e.at(time.Minute)
			v := e.view(t, a.ID)
			c := v.Commands[0]
			if tc.fail == "" {
				if v.Status != StatusSucceeded {
					t.Errorf("status %s, command %s %q; want Succeeded", v.Status, c.CommandStatus, c.Errors)
				}
				return
			}
			if v.Status != StatusFailed || c.CommandStatus != CommandFailed || len(c.Errors) != 1 || !strings.Contains(c.Errors[0], tc.fail) {
				t.Errorf("status %s, command %s %q; want Failed with %q", v.Status, c.CommandStatus, c.Errors, tc.fail)
			}
			if _, err := resultOf(e.ten, a.ID, 0); apierr.CodeOf(err) != apierr.BadRequest {
				t.Errorf("result of the refused script: %v, want BadRequest (it never ran)", err)
			}
		})
	}
}

// TestUnsignedUploads: a script uploaded through the API is unsigned
// unless its content carries a signature block; replacing a file the
// fixture declares signed with new content drops the fixture's word.
func TestUnsignedUploads(t *testing.T) {
	t.Parallel()
	e := gatesEnv(t, "{allowUnsignedScripts: false}")
	lib := e.ten.Library()
	for _, u := range []Upload{
		{FileName: "up.ps1", Content: []byte("Write-Output up")},
		{FileName: "up-signed.ps1", Content: []byte("Write-Output up\r\n# SIG # Begin signature block\r\n# MIIc\r\n# SIG # End signature block\r\n")},
		{FileName: "signed.ps1", Content: []byte("Write-Output changed"), OverrideIfExists: true},
	} {
		if _, err := lib.Put(u, e.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for script, ok := range map[string]bool{"up.ps1": false, "up-signed.ps1": true, "signed.ps1": false} {
		m := e.machine(t, gWin)
		a := e.submit(t, m.ID(), runScript(script))
		e.clk.Advance(time.Minute)
		if got := e.view(t, a.ID).Status == StatusSucceeded; got != ok {
			t.Errorf("%s: succeeded %v, want %v (%+v)", script, got, ok, e.view(t, a.ID).Commands[0])
		}
	}
}
