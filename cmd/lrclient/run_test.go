package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/journal"
)

// newServer starts an emulator with the kit's fixture on a loopback port,
// its clock sped up by scale.
func newServer(t *testing.T, scale float64) *emulatortest.Server {
	t.Helper()
	yaml, err := os.ReadFile("../../features/client/fixtures.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return emulatortest.NewServer(t, emulatortest.WithFixturesYAML(string(yaml)),
		emulatortest.WithRealClock(scale), emulatortest.WithListener())
}

// env is the environment the kit gives an adapter.
func env(srv *emulatortest.Server) map[string]string {
	return map[string]string{
		"MDE_API_URL":       srv.URL,
		"MDE_AUTHORITY":     srv.URL,
		"MDE_TENANT_ID":     srv.TenantID,
		"MDE_CLIENT_ID":     srv.ClientID,
		"MDE_CLIENT_SECRET": srv.ClientSecret,
		"MDE_SCOPE":         "https://api.securitycenter.microsoft.com/.default",
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// lrclient runs the program with args (fast polling first), env and stdin.
func lrclient(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	args = append([]string{"-poll", "20ms"}, args...)
	code := run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(stdin), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func (r result) want(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stdout, stdout) || !strings.Contains(r.stderr, stderr) {
		t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d, stdout containing %q, stderr containing %q",
			r.code, r.stdout, r.stderr, code, stdout, stderr)
	}
}

func TestRunScript(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	r := lrclient(t, env(srv), "", "run-script", "win-01.contoso.local", "Get-Processes.ps1")
	r.want(t, 0, "explorer\npowershell\n", "")
	// The script's output as the service returns it (a PowerShell script
	// on Windows: in its transcript header and trailing NULs), and nothing more.
	transcribed := regexp.MustCompile(`^Transcript started, output file is C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Temp\\PSScriptOutputs\\PSScript_Transcript_[0-9a-f-]{36}\.txt\nexplorer\npowershell\n\x00\x00\x00$`)
	if !transcribed.MatchString(r.stdout) {
		t.Errorf("stdout %q is not the script's output", r.stdout)
	}
	if n := len(srv.Requests(journal.Filter{Method: "POST", Path: "/api/machines/*/runliveresponse"})); n != 1 {
		t.Errorf("%d submissions", n)
	}
}

func TestRunScriptWithArgsAndTokenURL(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	e := env(srv)
	delete(e, "MDE_AUTHORITY")
	e["MDE_TOKEN_URL"] = srv.TokenURL()
	lrclient(t, e, "", "run-script", "win-01.contoso.local", "Get-Processes.ps1", "-Name explorer -Verbose").
		want(t, 0, "explorer", "")
	posts := srv.Requests(journal.Filter{Method: "POST", Path: "/api/machines/*/runliveresponse"})
	if len(posts) != 1 || !strings.Contains(posts[0].RequestBody, `{"key":"Args","value":"-Name explorer -Verbose"}`) {
		t.Errorf("submissions = %+v", posts)
	}
}

func TestRunScriptFailures(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 600)
	for _, tc := range []struct {
		script, stdout, stderr string
	}{
		{"Fail.ps1", "", "Script failed: access denied"},
		{"Exit3.ps1", "partial\n", "exit code 3"},
		{"Hang.ps1", "", "timed out"},
	} {
		t.Run(tc.script, func(t *testing.T) {
			lrclient(t, env(srv), "", "run-script", "win-01.contoso.local", tc.script).want(t, 1, tc.stdout, tc.stderr)
		})
	}
}

func TestGetFile(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	dest := filepath.Join(t.TempDir(), "evidence.txt")
	lrclient(t, env(srv), "", "get-file", "win-01.contoso.local", `C:\Temp\evidence.txt`, dest).want(t, 0, "", "")
	got, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "evidence line 1\nevidence line 2\n" {
		t.Errorf("DEST holds %q", got)
	}
}

