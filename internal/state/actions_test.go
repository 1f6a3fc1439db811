package state

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// TestSubmitView checks the 201 view of runliveresponse.
func TestSubmitView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	comment := "Testing Live Response API"
	cmds := []Command{putFile("tool.exe"), runScript("args.ps1", "-slow"), getFile(reportPath)}
	got, err := e.ten.Submit(caller, win1, SubmitRequest{Comment: &comment, Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ID) != 36 || strings.ToLower(got.ID) != got.ID || strings.Count(got.ID, "-") != 4 {
		t.Errorf("id %q is not a lower-case GUID", got.ID)
	}
	want := pendingView(got.ID, win1, "win1.contoso.local", 0, &comment, cmds...)
	checkView(t, "201 view", want, got)
	if !got.CreationDateTimeUtc.Time().Equal(start) || !got.LastUpdateDateTimeUtc.Time().Equal(start) {
		t.Errorf("creation %s, last update %s; want both %s", got.CreationDateTimeUtc, got.LastUpdateDateTimeUtc, Stamp(start))
	}

	// The stored action shows the same, by any case of its id.
	checkView(t, "Action().View()", want, e.view(t, strings.ToUpper(got.ID)))
	if list := e.ten.Actions(); len(list) != 1 {
		t.Errorf("Actions() has %d actions, want 1", len(list))
	} else {
		checkView(t, "Actions()[0]", want, list[0])
	}

	// On the wire: nulls and an empty errors array, as the service sends.
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{
		`"title":null`, `"requestor":"LR Automation"`, `"requestorComment":"Testing Live Response API"`,
		`"status":"Pending"`, `"creationDateTimeUtc":"2025-03-01T10:00:00.1234567Z"`,
		`"lastUpdateDateTimeUtc":"2025-03-01T10:00:00.1234567Z"`, `"cancellationRequestor":null`,
		`"cancellationDateTimeUtc":null`, `"errorHResult":0`, `"requestSource":"PublicApi"`,
		`{"index":0,"startTime":null,"endTime":null,"commandStatus":"Created","errors":[],"command":{"type":"PutFile","params":[{"key":"FileName","value":"tool.exe"}]}}`,
		`"troubleshootInfo":null`,
	} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("JSON lacks %s:\n%s", frag, b)
		}
	}
}

// TestSubmitNoComment: a request without Comment gives a null
// requestorComment.
// TestSubmitKeepsItsOwnCommands changes a request's commands after each
// submit: the action keeps what was submitted, whether its commands are
// laid out with it (one command, at most two parameters) or not.
func TestSubmitKeepsItsOwnCommands(t *testing.T) {
	t.Parallel()
	for _, cmds := range [][]Command{
		{runScript("args.ps1")},
		{runScript("args.ps1", "-slow")},
		{{Type: GetFile, Params: []Param{{Key: "Path", Value: reportPath}}}},
		{runScript("args.ps1", "-slow"), getFile(reportPath)},
	} {
		e := newEnv(t)
		want := make([]Command, len(cmds))
		for i, c := range cmds {
			want[i] = Command{Type: c.Type, Params: append([]Param(nil), c.Params...)}
		}
		v := e.submit(t, win1, cmds...)
		for i := range cmds {
			for j := range cmds[i].Params {
				cmds[i].Params[j] = Param{Key: "changed", Value: "after the submit"}
			}
		}
		for i, c := range e.view(t, v.ID).Commands {
			if c.Command.Type != want[i].Type || len(c.Command.Params) != len(want[i].Params) {
				t.Fatalf("command %d is %+v, want %+v", i, c.Command, want[i])
			}
			for j, p := range c.Command.Params {
				if p != want[i].Params[j] {
					t.Errorf("%d commands: command %d param %d is %+v after the request changed, want %+v", len(cmds), i, j, p, want[i].Params[j])
				}
			}
		}
	}
}

func TestSubmitNoComment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.at(90 * time.Minute)
	got := e.submit(t, "lin1", runScript("ok.ps1"))
	checkView(t, "view", pendingView(got.ID, lin1, "lin1.contoso.local", 90*time.Minute, nil, runScript("ok.ps1")), got)
}

