package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/client"
	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/state"
)

// The machines of the kit's fixture.
const (
	win01   = "win-01.contoso.local"
	winBusy = "win-busy.contoso.local"
	winOff  = "win-off.contoso.local"
	// kitApp is the fixture's second app, used to set scenes.
	kitApp = "5d0c8bd5-3b9b-4f4e-9d53-2f0d1f3c6a10"
)

const (
	submitPath = "/api/machines/*/runliveresponse"
	actionPath = "/api/machineactions/*"
	tokenPath  = "/*/oauth2/v2.0/token"
)

// newServer starts an emulator with the kit's fixture on a real clock
// sped up by scale.
func newServer(t *testing.T, scale float64, opts ...emulatortest.Option) *emulatortest.Server {
	t.Helper()
	yaml, err := os.ReadFile("../features/client/fixtures.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]emulatortest.Option{emulatortest.WithFixturesYAML(string(yaml)), emulatortest.WithRealClock(scale)}, opts...)
	return emulatortest.NewServer(t, opts...)
}

// newClient returns a client of srv's default app that polls every 20 ms.
func newClient(t *testing.T, srv *emulatortest.Server, mod ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{
		APIURL:       srv.URL,
		TokenURL:     srv.TokenURL(),
		TenantID:     srv.TenantID,
		ClientID:     srv.ClientID,
		ClientSecret: srv.ClientSecret,
		HTTPClient:   srv.Client(),
		PollInterval: 20 * time.Millisecond,
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func count(srv *emulatortest.Server, method, path string) int {
	return len(srv.Requests(journal.Filter{Method: method, Path: path}))
}

// psOutput matches output as the service returns a PowerShell script's on
// Windows, and so the client's Output: after the transcript header the
// service adds, before its trailing NULs.
func psOutput(output string) *regexp.Regexp {
	return regexp.MustCompile(`^Transcript started, output file is C:\\ProgramData\\Microsoft\\Windows Defender Advanced Threat Protection\\Temp\\PSScriptOutputs\\PSScript_Transcript_[0-9a-f-]{36}\.txt\n` +
		regexp.QuoteMeta(output) + `\x00\x00\x00$`)
}

func TestRunScript(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c := newClient(t, srv)
	res, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !psOutput("explorer\npowershell\n").MatchString(res.Output) || res.ExitCode != 0 || res.ScriptName != "Get-Processes.ps1" {
		t.Errorf("result = %+v", res)
	}
	if n := count(srv, "POST", submitPath); n != 1 {
		t.Errorf("%d submissions, want 1", n)
	}
	if n := count(srv, "POST", tokenPath); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestTokenReusedAcrossOperations(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c := newClient(t, srv)
	ctx := testContext(t)
	for range 2 {
		if _, err := c.RunScript(ctx, win01, "Get-Processes.ps1", ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(srv, "POST", tokenPath); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

func TestGetFile(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	got, err := newClient(t, srv).GetFile(testContext(t), win01, `C:\Temp\evidence.txt`)
	if err != nil {
		t.Fatal(err)
	}
	if want := "evidence line 1\nevidence line 2\n"; string(got) != want {
		t.Errorf("file = %q, want %q", got, want)
	}
}

func TestUploadThenPutFile(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c := newClient(t, srv)
	ctx := testContext(t)
	content := []byte("echo hello\n")
	for range 2 { // the second replaces the first
		f, err := c.UploadLibraryFile(ctx, client.LibraryUpload{FileName: "hello.sh", Content: content, Description: "test", Override: true})
		if err != nil {
			t.Fatal(err)
		}
		if f.FileName != "hello.sh" || len(f.SHA256) != 64 {
			t.Errorf("library file = %+v", f)
		}
	}
	a, err := c.PutFile(ctx, win01, "hello.sh")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != client.StatusSucceeded {
		t.Errorf("status %s", a.Status)
	}
}

func TestUploadWithoutOverrideOfExistingFile(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	_, err := newClient(t, srv).UploadLibraryFile(testContext(t), client.LibraryUpload{FileName: "tool.exe", Content: []byte("x")})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status/100 != 4 || apiErr.Code == "" {
		t.Fatalf("err = %v, want a 4xx *APIError with a code", err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c := newClient(t, srv)
	ctx := testContext(t)
	a, err := c.Submit(ctx, winOff, client.Request{Commands: []client.Command{client.RunScriptCommand("Get-Processes.ps1", "")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cancel(ctx, a.ID, "no longer needed"); err != nil {
		t.Fatal(err)
	}
	final, err := c.Wait(ctx, a)
	if !errors.Is(err, client.ErrCancelled) || final.Status != client.StatusCancelled {
		t.Fatalf("Wait = %v, %v; want Cancelled", final.Status, err)
	}
	if !strings.Contains(err.Error(), "no longer needed") {
		t.Errorf("error %q does not give the cancellation comment", err)
	}
	// A final action cannot be cancelled: the service's 400, typed.
	_, err = c.Cancel(ctx, a.ID, "")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Errorf("second Cancel = %v, want a 400 *APIError", err)
	}
}

// pollRecorder records the status in each answer to a poll of an action,
// to check that the client stops polling at the first final one.
type pollRecorder struct {
	next     http.RoundTripper
	mu       sync.Mutex
	statuses []string
}

func (p *pollRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err != nil || r.Method != "GET" || !strings.HasPrefix(r.URL.Path, "/api/machineactions/") ||
		strings.Contains(r.URL.Path, "GetLiveResponseResultDownloadLink") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var a struct{ Status string }
	_ = json.Unmarshal(body, &a)
	p.mu.Lock()
	p.statuses = append(p.statuses, a.Status)
	p.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// check fails t unless the last poll, and only it, saw final.
func (p *pollRecorder) check(t *testing.T, final client.Status) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.statuses)
	if n == 0 || p.statuses[n-1] != string(final) {
		t.Fatalf("polls saw %v, want the last to see %s", p.statuses, final)
	}
	for _, s := range p.statuses[:n-1] {
		if client.Status(s).Final() {
			t.Errorf("polls saw %v: polled again after a final status", p.statuses)
		}
	}
}

// recordingClient returns a client of srv whose polls are recorded.
func recordingClient(t *testing.T, srv *emulatortest.Server, poll time.Duration) (*client.Client, *pollRecorder) {
	rec := &pollRecorder{next: srv.Client().Transport}
	c := newClient(t, srv, func(cfg *client.Config) {
		cfg.HTTPClient = &http.Client{Transport: rec}
		cfg.PollInterval = poll
	})
	return c, rec
}

func TestFailedCommand(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c, rec := recordingClient(t, srv, 20*time.Millisecond)
	_, err := c.RunScript(testContext(t), win01, "Fail.ps1", "")
	rec.check(t, client.StatusFailed)
	var ae *client.ActionError
	if !errors.As(err, &ae) || !errors.Is(err, client.ErrActionFailed) {
		t.Fatalf("err = %v, want an *ActionError for a failed action", err)
	}
	if !strings.Contains(err.Error(), "Script failed: access denied") {
		t.Errorf("error %q does not hold the command's error", err)
	}
	failed := ae.Action.FailedCommands()
	if len(failed) != 1 || failed[0].Errors[0] != "Script failed: access denied" {
		t.Errorf("failed commands = %+v", failed)
	}
	if n := count(srv, "GET", "*GetLiveResponseResultDownloadLink*"); n != 0 {
		t.Errorf("%d result downloads of a failed action", n)
	}
}

func TestScriptExitCode(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	res, err := newClient(t, srv).RunScript(testContext(t), win01, "Exit3.ps1", "")
	var se *client.ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *ScriptError", err)
	}
	if res == nil || res.ExitCode != 3 || !psOutput("partial\n").MatchString(res.Output) || se.Result.Errors != "boom" {
		t.Errorf("result = %+v", res)
	}
	if !strings.Contains(err.Error(), "exit code 3") {
		t.Errorf("error %q does not give the exit code", err)
	}
}

// A script cut at the 10-minute limit: the action ends TimeOut, the client
// says so and never resubmits. The clock runs 600 times faster: 1 s wall.
func TestTimeOut(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 600)
	c, rec := recordingClient(t, srv, 100*time.Millisecond)
	_, err := c.RunScript(testContext(t), win01, "Hang.ps1", "")
	rec.check(t, client.StatusTimeOut)
	if !errors.Is(err, client.ErrTimedOut) {
		t.Fatalf("err = %v, want ErrTimedOut", err)
	}
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error %q does not say timed out", err)
	}
	if n := count(srv, "POST", submitPath); n != 1 {
		t.Errorf("%d submissions, want 1", n)
	}
}

// afterEach checks that each request that follows a request answered with
// status came at least min (wall) after it.
func checkSpacing(t *testing.T, entries []journal.Entry, status int, minGap time.Duration) {
	t.Helper()
	seen := 0
	for i := 0; i+1 < len(entries); i++ {
		if entries[i].Status != status {
			continue
		}
		seen++
		if gap := entries[i+1].Wall.Sub(entries[i].Wall); gap < minGap {
			t.Errorf("call %d came %v after a %d, want at least %v", entries[i+1].Seq, gap, status, minGap)
		}
	}
	if seen == 0 {
		t.Errorf("no %d in the journal", status)
	}
}

// The action is cancelled by someone else while it runs: the client stops
// polling at the first answer that shows it and reports the cancellation.
func TestCancelledWhileRunning(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c, rec := recordingClient(t, srv, 20*time.Millisecond)
	kit := newClient(t, srv, func(cfg *client.Config) { cfg.ClientID = kitApp })
	ctx := testContext(t)
	a, err := c.Submit(ctx, win01, client.Request{Commands: []client.Command{client.RunScriptCommand("Slow.ps1", "")}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, _ = kit.Cancel(ctx, a.ID, "stopped by the SOC")
	}()
	_, err = c.Wait(ctx, a)
	if !errors.Is(err, client.ErrCancelled) {
		t.Fatalf("err = %v, want ErrCancelled", err)
	}
	rec.check(t, client.StatusCancelled)
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: actionPath},
		Calls:  faults.Calls{Next: 2},
		Effect: faults.Effect{Status: http.StatusTooManyRequests, RetryAfter: faults.Duration(time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, srv).RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	calls := srv.Requests(journal.Filter{Method: "GET", Path: actionPath})
	checkSpacing(t, calls, http.StatusTooManyRequests, time.Second)
	if n := len(srv.Requests(journal.Filter{Status: http.StatusTooManyRequests})); n != 2 {
		t.Errorf("%d answers 429, want 2", n)
	}
}

func TestThrottledSubmit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "POST", Path: submitPath},
		Calls:  faults.Calls{Next: 1},
		Effect: faults.Effect{Status: http.StatusTooManyRequests, RetryAfter: faults.Duration(time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, srv).RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	posts := srv.Requests(journal.Filter{Method: "POST", Path: submitPath})
	if len(posts) != 2 || posts[1].Status != http.StatusCreated {
		t.Fatalf("submissions = %+v, want a 429 then a 201", posts)
	}
	checkSpacing(t, posts, http.StatusTooManyRequests, time.Second)
}

func TestServerErrorsBackOff(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c := newClient(t, srv)
	const base = 100 * time.Millisecond
	client.Speed(c, base, time.Second, 0)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: actionPath},
		Calls:  faults.Calls{Next: 3},
		Effect: faults.Effect{Status: http.StatusServiceUnavailable},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	calls := srv.Requests(journal.Filter{Method: "GET", Path: actionPath})
	// The delays grow: base, 2·base, 4·base, each less up to a quarter.
	var gaps []time.Duration
	for i := 0; i+1 < len(calls); i++ {
		if calls[i].Status == http.StatusServiceUnavailable {
			gaps = append(gaps, calls[i+1].Wall.Sub(calls[i].Wall))
		}
	}
	if len(gaps) != 3 {
		t.Fatalf("%d retries after a 503, want 3", len(gaps))
	}
	for i, g := range gaps {
		if want := (base << i) * 3 / 4; g < want {
			t.Errorf("retry %d after %v, want at least %v", i+1, g, want)
		}
	}
}

func TestOutageGivesUp(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c := newClient(t, srv)
	client.Speed(c, 10*time.Millisecond, 40*time.Millisecond, 0)
	a, err := c.Submit(testContext(t), win01, client.Request{Commands: []client.Command{client.RunScriptCommand("Get-Processes.ps1", "")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: actionPath},
		Effect: faults.Effect{Status: http.StatusServiceUnavailable},
	}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Wait(testContext(t), a)
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable {
		t.Fatalf("err = %v, want the 503 *APIError", err)
	}
	if !strings.Contains(err.Error(), "giving up after 6 retries") {
		t.Errorf("error %q does not say it gave up", err)
	}
	if n := count(srv, "GET", actionPath); n != 7 {
		t.Errorf("%d calls, want 7 (6 retries)", n)
	}
}

func TestDroppedConnections(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60, emulatortest.WithListener())
	c := newClient(t, srv)
	client.Speed(c, 50*time.Millisecond, time.Second, 0)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: actionPath},
		Calls:  faults.Calls{Next: 2},
		Effect: faults.Effect{Drop: true},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	dropped := 0
	for _, e := range srv.Requests(journal.Filter{Method: "GET", Path: actionPath}) {
		if e.Status == 0 && e.Fault != "" {
			dropped++
		}
	}
	if dropped != 2 {
		t.Errorf("%d dropped connections in the journal, want 2", dropped)
	}
}

func TestUnauthorizedRefreshesTokenOnce(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: actionPath},
		Calls:  faults.Calls{Next: 1},
		Effect: faults.Effect{Status: http.StatusUnauthorized},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, srv).RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	if n := count(srv, "POST", tokenPath); n != 2 {
		t.Errorf("%d token requests, want 2 (one more for the 401)", n)
	}
}

func TestPersistentUnauthorizedFails(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "POST", Path: submitPath},
		Effect: faults.Effect{Status: http.StatusUnauthorized},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := newClient(t, srv).RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want the 401 *APIError", err)
	}
	if n := count(srv, "POST", tokenPath); n != 2 {
		t.Errorf("%d token requests, want 2", n)
	}
	if n := count(srv, "POST", submitPath); n != 2 {
		t.Errorf("%d submissions, want 2 (one retry)", n)
	}
}

// tokenLifetime rewrites the token endpoint's answers to give tokens the
// lifetime of expiresIn seconds.
type tokenLifetime struct {
	next      http.RoundTripper
	srv       *emulatortest.Server
	expiresIn string
	calls     atomic.Int32
}

func (t *tokenLifetime) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		return t.next.RoundTrip(r)
	}
	t.calls.Add(1)
	tok, err := t.srv.Token()
	if err != nil {
		return nil, err
	}
	body := `{"token_type":"Bearer","expires_in":` + t.expiresIn + `,"access_token":"` + tok + `"}`
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	rt := &tokenLifetime{next: srv.Client().Transport, srv: srv, expiresIn: `"1"`} // v1 sends strings
	c := newClient(t, srv, func(cfg *client.Config) { cfg.HTTPClient = &http.Client{Transport: rt} })
	ctx := testContext(t)
	if _, err := c.Action(ctx, "00000000-0000-0000-0000-000000000000"); err == nil {
		t.Fatal("want a 404")
	}
	if _, err := c.Action(ctx, "00000000-0000-0000-0000-000000000000"); err == nil {
		t.Fatal("want a 404")
	}
	if n := rt.calls.Load(); n != 1 {
		t.Errorf("%d token requests while the token is fresh, want 1", n)
	}
	time.Sleep(600 * time.Millisecond) // past half its lifetime: the margin
	if _, err := c.Action(ctx, "00000000-0000-0000-0000-000000000000"); err == nil {
		t.Fatal("want a 404")
	}
	if n := rt.calls.Load(); n != 2 {
		t.Errorf("%d token requests, want 2: the token should be refreshed before it expires", n)
	}
}

