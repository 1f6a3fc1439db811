package emulator

import (
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"io"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/state"
)

// The links' fixture: Contoso's win1 has a file to collect and a library
// with a script; Fabrikam, for isolation between tenants, has a script of
// the same name with another output.
const (
	linksContoso  = "11111111-1111-1111-1111-111111111111"
	linksFabrikam = "22222222-2222-2222-2222-222222222222"
	linksWin1     = "a000000000000000000000000000000000000001"
	linksFab1     = "b000000000000000000000000000000000000001"
	linksBaseURL  = "http://emulator.local:8080/"
	linksReport   = "quarterly numbers\n"
)

const linksYAML = `
tenants:
- id: 11111111-1111-1111-1111-111111111111
  name: Contoso
  machines:
  - id: a000000000000000000000000000000000000001
    computerDnsName: win1.contoso.local
    osPlatform: Windows11
    files:
    - {path: 'C:\Temp\report.txt', content: "quarterly numbers\n"}
  library:
  - fileName: ok.ps1
    behavior: {duration: 3s, output: done}
  - fileName: tool.exe
    contentBase64: VE9PTEJZVEVT
- id: 22222222-2222-2222-2222-222222222222
  name: Fabrikam
  machines:
  - id: b000000000000000000000000000000000000001
    computerDnsName: pc1.fabrikam.local
    osPlatform: Windows11
  library:
  - fileName: ok.ps1
    behavior: {duration: 3s, output: fabrikam}
`

// linksStart has a fraction of a second, as the emulated now mostly has.
var linksStart = time.Date(2025, time.March, 1, 10, 0, 0, 123456700, time.UTC)

// linksEnv is a store on a manual clock, its links and Contoso.
type linksEnv struct {
	s   *state.Store
	clk *clock.Clock
	l   *links
	ten *state.Tenant
}

func newLinksEnv(tb testing.TB) *linksEnv {
	tb.Helper()
	set, err := fixture.Parse("links.yaml", []byte(linksYAML))
	if err != nil {
		tb.Fatal(err)
	}
	p, err := limits.Lookup("default")
	if err != nil {
		tb.Fatal(err)
	}
	clk := clock.New(linksStart, clock.Manual, 1)
	tb.Cleanup(clk.Close)
	s := state.New(clk, p, set)
	ten, _ := s.Tenant(linksContoso)
	return &linksEnv{s: s, clk: clk, l: newLinks(s, clk), ten: ten}
}

// at moves the clock to linksStart+d.
func (e *linksEnv) at(d time.Duration) { e.clk.AdvanceTo(linksStart.Add(d)) }