func TestSubmitValidation(t *testing.T) {
	t.Parallel()
	dup := Command{Type: RunScript, Params: []Param{{Key: "ScriptName", Value: "ok.ps1"}, {Key: "ScriptName", Value: "ok.ps1"}}}
	tests := []struct {
		name string
		cmds []Command
		code apierr.Code // "" for accepted
		msg  string
	}{
		{"no commands", nil, apierr.InvalidRequestBody, "at least one command"},
		{"empty commands", []Command{}, apierr.InvalidRequestBody, "at least one command"},
		{"unknown type", []Command{{Type: "RunCommand", Params: []Param{{Key: "ScriptName", Value: "ok.ps1"}}}}, apierr.InvalidRequestBody, `"RunCommand" is not one of`},
		{"type casing", []Command{{Type: "runscript", Params: []Param{{Key: "ScriptName", Value: "ok.ps1"}}}}, apierr.InvalidRequestBody, `"runscript" is not one of`},
		{"GetFile before RunScript", []Command{getFile(reportPath), runScript("ok.ps1")}, apierr.InvalidRequestBody, "Commands[1] is RunScript after GetFile"},
		{"RunScript before PutFile", []Command{runScript("ok.ps1"), putFile("tool.exe")}, apierr.InvalidRequestBody, "Commands[1] is PutFile after RunScript"},
		{"GetFile before PutFile", []Command{getFile(reportPath), putFile("tool.exe")}, apierr.InvalidRequestBody, "must be in the order PutFile, RunScript, GetFile"},
		{"missing ScriptName", []Command{{Type: RunScript, Params: []Param{{Key: "Args", Value: "-x"}}}}, apierr.MissingRequiredParameter, "Parameter ScriptName is missing."},
		{"no params", []Command{{Type: RunScript}}, apierr.MissingRequiredParameter, "Parameter ScriptName is missing."},
		{"missing FileName", []Command{{Type: PutFile, Params: []Param{}}}, apierr.MissingRequiredParameter, "Parameter FileName is missing."},
		{"missing Path", []Command{{Type: GetFile}}, apierr.MissingRequiredParameter, "Parameter Path is missing."},
		{"empty ScriptName", []Command{runScript("")}, apierr.MissingRequiredParameter, "Parameter ScriptName is missing."},
		{"empty Path", []Command{getFile("")}, apierr.MissingRequiredParameter, "Parameter Path is missing."},
		{"empty FileName", []Command{putFile("")}, apierr.MissingRequiredParameter, "Parameter FileName is missing."},
		{"unknown key", []Command{{Type: RunScript, Params: []Param{{Key: "Script", Value: "ok.ps1"}}}}, apierr.InvalidRequestBody, `unknown parameter "Script"`},
		{"key of another type", []Command{{Type: GetFile, Params: []Param{{Key: "Path", Value: "x"}, {Key: "Args", Value: "y"}}}}, apierr.InvalidRequestBody, `unknown parameter "Args"`},
		{"duplicate key", []Command{dup}, apierr.InvalidRequestBody, "has the parameter ScriptName twice"},
		{"duplicate Args", []Command{runScript("ok.ps1", "-a", "-b")}, apierr.InvalidRequestBody, "has the parameter Args twice"},
		{"script not in library", []Command{runScript("nope.ps1")}, apierr.InvalidInput, "Invalid input nope.ps1: the file was not found in the live response library."},
		{"put file not in library", []Command{putFile("nope.exe")}, apierr.InvalidInput, "Invalid input nope.exe"},
		{"bad second command", []Command{runScript("ok.ps1"), getFile("")}, apierr.MissingRequiredParameter, "Parameter Path is missing."},

		{"Args optional", []Command{runScript("ok.ps1")}, "", ""},
		{"Args given", []Command{runScript("ok.ps1", "--noargs")}, "", ""},
		{"Args empty", []Command{runScript("ok.ps1", "")}, "", ""},
		{"library name any case", []Command{runScript("OK.PS1")}, "", ""},
		{"full order", []Command{putFile("tool.exe"), runScript("ok.ps1"), getFile(reportPath)}, "", ""},
		{"repeats allowed", []Command{putFile("tool.exe"), putFile("ok.ps1"), runScript("ok.ps1"), runScript("exit3.sh"), getFile("a"), getFile("b")}, "", ""},
		{"GetFile of a missing path (fails later)", []Command{getFile(`C:\nope.txt`)}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			v, err := e.ten.Submit(caller, win1, SubmitRequest{Commands: tc.cmds})
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Submit: %v", err)
				}
				checkView(t, "view", pendingView(v.ID, win1, "win1.contoso.local", 0, nil, tc.cmds...), v)
				return
			}
			checkErr(t, err, tc.code, tc.msg)
			if n := e.ten.Sessions(); n != 0 {
				t.Errorf("a refused submit holds %d sessions", n)
			}
			if n := len(e.ten.Actions()); n != 0 {
				t.Errorf("a refused submit created %d actions", n)
			}
			// The machine is still free.
			e.submit(t, win1, runScript("ok.ps1"))
		})
	}
}

func TestSubmitMachineChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key string
		code      apierr.Code // "" for accepted
		msg       string
		wantID    string
	}{
		{"by id", win1, "", "", win1},
		{"by upper-case id", strings.ToUpper(win1), "", "", win1},
		{"by computer name", "WIN1.CONTOSO.LOCAL", "", "", win1},
		{"by short name", "win1", "", "", win1},
		{"in no group", lin1, "", "", lin1},
		{"offline (queued)", off1, "", "", off1},
		{"unknown", "ffffffffffffffffffffffffffffffffffffffff", apierr.ResourceNotFound, "Machine ffffffffffffffffffffffffffffffffffffffff was not found", ""},
		{"other tenant's machine", fab1, apierr.ResourceNotFound, "was not found", ""},
		{"unsupported platform", old1, apierr.OsPlatformNotSupported, "OS Platform Windows7 isn't supported for this action.", ""},
		{"group without level", "noauto", apierr.DisallowedOperation,
			"This device has no automation level assigned to it. You'll need to at least enable the minimum Remediation Level for a given Device Group.", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			v, err := e.ten.Submit(caller, tc.key, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
			if tc.code != "" {
				checkErr(t, err, tc.code, tc.msg)
				if n := e.ten.Sessions(); n != 0 {
					t.Errorf("a refused submit holds %d sessions", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("Submit: %v", err)
			}
			if v.MachineID != tc.wantID || v.Status != StatusPending {
				t.Errorf("machineId %s status %s, want %s Pending", v.MachineID, v.Status, tc.wantID)
			}
		})
	}
}

// TestSubmitCheckOrder: the machine checks come before the body checks.
func TestSubmitCheckOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.ten.Submit(caller, old1, SubmitRequest{})
	checkErr(t, err, apierr.OsPlatformNotSupported, "Windows7")
	_, err = e.ten.Submit(caller, "nope", SubmitRequest{})
	checkErr(t, err, apierr.ResourceNotFound, "nope")
}

// TestCancelPending: a cancelled Pending action never starts.
func TestCancelPending(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cmds := []Command{runScript("ok.ps1"), getFile(reportPath)}
	a := e.submit(t, win1, cmds...)
	e.at(2 * time.Second)
	got, err := e.ten.Cancel(canceller, a.ID, "Machine action was canceled by automation")
	if err != nil {
		t.Fatal(err)
	}
	want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, cmds...)
	setCancelled(&want, "Machine action was canceled by automation", 2*time.Second)
	checkView(t, "Cancel result", want, got)
	e.at(time.Hour)
	checkView(t, "an hour later", want, e.view(t, a.ID))
	if n := e.ten.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d, want 0", n)
	}
}

// TestCancelQueued: a cancelled queued action on an offline machine does
// not time out later, and stays put when the machine comes online.
func TestCancelQueued(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.submit(t, off1, runScript("ok.ps1"))
	e.at(24 * time.Hour)
	if _, err := e.ten.Cancel(canceller, strings.ToUpper(a.ID), ""); err != nil {
		t.Fatal(err)
	}
	want := pendingView(a.ID, off1, "off1.contoso.local", 0, nil, runScript("ok.ps1"))
	setCancelled(&want, "", 24*time.Hour)
	e.machine(t, off1).SetOnline(true)
	e.at(80 * time.Hour)
	checkView(t, "after 80h", want, e.view(t, a.ID))
}

