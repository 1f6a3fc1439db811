// Package scenario is the format of the emulator's scenario packs: named,
// documented training exercises, each a fixture plus a timeline of events
// in emulated time (machines going offline and back, scripted command
// outcomes, fault rules switched on and off, limits tightened) and a text
// for the instructor.
//
// A scenario is a YAML file (the reference is docs/scenarios.md):
//
//	name: busy-machine
//	title: The busy machine
//	summary: One line for the list.
//	instructor: |
//	  Markdown: what happens, what a good client or analyst does, how to
//	  tell from the journal that they did.
//	fixture: default          # or an inline fixture, as in fixtures/*.yaml
//	events:
//	  - at: 2m                # emulated time after the load
//	    setOnline: {machine: ws-travel-03.contoso.local, online: true}
//
// Each event has exactly one action: setOnline, nextOutcomes, addFault,
// removeFault, setProfile, startAction or note. Parse checks a file against Bounds and
// against its fixture (the machines it names exist, the faults it removes
// were added before) and reports every problem with its line. The
// scenarios the emulator ships are embedded in the binary: List, Get.
//
// This package only reads and checks scenarios; the emulator runs them
// (emulator.Server.LoadScenario, the control plane's /_emulator/scenarios
// routes and cmd/emulator's --scenario flag).
package scenario