func TestNotFoundRightAfterSubmit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 10)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: actionPath},
		Effect: faults.Effect{NotFoundFor: faults.Duration(3 * time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, srv).RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Requests(journal.Filter{Method: "GET", Path: actionPath, Status: http.StatusNotFound})); n == 0 {
		t.Error("no 404 was answered: the fault did not fire")
	}
	if n := count(srv, "POST", submitPath); n != 1 {
		t.Errorf("%d submissions, want 1", n)
	}
}

func TestNotFoundOfUnknownActionIsNotRetried(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	c := newClient(t, srv)
	_, err := c.Wait(testContext(t), &client.Action{ID: "00000000-0000-0000-0000-000000000000", Status: client.StatusPending})
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Code == "" {
		t.Fatalf("err = %v, want a 404 *APIError", err)
	}
	if n := count(srv, "GET", actionPath); n != 1 {
		t.Errorf("%d polls, want 1", n)
	}
}

// holdBusy starts an action that keeps machine busy, with the kit's app.
func holdBusy(t *testing.T, srv *emulatortest.Server, machine, script string) {
	t.Helper()
	kit := newClient(t, srv, func(cfg *client.Config) { cfg.ClientID = kitApp })
	if _, err := kit.Submit(testContext(t), machine, client.Request{Commands: []client.Command{client.RunScriptCommand(script, "")}}); err != nil {
		t.Fatal(err)
	}
}