// finishedLinks returns an env whose win1 ran a PutFile, a RunScript and a
// GetFile, all completed a minute after the start, with the action's id.
func finishedLinks(tb testing.TB) (*linksEnv, string) {
	tb.Helper()
	e := newLinksEnv(tb)
	v, err := e.ten.Submit(state.Caller{TenantID: linksContoso, Name: "LR Automation"}, linksWin1, state.SubmitRequest{Commands: []state.Command{
		{Type: state.PutFile, Params: []state.Param{{Key: "FileName", Value: "tool.exe"}}},
		{Type: state.RunScript, Params: []state.Param{{Key: "ScriptName", Value: "ok.ps1"}}},
		{Type: state.GetFile, Params: []state.Param{{Key: "Path", Value: `C:\Temp\report.txt`}}},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	e.at(time.Minute)
	a, err := e.ten.Action(v.ID)
	if err != nil {
		tb.Fatal(err)
	}
	if got := a.View().Status; got != state.StatusSucceeded {
		tb.Fatalf("action is %s, want Succeeded", got)
	}
	return e, v.ID
}

// link returns the parsed link of command index of t's action id.
func (e *linksEnv) link(tb testing.TB, t *state.Tenant, id string, index int) *url.URL {
	tb.Helper()
	raw, err := e.l.link(t, id, index, linksBaseURL)
	if err != nil {
		tb.Fatalf("link(%s, %d): %v", id, index, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func checkBlobErr(tb testing.TB, what string, berr *blobError, status int, code, detail string) {
	tb.Helper()
	if berr == nil {
		tb.Errorf("%s: got the blob, want %d %s", what, status, code)
		return
	}
	if berr.Status != status || berr.Code != code || !strings.Contains(berr.Detail, detail) {
		tb.Errorf("%s: got %d %s (detail %q), want %d %s (detail with %q)", what, berr.Status, berr.Code, berr.Detail, status, code, detail)
	}
}

func TestLinkShape(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t)
	u := e.link(t, e.ten, strings.ToUpper(id), 1)
	if u.Scheme != "http" || u.Host != "emulator.local:8080" {
		t.Errorf("link %s is not on the base URL", u)
	}
	wantPath := blobPrefix + linksContoso + "/" + id + "/CustomPlaybookCommandOutput/1"
	if u.Path != wantPath {
		t.Errorf("path %s, want %s", u.Path, wantPath)
	}
	q := u.Query()
	for key, want := range map[string]string{"sp": "r", "sv": "2019-07-07", "sr": "b"} {
		if got := q.Get(key); got != want {
			t.Errorf("%s=%q, want %q", key, got, want)
		}
	}
	if q.Get("sig") == "" {
		t.Error("link has no sig")
	}
}

// TestLinkSE: se is the wall-clock expiry (wall now + 30 minutes, rounded
// up to the second), what a client compares with its own clock, whatever
// the emulated time.
func TestLinkSE(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t)
	before := time.Now()
	u := e.link(t, e.ten, id, 1)
	after := time.Now()
	se, err := time.Parse(time.RFC3339, u.Query().Get("se"))
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := before.Add(30*time.Minute).Truncate(time.Second), after.Add(30*time.Minute+time.Second)
	if se.Before(lo) || se.After(hi) {
		t.Errorf("se=%s, want wall now + 30 min (between %s and %s)", se, lo, hi)
	}
}

// TestLinkErrors: a command with no result has no link; the domain's
// error is the answer.
func TestLinkErrors(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t)
	if _, err := e.l.link(e.ten, id, 0, linksBaseURL); apierr.CodeOf(err) != apierr.BadRequest {
		t.Errorf("link of a PutFile: %v, want BadRequest", err)
	}
	if _, err := e.l.link(e.ten, id, 3, linksBaseURL); apierr.CodeOf(err) != apierr.ResourceNotFound {
		t.Errorf("link past the end: %v, want ResourceNotFound", err)
	}
	if _, err := e.l.link(e.ten, "00000000-0000-4000-8000-000000000000", 0, linksBaseURL); apierr.CodeOf(err) != apierr.ResourceNotFound {
		t.Errorf("link of an unknown action: %v, want ResourceNotFound", err)
	}
}

func TestBlobScriptResult(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t)
	u := e.link(t, e.ten, id, 1)
	b, berr := e.l.open(u.Path, u.Query())
	if berr != nil {
		t.Fatal(berr)
	}
	// The script's output "done", in the service's PowerShell transcript
	// wrapping (its id is unique per command).
	want := regexp.MustCompile(`^\{"script_name":"ok.ps1","exit_code":0,"script_output":"` +
		`Transcript started, output file is C:\\\\ProgramData\\\\Microsoft\\\\Windows Defender Advanced Threat Protection\\\\Temp\\\\PSScriptOutputs\\\\PSScript_Transcript_[0-9a-f-]{36}\.txt` +
		`\\ndone\\n\\u0000\\u0000\\u0000","script_errors":""\}$`)
	if !want.Match(b.Content()) || b.ContentType() != "application/json" {
		t.Errorf("blob %s (%s), want %s (application/json)", b.Content(), b.ContentType(), want)
	}
}

func TestBlobGetFileResult(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t)
	u := e.link(t, e.ten, id, 2)
	b, berr := e.l.open(u.Path, u.Query())
	if berr != nil {
		t.Fatal(berr)
	}
	if b.ContentType() != "application/gzip" {
		t.Errorf("content type %s, want application/gzip", b.ContentType())
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Content()))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	if zr.Name != "report.txt" {
		t.Errorf("gzip name %q, want report.txt", zr.Name)
	}
	if want := e.clk.Now().Truncate(time.Second); !zr.ModTime.Equal(want) {
		t.Errorf("gzip time %s, want the emulated now %s", zr.ModTime, want)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != linksReport {
		t.Errorf("content %q, want %q", got, linksReport)
	}
}

func TestLinkExpiry(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t) // now start+1m: a fractional second
	issued := time.Minute
	u := e.link(t, e.ten, id, 1)
	e.at(issued + 30*time.Minute - state.Tick)
	if _, berr := e.l.open(u.Path, u.Query()); berr != nil {
		t.Errorf("link refused before 30 minutes: %v", berr)
	}
	e.at(issued + 30*time.Minute + time.Second)
	_, berr := e.l.open(u.Path, u.Query())
	checkBlobErr(t, "after 30 minutes", berr, 403, "AuthenticationFailed", "Signed expiry time")
	if berr != nil && !strings.HasPrefix(berr.Message, "Server failed to authenticate the request.") {
		t.Errorf("message %q", berr.Message)
	}

	// A fresh call mints a new link that works; the old one stays expired.
	fresh := e.link(t, e.ten, id, 1)
	// (The manual clock moved, the wall clock hardly: se may be the same
	// second, but the emulated expiry signed in sig is not.)
	if fresh.Query().Get("sig") == u.Query().Get("sig") {
		t.Error("a fresh link has the old expiry")
	}
	if _, berr := e.l.open(fresh.Path, fresh.Query()); berr != nil {
		t.Errorf("fresh link refused: %v", berr)
	}

	// Issued at a whole second, a link expires exactly 30 minutes later.
	whole := linksStart.Truncate(time.Second).Add(time.Hour)
	e.clk.AdvanceTo(whole)
	u = e.link(t, e.ten, id, 2)
	e.clk.AdvanceTo(whole.Add(30*time.Minute - state.Tick))
	if _, berr := e.l.open(u.Path, u.Query()); berr != nil {
		t.Errorf("link refused before 30 minutes: %v", berr)
	}
	e.clk.AdvanceTo(whole.Add(30 * time.Minute))
	_, berr = e.l.open(u.Path, u.Query())
	checkBlobErr(t, "at 30 minutes", berr, 403, "AuthenticationFailed", "Signed expiry time")
}

