package state

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// newSHA is the sha256 of "echo hi", the content the tests upload.
const newSHA = "56a79f3b115448072387c2480044bfa2cf8f90e4f5fddd8c943b4e051b81f80b"

// undeclaredMsg is the default script_output of a library file the
// fixture does not declare, written out in full to pin its wording.
func undeclaredMsg(script, sha, args string) string {
	return "mde-emulator: " + script + " (sha256 " + sha + `) with Args "` + args + `" did not run: ` +
		"the fixtures give this library file no behaviour, so the emulator answers with exit code 0 and this text. " +
		"To give it one, declare the file with a behavior in the fixture's library; " +
		"to change this answer, set the tenant's undeclaredScripts (fixtures/README.md); " +
		"or queue an outcome with POST /_emulator/machines/ID/next-outcomes.\n"
}

// undeclaredText is undeclaredMsg JSON-escaped, as in a result file.
func undeclaredText(script, sha, args string) string {
	b, _ := json.Marshal(undeclaredMsg(script, sha, args))
	return string(b[1 : len(b)-1])
}

// transcript is output (ending in a line break) as a PowerShell script on
// Windows returns it, with the transcript id.
func transcript(output, id string) string {
	return `Transcript started, output file is C:\ProgramData\Microsoft\Windows Defender Advanced Threat Protection\Temp\PSScriptOutputs\PSScript_Transcript_` +
		id + ".txt\n" + output + "\x00\x00\x00"
}

// scriptResult returns the RunScript result of command index of action id.
func (e *env) scriptResult(tb testing.TB, id string, index int) ScriptResult {
	tb.Helper()
	var s ScriptResult
	if err := json.Unmarshal(e.result(tb, id, index), &s); err != nil {
		tb.Fatalf("result %d of %s: %v", index, id, err)
	}
	return s
}

func (e *env) upload(tb testing.TB, name, content string) {
	tb.Helper()
	if _, err := e.ten.Library().Put(Upload{FileName: name, Content: []byte(content), OverrideIfExists: true}, start); err != nil {
		tb.Fatal(err)
	}
}

// contosoWith returns the Contoso fixture with extra lines for its tenant
// (indented two spaces), such as "  wrapScriptOutput: false".
func contosoWith(tb testing.TB, extra string) *env {
	tb.Helper()
	yaml := strings.Replace(contosoYAML, "  name: Contoso\n", "  name: Contoso\n"+extra, 1)
	return newEnvWith(tb, parseFixture(tb, yaml), profile(tb, "default"))
}

// TestUndeclaredScript: a script uploaded through the API runs 3 s, exits
// 0 and says in its output that it has no behaviour, naming the file, its
// sha256 and the Args; on Windows a .ps1's output gets the transcript.
func TestUndeclaredScript(t *testing.T) {
	t.Parallel()
	const s = time.Second
	const sha = "5efb403ab40b6451906b0c18182049ad785528fcffdfed034f9261ce9006fc8a" // "Get-Foo"
	tests := []struct {
		name, machine, file, content, args string
		pickup                             time.Duration
		want                               func(id string) string
	}{
		{"shell script on Linux, with Args", lin1, "new.sh", "echo hi", "-x 1", 10 * s,
			func(string) string { return undeclaredMsg("new.sh", newSHA, "-x 1") }},
		{"PowerShell script on Windows, with Args", win1, "Get-Foo.ps1", "Get-Foo", `-Path "C:\x y"`, 5 * s,
			func(id string) string { return transcript(undeclaredMsg("Get-Foo.ps1", sha, `-Path "C:\x y"`), id) }},
		{"PowerShell script, upper-case extension", win1, "GET-FOO.PS1", "Get-Foo", "", 5 * s,
			func(id string) string { return transcript(undeclaredMsg("GET-FOO.PS1", sha, ""), id) }},
		{"shell script on Windows: no transcript", win1, "new.sh", "echo hi", "", 5 * s,
			func(string) string { return undeclaredMsg("new.sh", newSHA, "") }},
		{"PowerShell script on Linux: no transcript", lin1, "Get-Foo.ps1", "Get-Foo", "{sha256}", 10 * s,
			func(string) string { return undeclaredMsg("Get-Foo.ps1", sha, "{sha256}") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.upload(t, tc.file, tc.content)
			var args []string
			if tc.args != "" {
				args = []string{tc.args}
			}
			a := e.submit(t, tc.machine, runScript(tc.file, args...))
			e.at(time.Minute)
			want := pendingView(a.ID, tc.machine, e.machine(t, tc.machine).ComputerDNSName(), 0, nil, runScript(tc.file, args...))
			setCmd(&want, 0, CommandCompleted, tc.pickup, tc.pickup+3*s)
			setStatus(&want, StatusSucceeded, tc.pickup+5*s)
			checkView(t, "view", want, e.view(t, a.ID))
			got := e.scriptResult(t, a.ID, 0)
			wantResult := ScriptResult{ScriptName: tc.file, ExitCode: 0, ScriptOutput: tc.want(transcriptID(a.ID, 0))}
			if got != wantResult {
				t.Errorf("result\n%#v\nwant\n%#v", got, wantResult)
			}
		})
	}
}

