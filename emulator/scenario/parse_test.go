package scenario_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/emulator/scenario"
)

// head is a valid scenario's beginning, lines 1 to 5.
const head = `name: test-one
title: A test
summary: One line.
instructor: Some text.
fixture: default
`

// A good scenario parses with its events in order and their actions.
func TestParseGood(t *testing.T) {
	t.Parallel()
	s, err := scenario.Parse("t.yaml", []byte(head+`events:
  - at: 0s
    setOnline: {machine: ws-travel-03, online: true}
  - at: 90s
    addFault: {name: f, match: {path: /api/*}, effect: {status: 503}}
  - at: 2m
    removeFault: f
  - at: 3m
    setProfile: {profile: current, limits: {sessions: 2}}
  - at: 4m
    nextOutcomes: {machine: 82fb3b669b460cf8436780882296d90371d68ad6, outcomes: [{type: GetFile, content: x}]}
  - at: 5m
    startAction: {machine: ws-hr-02.contoso.local, commands: [{type: RunScript, params: [{key: ScriptName, value: Get-Processes.ps1}]}]}
  - at: 26h
    note: done
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range s.Events {
		got = append(got, e.Action()+"@"+e.Offset().String())
	}
	want := "setOnline@0s addFault@1m30s removeFault@2m0s setProfile@3m0s nextOutcomes@4m0s startAction@5m0s note@26h0m0s"
	if strings.Join(got, " ") != want {
		t.Errorf("events %v, want %s", got, want)
	}
	if s.Events[1].FaultName() != "f" || s.Events[2].FaultName() != "f" || s.Events[1].Line != 9 {
		t.Errorf("addFault name %q line %d, removeFault %q", s.Events[1].FaultName(), s.Events[1].Line, s.Events[2].FaultName())
	}
	if s.FixtureRef != "default" || len(s.Fixture.Tenants) != 1 {
		t.Errorf("fixture %q with %d tenants, want the default", s.FixtureRef, len(s.Fixture.Tenants))
	}
}

// A bad scenario is refused with every problem at its line.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string // "line: part of the message"
	}{
		{"unknown field", head + "colour: red\nevents: []\n", []string{"6: field colour not found"}},
		{"syntax", head + "events: [\n", []string{"6: "}},
		{"texts", "name: Bad_Name\ntitle: \"two\\nlines\"\nsummary: \"\"\ninstructor: x\nfixture: default\n",
			[]string{"1: name \"Bad_Name\"", "2: title must be one line", "3: summary is required"}},
		{"unknown machine", head + "events:\n  - at: 1m\n    setOnline: {machine: nope, online: false}\n",
			[]string{`8: machine "nope" is not in the fixture`}},
		{"missing online", head + "events:\n  - at: 1m\n    setOnline: {machine: ws-hr-02}\n",
			[]string{"8: setOnline: online (true or false) is required"}},
		{"order and bounds", head + "events:\n  - at: 2m\n    note: a\n  - at: 1m\n    note: b\n  - at: 800h\n    note: c\n  - note: d\n",
			[]string{"9: at 1m0s comes before", "11: at 800h0m0s: want from 0s to 720h0m0s", "13: at is required"}},
		{"two actions", head + "events:\n  - at: 1m\n    note: a\n    removeFault: x\n",
			[]string{"7: the event has 2 actions"}},
		{"no action", head + "events:\n  - at: 1m\n    description: nothing\n", []string{"7: the event has no action"}},
		{"bad fault", head + "events:\n  - at: 1m\n    addFault: {match: {path: /api/*}, effect: {status: 200}}\n",
			[]string{"8: addFault: "}},
		{"unnamed fault", head + "events:\n  - at: 1m\n    addFault: {effect: {status: 503}}\n",
			[]string{"8: addFault: name is required"}},
		{"remove unknown fault", head + "events:\n  - at: 1m\n    removeFault: storm\n",
			[]string{`8: removeFault: no earlier event adds a fault named "storm"`}},
		{"bad profile", head + "events:\n  - at: 1m\n    setProfile: {profile: fast}\n",
			[]string{`8: setProfile: limits: unknown profile "fast"`}},
		{"bad outcome", head + "events:\n  - at: 1m\n    nextOutcomes: {machine: ws-hr-02, outcomes: [{type: PutFile, output: x}]}\n",
			[]string{"8: nextOutcomes: outcome 1: exitCode, output and errors apply to RunScript outcomes only"}},
		{"bad duration", head + "events:\n  - at: soon\n    note: a\n", []string{`7: bad duration "soon"`}},
		{"bad command", head + "events:\n  - at: 1m\n    startAction: {machine: ws-hr-02, commands: [{type: Reboot}]}\n",
			[]string{`8: startAction: command 1: type "Reboot"`}},
		{"fixture ref", strings.Replace(head, "fixture: default", "fixture: big", 1) + "events: []\n",
			[]string{`5: fixture "big"`}},
		{"inline fixture keeps lines", strings.Replace(head, "fixture: default\n", "", 1) + `fixture:
  tenants:
    - id: not-a-guid
      machines:
        - id: 82fb3b669b460cf8436780882296d90371d68ad6
          computerDnsName: a.contoso.local
          osPlatform: Windows11
          colour: red
events:
  - at: 1m
    setOnline: {machine: a.contoso.local, online: false}
`, []string{"12: fixture: unknown field \"colour\""}},
		{"inline fixture checks", strings.Replace(head, "fixture: default\n", "", 1) + `fixture:
  tenants:
    - id: not-a-guid
events: []
`, []string{"7: fixture: "}},
		{"too many events", head + "events:\n" + strings.Repeat("  - {at: 1m, note: x}\n", scenario.MaxEvents+1),
			[]string{"6: 201 events, over the most allowed of 200"}},
		{"too large", head + "# " + strings.Repeat("x", scenario.MaxSize), []string{"the scenario is"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := scenario.Parse("t.yaml", []byte(tt.text))
			if err == nil {
				t.Fatalf("parsed: %+v", s)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, "t.yaml:"+w) && !strings.Contains(msg, "t.yaml: "+w) {
					t.Errorf("error %q\nlacks %q", msg, "t.yaml:"+w)
				}
			}
			var se *scenario.Error
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *scenario.Error", err)
			}
		})
	}
}

// An inline fixture is the fixture written there.
func TestParseInlineFixture(t *testing.T) {
	t.Parallel()
	s, err := scenario.Parse("t.yaml", []byte(`name: inline
title: Inline
summary: S.
instructor: I.
fixture:
  # a comment at the fixture's indentation
  profile: current
  tenants:
    - id: 11111111-1111-4111-8111-111111111111
      generateMachines: 3
events:
  - at: 1m
    note: hi
`))
	if err != nil {
		t.Fatal(err)
	}
	if s.FixtureRef != "" || s.Fixture.Profile != "current" || s.Fixture.Tenants[0].MachineCount() != 3 {
		t.Errorf("fixture %q, profile %q, tenants %+v", s.FixtureRef, s.Fixture.Profile, s.Fixture.Tenants)
	}
	var _ *fixture.Set = s.Fixture
}

// A scenario names a generated machine by its id (any case), its
// computer name or its short name; an id or a name past the count is not
// in the fixture.
func TestParseNamesGeneratedMachines(t *testing.T) {
	t.Parallel()
	const tenantID = "11111111-1111-4111-8111-111111111111"
	ten := fixture.Tenant{ID: tenantID, Name: "Gen", Generate: 3}
	id, name := ten.GeneratedIDName(2)
	other := fixture.Tenant{ID: tenantID, Generate: 4}
	past, _ := other.GeneratedIDName(4)
	doc := func(machine string) string {
		return fmt.Sprintf(`name: gen
title: Gen
summary: S.
instructor: I.
fixture:
  tenants:
    - id: %s
      name: Gen
      generateMachines: 3
events:
  - at: 1m
    setOnline: {machine: %s, online: false}
`, tenantID, machine)
	}
	for _, key := range []string{id, strings.ToUpper(id), name, "gen-000002", "GEN-000003.gen.local"} {
		if _, err := scenario.Parse("t.yaml", []byte(doc(key))); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
	for _, key := range []string{past, "gen-000004", "gen-000002.other.local"} {
		_, err := scenario.Parse("t.yaml", []byte(doc(key)))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("machine %q is not in the fixture", key)) {
			t.Errorf("%s: %v, want it not in the fixture", key, err)
		}
	}
}