func TestBlobTampered(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t)
	u := e.link(t, e.ten, id, 1)
	with := func(key, value string) url.Values {
		q := u.Query()
		if value == "" {
			q.Del(key)
		} else {
			q.Set(key, value)
		}
		return q
	}
	sig := u.Query().Get("sig")
	flipped := []byte(sig)
	if flipped[0] == 'A' {
		flipped[0] = 'B'
	} else {
		flipped[0] = 'A'
	}
	tests := []struct {
		name   string
		path   string
		q      url.Values
		status int
		code   string
		detail string
	}{
		{"changed sig", u.Path, with("sig", string(flipped)), 403, "AuthenticationFailed", "Signature did not match"},
		{"no sig", u.Path, with("sig", ""), 403, "AuthenticationFailed", "Signature fields not well formed"},
		{"no se", u.Path, with("se", ""), 403, "AuthenticationFailed", "Signature fields not well formed"},
		{"later se", u.Path, with("se", "2099-01-01T00:00:00Z"), 403, "AuthenticationFailed", "Signature did not match"},
		{"other command", strings.TrimSuffix(u.Path, "1") + "2", u.Query(), 403, "AuthenticationFailed", "Signature did not match"},
		{"not a blob path", "/elsewhere/" + id, u.Query(), 404, "BlobNotFound", ""},
		{"too short", blobPrefix + linksContoso + "/" + id, u.Query(), 404, "BlobNotFound", ""},
	}
	for _, tc := range tests {
		_, berr := e.l.open(tc.path, tc.q)
		checkBlobErr(t, tc.name, berr, tc.status, tc.code, tc.detail)
	}
	// A validly signed but malformed expiry.
	bad := u.Query()
	bad.Set("se", "tomorrow")
	bad.Set("sig", e.l.sign(e.ten, u.Path, "tomorrow", linksStart.Add(time.Hour)))
	_, berr := e.l.open(u.Path, bad)
	checkBlobErr(t, "malformed se", berr, 403, "AuthenticationFailed", "not well formed")
	// A signed path to a command with no result.
	p := strings.TrimSuffix(u.Path, "1") + "0"
	q := u.Query()
	q.Set("sig", e.l.sign(e.ten, p, q.Get("se"), linksStart.Add(time.Hour)))
	_, berr = e.l.open(p, q)
	checkBlobErr(t, "PutFile blob", berr, 404, "BlobNotFound", "")
}

