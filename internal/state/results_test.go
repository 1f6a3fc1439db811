package state

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

const baseURL = "http://emulator.local:8080/"

// link returns the parsed download link of command index of action id.
func (e *env) link(tb testing.TB, id string, index int) *url.URL {
	tb.Helper()
	raw, err := e.ten.DownloadLink(id, index, baseURL)
	if err != nil {
		tb.Fatalf("DownloadLink(%s, %d): %v", id, index, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// result downloads the result of command index of action id now, and
// unzips a GetFile result.
func (e *env) result(tb testing.TB, id string, index int) []byte {
	tb.Helper()
	u := e.link(tb, id, index)
	b, berr := e.s.Blob(u.Path, u.Query())
	if berr != nil {
		tb.Fatalf("Blob: %v", berr)
	}
	if b.ContentType != "application/gzip" {
		return b.Content
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Content))
	if err != nil {
		tb.Fatalf("result is not gzip: %v", err)
	}
	content, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return content
}

func checkBlobErr(tb testing.TB, what string, berr *BlobError, status int, code, detail string) {
	tb.Helper()
	if berr == nil {
		tb.Errorf("%s: got the blob, want %d %s", what, status, code)
		return
	}
	if berr.Status != status || berr.Code != code || !strings.Contains(berr.Detail, detail) {
		tb.Errorf("%s: got %d %s (detail %q), want %d %s (detail with %q)", what, berr.Status, berr.Code, berr.Detail, status, code, detail)
	}
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

func TestDownloadLinkShape(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	u := e.link(t, id, 1)
	if u.Scheme != "http" || u.Host != "emulator.local:8080" {
		t.Errorf("link %s is not on the base URL", u)
	}
	wantPath := BlobPrefix + contosoID + "/" + id + "/CustomPlaybookCommandOutput/1"
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

// TestDownloadLinkSE: se is the wall-clock expiry (wall now + 30 minutes,
// rounded up to the second), what a client compares with its own clock,
// whatever the emulated time.
func TestDownloadLinkSE(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	before := time.Now()
	u := e.link(t, id, 1)
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

func TestBlobScriptResult(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	u := e.link(t, id, 1)
	b, berr := e.s.Blob(u.Path, u.Query())
	if berr != nil {
		t.Fatal(berr)
	}
	want := Blob{
		Content:     []byte(`{"script_name":"ok.ps1","exit_code":0,"script_output":"done","script_errors":""}`),
		ContentType: "application/json",
	}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("blob mismatch (-want +got):\n%s", diff)
	}
}

func TestBlobGetFileResult(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	u := e.link(t, id, 2)
	b, berr := e.s.Blob(u.Path, u.Query())
	if berr != nil {
		t.Fatal(berr)
	}
	if b.ContentType != "application/gzip" {
		t.Errorf("content type %s, want application/gzip", b.ContentType)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b.Content))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	if zr.Name != "report.txt" {
		t.Errorf("gzip name %q, want report.txt", zr.Name)
	}
	got, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != reportText {
		t.Errorf("content %q, want %q", got, reportText)
	}
}

func TestDownloadLinkErrors(t *testing.T) {
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
		_, err := e.ten.DownloadLink(tc.id, tc.index, baseURL)
		checkErr(t, err, tc.code, tc.msg)
	}
	e.at(time.Minute + 11*time.Second) // lin1: script 1m10s–1m13s
	_, err := e.ten.DownloadLink(pending.ID, 0, baseURL)
	checkErr(t, err, apierr.BadRequest, "its status is InProgress")

	f := e.submit(t, win1, runScript("fail.ps1"))
	e.at(2 * time.Minute)
	_, err = e.ten.DownloadLink(f.ID, 0, baseURL)
	checkErr(t, err, apierr.BadRequest, "its status is Failed")
}

func TestDownloadLinkExpiry(t *testing.T) {
	t.Parallel()
	e, id := finished(t) // now start+1m: a fractional second
	issued := time.Minute
	u := e.link(t, id, 1)
	e.at(issued + 30*time.Minute - tick)
	if _, berr := e.s.Blob(u.Path, u.Query()); berr != nil {
		t.Errorf("link refused before 30 minutes: %v", berr)
	}
	e.at(issued + 30*time.Minute + time.Second)
	_, berr := e.s.Blob(u.Path, u.Query())
	checkBlobErr(t, "after 30 minutes", berr, 403, "AuthenticationFailed", "Signed expiry time")
	if berr != nil && !strings.HasPrefix(berr.Message, "Server failed to authenticate the request.") {
		t.Errorf("message %q", berr.Message)
	}

	// A fresh call mints a new link that works; the old one stays expired.
	fresh := e.link(t, id, 1)
	// (The manual clock moved, the wall clock hardly: se may be the same
	// second, but the emulated expiry signed in sig is not.)
	if fresh.Query().Get("sig") == u.Query().Get("sig") {
		t.Error("a fresh link has the old expiry")
	}
	if _, berr := e.s.Blob(fresh.Path, fresh.Query()); berr != nil {
		t.Errorf("fresh link refused: %v", berr)
	}

	// Issued at a whole second, a link expires exactly 30 minutes later.
	whole := start.Truncate(time.Second).Add(time.Hour)
	e.clk.AdvanceTo(whole)
	u = e.link(t, id, 2)
	e.clk.AdvanceTo(whole.Add(30*time.Minute - tick))
	if _, berr := e.s.Blob(u.Path, u.Query()); berr != nil {
		t.Errorf("link refused before 30 minutes: %v", berr)
	}
	e.clk.AdvanceTo(whole.Add(30 * time.Minute))
	_, berr = e.s.Blob(u.Path, u.Query())
	checkBlobErr(t, "at 30 minutes", berr, 403, "AuthenticationFailed", "Signed expiry time")
}

func TestBlobTampered(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	u := e.link(t, id, 1)
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
		{"too short", BlobPrefix + contosoID + "/" + id, u.Query(), 404, "BlobNotFound", ""},
	}
	for _, tc := range tests {
		_, berr := e.s.Blob(tc.path, tc.q)
		checkBlobErr(t, tc.name, berr, tc.status, tc.code, tc.detail)
	}
	// A validly signed but malformed expiry.
	bad := u.Query()
	bad.Set("se", "tomorrow")
	bad.Set("sig", e.ten.sign(u.Path, "tomorrow", start.Add(time.Hour)))
	_, berr := e.s.Blob(u.Path, bad)
	checkBlobErr(t, "malformed se", berr, 403, "AuthenticationFailed", "not well formed")
	// A signed path to a command with no result.
	p := strings.TrimSuffix(u.Path, "1") + "0"
	q := u.Query()
	q.Set("sig", e.ten.sign(p, q.Get("se"), start.Add(time.Hour)))
	_, berr = e.s.Blob(p, q)
	checkBlobErr(t, "PutFile blob", berr, 404, "BlobNotFound", "")
}

// TestBlobOtherTenant: a link of one tenant opens nothing of another's.
func TestBlobOtherTenant(t *testing.T) {
	t.Parallel()
	e, id := finished(t)
	fab, ok := e.s.Tenant(fabrikamID)
	if !ok {
		t.Fatal("no Fabrikam")
	}
	fa, err := fab.Submit(Caller{TenantID: fabrikamID, Name: "Fab app"}, fab1, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
	if err != nil {
		t.Fatal(err)
	}
	e.at(2 * time.Minute)
	raw, err := fab.DownloadLink(fa.ID, 0, baseURL)
	if err != nil {
		t.Fatal(err)
	}
	fu, _ := url.Parse(raw)
	b, berr := e.s.Blob(fu.Path, fu.Query())
	if berr != nil || !strings.Contains(string(b.Content), `"script_output":"fabrikam"`) {
		t.Fatalf("Fabrikam's own link: %s, %v", b.Content, berr)
	}

	// Contoso's link moved to Fabrikam's path: the signature breaks.
	u := e.link(t, id, 1)
	moved := strings.Replace(u.Path, contosoID, fabrikamID, 1)
	_, berr = e.s.Blob(moved, u.Query())
	checkBlobErr(t, "Contoso link on Fabrikam's path", berr, 403, "AuthenticationFailed", "Signature did not match")
	// Fabrikam's link pointed at Contoso's action id: signature breaks.
	swapped := strings.Replace(fu.Path, fa.ID, id, 1)
	_, berr = e.s.Blob(swapped, fu.Query())
	checkBlobErr(t, "Fabrikam link on Contoso's action", berr, 403, "AuthenticationFailed", "Signature did not match")
	// Even a correctly signed Fabrikam path does not reach Contoso's action.
	signed := fu.Query()
	signed.Set("sig", fab.sign(swapped, signed.Get("se"), start.Add(time.Hour)))
	_, berr = e.s.Blob(swapped, signed)
	checkBlobErr(t, "signed Fabrikam path to Contoso's action", berr, 404, "BlobNotFound", "")
	// And Contoso's action is not Fabrikam's.
	if _, err := fab.DownloadLink(id, 1, baseURL); apierr.CodeOf(err) != apierr.ResourceNotFound {
		t.Errorf("Fabrikam DownloadLink of Contoso's action: %v, want ResourceNotFound", err)
	}
	// An unknown tenant.
	_, berr = e.s.Blob(strings.Replace(u.Path, contosoID, "33333333-3333-3333-3333-333333333333", 1), u.Query())
	checkBlobErr(t, "unknown tenant", berr, 404, "BlobNotFound", "")
}

// TestDownloadLinkOfFailedAction: the completed commands of a Failed
// action keep their results.
func TestDownloadLinkOfFailedAction(t *testing.T) {
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
