package state

import (
	"fmt"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
)

// Outcome decides how one coming command on a machine ends, whatever the
// fixture says: a test provokes a failure, a hang or an exit code without
// editing fixtures. The first queued outcome that matches a command when it
// starts is used up by it.
type Outcome struct {
	// Type is the command type it applies to: RunScript (the default),
	// PutFile or GetFile.
	Type string `json:"type,omitempty"`
	// Script limits a RunScript outcome to the script of that name.
	Script string `json:"script,omitempty"`
	// Duration is how long the command runs; a RunScript over the script
	// timeout is cut there and times out.
	Duration fixture.Duration `json:"duration,omitempty"`
	// ExitCode, Output and Errors make the RunScript result.
	ExitCode int    `json:"exitCode,omitempty"`
	Output   string `json:"output,omitempty"`
	Errors   string `json:"errors,omitempty"`
	// Fail makes the command Failed with this error.
	Fail string `json:"fail,omitempty"`
	// Content is what a GetFile collects, instead of the machine's file.
	Content *string `json:"content,omitempty"`
}

// validate checks o and fills its default type.
func (o *Outcome) validate() error {
	if o.Type == "" {
		o.Type = RunScript
	}
	if _, ok := commandRank[o.Type]; !ok {
		return apierr.New(apierr.InvalidInput, "outcome type %q is not one of PutFile, RunScript, GetFile", o.Type)
	}
	if o.Script != "" && o.Type != RunScript {
		return apierr.New(apierr.InvalidInput, "script applies to RunScript outcomes only")
	}
	if o.Duration < 0 {
		return apierr.New(apierr.InvalidInput, "duration must not be negative")
	}
	if o.Content != nil && o.Type != GetFile {
		return apierr.New(apierr.InvalidInput, "content applies to GetFile outcomes only")
	}
	if o.Type != RunScript && (o.ExitCode != 0 || o.Output != "" || o.Errors != "") {
		return apierr.New(apierr.InvalidInput, "exitCode, output and errors apply to RunScript outcomes only")
	}
	return nil
}

// QueueOutcomes adds outcomes for the coming commands of m, in order.
func (m *Machine) QueueOutcomes(outs []Outcome) error {
	for i := range outs {
		if err := outs[i].validate(); err != nil {
			return err
		}
	}
	m.outcomesMu.Lock()
	m.outcomes = append(m.outcomes, outs...)
	m.outcomesMu.Unlock()
	return nil
}

// Outcomes returns the outcomes queued for m and not used yet.
func (m *Machine) Outcomes() []Outcome {
	m.outcomesMu.Lock()
	defer m.outcomesMu.Unlock()
	return append([]Outcome{}, m.outcomes...)
}

// ClearOutcomes drops every queued outcome of m.
func (m *Machine) ClearOutcomes() {
	m.outcomesMu.Lock()
	m.outcomes = nil
	m.outcomesMu.Unlock()
}

// takeOutcome removes and returns the first queued outcome that applies to
// a command of type typ (running script, for RunScript).
func (m *Machine) takeOutcome(typ, script string) (Outcome, bool) {
	m.outcomesMu.Lock()
	defer m.outcomesMu.Unlock()
	for i, o := range m.outcomes {
		if o.Type == typ && (o.Script == "" || strings.EqualFold(o.Script, script)) {
			m.outcomes = append(m.outcomes[:i:i], m.outcomes[i+1:]...)
			return o, true
		}
	}
	return Outcome{}, false
}

// planOverride applies a queued outcome to command c of a: its duration,
// failure and result replace what the fixtures would have done.
func (t *Tenant) planOverride(o Outcome, a *Action, c *commandState) outcome {
	out := t.planFromFixtures(a, c)
	if o.Duration > 0 {
		out.after = time.Duration(o.Duration)
	}
	out.failure, out.timeout = "", false
	if c.Type == RunScript {
		name, _ := c.param("ScriptName")
		if f, ok := t.library.Get(name); ok {
			name = f.FileName
		}
		out.result = &result{script: &ScriptResult{
			ScriptName: name, ExitCode: o.ExitCode, ScriptOutput: o.Output, ScriptErrors: o.Errors,
		}}
		if limit := t.store.Profile().ScriptTimeout; out.after > limit {
			return outcome{after: limit, failure: fmt.Sprintf(errTimedOut, limit), timeout: true}
		}
	}
	if c.Type == GetFile && o.Content != nil {
		path, _ := c.param("Path")
		out.result = &result{file: []byte(*o.Content), path: path}
	}
	if o.Fail != "" {
		return outcome{after: out.after, failure: o.Fail}
	}
	if out.result == nil && c.Type == GetFile {
		// The fixtures would have failed this GetFile; the outcome did not
		// say what to collect, so it collects an empty file.
		path, _ := c.param("Path")
		out.result = &result{file: []byte{}, path: path}
	}
	return out
}
