package scenario_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/mdelive/mde-emulator/emulator/scenario"
)

// Every shipped scenario parses, is named after its file, and has at least
// one event.
func TestShippedScenariosParse(t *testing.T) {
	t.Parallel()
	names := scenario.Names()
	if len(names) < 5 {
		t.Fatalf("%d shipped scenarios (%v), want at least 5", len(names), names)
	}
	for _, n := range names {
		s, err := scenario.Get(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		if s.Name != n || s.Fixture == nil || len(s.Events) == 0 {
			t.Errorf("%s: name %q, fixture %v, %d events", n, s.Name, s.Fixture != nil, len(s.Events))
		}
	}
	list, err := scenario.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(names) {
		t.Errorf("List has %d entries, want %d", len(list), len(names))
	}
}

var update = flag.Bool("update", false, "rewrite docs/scenarios.md")

// docs/scenarios.md is generated from the shipped scenarios and up to date.
func TestDocsUpToDate(t *testing.T) {
	t.Parallel()
	want, err := scenario.Markdown()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "scenarios.md")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/scenarios.md is not what the scenarios make; run go test ./emulator/scenario -run TestDocsUpToDate -update")
	}
	for _, n := range scenario.Names() {
		if !bytes.Contains(got, []byte("### ")) || !bytes.Contains(got, []byte("`--scenario "+n+"`")) {
			t.Errorf("docs/scenarios.md lacks %s", n)
		}
	}
}
