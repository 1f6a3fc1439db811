package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// TestFleetIDsAreTheEmulators writes the fixtures and checks, through the
// emulator's own fixture parser, that machines.txt lists exactly the
// generated machines of fleet.yaml in order, and large-machines.txt the
// machines of large.yaml, so that wrk posts only to machines that exist.
func TestFleetIDsAreTheEmulators(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir, 57, 9); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ fixture, ids string }{
		{"fleet.yaml", "machines.txt"},
		{"large.yaml", "large-machines.txt"},
	} {
		set, err := fixture.Load(filepath.Join(dir, c.fixture))
		if err != nil {
			t.Fatalf("%s: %v", c.fixture, err)
		}
		if len(set.Tenants) != 1 {
			t.Fatalf("%s: %d tenants, want 1", c.fixture, len(set.Tenants))
		}
		var parsed []string
		for _, m := range set.Tenants[0].AllMachines() {
			parsed = append(parsed, m.ID)
		}
		text, err := os.ReadFile(filepath.Join(dir, c.ids))
		if err != nil {
			t.Fatal(err)
		}
		listed := strings.Fields(string(text))
		if strings.Join(listed, ",") != strings.Join(parsed, ",") {
			t.Errorf("%s lists %d ids, %s has %d machines, or they differ:\n%v\n%v", c.ids, len(listed), c.fixture, len(parsed), listed, parsed)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "large.yaml")); err != nil {
		t.Fatal(err)
	}
}

// TestFleetWithoutLarge writes no large.yaml when --large is 0.
func TestFleetWithoutLarge(t *testing.T) {
	dir := t.TempDir()
	if err := run(dir, 3, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "large.yaml")); !os.IsNotExist(err) {
		t.Errorf("large.yaml with --large 0: %v", err)
	}
}

// TestFleetBounds refuses counts past the fixture format's bounds.
func TestFleetBounds(t *testing.T) {
	for _, c := range []struct{ machines, large int }{{0, 0}, {maxMachines + 1, 0}, {1, -1}, {1, maxMachines + 1}} {
		if err := run(t.TempDir(), c.machines, c.large); err == nil {
			t.Errorf("run(--machines %d, --large %d) = nil, want an error", c.machines, c.large)
		}
	}
	if err := run("", 1, 0); err == nil {
		t.Error("run without --dir = nil, want an error")
	}
}