// TestUndeclaredScriptReplaced: an undeclared file replaced through the
// API stays undeclared, with the new content's sha256; a declared file
// replaced keeps its behaviour.
func TestUndeclaredScriptReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.upload(t, "new.sh", "old")
	e.upload(t, "NEW.sh", "echo hi")
	e.upload(t, "ok.ps1", "echo hi")
	a := e.submit(t, lin1, runScript("new.sh"), runScript("ok.ps1"))
	e.at(time.Minute)
	if got, want := e.scriptResult(t, a.ID, 0).ScriptOutput, undeclaredMsg("NEW.sh", newSHA, ""); got != want {
		t.Errorf("replaced undeclared file: output %q, want %q", got, want)
	}
	if got := e.scriptResult(t, a.ID, 1).ScriptOutput; got != "done" {
		t.Errorf("replaced declared file: output %q, want its declared %q", got, "done")
	}
}

// TestUndeclaredScriptsOverride: a tenant's undeclaredScripts replaces the
// default behaviour whole, with its placeholders expanded (once: an Args
// holding a placeholder stays as it is); declared files keep theirs.
func TestUndeclaredScriptsOverride(t *testing.T) {
	t.Parallel()
	e := contosoWith(t, `  undeclaredScripts:
    duration: 1m
    exitCode: 2
    output: "{script}|{args}|{sha256}|{other}\n"
    errors: "no behaviour for {script}"
`)
	e.upload(t, "new.sh", "echo hi")
	a := e.submit(t, lin1, runScript("new.sh", "-a {script}"), runScript("ok.ps1"))
	e.at(time.Hour)
	want := pendingView(a.ID, lin1, "lin1.contoso.local", 0, nil, runScript("new.sh", "-a {script}"), runScript("ok.ps1"))
	setCmd(&want, 0, CommandCompleted, 10*time.Second, 70*time.Second)
	setCmd(&want, 1, CommandCompleted, 70*time.Second, 73*time.Second)
	setStatus(&want, StatusSucceeded, 75*time.Second)
	checkView(t, "view", want, e.view(t, a.ID))
	wantResult := ScriptResult{ScriptName: "new.sh", ExitCode: 2,
		ScriptOutput: "new.sh|-a {script}|" + newSHA + "|{other}\n", ScriptErrors: "no behaviour for new.sh"}
	if got := e.scriptResult(t, a.ID, 0); got != wantResult {
		t.Errorf("result %#v, want %#v", got, wantResult)
	}
	if got := e.scriptResult(t, a.ID, 1).ScriptOutput; got != "done" {
		t.Errorf("declared file: output %q, want %q", got, "done")
	}

	// Without a duration: 3 s; fail makes the command Failed.
	e = contosoWith(t, "  undeclaredScripts: {fail: \"{script} is not allowed here\"}\n")
	e.upload(t, "new.sh", "echo hi")
	a = e.submit(t, lin1, runScript("new.sh"), runScript("ok.ps1"))
	e.at(time.Hour)
	want = pendingView(a.ID, lin1, "lin1.contoso.local", 0, nil, runScript("new.sh"), runScript("ok.ps1"))
	setCmd(&want, 0, CommandFailed, 10*time.Second, 13*time.Second, "new.sh is not allowed here")
	setStatus(&want, StatusFailed, 13*time.Second)
	checkView(t, "fail", want, e.view(t, a.ID))
}

// TestWrapScriptOutputOff: wrapScriptOutput: false leaves the output of
// PowerShell scripts on Windows as the behaviour gives it, declared or not.
func TestWrapScriptOutputOff(t *testing.T) {
	t.Parallel()
	e := contosoWith(t, "  wrapScriptOutput: false\n")
	e.upload(t, "new.ps1", "echo hi")
	a := e.submit(t, win1, runScript("ok.ps1"), runScript("new.ps1"))
	e.at(time.Minute)
	if got := e.scriptResult(t, a.ID, 0).ScriptOutput; got != "done" {
		t.Errorf("declared: output %q, want %q", got, "done")
	}
	if got, want := e.scriptResult(t, a.ID, 1).ScriptOutput, undeclaredMsg("new.ps1", newSHA, ""); got != want {
		t.Errorf("undeclared: output %q, want %q", got, want)
	}

	// Explicitly on is the default.
	e = contosoWith(t, "  wrapScriptOutput: true\n")
	a = e.submit(t, win1, runScript("ok.ps1"))
	e.at(time.Minute)
	if got, want := e.scriptResult(t, a.ID, 0).ScriptOutput, transcript("done\n", transcriptID(a.ID, 0)); got != want {
		t.Errorf("wrapScriptOutput true: output %q, want %q", got, want)
	}
}