func TestUploadAndPutFile(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	local := filepath.Join(t.TempDir(), "collect.ps1")
	if err := os.WriteFile(local, []byte("Get-ChildItem"), 0o600); err != nil {
		t.Fatal(err)
	}
	lrclient(t, env(srv), "", "upload", local).want(t, 0, "collect.ps1", "")
	lrclient(t, env(srv), "", "upload", local).want(t, 0, "collect.ps1", "") // replaces it
	lrclient(t, env(srv), "", "put-file", "win-01.contoso.local", "collect.ps1").want(t, 0, "", "")
}

func TestCancel(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	// The kit's scene: a Pending action on the offline machine.
	tok, err := srv.Token()
	if err != nil {
		t.Fatal(err)
	}
	body := `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}],"Comment":"scene"}`
	req, _ := http.NewRequest("POST", srv.URL+"/api/machines/win-off.contoso.local/runliveresponse", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var a struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	lrclient(t, env(srv), "", "cancel", a.ID).want(t, 0, "Cancelled", "")
	lrclient(t, env(srv), "", "cancel", a.ID).want(t, 1, "", "400")
}

type printedSummary struct {
	ActionID string `json:"actionId"`
	Status   string `json:"status"`
	Commands []struct {
		Index  int      `json:"index"`
		Type   string   `json:"type"`
		Status string   `json:"status"`
		Errors []string `json:"errors"`
	} `json:"commands"`
}

func TestLiveResponse(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	ok := `[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]},
	        {"type":"GetFile","params":[{"key":"Path","value":"C:\\Temp\\evidence.txt"}]}]`
	r := lrclient(t, env(srv), ok, "live-response", "win-01.contoso.local")
	r.want(t, 0, `"Succeeded"`, "")
	var s printedSummary
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatal(err)
	}
	if s.ActionID == "" || s.Status != "Succeeded" || len(s.Commands) != 2 || s.Commands[1].Status != "Completed" {
		t.Errorf("summary = %+v", s)
	}

	failing := `[{"type":"PutFile","params":[{"key":"FileName","value":"tool.exe"}]},
	             {"type":"RunScript","params":[{"key":"ScriptName","value":"Fail.ps1"}]},
	             {"type":"GetFile","params":[{"key":"Path","value":"C:\\Temp\\evidence.txt"}]}]`
	r = lrclient(t, env(srv), failing, "live-response", "win-01.contoso.local")
	r.want(t, 1, `"Failed"`, "Script failed: access denied")
	s = printedSummary{}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatal(err)
	}
	want := []string{"Completed", "Failed", "Created"}
	for i, c := range s.Commands {
		if c.Index != i || c.Status != want[i] || c.Errors == nil {
			t.Errorf("command %d = %+v, want status %s", i, c, want[i])
		}
	}
	if s.Status != "Failed" || len(s.Commands) != 3 || len(s.Commands[1].Errors) != 1 {
		t.Errorf("summary = %+v", s)
	}
}