// TestCancelInProgress: the running command ends Failed with a
// cancellation error at the cancel instant; later ones never start.
func TestCancelInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cmds := []Command{putFile("tool.exe"), runScript("ok.ps1"), getFile(reportPath)}
	a := e.submit(t, win1, cmds...)
	cancelAt := 7*time.Second + 250*time.Millisecond
	e.at(cancelAt) // PutFile 5s–6s, RunScript from 6s
	got, err := e.ten.Cancel(canceller, a.ID, "stop it")
	if err != nil {
		t.Fatal(err)
	}
	want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, cmds...)
	setCmd(&want, 0, CommandCompleted, 5*time.Second, 6*time.Second)
	setCmd(&want, 1, CommandFailed, 6*time.Second, cancelAt, "Command was cancelled by SOC Canceller.")
	setCancelled(&want, "stop it", cancelAt)
	checkView(t, "Cancel result", want, got)
	e.at(time.Hour)
	checkView(t, "an hour later", want, e.view(t, a.ID))
	if n := e.ten.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d, want 0", n)
	}
	// The script's output was never produced.
	if _, err := resultOf(e.ten, a.ID, 1); apierr.CodeOf(err) != apierr.BadRequest {
		t.Errorf("Result of the cancelled command: %v, want BadRequest", err)
	}
}

// TestCancelAtCommandBoundary: a cancel at the instant a command ended
// and the next one started fails the next one, with zero duration.
func TestCancelAtCommandBoundary(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cmds := []Command{runScript("ok.ps1"), getFile(reportPath)}
	a := e.submit(t, win1, cmds...)
	e.at(8 * time.Second)
	got, err := e.ten.Cancel(canceller, a.ID, "now")
	if err != nil {
		t.Fatal(err)
	}
	want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, cmds...)
	setCmd(&want, 0, CommandCompleted, 5*time.Second, 8*time.Second)
	setCmd(&want, 1, CommandFailed, 8*time.Second, 8*time.Second, "Command was cancelled by SOC Canceller.")
	setCancelled(&want, "now", 8*time.Second)
	checkView(t, "Cancel result", want, got)
}

// TestCancelLate: a cancel after the last command completed but before the
// status settled gives Cancelled with every command Completed, and the
// results stay downloadable.
func TestCancelLate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.submit(t, win1, runScript("ok.ps1"))
	e.at(9 * time.Second) // completed at 8s, would settle at 10s
	got, err := e.ten.Cancel(canceller, a.ID, "too late")
	if err != nil {
		t.Fatal(err)
	}
	want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, runScript("ok.ps1"))
	setCmd(&want, 0, CommandCompleted, 5*time.Second, 8*time.Second)
	setCancelled(&want, "too late", 9*time.Second)
	checkView(t, "Cancel result", want, got)
	e.at(time.Hour)
	checkView(t, "an hour later", want, e.view(t, a.ID))
	if _, err := resultOf(e.ten, a.ID, 0); err != nil {
		t.Errorf("Result of a completed command of a cancelled action: %v", err)
	}
}

func TestCancelErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.ten.Cancel(canceller, "9d5e1f2a-0000-4000-8000-000000000000", "")
	checkErr(t, err, apierr.ResourceNotFound, "9d5e1f2a-0000-4000-8000-000000000000")

	done := e.submit(t, win1, runScript("ok.ps1"))
	failed := e.submit(t, lin1, runScript("fail.ps1"))
	timedOut := e.submit(t, off1, runScript("ok.ps1"))
	e.at(72 * time.Hour)
	for _, tc := range []struct {
		id, status string
	}{{done.ID, StatusSucceeded}, {failed.ID, StatusFailed}, {timedOut.ID, StatusTimeOut}} {
		before := e.view(t, tc.id)
		if before.Status != tc.status {
			t.Fatalf("status %s, want %s", before.Status, tc.status)
		}
		_, err := e.ten.Cancel(canceller, tc.id, "")
		checkErr(t, err, apierr.BadRequest, "it is already "+tc.status)
		checkView(t, "after a refused cancel", before, e.view(t, tc.id))
	}

	// A second cancel is refused too, and frees no second session.
	e.submit(t, win1, runScript("ok.ps1"))
	b := e.submit(t, lin1, runScript("ok.ps1"))
	if _, err := e.ten.Cancel(canceller, b.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = e.ten.Cancel(canceller, b.ID, "")
	checkErr(t, err, apierr.BadRequest, "already Cancelled")
	if n := e.ten.Sessions(); n != 1 {
		t.Errorf("Sessions() = %d, want 1", n)
	}
}
