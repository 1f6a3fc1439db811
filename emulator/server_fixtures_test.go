package emulator_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// unfilledYAML leaves out start and every time the emulator fills in: the
// machines' seen times and the library's creation time.
const unfilledYAML = `
tenants:
- id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
  apps:
  - clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7
    clientSecret: s
    displayName: App
    roles: [Machine.LiveResponse]
  machines:
  - id: 82fb3b669b460cf8436780882296d90371d68ad6
    computerDnsName: ws-1.contoso.local
    osPlatform: Windows11
  library:
  - fileName: a.ps1
    content: "Write-Output a"
`

// TestNewAndLoadFixturesLeaveTheCallersSetAlone: New and LoadFixtures work
// on a copy; the set given is the same afterwards, and changing it
// afterwards does not change the emulator.
func TestNewAndLoadFixturesLeaveTheCallersSetAlone(t *testing.T) {
	t.Parallel()
	set, err := fixture.Parse("unfilled.yaml", []byte(unfilledYAML))
	if err != nil {
		t.Fatal(err)
	}
	before := set.Clone()
	srv, err := emulator.New(emulator.Options{Fixtures: set, Clock: clock.Manual})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if diff := cmp.Diff(before, set); diff != "" {
		t.Errorf("New changed the caller's set (-before +after):\n%s", diff)
	}
	m, err := srv.Store().FindMachine("", "ws-1.contoso.local")
	if err != nil {
		t.Fatal(err)
	}
	if m.View(srv.Clock().Now()).LastSeen.Time().IsZero() {
		t.Error("the emulator's machine has no lastSeen: its own copy was not filled in")
	}

	set.Tenants[0].Machines[0].ComputerDNSName = "changed.contoso.local"
	srv.Reset()
	if _, err := srv.Store().FindMachine("", "ws-1.contoso.local"); err != nil {
		t.Errorf("after the caller changed its set, Reset: %v", err)
	}

	other := before.Clone()
	if err := srv.LoadFixtures(other); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, other); diff != "" {
		t.Errorf("LoadFixtures changed the caller's set (-before +after):\n%s", diff)
	}
}
