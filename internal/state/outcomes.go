package state

import (
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
)

// Outcome decides how one coming command on a machine ends, whatever the
// fixture says: a test provokes a failure, a hang or an exit code without
// editing fixtures. The first queued outcome that matches a command when it
// starts is used up by it. The lifecycle engine decides every command's
// Outcome when it starts: the queued one, else one made from the fixtures.
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

// bytes returns what o holds that its machine's tenant counts in its
// storage while o is queued: its strings and content.
func (o *Outcome) bytes() int64 {
	n := len(o.Type) + len(o.Script) + len(o.Output) + len(o.Errors) + len(o.Fail)
	if o.Content != nil {
		n += len(*o.Content)
	}
	return int64(n)
}
