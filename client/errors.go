package client

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes of the service that a caller may want to match on. The
// service sends more; APIError.Code holds whichever it sent.
const (
	CodeActiveRequestAlreadyExists = "ActiveRequestAlreadyExists"
	CodeResourceNotFound           = "ResourceNotFound"
	CodeTooManyRequests            = "TooManyRequests"
	CodeUnauthorized               = "Unauthorized"
	CodeForbidden                  = "Forbidden"
)

// APIError is an error answer of the API, the token endpoint or the result
// blob store.
type APIError struct {
	// Method and URL identify the call. URL has no query, so it never
	// holds a download link's signature.
	Method, URL string
	// Status is the HTTP status code.
	Status int
	// Code and Message come from the body: the API's
	// {"error":{"code","message"}}, the identity platform's
	// {"error","error_description"} or Azure Storage's XML <Error>. Code is
	// empty when the body had none of these.
	Code, Message string
	// RetryAfter is the wait the answer asked for, if any.
	RetryAfter time.Duration
}

// Error returns "METHOD URL: STATUS CODE: MESSAGE".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d", e.Method, e.URL, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// parseAPIError builds the APIError of an answer from its body, whatever
// the service that sent it.
func parseAPIError(method, url string, status int, body []byte) *APIError {
	e := &APIError{Method: method, URL: url, Status: status}
	var api struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	var azure struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	switch {
	case json.Unmarshal(body, &api) == nil && len(api.Error) > 0:
		var inner struct{ Code, Message string }
		if json.Unmarshal(api.Error, &inner) == nil {
			e.Code, e.Message = inner.Code, inner.Message
		} else if json.Unmarshal(api.Error, &e.Code) == nil { // identity platform
			e.Message = api.Desc
		}
	case xml.Unmarshal(body, &azure) == nil && azure.Code != "":
		e.Code, e.Message = azure.Code, azure.Message
	default:
		e.Message = strings.TrimSpace(string(body))
	}
	if first, _, ok := strings.Cut(e.Message, "\n"); ok { // Azure appends RequestId and Time
		e.Message = first
	}
	if len(e.Message) > 500 {
		e.Message = e.Message[:500] + "…"
	}
	return e
}

// Sentinel errors an *ActionError matches with errors.Is, one for each way
// an action can end other than Succeeded.
var (
	// ErrActionFailed: the action ended Failed (a command failed).
	ErrActionFailed = errors.New("live response action failed")
	// ErrTimedOut: the action ended TimeOut (a script ran past the
	// service's limit, or the machine did not pick the action up in time).
	ErrTimedOut = errors.New("live response action timed out")
	// ErrCancelled: the action was cancelled.
	ErrCancelled = errors.New("live response action was cancelled")
)

// ActionError reports an action that ended Failed, TimeOut or Cancelled.
type ActionError struct {
	// Action is the action as the last poll returned it: its Status, and
	// each command's status and errors.
	Action *Action
}

// Error names the action, how it ended and the errors of every command
// that failed.
func (e *ActionError) Error() string {
	a := e.Action
	var b strings.Builder
	fmt.Fprintf(&b, "live response action %s on %s ", a.ID, a.machine())
	switch a.Status {
	case StatusTimeOut:
		b.WriteString("timed out (status TimeOut)")
	case StatusCancelled:
		b.WriteString("was cancelled (status Cancelled)")
		if a.CancellationRequestor != "" {
			b.WriteString(" by " + a.CancellationRequestor)
		}
		if a.CancellationComment != "" {
			fmt.Fprintf(&b, ": %q", a.CancellationComment)
		}
	case StatusFailed:
		b.WriteString("failed (status Failed)")
	default:
		fmt.Fprintf(&b, "ended with status %s", a.Status)
	}
	for _, f := range a.FailedCommands() {
		fmt.Fprintf(&b, "; command %d (%s) failed", f.Index, f.Command.Type)
		if len(f.Errors) > 0 {
			b.WriteString(": " + strings.Join(f.Errors, "; "))
		}
	}
	return b.String()
}

// Is reports whether target is the sentinel of the action's status:
// ErrActionFailed, ErrTimedOut or ErrCancelled.
func (e *ActionError) Is(target error) bool {
	switch e.Action.Status {
	case StatusFailed:
		return target == ErrActionFailed
	case StatusTimeOut:
		return target == ErrTimedOut
	case StatusCancelled:
		return target == ErrCancelled
	}
	return false
}

// ScriptError reports a script that ran to its end (the action Succeeded)
// and exited with a non-zero exit code.
type ScriptError struct {
	// ActionID is the action that ran the script.
	ActionID string
	// Result is the script's result: its exit code, output and errors.
	Result *ScriptResult
}

// Error names the script, its exit code and what it wrote to its error
// stream.
func (e *ScriptError) Error() string {
	msg := fmt.Sprintf("script %s exited with exit code %d", e.Result.ScriptName, e.Result.ExitCode)
	if s := strings.TrimSpace(e.Result.Errors); s != "" {
		msg += ": " + s
	}
	return msg
}
