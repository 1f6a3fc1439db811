package emulator_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/state"
)

// TestUploadedScriptRuns: a script uploaded through the API, which the
// fixtures do not declare, answers a RunScript with an output naming it,
// its sha256 and the Args; on Windows a .ps1's output comes in the
// service's transcript wrapping, on Linux a .sh's as it is.
func TestUploadedScriptRuns(t *testing.T) {
	e := newEnv(t)
	content := []byte("echo hi\n")
	sum := sha256.Sum256(content)
	sha := hex.EncodeToString(sum[:])
	for _, name := range []string{"Get-Foo.ps1", "collect.sh"} {
		if r := e.upload("file", name, content, nil); r.status != 200 {
			t.Fatalf("upload %s: %d %s", name, r.status, r.body)
		}
	}
	run := func(machine, script string) state.ScriptResult {
		t.Helper()
		id := e.submit(machine, `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"`+script+`"},{"key":"Args","value":"-x 1"}]}]}`)
		e.advance(time.Minute)
		if v := e.action(id); v.Status != "Succeeded" {
			t.Fatalf("%s: %+v", script, v)
		}
		res := e.call("GET", strings.TrimPrefix(e.downloadLink(id, 0), testBase), "", "")
		var s state.ScriptResult
		if err := json.Unmarshal(res.body, &s); err != nil {
			t.Fatalf("%s: result %s: %v", script, res.body, err)
		}
		return s
	}
	msg := func(script string) string {
		return "mde-emulator: " + script + " (sha256 " + sha + `) with Args "-x 1" did not run: the fixtures give this library file no behaviour, ` +
			"so the emulator answers with exit code 0 and this text. To give it one, declare the file with a behavior in the fixture's library; " +
			"to change this answer, set the tenant's undeclaredScripts (fixtures/README.md); " +
			"or queue an outcome with POST /_emulator/machines/ID/next-outcomes.\n"
	}

	if got, want := run(linuxMachine, "collect.sh"), (state.ScriptResult{ScriptName: "collect.sh", ScriptOutput: msg("collect.sh")}); got != want {
		t.Errorf("Linux .sh: %#v\nwant %#v", got, want)
	}
	got := run(winMachine, "Get-Foo.ps1")
	transcript := regexp.MustCompile(`^Transcript started, output file is C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Temp\\PSScriptOutputs\\PSScript_Transcript_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.txt\n` +
		regexp.QuoteMeta(msg("Get-Foo.ps1")) + "\x00\x00\x00$")
	if got.ScriptName != "Get-Foo.ps1" || got.ExitCode != 0 || got.ScriptErrors != "" || !transcript.MatchString(got.ScriptOutput) {
		t.Errorf("Windows .ps1: %#v, want the output to match %s", got, transcript)
	}
}
