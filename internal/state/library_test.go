package state

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

func TestLibraryList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lib := e.ten.Library()
	if _, err := lib.Put(Upload{FileName: "Zeta.ps1", Content: []byte("z"), Description: "last", HasParameters: true, ParametersDescription: "-x", CreatedBy: "me@contoso.com"}, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var names []string
	var zeta LibraryFileView
	for _, v := range lib.List() {
		names = append(names, v.FileName)
		if v.FileName == "Zeta.ps1" {
			zeta = v
		}
	}
	want := []string{"args.ps1", "exit3.sh", "fail.ps1", "hang.ps1", "ok.ps1", "tenmin.ps1", "tool.exe", "Zeta.ps1"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("List names (-want +got):\n%s", diff)
	}
	desc, params := "last", "-x"
	wantZeta := LibraryFileView{
		FileName:              "Zeta.ps1",
		SHA256:                "594e519ae499312b29433b7dd8a97ff068defcba9755b6d5d00e84c524d67b06",
		Description:           &desc,
		CreationTime:          stamp(time.Hour),
		LastUpdatedTime:       stamp(time.Hour),
		CreatedBy:             "me@contoso.com",
		HasParameters:         true,
		ParametersDescription: &params,
	}
	if diff := cmp.Diff(wantZeta, zeta, viewOpts); diff != "" {
		t.Errorf("uploaded file view (-want +got):\n%s", diff)
	}
	f, ok := lib.Get("OK.PS1")
	if !ok {
		t.Fatal("Get is not case-insensitive")
	}
	if v := f.view(); v.Description != nil || v.ParametersDescription != nil || v.SHA256 != sha256Hex([]byte("Write-Output done")) {
		t.Errorf("fixture file view %+v: want null description and parametersDescription and the content's hash", v)
	}
}

func TestLibraryPutErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lib := e.ten.Library()
	tests := []struct {
		name string
		up   Upload
		code apierr.Code
		msg  string
	}{
		{"no name", Upload{Content: []byte("x")}, apierr.MissingRequiredParameter, "Parameter File is missing."},
		{"bad name", Upload{FileName: "my script.ps1"}, apierr.InvalidInput, "may contain only letters"},
		{"path in name", Upload{FileName: "../x.ps1"}, apierr.InvalidInput, "may not hold a path"},
		{"dots only", Upload{FileName: ".."}, apierr.InvalidInput, "made of dots only"},
		{"device name", Upload{FileName: "CON"}, apierr.InvalidInput, "Windows device name (CON)"},
		{"long name", Upload{FileName: strings.Repeat("a", 5000)}, apierr.InvalidInput, "is 5000 characters long; the limit is 255"},
		{"too large", Upload{FileName: "big.bin", Content: make([]byte, MaxLibraryFileSize+1)}, apierr.RequestEntityTooLarge, "larger than 20 MB (20,971,520 bytes)"},
		{"exists", Upload{FileName: "OK.ps1", Content: []byte("x")}, apierr.BadRequest, "File ok.ps1 already exists in the library."},
	}
	for _, tc := range tests {
		_, err := lib.Put(tc.up, start)
		checkErr(t, err, tc.code, tc.msg)
	}
	if _, err := lib.Put(Upload{FileName: "max.bin", Content: make([]byte, MaxLibraryFileSize)}, start); err != nil {
		t.Errorf("a file of exactly 20 MB: %v", err)
	}
	checkErr(t, lib.Delete("nope.ps1"), apierr.ResourceNotFound, "Library file nope.ps1 was not found")
	checkErr(t, lib.Delete("nul.txt"), apierr.InvalidInput, "Windows device name (NUL)")
}

