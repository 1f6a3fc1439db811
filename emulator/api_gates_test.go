package emulator_test

import (
	"strings"
	"testing"
	"time"
)

// gatesFixture has a machine behind each of live response's gates, and
// the tenant's switches filled in by the test.
const gatesFixture = `
tenants:
- id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
  name: gates
  apps:
  - clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7
    clientSecret: emulator-secret
    displayName: SOAR Automation
    roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]
  machines:
  - {id: c000000000000000000000000000000000000001, computerDnsName: win.gates.local, osPlatform: Windows11}
  - {id: c000000000000000000000000000000000000002, computerDnsName: discovered.gates.local, osPlatform: Windows10, onboardingStatus: CanBeOnboarded}
  - {id: c000000000000000000000000000000000000003, computerDnsName: lin-old.gates.local, osPlatform: Linux, agentVersion: 101.45.12}
  - {id: c000000000000000000000000000000000000004, computerDnsName: lin.gates.local, osPlatform: Linux, agentVersion: 101.45.13}
  library:
  - {fileName: unsigned.ps1, content: Write-Output hi, behavior: {output: hi}}
  - {fileName: signed.ps1, content: Write-Output hi, signed: true, behavior: {output: hi}}
  - {fileName: big.bin, content: "0123456789abcdef0123456789abcdef"}
`

const runUnsigned = `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"unsigned.ps1"}]}]}`

// TestLiveResponseGates: each gate answers as the service does, through
// HTTP and against the OpenAPI document.
func TestLiveResponseGates(t *testing.T) {
	tests := []struct {
		name, settings, machine string
		status                  int
		code, message           string
	}{
		{"live response off for the tenant", "{enabled: false}", "win.gates.local",
			403, "DisabledFeature", "Tenant feature isn't enabled"},
		{"off, even for an unknown machine", "{enabled: false}", "nope",
			403, "DisabledFeature", "Tenant feature isn't enabled"},
		{"not onboarded", "", "discovered.gates.local",
			400, "BadRequest", "isn't onboarded to Microsoft Defender for Endpoint (onboardingStatus CanBeOnboarded)"},
		{"agent too old", "", "lin-old.gates.local",
			400, "ClientVersionNotSupported", "Live response is supported on client version 101.45.13 and above."},
		{"agent at the minimum", "", "lin.gates.local", 201, "", ""},
		{"agent minimum removed", `{minAgentVersions: {Linux: ""}}`, "lin-old.gates.local", 201, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withFixtures(t, gatesYAML(tc.settings)))
			r := e.api("POST", "/api/machines/"+tc.machine+"/runliveresponse", runUnsigned)
			if r.status != tc.status || r.status != 201 && (r.errorCode() != tc.code || !strings.Contains(r.errorMessage(), tc.message)) {
				t.Errorf("got %d %s; want %d %s with message containing %q", r.status, r.body, tc.status, tc.code, tc.message)
			}
		})
	}
}

// TestOnboardingStatusInMachines: a machine shows its onboardingStatus,
// and $filter selects on it.
func TestOnboardingStatusInMachines(t *testing.T) {
	e := newEnv(t, withFixtures(t, gatesYAML("")))
	var m struct{ OnboardingStatus string }
	e.api("GET", "/api/machines/discovered.gates.local", "").decode(&m)
	if m.OnboardingStatus != "CanBeOnboarded" {
		t.Errorf("onboardingStatus %q, want CanBeOnboarded", m.OnboardingStatus)
	}
	var list struct {
		Value []struct{ ComputerDNSName string }
	}
	r := e.api("GET", "/api/machines?$filter=onboardingStatus+ne+'Onboarded'", "")
	r.decode(&list)
	if len(list.Value) != 1 || list.Value[0].ComputerDNSName != "discovered.gates.local" {
		t.Errorf("$filter=onboardingStatus ne 'Onboarded': %d %s", r.status, r.body)
	}
}

// TestDeviceSideGates: an unsigned script in a tenant that refuses them,
// and a PutFile over the platform's limit, fail when they run: 201 at the
// submit, the command Failed, the action Failed.
func TestDeviceSideGates(t *testing.T) {
	tests := []struct {
		name, settings, machine, body string
		fail                          string // "" succeeds
	}{
		{"unsigned script, allowed by default", "", "win.gates.local", runUnsigned, ""},
		{"unsigned script refused", "{allowUnsignedScripts: false}", "win.gates.local", runUnsigned,
			"Script unsigned.ps1 is not signed, and the tenant does not allow unsigned scripts"},
		{"signed script", "{allowUnsignedScripts: false}", "win.gates.local",
			`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"signed.ps1"}]}]}`, ""},
		{"PutFile over the Linux limit", "{putFileLimitOther: 16}", "lin.gates.local",
			`{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"big.bin"}]}]}`,
			"File big.bin is 32 bytes, over the PutFile limit of 16 bytes on other platforms."},
		{"PutFile under the Windows limit", "{putFileLimitOther: 16}", "win.gates.local",
			`{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"big.bin"}]}]}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withFixtures(t, gatesYAML(tc.settings)))
			id := e.submit(tc.machine, tc.body)
			e.advance(time.Minute)
			a := e.action(id)
			c := a.Commands[0]
			if tc.fail == "" {
				if a.Status != "Succeeded" {
					t.Errorf("status %s, command %s %q; want Succeeded", a.Status, c.CommandStatus, c.Errors)
				}
				return
			}
			if a.Status != "Failed" || c.CommandStatus != "Failed" || len(c.Errors) != 1 || !strings.Contains(c.Errors[0], tc.fail) {
				t.Errorf("status %s, command %s %q; want Failed with %q", a.Status, c.CommandStatus, c.Errors, tc.fail)
			}
		})
	}
}

// gatesYAML returns gatesFixture with the tenant's liveResponse settings.
func gatesYAML(settings string) string {
	if settings == "" {
		return gatesFixture
	}
	return strings.Replace(gatesFixture, "  name: gates\n", "  name: gates\n  liveResponse: "+settings+"\n", 1)
}
