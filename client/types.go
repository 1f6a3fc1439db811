package client

import (
	"encoding/json"
	"time"
)

// Status is the status of a machine action.
type Status string

// The statuses of a machine action. Succeeded, Failed, TimeOut and
// Cancelled are final.
const (
	StatusPending    Status = "Pending"
	StatusInProgress Status = "InProgress"
	StatusSucceeded  Status = "Succeeded"
	StatusFailed     Status = "Failed"
	StatusTimeOut    Status = "TimeOut"
	StatusCancelled  Status = "Cancelled"
)

// Final reports whether s is a status an action never leaves.
func (s Status) Final() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusTimeOut, StatusCancelled:
		return true
	}
	return false
}

// The command types of live response.
const (
	TypeRunScript = "RunScript"
	TypeGetFile   = "GetFile"
	TypePutFile   = "PutFile"
)

// The status of a command, as CommandResult.Status reports it. The service
// documents Created, Completed and Failed; anything else (the emulator's
// InProgress) means the command is running.
const (
	CommandCreated   = "Created"
	CommandCompleted = "Completed"
	CommandFailed    = "Failed"
)

// Command is one live response command, in the API's own shape.
type Command struct {
	// Type is RunScript, GetFile or PutFile.
	Type string `json:"type"`
	// Params are its parameters: ScriptName and Args (RunScript), Path
	// (GetFile), FileName (PutFile). Keys are case-sensitive.
	Params []Param `json:"params"`
}

// Param is a parameter of a Command.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// RunScriptCommand returns a command that runs the library script
// script with args (no Args parameter when args is empty).
func RunScriptCommand(script, args string) Command {
	c := Command{Type: TypeRunScript, Params: []Param{{"ScriptName", script}}}
	if args != "" {
		c.Params = append(c.Params, Param{"Args", args})
	}
	return c
}

// GetFileCommand returns a command that collects the file at path.
func GetFileCommand(path string) Command {
	return Command{Type: TypeGetFile, Params: []Param{{"Path", path}}}
}

// PutFileCommand returns a command that puts the library file fileName on
// the machine.
func PutFileCommand(fileName string) Command {
	return Command{Type: TypePutFile, Params: []Param{{"FileName", fileName}}}
}

// Request is the body of a live response submission.
type Request struct {
	// Commands run one at a time, in order (the service requires PutFile
	// before RunScript before GetFile), and stop at the first that fails.
	Commands []Command `json:"Commands"`
	// Comment becomes the action's requestorComment; DefaultComment when
	// empty.
	Comment string `json:"Comment"`
}

// DefaultComment is the comment of a submission or cancellation that has
// none.
const DefaultComment = "Live response by the mde-emulator reference client"

// Action is a machine action, as the API returns it. Fields the live
// response client has no use for are left out.
type Action struct {
	ID                    string          `json:"id"`
	Type                  string          `json:"type"`
	Status                Status          `json:"status"`
	MachineID             string          `json:"machineId"`
	ComputerDNSName       string          `json:"computerDnsName"`
	Requestor             string          `json:"requestor"`
	RequestorComment      string          `json:"requestorComment"`
	CreationDateTimeUTC   time.Time       `json:"creationDateTimeUtc"`
	LastUpdateDateTimeUTC time.Time       `json:"lastUpdateDateTimeUtc"`
	CancellationRequestor string          `json:"cancellationRequestor"`
	CancellationComment   string          `json:"cancellationComment"`
	ErrorHResult          int             `json:"errorHResult"`
	Commands              []CommandResult `json:"commands"`

	// submitted is the wall time the service accepted the action (zero for
	// an action this client did not submit): a 404 shortly after it is the
	// service's eventual consistency, not a missing action.
	submitted time.Time
}

// CommandResult is a command of an action and how it went.
type CommandResult struct {
	Index     int        `json:"index"`
	StartTime *time.Time `json:"startTime"`
	EndTime   *time.Time `json:"endTime"`
	// Status is the commandStatus: Created, Completed, Failed, or another
	// value while it runs.
	Status string `json:"commandStatus"`
	// Errors are the command's error texts, when it failed.
	Errors []string `json:"errors"`
	// Command echoes the command that was submitted.
	Command Command `json:"command"`
}

// FailedCommands returns the commands of a whose status is Failed.
func (a *Action) FailedCommands() []CommandResult {
	var out []CommandResult
	for _, c := range a.Commands {
		if c.Status == CommandFailed {
			out = append(out, c)
		}
	}
	return out
}

// machine names the action's machine for messages.
func (a *Action) machine() string {
	if a.ComputerDNSName != "" {
		return a.ComputerDNSName
	}
	if a.MachineID != "" {
		return a.MachineID
	}
	return "its machine"
}

// ScriptResult is the result of a RunScript command, as its result file
// holds it.
type ScriptResult struct {
	ScriptName string `json:"script_name"`
	ExitCode   int    `json:"exit_code"`
	// Output is what the script wrote to its output stream.
	Output string `json:"script_output"`
	// Errors is what the script wrote to its error stream.
	Errors string `json:"script_errors"`
}

// LibraryFile is a file of the live response library.
type LibraryFile struct {
	FileName              string    `json:"fileName"`
	SHA256                string    `json:"sha256"`
	Description           string    `json:"description"`
	CreationTime          time.Time `json:"creationTime"`
	LastUpdatedTime       time.Time `json:"lastUpdatedTime"`
	CreatedBy             string    `json:"createdBy"`
	HasParameters         bool      `json:"hasParameters"`
	ParametersDescription string    `json:"parametersDescription"`
}

// LibraryUpload describes a file to add to the live response library.
type LibraryUpload struct {
	// FileName is the file's name in the library.
	FileName string
	// Content is the file's bytes (the service takes up to 20 MB). It is
	// held in memory so that the upload can be repeated after a failure.
	Content []byte
	// Description, HasParameters and ParametersDescription describe it.
	Description           string
	HasParameters         bool
	ParametersDescription string
	// Override replaces a library file of the same name
	// (OverrideIfExists); without it the service refuses the upload.
	Override bool
}

// jsonBody marshals v for a request body; the values this package sends
// always marshal.
func jsonBody(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("client: " + err.Error())
	}
	return b
}