// TestLibraryOverride: a replaced file keeps its creation time and its
// behaviour, and a later PutFile copies the new bytes.
func TestLibraryOverride(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lib := e.ten.Library()
	before, _ := lib.Get("args.ps1")
	created := before.CreationTime
	v, err := lib.Put(Upload{FileName: "ARGS.ps1", Content: []byte("v2"), OverrideIfExists: true, CreatedBy: "other"}, start.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !v.CreationTime.Time().Equal(created) || !v.LastUpdatedTime.Time().Equal(start.Add(time.Hour)) || v.CreatedBy != before.CreatedBy {
		t.Errorf("override view %+v: want creation %v and createdBy %q kept, lastUpdated start+1h", v, created, before.CreatedBy)
	}
	if _, err := lib.Put(Upload{FileName: "tool.exe", Content: []byte("NEWTOOL"), OverrideIfExists: true}, start); err != nil {
		t.Fatal(err)
	}
	a := e.submit(t, win1, putFile("tool.exe"), runScript("args.ps1", "-slow"), getFile(winPutPath))
	e.at(time.Minute)
	want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, putFile("tool.exe"), runScript("args.ps1", "-slow"), getFile(winPutPath))
	setCmd(&want, 0, CommandCompleted, 5*time.Second, 6*time.Second)
	setCmd(&want, 1, CommandCompleted, 6*time.Second, 26*time.Second) // -slow: 20s, kept
	setCmd(&want, 2, CommandCompleted, 26*time.Second, 28*time.Second)
	setStatus(&want, StatusSucceeded, 30*time.Second)
	checkView(t, "after override", want, e.view(t, a.ID))
	if got := string(e.result(t, a.ID, 2)); got != "NEWTOOL" {
		t.Errorf("PutFile copied %q, want the new bytes", got)
	}
}

// TestLibraryUploadedScript: a script uploaded through the API, which the
// fixture does not declare, runs for the default 3 seconds with exit code
// 0 and an output that says so (scriptoutput_test.go has the rest).
func TestLibraryUploadedScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.ten.Library().Put(Upload{FileName: "new.sh", Content: []byte("echo hi")}, start); err != nil {
		t.Fatal(err)
	}
	a := e.submit(t, lin1, runScript("new.sh"))
	e.at(time.Minute)
	want := pendingView(a.ID, lin1, "lin1.contoso.local", 0, nil, runScript("new.sh"))
	setCmd(&want, 0, CommandCompleted, 10*time.Second, 13*time.Second)
	setStatus(&want, StatusSucceeded, 15*time.Second)
	checkView(t, "view", want, e.view(t, a.ID))
	if got, wantJSON := string(e.result(t, a.ID, 0)), `{"script_name":"new.sh","exit_code":0,"script_output":"`+undeclaredText("new.sh", newSHA, "")+`","script_errors":""}`; got != wantJSON {
		t.Errorf("result %s, want %s", got, wantJSON)
	}
}

// TestLibraryDeletedBeforeRun: a library file deleted after the submit
// fails its command when it would start.
func TestLibraryDeletedBeforeRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cmds := []Command{putFile("tool.exe"), runScript("ok.ps1")}
	a := e.submit(t, win1, cmds...)
	b := e.submit(t, lin1, runScript("ok.ps1"))
	for _, name := range []string{"tool.exe", "OK.ps1"} {
		if err := e.ten.Library().Delete(name); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.ten.Submit(caller, off1, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
	checkErr(t, err, apierr.InvalidInput, "ok.ps1")
	e.at(time.Minute)
	want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, cmds...)
	setCmd(&want, 0, CommandFailed, 5*time.Second, 6*time.Second, "File tool.exe was not found in the live response library.")
	setStatus(&want, StatusFailed, 6*time.Second)
	checkView(t, "PutFile of a deleted file", want, e.view(t, a.ID))
	wantB := pendingView(b.ID, lin1, "lin1.contoso.local", 0, nil, runScript("ok.ps1"))
	setCmd(&wantB, 0, CommandFailed, 10*time.Second, 11*time.Second, "Script ok.ps1 was not found in the live response library.")
	setStatus(&wantB, StatusFailed, 11*time.Second)
	checkView(t, "RunScript of a deleted file", wantB, e.view(t, b.ID))
	if strings.Contains(e.view(t, b.ID).Commands[0].Errors[0], "%") {
		t.Error("unformatted error text")
	}
}
