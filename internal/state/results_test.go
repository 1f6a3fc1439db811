package state

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// psOutput is output as the script_output of a PowerShell script on a
// Windows machine carries it, JSON-escaped as in a result file: the
// service's transcript header, the output ended by a line break, three
// NULs. {T} stands for the transcript's id (withTranscript).
func psOutput(output string) string {
	return `Transcript started, output file is C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Temp\\PSScriptOutputs\\PSScript_Transcript_{T}.txt\n` +
		output + `\n\u0000\u0000\u0000`
}

// withTranscript puts the transcript id of command index of action id
// for {T} in want.
func withTranscript(want, id string, index int) string {
	return strings.ReplaceAll(want, "{T}", transcriptID(id, index))
}

// resultOf returns the result of command index of t's action id.
func resultOf(t *Tenant, id string, index int) (*Result, error) {
	a, err := t.Action(id)
	if err != nil {
		return nil, err
	}
	return a.Result(index)
}

// result returns the result file of command index of action id as it is
// downloaded now, a GetFile's unzipped.
func (e *env) result(tb testing.TB, id string, index int) []byte {
	tb.Helper()
	r, err := resultOf(e.ten, id, index)
	if err != nil {
		tb.Fatalf("Result(%s, %d): %v", id, index, err)
	}
	content := r.Content(e.clk.Now())
	if r.ContentType() != "application/gzip" {
		return content
	}
	zr, err := gzip.NewReader(bytes.NewReader(content))
	if err != nil {
		tb.Fatalf("result is not gzip: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// finished returns an env whose Contoso machine win1 ran a RunScript and a
// GetFile, completed 10s after start, with the action's id.
func finished(tb testing.TB) (*env, string) {
	tb.Helper()
	e := newEnv(tb)
	a := e.submit(tb, win1, putFile("tool.exe"), runScript("ok.ps1"), getFile(reportPath))
	e.at(time.Minute)
	if v := e.view(tb, a.ID); v.Status != StatusSucceeded {
		tb.Fatalf("action is %s, want Succeeded", v.Status)
	}
	return e, a.ID
}

func TestScriptResult(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	r, err := resultOf(e.ten, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ContentType(); got != "application/json" {
		t.Errorf("content type %s, want application/json", got)
	}
	want := withTranscript(`{"script_name":"ok.ps1","exit_code":0,"script_output":"`+psOutput("done")+`","script_errors":""}`, id, 1)
	if got := string(r.Content(e.clk.Now())); got != want {
		t.Errorf("content %s, want %s", got, want)
	}
}

func TestGetFileResult(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	r, err := resultOf(e.ten, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.ContentType(); got != "application/gzip" {
		t.Errorf("content type %s, want application/gzip", got)
	}
	modTime := start.Add(time.Hour)
	zr, err := gzip.NewReader(bytes.NewReader(r.Content(modTime)))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	if zr.Name != "report.txt" {
		t.Errorf("gzip name %q, want report.txt", zr.Name)
	}
	if !zr.ModTime.Equal(modTime.Truncate(time.Second)) {
		t.Errorf("gzip time %s, want %s", zr.ModTime, modTime.Truncate(time.Second))
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != reportText {
		t.Errorf("content %q, want %q", got, reportText)
	}
}

func TestResultErrors(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	pending := e.submit(t, lin1, runScript("ok.ps1"), getFile("/var/log/app.log"))
	tests := []struct {
		name  string
		id    string
		index int
		code  apierr.Code
		msg   string
	}{
		{"PutFile has no result", id, 0, apierr.BadRequest, "is a PutFile, which has no result"},
		{"index past the end", id, 3, apierr.ResourceNotFound, "Command index 3 was not found"},
		{"negative index", id, -1, apierr.ResourceNotFound, "Command index -1 was not found"},
		{"not started", pending.ID, 0, apierr.BadRequest, "its status is Created"},
		{"unknown action", "00000000-0000-4000-8000-000000000000", 0, apierr.ResourceNotFound, "was not found"},
	}
	for _, tc := range tests {
		_, err := resultOf(e.ten, tc.id, tc.index)
		checkErr(t, err, tc.code, tc.msg)
	}
	e.at(time.Minute + 11*time.Second) // lin1: script 1m10s–1m13s
	_, err := resultOf(e.ten, pending.ID, 0)
	checkErr(t, err, apierr.BadRequest, "its status is InProgress")

	f := e.submit(t, win1, runScript("fail.ps1"))
	e.at(2 * time.Minute)
	_, err = resultOf(e.ten, f.ID, 0)
	checkErr(t, err, apierr.BadRequest, "its status is Failed")
}

// TestResultOtherTenant: a tenant's actions, and so their results, are
// not another's.
func TestResultOtherTenant(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	fab, ok := e.s.Tenant(fabrikamID)
	if !ok {
		t.Fatal("no Fabrikam")
	}
	if _, err := resultOf(fab, id, 1); apierr.CodeOf(err) != apierr.ResourceNotFound {
		t.Errorf("Fabrikam Result of Contoso's action: %v, want ResourceNotFound", err)
	}
}

// TestResultOfFailedAction: the completed commands of a Failed action keep
// their results.
func TestResultOfFailedAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.submit(t, win1, runScript("exit3.sh"), getFile(`C:\nope`))
	e.at(time.Minute)
	if got := e.view(t, a.ID).Status; got != StatusFailed {
		t.Fatalf("status %s, want Failed", got)
	}
	want := `{"script_name":"exit3.sh","exit_code":3,"script_output":"partial","script_errors":"warning: disk"}`
	if got := string(e.result(t, a.ID, 0)); got != want {
		t.Errorf("result %s, want %s", got, want)
	}
}

// TestGenerationChangesOnLoad: a Load makes tenants of a new generation.
func TestGenerationChangesOnLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := e.ten.Generation()
	e.s.Load(parseFixture(t, contosoYAML))
	after, _ := e.s.Tenant(contosoID)
	if after.Generation() == before {
		t.Errorf("Generation() = %d after a Load, as before it", after.Generation())
	}
}