func TestBusyMachineGivesUp(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	holdBusy(t, srv, winBusy, "Hang.ps1")
	c := newClient(t, srv)
	client.Speed(c, time.Second, 15*time.Second, 50*time.Millisecond)
	_, err := c.RunScript(testContext(t), winBusy, "Get-Processes.ps1", "")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != client.CodeActiveRequestAlreadyExists {
		t.Fatalf("err = %v, want ActiveRequestAlreadyExists", err)
	}
	if n := len(srv.Requests(journal.Filter{Method: "POST", Path: submitPath, AppID: srv.ClientID})); n != 4 {
		t.Errorf("%d submissions, want 4 (3 retries)", n)
	}
}

func TestBusyMachineWaitedFor(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	// Slow.ps1 runs 60 s, 1 s of wall time here, plus pickup and settle.
	holdBusy(t, srv, winBusy, "Slow.ps1")
	c := newClient(t, srv)
	client.Speed(c, time.Second, 15*time.Second, 600*time.Millisecond)
	if _, err := c.RunScript(testContext(t), winBusy, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	posts := srv.Requests(journal.Filter{Method: "POST", Path: submitPath, AppID: srv.ClientID})
	if len(posts) < 2 || posts[0].ErrorCode != client.CodeActiveRequestAlreadyExists {
		t.Errorf("submissions = %+v, want a busy answer first", posts)
	}
}

func TestOutcomesOfGetFile(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	content := "queued content\n"
	if err := srv.NextOutcomes(win01, state.Outcome{Type: "GetFile", Content: &content}); err != nil {
		t.Fatal(err)
	}
	got, err := newClient(t, srv).GetFile(testContext(t), win01, `C:\Temp\evidence.txt`)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != content {
		t.Errorf("file = %q, want %q", got, content)
	}
}

// expireFirstLink answers the first n result downloads as Azure Storage
// answers a link that expired.
type expireFirstLink struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (e *expireFirstLink) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/_blob/") && e.n.Add(-1) >= 0 {
		if r.Header.Get("Authorization") != "" {
			panic("a result download carries the API's token")
		}
		body := `<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.
RequestId:1</Message><AuthenticationErrorDetail>Signed expiry time has passed</AuthenticationErrorDetail></Error>`
		return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/xml"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
	return e.next.RoundTrip(r)
}