// TestBlobOtherTenant: a link of one tenant opens nothing of another's.
func TestBlobOtherTenant(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t)
	fab, ok := e.s.Tenant(linksFabrikam)
	if !ok {
		t.Fatal("no Fabrikam")
	}
	fa, err := fab.Submit(state.Caller{TenantID: linksFabrikam, Name: "Fab app"}, linksFab1, state.SubmitRequest{Commands: []state.Command{
		{Type: state.RunScript, Params: []state.Param{{Key: "ScriptName", Value: "ok.ps1"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.at(2 * time.Minute)
	fu := e.link(t, fab, fa.ID, 0)
	b, berr := e.l.open(fu.Path, fu.Query())
	if berr != nil || !strings.Contains(string(b.Content()), `.txt\nfabrikam\n\u0000\u0000\u0000"`) {
		t.Fatalf("Fabrikam's own link: %s, %v", b.Content(), berr)
	}

	// Contoso's link moved to Fabrikam's path: the signature breaks.
	u := e.link(t, e.ten, id, 1)
	moved := strings.Replace(u.Path, linksContoso, linksFabrikam, 1)
	_, berr = e.l.open(moved, u.Query())
	checkBlobErr(t, "Contoso link on Fabrikam's path", berr, 403, "AuthenticationFailed", "Signature did not match")
	// Fabrikam's link pointed at Contoso's action id: signature breaks.
	swapped := strings.Replace(fu.Path, fa.ID, id, 1)
	_, berr = e.l.open(swapped, fu.Query())
	checkBlobErr(t, "Fabrikam link on Contoso's action", berr, 403, "AuthenticationFailed", "Signature did not match")
	// Even a correctly signed Fabrikam path does not reach Contoso's action.
	signed := fu.Query()
	signed.Set("sig", e.l.sign(fab, swapped, signed.Get("se"), linksStart.Add(time.Hour)))
	_, berr = e.l.open(swapped, signed)
	checkBlobErr(t, "signed Fabrikam path to Contoso's action", berr, 404, "BlobNotFound", "")
	// And Contoso's action is not Fabrikam's.
	if _, err := e.l.link(fab, id, 1, linksBaseURL); apierr.CodeOf(err) != apierr.ResourceNotFound {
		t.Errorf("Fabrikam link of Contoso's action: %v, want ResourceNotFound", err)
	}
	// An unknown tenant.
	_, berr = e.l.open(strings.Replace(u.Path, linksContoso, "33333333-3333-3333-3333-333333333333", 1), u.Query())
	checkBlobErr(t, "unknown tenant", berr, 404, "BlobNotFound", "")
}

// TestLinkAfterLoad: a link made before the state was loaded anew (a
// reset, new fixtures) no longer matches its signature, even where the
// tenant of the same id is.
func TestLinkAfterLoad(t *testing.T) {
	t.Parallel()
	e, id := finishedLinks(t)
	u := e.link(t, e.ten, id, 1)
	set, err := fixture.Parse("links.yaml", []byte(linksYAML))
	if err != nil {
		t.Fatal(err)
	}
	e.s.Load(set)
	_, berr := e.l.open(u.Path, u.Query())
	checkBlobErr(t, "link of the state before", berr, 403, "AuthenticationFailed", "Signature did not match")
}

func TestBlobBaseURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		host string
		tls  bool
		want string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"127.0.0.1:8443", true, "https://127.0.0.1:8443"},
		{"api.securitycenter.microsoft.com", true, "https://mdeliveresponse.blob.core.windows.net"},
		{"EU.api.security.microsoft.com:443", true, "https://mdeliveresponse.blob.core.windows.net"},
		{"api-gov.securitycenter.microsoft.us:8443", true, "https://mdeliveresponse.blob.core.windows.net:8443"},
		{"api.securitycenter.microsoft.com", false, "http://mdeliveresponse.blob.core.windows.net"},
		{"login.microsoftonline.com", true, "https://login.microsoftonline.com"},
	} {
		r := httptest.NewRequest("GET", "/api/machineactions/x/GetLiveResponseResultDownloadLink(index=0)", nil)
		r.Host = tc.host
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := blobBaseURL(echo.New().NewContext(r, httptest.NewRecorder())); got != tc.want {
			t.Errorf("blobBaseURL(%s, tls %v) = %s, want %s", tc.host, tc.tls, got, tc.want)
		}
	}
}

// A download takes its bytes while they fit the bound, or when it is the
// only one in flight, whatever its size; a refused one takes nothing.
func TestBlobBudget(t *testing.T) {
	b := blobBudget{max: 100}
	if !b.take(60) || b.take(60) || b.used.Load() != 60 {
		t.Fatalf("60 then 60 of 100: used %d", b.used.Load())
	}
	b.give(60)
	if !b.take(500) {
		t.Fatal("a download over the bound alone was refused")
	}
	if b.take(1) {
		t.Error("a download beside one over the bound was taken")
	}
	b.give(500)
	if b.used.Load() != 0 {
		t.Errorf("used %d after every download ended", b.used.Load())
	}
}