func TestRetriesThroughFaults(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: "/api/machineactions/*"},
		Calls:  faults.Calls{Next: 1},
		Effect: faults.Effect{Status: http.StatusTooManyRequests, RetryAfter: faults.Duration(time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: "/api/machineactions/*"},
		Calls:  faults.Calls{Next: 1},
		Effect: faults.Effect{Status: http.StatusUnauthorized},
	}); err != nil {
		t.Fatal(err)
	}
	r := lrclient(t, env(srv), "", "-v", "run-script", "win-01.contoso.local", "Get-Processes.ps1")
	r.want(t, 0, "explorer", "status=429")
	if !strings.Contains(r.stderr, "status=401") || strings.Contains(r.stderr, "sig=") {
		t.Errorf("-v log:\n%s", r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	for _, args := range [][]string{
		{},
		{"dance"},
		{"run-script", "win-01"},
		{"get-file", "win-01", "C:\\x"},
		{"cancel", "a", "b"},
		{"-nope", "cancel", "a"},
	} {
		r := lrclient(t, env(srv), "", args...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a message", args, r.code, r.stderr)
		}
	}
	e := env(srv)
	delete(e, "MDE_CLIENT_SECRET")
	lrclient(t, e, "", "cancel", "x").want(t, 2, "", "MDE_CLIENT_SECRET")
	lrclient(t, env(srv), "not json", "live-response", "win-01").want(t, 2, "", "JSON array")
}

func TestUnknownMachineFails(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	lrclient(t, env(srv), "", "run-script", "nope.contoso.local", "Get-Processes.ps1").want(t, 1, "", "404")
}

// A user's sign-in: MDE_USERNAME and MDE_PASSWORD, no client secret
// needed; a user whose role does not allow RunScript gets the 403 as a
// failure.
func TestUserSignIn(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	e := env(srv)
	delete(e, "MDE_CLIENT_SECRET")
	e["MDE_USERNAME"], e["MDE_PASSWORD"] = "analyst@contoso.onmicrosoft.com", "client-kit-password"
	lrclient(t, e, "", "run-script", "win-01.contoso.local", "Get-Processes.ps1").want(t, 0, "explorer", "")
	e["MDE_USERNAME"] = "tier1@contoso.onmicrosoft.com"
	lrclient(t, e, "", "run-script", "win-01.contoso.local", "Get-Processes.ps1").want(t, 1, "", "403")
	delete(e, "MDE_PASSWORD")
	lrclient(t, e, "", "cancel", "x").want(t, 2, "", "MDE_PASSWORD")
}

// syncBuffer is a bytes.Buffer safe to read while the program writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// enterTheCode finds the user code in the identity platform's message.
var enterTheCode = regexp.MustCompile(`enter the code (\S+)`)

// A device code sign-in (MDE_SIGN_IN=device-code): the program prints the
// identity platform's message on stderr as it is, waits for the user (here
// the test, reading the code from stderr as a person would) and runs the
// operation with the user's token. It ignores MDE_USERNAME and needs no
// password. Slow: the client waits the platform's interval of 5 s before
// its first poll.
func TestDeviceCodeSignIn(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	e := env(srv)
	e["MDE_SIGN_IN"], e["MDE_USERNAME"] = "device-code", "someone-else@contoso.onmicrosoft.com"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout bytes.Buffer
	var stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-poll", "20ms", "run-script", "win-01.contoso.local", "Get-Processes.ps1"},
			func(k string) string { return e[k] }, strings.NewReader(""), &stdout, &stderr)
	}()
	var code string
	for code == "" {
		select {
		case exit := <-done:
			t.Fatalf("exit %d before showing a code; stderr %q", exit, stderr.String())
		default:
		}
		if err := clock.SleepWall(ctx, 10*time.Millisecond); err != nil {
			t.Fatalf("no code shown; stderr %q", stderr.String())
		}
		if m := enterTheCode.FindStringSubmatch(stderr.String()); m != nil {
			code = m[1]
		}
	}
	if err := srv.ApproveDeviceCode(code, "analyst@contoso.onmicrosoft.com"); err != nil {
		t.Fatal(err)
	}
	if exit := <-done; exit != 0 || !strings.Contains(stdout.String(), "explorer") {
		t.Fatalf("exit %d, stdout %q, stderr %q", exit, stdout.String(), stderr.String())
	}
	want := "To sign in, use a web browser to open the page " + srv.URL + "/devicelogin and enter the code " + code + " to authenticate.\n"
	if stderr.String() != want {
		t.Errorf("stderr %q, want the platform's message alone %q", stderr.String(), want)
	}
	for _, e := range srv.Requests(journal.Filter{Method: "POST", Path: "/*/oauth2/v2.0/token"}) {
		if v, _ := url.ParseQuery(e.RequestBody); v.Get("grant_type") == "password" {
			t.Errorf("a password grant in device code mode: %s", e.RequestBody)
		}
	}
}

func TestSignInUsageErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	e := env(srv)
	e["MDE_SIGN_IN"] = "magic"
	lrclient(t, e, "", "cancel", "x").want(t, 2, "", "MDE_SIGN_IN")
	e = env(srv)
	delete(e, "MDE_CLIENT_ID")
	lrclient(t, e, "", "-device-code", "cancel", "x").want(t, 2, "", "MDE_CLIENT_ID")
}