func TestExpiredLinkRenewed(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	rt := &expireFirstLink{next: srv.Client().Transport}
	rt.n.Store(1)
	c := newClient(t, srv, func(cfg *client.Config) { cfg.HTTPClient = &http.Client{Transport: rt} })
	res, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	if err != nil {
		t.Fatal(err)
	}
	if !psOutput("explorer\npowershell\n").MatchString(res.Output) {
		t.Errorf("output %q", res.Output)
	}
	if n := count(srv, "GET", "*GetLiveResponseResultDownloadLink*"); n != 2 {
		t.Errorf("%d link calls, want 2", n)
	}
}

func TestExpiredLinkGivesUp(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	rt := &expireFirstLink{next: srv.Client().Transport}
	rt.n.Store(100)
	c := newClient(t, srv, func(cfg *client.Config) { cfg.HTTPClient = &http.Client{Transport: rt} })
	_, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	var apiErr *client.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden || apiErr.Code != "AuthenticationFailed" {
		t.Fatalf("err = %v, want the blob's 403 AuthenticationFailed", err)
	}
	if strings.Contains(err.Error(), "sig=") {
		t.Errorf("error %q shows the link's signature", err)
	}
	if n := count(srv, "GET", "*GetLiveResponseResultDownloadLink*"); n != 4 {
		t.Errorf("%d link calls, want 4 (3 renewals)", n)
	}
}

func TestContextEndsWait(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 1)
	c := newClient(t, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.RunScript(ctx, winOff, "Get-Processes.ps1", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned %v after the deadline", d)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	_, err := client.New(client.Config{APIURL: "not a url"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"TenantID", "ClientID", "ClientSecret", "APIURL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
