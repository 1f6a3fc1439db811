package emulator_test

import (
	"testing"

	"github.com/mdelive/mde-emulator/internal/faults"
)

// TestPersistKeepsRulesAddedThroughTheGoAPI adds a rule with
// Server.AddFault (what emulatortest.Server.AddFault calls) on an emulator
// with a store, restarts it, and expects the rule with its id.
func TestPersistKeepsRulesAddedThroughTheGoAPI(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	r, err := faults.ParseRule([]byte(`{"name":"go-api","match":{"path":"/api/machines"},"effect":{"status":503}}`))
	if err != nil {
		t.Fatal(err)
	}
	added, err := e.srv.AddFault(r)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.tok
	e.srv.Close()
	e = openPersistEmu(t, dir, tok)
	defer e.srv.Close()
	rules := e.faultRules()
	if len(rules) != 1 || rules[0].ID != added.ID || rules[0].Name != "go-api" {
		t.Fatalf("rules after the restart: %+v, want the one added through AddFault (%s)", rules, added.ID)
	}
}