import (
	"encoding/json"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// Scenario is one parsed and checked scenario.
type Scenario struct {
	// Name is the scenario's name: lower-case letters, digits and hyphens,
	// the name of its file without .yaml.
	Name string `json:"name"`
	// Title is a short human title.
	Title string `json:"title"`
	// Summary is one or two sentences for the list of scenarios.
	Summary string `json:"summary"`
	// Instructor is the text for the instructor, in Markdown: what
	// happens, what a good client or analyst does, and how to tell from
	// the journal that they did.
	Instructor string `json:"instructor"`
	// FixtureRef names the fixture the scenario starts from when it is not
	// inline: "default" (fixtures/default.yaml). Empty: inline.
	FixtureRef string `json:"fixture"`
	// Fixture is the state the scenario starts from.
	Fixture *fixture.Set `json:"-"`
	// Events is the timeline, in time order.
	Events []Event `json:"events"`
}

// Event is one step of a scenario's timeline: at At after the load, its one
// action happens. Exactly one of the action fields is set.
type Event struct {
	// At is the emulated time after the load when the event happens. An
	// event at 0 happens during the load itself.
	At fixture.Duration `json:"at"`
	// Description says, for the instructor, what the event stands for
	// ("the laptop is back on the VPN"). Optional.
	Description string `json:"description,omitempty"`

	// SetOnline switches a machine online or offline.
	SetOnline *SetOnline `json:"setOnline,omitempty"`
	// NextOutcomes queues outcomes for a machine's coming commands, as
	// POST /_emulator/machines/{id}/next-outcomes does.
	NextOutcomes *NextOutcomes `json:"nextOutcomes,omitempty"`
	// AddFault adds a fault rule, in the JSON form POST /_emulator/faults
	// takes; its name is required and is what RemoveFault names.
	AddFault json.RawMessage `json:"addFault,omitempty"`
	// RemoveFault removes the fault rules of this name.
	RemoveFault string `json:"removeFault,omitempty"`
	// SetProfile changes the limits in force.
	SetProfile *SetProfile `json:"setProfile,omitempty"`
	// StartAction starts a live response action on a machine, as someone
	// else (a colleague, another tool) would: the machine is then busy.
	StartAction *StartAction `json:"startAction,omitempty"`
	// Note does nothing but mark a moment of the exercise for the
	// instructor (it shows in the timeline and the log).
	Note string `json:"note,omitempty"`

	// Line is the line of the event in its file.
	Line int `json:"-"`
	// faultName is the name of AddFault's rule.
	faultName string
}

// The actions' names, as Event.Action returns them.
const (
	ActionSetOnline    = "setOnline"
	ActionNextOutcomes = "nextOutcomes"
	ActionAddFault     = "addFault"
	ActionRemoveFault  = "removeFault"
	ActionSetProfile   = "setProfile"
	ActionStartAction  = "startAction"
	ActionNote         = "note"
)

// Action returns the name of the event's action, such as "setOnline".
func (e Event) Action() string {
	switch {
	case e.SetOnline != nil:
		return ActionSetOnline
	case e.NextOutcomes != nil:
		return ActionNextOutcomes
	case e.AddFault != nil:
		return ActionAddFault
	case e.RemoveFault != "":
		return ActionRemoveFault
	case e.SetProfile != nil:
		return ActionSetProfile
	case e.StartAction != nil:
		return ActionStartAction
	default:
		return ActionNote
	}
}

// FaultName returns the name of the fault rule an addFault or removeFault
// event adds or removes, else "".
func (e Event) FaultName() string {
	if e.RemoveFault != "" {
		return e.RemoveFault
	}
	return e.faultName
}

// Offset returns At as a time.Duration.
func (e Event) Offset() time.Duration { return time.Duration(e.At) }

// SetOnline is the setOnline action: the machine (an id or a computer
// name, in the tenant TenantID, else the first tenant that has it) goes
// online or offline, as PATCH /_emulator/machines/{id} {"online"} does.
type SetOnline struct {
	Machine  string `yaml:"machine" json:"machine"`
	TenantID string `yaml:"tenantId,omitempty" json:"tenantId,omitempty"`
	Online   *bool  `yaml:"online" json:"online"`
}

// NextOutcomes is the nextOutcomes action: outcomes queued for the
// machine's coming commands.
type NextOutcomes struct {
	Machine  string    `yaml:"machine" json:"machine"`
	TenantID string    `yaml:"tenantId,omitempty" json:"tenantId,omitempty"`
	Outcomes []Outcome `yaml:"outcomes" json:"outcomes"`
}

// Outcome decides how one coming command on the machine ends, with the
// fields of POST /_emulator/machines/{id}/next-outcomes: type (RunScript,
// the default, PutFile or GetFile), script (a RunScript outcome for that
// script only), duration, exitCode, output, errors, fail (the command
// fails with this text) and content (what a GetFile collects).
type Outcome struct {
	Type     string           `yaml:"type,omitempty" json:"type,omitempty"`
	Script   string           `yaml:"script,omitempty" json:"script,omitempty"`
	Duration fixture.Duration `yaml:"duration,omitempty" json:"duration,omitempty"`
	ExitCode int              `yaml:"exitCode,omitempty" json:"exitCode,omitempty"`
	Output   string           `yaml:"output,omitempty" json:"output,omitempty"`
	Errors   string           `yaml:"errors,omitempty" json:"errors,omitempty"`
	Fail     string           `yaml:"fail,omitempty" json:"fail,omitempty"`
	Content  *string          `yaml:"content,omitempty" json:"content,omitempty"`
}

// SetProfile is the setProfile action: the limits become the named
// profile (empty: the one in force) with Limits' non-zero numbers in
// place of its own.
type SetProfile struct {
	Profile string         `yaml:"profile,omitempty" json:"profile,omitempty"`
	Limits  fixture.Limits `yaml:"limits,omitempty" json:"limits,omitzero"`
}

// StartAction is the startAction action: a live response action on the
// machine, requested by Requestor (default "Scenario") with Commands, as
// POST /api/machines/{id}/runliveresponse takes them. It goes through the
// checks of runliveresponse (the machine busy, the sessions, the library)
// when it fires; a refusal makes the event failed.
type StartAction struct {
	Machine   string    `yaml:"machine" json:"machine"`
	TenantID  string    `yaml:"tenantId,omitempty" json:"tenantId,omitempty"`
	Requestor string    `yaml:"requestor,omitempty" json:"requestor,omitempty"`
	Comment   string    `yaml:"comment,omitempty" json:"comment,omitempty"`
	Commands  []Command `yaml:"commands" json:"commands"`
}

// Command is one command of a StartAction: its type (RunScript, GetFile
// or PutFile) and its parameters (ScriptName, Args, Path, FileName).
type Command struct {
	Type   string  `yaml:"type" json:"type"`
	Params []Param `yaml:"params" json:"params"`
}

// Param is a command's parameter.
type Param struct {
	Key   string `yaml:"key" json:"key"`
	Value string `yaml:"value" json:"value"`
}

// Entry is what the list of scenarios shows of one.
type Entry struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Summary string `json:"summary"`
}

// Entry returns the scenario's name, title and summary.
func (s *Scenario) Entry() Entry {
	return Entry{Name: s.Name, Title: s.Title, Summary: s.Summary}
}