// TestTranscriptIDs: each command has a transcript id of its own, a GUID,
// the same at each download.
func TestTranscriptIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.submit(t, win1, runScript("ok.ps1"), runScript("ok.ps1"))
	e.at(time.Minute)
	b := e.submit(t, win1, runScript("ok.ps1"))
	e.at(2 * time.Minute)
	re := regexp.MustCompile(`^Transcript started, output file is C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Temp\\PSScriptOutputs\\PSScript_Transcript_([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\.txt\ndone\n\x00\x00\x00$`)
	seen := map[string]bool{}
	for _, r := range []struct {
		id    string
		index int
	}{{a.ID, 0}, {a.ID, 1}, {b.ID, 0}} {
		out := e.scriptResult(t, r.id, r.index).ScriptOutput
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("output %q does not match %s", out, re)
		}
		if seen[m[1]] {
			t.Errorf("transcript id %s used twice", m[1])
		}
		seen[m[1]] = true
		if again := e.scriptResult(t, r.id, r.index).ScriptOutput; again != out {
			t.Errorf("second download %q, first %q", again, out)
		}
	}
}

// TestTranscribed pins the wrapping: the header, a line break ending the
// output when it has none, three NULs; and where it applies.
func TestTranscribed(t *testing.T) {
	t.Parallel()
	const id = "0b5f2c1e-0000-4000-8000-000000000000"
	const header = `Transcript started, output file is C:\ProgramData\Microsoft\Windows Defender Advanced Threat Protection\Temp\PSScriptOutputs\PSScript_Transcript_` + id + ".txt\n"
	for output, want := range map[string]string{
		"":              header + "\x00\x00\x00",
		"done":          header + "done\n\x00\x00\x00",
		"a\nb\n":        header + "a\nb\n\x00\x00\x00",
		"trailing\n\n":  header + "trailing\n\n\x00\x00\x00",
		"x\x00":         header + "x\x00\n\x00\x00\x00",
		"crlf\r\nline2": header + "crlf\r\nline2\n\x00\x00\x00",
	} {
		if got := transcribed(output, id); got != want {
			t.Errorf("transcribed(%q) = %q, want %q", output, got, want)
		}
	}
	for _, tc := range []struct {
		platform, script string
		want             bool
	}{
		{"Windows11", "Get-Foo.ps1", true},
		{"Windows10", "x.PS1", true},
		{"WindowsServer2022", "x.Ps1", true},
		{"Windows11", "x.sh", false},
		{"Windows11", "x.bat", false},
		{"Windows11", "x.ps1.txt", false},
		{"Linux", "x.ps1", false},
		{"Linux", "x.sh", false},
		{"macOS", "x.sh", false},
	} {
		if got := transcribes(tc.platform, tc.script); got != tc.want {
			t.Errorf("transcribes(%s, %s) = %v, want %v", tc.platform, tc.script, got, tc.want)
		}
	}
}

// TestScriptResultShared: the actions that ran a fixture's script alike
// share one kept Result, on Windows (transcribed) and Linux alike, and each
// reads its own transcript id; an action that ran it otherwise (a queued
// outcome) has its own, and so does a run after the script changed.
func TestScriptResultShared(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	kept := func(id string) *Result {
		t.Helper()
		a, err := e.ten.Action(id)
		if err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.first.result
	}
	var ids []string
	for i := range 2 {
		ids = append(ids, e.submit(t, win1, runScript("ok.ps1")).ID)
		e.at(time.Duration(i+1) * time.Minute)
	}
	if kept(ids[0]) == nil || kept(ids[0]) != kept(ids[1]) {
		t.Errorf("two runs of ok.ps1 on Windows do not share their Result")
	}
	for _, id := range ids {
		if got, want := e.scriptResult(t, id, 0).ScriptOutput, transcript("done\n", transcriptID(id, 0)); got != want {
			t.Errorf("%s: output %q, want %q", id, got, want)
		}
	}
	lin := e.submit(t, lin1, runScript("ok.ps1")).ID
	e.at(3 * time.Minute)
	if kept(lin) == kept(ids[0]) {
		t.Errorf("a run on Linux (not transcribed) shares the Windows run's Result")
	}
	if got := e.scriptResult(t, lin, 0).ScriptOutput; got != "done" {
		t.Errorf("Linux run: output %q, want %q", got, "done")
	}

	if err := e.ten.machineWithID(win1, false).QueueOutcomes([]Outcome{{Output: "queued"}}); err != nil {
		t.Fatal(err)
	}
	queued := e.submit(t, win1, runScript("ok.ps1")).ID
	e.at(4 * time.Minute)
	if kept(queued) == kept(ids[0]) {
		t.Errorf("a run with a queued outcome shares the fixture's Result")
	}
	if got, want := e.scriptResult(t, queued, 0).ScriptOutput, transcript("queued\n", transcriptID(queued, 0)); got != want {
		t.Errorf("queued outcome: output %q, want %q", got, want)
	}

	e.upload(t, "ok.ps1", "echo changed") // declared: keeps its behaviour, a new version
	changed := e.submit(t, win1, runScript("ok.ps1")).ID
	e.at(5 * time.Minute)
	if kept(changed) == kept(ids[0]) {
		t.Errorf("a run of the replaced file shares the old version's Result")
	}
}
