package emulator_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/scenario"
	"github.com/mdelive/mde-emulator/internal/journal"
)

// uiForm posts a dashboard form to path with the headers given (pairs).
func (e *env) uiForm(path string, values url.Values, headers ...string) resp {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, testBase+path, strings.NewReader(values.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.send(req)
}

func TestDashboardPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit(winMachine, `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`)
	r := e.call("GET", "/_emulator/ui", "", "")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /_emulator/ui = %d %s", r.status, r.header.Get("Content-Type"))
	}
	page := string(r.body)
	for _, want := range []string{"ws-finance-01.contoso.local", `data-id="` + id + `"`, "2026-01-05 10:00:00",
		`class="entry" data-seq=`, "/api/machines/" + winMachine + "/runliveresponse", "SOAR Automation", "sec-limits"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", r.header.Get("Cache-Control"))
	}
}

// The limits section shows each tenant's live response content against
// the emulator's bound for a tenant: an upload moves it.
func TestDashboardStorage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	storeRe := regexp.MustCompile(`<tr class="store[^"]*"[^>]*><td title="tenant ` + tenantID + `">tenant [^<]*</td>\s*<td><div class="meter"><span style="width:([0-9.]+)%"></span></div>([0-9.]+) MiB of 128.0 MiB</td>`)
	held := func() (pct, mib float64) {
		t.Helper()
		m := storeRe.FindSubmatch(e.call("GET", "/_emulator/ui", "", "").body)
		if m == nil {
			t.Fatal("the limits section has no storage row for the tenant")
		}
		pct, _ = strconv.ParseFloat(string(m[1]), 64)
		mib, _ = strconv.ParseFloat(string(m[2]), 64)
		return pct, mib
	}
	_, before := held()
	if r := e.upload("file", "Evidence.bin", bytes.Repeat([]byte("e"), 8<<20), nil); r.status != http.StatusOK {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	pct, after := held()
	if d := after - before; d < 7.9 || d > 8.1 {
		t.Errorf("held %.1f MiB before an 8 MiB upload and %.1f after", before, after)
	}
	if want := after / 128 * 100; pct < want-0.1 || pct > want+0.1 {
		t.Errorf("meter at %.2f%% for %.1f of 128 MiB, want %.2f%%", pct, after, want)
	}
}

func TestDashboardFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.api("GET", "/api/machines/"+unknownID, "") // a 404 in the journal
	e.api("GET", "/api/machines", "")
	tests := []struct {
		query       string
		status      int
		has, hasNot []string
	}{
		{"?tenant=" + tenantID, 200, []string{"ws-finance-01"}, nil},
		{"?tenant=" + strings.ToUpper(tenantID), 200, []string{"ws-finance-01"}, nil},
		{"?status=4xx", 200, []string{`class="entry s4xx"`, "/api/machines/" + unknownID}, []string{`<td class="path">/api/machines</td>`}},
		{"?path=/api/machines", 200, []string{`<td class="path">/api/machines</td>`}, []string{"/api/machines/" + unknownID}},
		{"?tenant=00000000-0000-0000-0000-000000000000", 400, nil, nil},
		{"?status=3xx", 400, nil, nil},
		{"?path=" + strings.Repeat("a", 201), 400, nil, nil},
	}
	for _, tt := range tests {
		r := e.call("GET", "/_emulator/ui"+tt.query, "", "")
		if r.status != tt.status {
			t.Errorf("GET /_emulator/ui%.60s = %d %s, want %d", tt.query, r.status, r.body, tt.status)
			continue
		}
		if tt.status != 200 {
			if r.errorCode() != "InvalidInput" {
				t.Errorf("GET /_emulator/ui%.60s: code %q, want InvalidInput", tt.query, r.errorCode())
			}
			continue
		}
		for _, s := range tt.has {
			if !bytes.Contains(r.body, []byte(s)) {
				t.Errorf("GET /_emulator/ui%s: no %q", tt.query, s)
			}
		}
		for _, s := range tt.hasNot {
			if bytes.Contains(r.body, []byte(s)) {
				t.Errorf("GET /_emulator/ui%s: %q, filtered out", tt.query, s)
			}
		}
	}
}

func TestDashboardForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, err := e.srv.Store().FindMachine("", winMachine)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.uiForm("/_emulator/ui/machines/"+winMachine+"/online", url.Values{"online": {"false"}, "tenant": {tenantID}}); r.status != 204 || m.Online() {
		t.Errorf("switch offline: %d %s, online %v", r.status, r.body, m.Online())
	}
	if r := e.uiForm("/_emulator/ui/machines/"+winMachine+"/online", url.Values{"online": {"true"}}); r.status != 204 || !m.Online() {
		t.Errorf("switch online: %d %s, online %v", r.status, r.body, m.Online())
	}
	before := e.srv.Clock().Now()
	if r := e.uiForm("/_emulator/ui/clock/advance", url.Values{"by": {"72h"}}); r.status != 204 {
		t.Errorf("advance: %d %s", r.status, r.body)
	}
	if got := e.srv.Clock().Now().Sub(before); got != 72*time.Hour {
		t.Errorf("the clock moved %v, want 72h", got)
	}
	if r := e.uiForm("/_emulator/ui/clock", url.Values{"mode": {"real"}, "scale": {"60"}}); r.status != 204 ||
		e.srv.Clock().Mode() != clock.Real || e.srv.Clock().Scale() != 60 {
		t.Errorf("set clock: %d %s, mode %s scale %v", r.status, r.body, e.srv.Clock().Mode(), e.srv.Clock().Scale())
	}
	if r := e.uiForm("/_emulator/ui/clock", url.Values{"mode": {"manual"}}); r.status != 204 || e.srv.Clock().Mode() != clock.Manual {
		t.Errorf("pause: %d %s, mode %s", r.status, r.body, e.srv.Clock().Mode())
	}
	if r := e.uiForm("/_emulator/ui/faults", url.Values{"rule": {`{"match":{"path":"/api/machines"},"effect":{"status":503}}`}}); r.status != 204 {
		t.Errorf("add fault: %d %s", r.status, r.body)
	}
	rules := e.srv.Faults().List()
	if len(rules) != 1 || rules[0].Effect.Status != 503 {
		t.Fatalf("rules = %+v, want the one added", rules)
	}
	if r := e.uiForm("/_emulator/ui/faults/"+rules[0].ID+"/remove", nil); r.status != 204 || len(e.srv.Faults().List()) != 0 {
		t.Errorf("remove fault: %d %s, rules %v", r.status, r.body, e.srv.Faults().List())
	}

	// What the JSON control plane refuses, the dashboard refuses with the
	// same code.
	refused := []struct {
		path string
		form url.Values
		code string
	}{
		{"/_emulator/ui/machines/" + winMachine + "/online", url.Values{"online": {"maybe"}}, "InvalidInput"},
		{"/_emulator/ui/machines/" + unknownID + "/online", url.Values{"online": {"true"}}, "ResourceNotFound"},
		{"/_emulator/ui/clock/advance", url.Values{"by": {"-1h"}}, "InvalidInput"},
		{"/_emulator/ui/clock/advance", url.Values{}, "MissingRequiredParameter"},
		{"/_emulator/ui/clock", url.Values{"scale": {"0"}}, "InvalidInput"},
		{"/_emulator/ui/clock", url.Values{"mode": {"fast"}}, "InvalidInput"},
		{"/_emulator/ui/faults", url.Values{"rule": {`{"effect":{"status":200}}`}}, "InvalidInput"},
		{"/_emulator/ui/faults/f404/remove", nil, "ResourceNotFound"},
	}
	for _, tt := range refused {
		if r := e.uiForm(tt.path, tt.form); r.status/100 != 4 || r.errorCode() != tt.code {
			t.Errorf("POST %s %v = %d %s, want code %s", tt.path, tt.form, r.status, r.body, tt.code)
		}
	}
	if got := e.srv.Clock().Mode(); got != clock.Manual {
		t.Errorf("after refused forms, mode %s, want manual", got)
	}
	if r := e.uiForm("/_emulator/ui/clock/advance", url.Values{"by": {strings.Repeat("1", 2<<20)}}); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2 MB form = %d, want 413", r.status)
	}

	// The scenario picker loads a shipped scenario, as POST
	// /_emulator/scenarios/{name}/load does.
	if r := e.uiForm("/_emulator/ui/scenario", url.Values{"name": {"no-such-scenario"}}); r.status != 404 || r.errorCode() != "ResourceNotFound" {
		t.Errorf("an unknown scenario: %d %s", r.status, r.body)
	}
	if _, ok := e.srv.ScenarioStatus(); ok {
		t.Fatal("a scenario is loaded before the picker loads one")
	}
	name := scenario.Names()[0]
	if r := e.uiForm("/_emulator/ui/scenario", url.Values{"name": {name}}); r.status != 204 {
		t.Fatalf("load %s: %d %s", name, r.status, r.body)
	}
	if st, ok := e.srv.ScenarioStatus(); !ok || st.Name != name {
		t.Errorf("loaded %+v %v, want %s", st, ok, name)
	}
	if r := e.call("GET", "/_emulator/ui", "", ""); !strings.Contains(string(r.body), `id="scenario-loaded"`) {
		t.Errorf("the page does not show the loaded scenario")
	}
}

// A page of another site cannot post the dashboard's forms to a
// loopback emulator that takes no token.
func TestDashboardRefusesCrossSiteForms(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Origin", "https://evil.example"},
	} {
		r := e.uiForm("/_emulator/ui/clock/advance", url.Values{"by": {"1h"}}, h...)
		if r.status != http.StatusForbidden || r.errorCode() != "Forbidden" {
			t.Errorf("with %s: %s: %d %s, want 403 Forbidden", h[0], h[1], r.status, r.body)
		}
	}
	if got := e.srv.Clock().Now(); !got.Equal(start) {
		t.Errorf("the clock moved to %v", got)
	}
	if r := e.uiForm("/_emulator/ui/clock/advance", url.Values{"by": {"1h"}}, "Sec-Fetch-Site", "same-origin", "Origin", testBase); r.status != 204 {
		t.Errorf("from the dashboard's own page: %d %s", r.status, r.body)
	}
}

// An exposed control plane's token reaches the dashboard once, in the
// address, and is swapped for a cookie that opens the dashboard only; the
// token never reaches the log.
func TestDashboardControlToken(t *testing.T) {
	t.Parallel()
	const token = "c0ffee-control-token-c0ffee"
	var logs bytes.Buffer
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: start, ExposeControl: true, ControlToken: token,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &env{t: t, srv: srv, client: &http.Client{Transport: &validatingTransport{t: t, next: srv.Client().Transport}}}
	if r := e.call("GET", "/_emulator/ui", "", ""); r.status != 401 {
		t.Errorf("without the token: %d", r.status)
	}
	if r := e.call("GET", "/_emulator/ui?token=wrong", "", ""); r.status != 401 {
		t.Errorf("with a wrong token: %d", r.status)
	}
	if r := e.call("GET", "/_emulator/ui/events?token="+token, "", ""); r.status != 401 {
		t.Errorf("the token in the events' address: %d, want 401 (the page only takes it)", r.status)
	}
	r := e.call("GET", "/_emulator/ui?token="+token, "", "")
	if r.status != 200 {
		t.Fatalf("with the token: %d %s", r.status, r.body)
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v, want one", cookies)
	}
	ck := cookies[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/_emulator/ui" || strings.Contains(ck.Value, token) || ck.Value == "" {
		t.Errorf("cookie %s: want HttpOnly, SameSite=Strict, Path=/_emulator/ui, not the token", ck)
	}
	withCookie := []string{"Cookie", ck.Name + "=" + ck.Value}
	if r := e.call("GET", "/_emulator/ui", "", "", withCookie...); r.status != 200 || len(r.header.Values("Set-Cookie")) != 0 {
		t.Errorf("with the cookie: %d, Set-Cookie %v", r.status, r.header.Values("Set-Cookie"))
	}
	if r := e.uiForm("/_emulator/ui/clock/advance", url.Values{"by": {"1m"}}, withCookie...); r.status != 204 {
		t.Errorf("a form with the cookie: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/_emulator/clock", "", "", withCookie...); r.status != 401 {
		t.Errorf("the JSON control plane with the dashboard's cookie: %d, want 401", r.status)
	}
	if r := e.call("GET", "/_emulator/ui", "", "", "Cookie", ck.Name+"="+strings.Repeat("0", len(ck.Value))); r.status != 401 {
		t.Errorf("with a forged cookie: %d, want 401", r.status)
	}
	if r := e.call("GET", "/_emulator/ui", token, ""); r.status != 200 {
		t.Errorf("with Authorization: %d", r.status)
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the log holds the control token:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "token=REDACTED") {
		t.Errorf("the log does not show token=REDACTED:\n%s", logs.String())
	}
}

// sseReader reads a dashboard event stream.
type sseReader struct {
	t    *testing.T
	body io.ReadCloser
	sc   *bufio.Scanner
}

func openEvents(t *testing.T, ctx context.Context, base, query string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/_emulator/ui/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	return http.DefaultClient.Do(req)
}

// next returns the next event's name and data; "" at the end of the
// stream.
func (r *sseReader) next() (name, data string) {
	var lines []string
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "":
			if name != "" {
				return name, strings.Join(lines, "\n")
			}
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			lines = append(lines, line[len("data: "):])
		}
	}
	return "", ""
}

// until reads events until one named name whose data holds want.
func (r *sseReader) until(name, want string) {
	r.t.Helper()
	for {
		n, d := r.next()
		if n == "" {
			r.t.Fatalf("the stream ended before a %s event with %q", name, want)
		}
		if n == name && strings.Contains(d, want) {
			return
		}
	}
}

func TestDashboardEvents(t *testing.T) {
	t.Parallel()
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	res, err := openEvents(t, ctx, ts.URL, "?tenant="+tenantID)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /_emulator/ui/events = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	r := &sseReader{t: t, body: res.Body, sc: bufio.NewScanner(res.Body)}
	r.sc.Buffer(nil, 4<<20)
	r.until("machines", "ws-finance-01.contoso.local")

	// A request of the API appears in the journal stream; a change of the
	// clock in the clock section.
	tok, err := http.Post(ts.URL+"/_emulator/tokens", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	var minted struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(tok.Body).Decode(&minted)
	tok.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/api/machines/"+winMachine, nil)
	req.Header.Set("Authorization", "Bearer "+minted.AccessToken)
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	r.until("journal", "/api/machines/"+winMachine)
	srv.Clock().Advance(25 * time.Hour)
	r.until("clock", "2026-01-06 11:00:00")

	// Past the cap, 429 with Retry-After.
	var extra []*http.Response
	for range 15 {
		res, err := openEvents(t, ctx, ts.URL, "")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("stream: %v %v", res, err)
		}
		extra = append(extra, res)
	}
	over, err := openEvents(t, ctx, ts.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(over.Body)
	over.Body.Close()
	if over.StatusCode != 429 || over.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "TooManyRequests") {
		t.Errorf("the 17th stream: %d Retry-After %q %s", over.StatusCode, over.Header.Get("Retry-After"), body)
	}
	// A stream whose client went away frees its place.
	extra[0].Body.Close()
	for i := 0; ; i++ {
		res, err := openEvents(t, ctx, ts.URL, "")
		if err == nil && res.StatusCode == 200 {
			extra[0] = res
			break
		}
		if res != nil {
			res.Body.Close()
		}
		if i == 1000 {
			t.Fatal("the place of a closed stream was never freed")
		}
		_ = clock.SleepWall(ctx, 10*time.Millisecond)
	}

	// Closing the emulator ends every stream.
	srv.Close()
	for _, res := range append(extra, res) {
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			t.Errorf("reading a stream to its end: %v", err)
		}
		res.Body.Close()
	}
}

// TestFaviconIsNotJournaled checks that a browser's icon request, which
// the identity group's /:tenant would otherwise catch, is a 404 that the
// journal does not show as a tenant's call.
func TestFaviconIsNotJournaled(t *testing.T) {
	e := newEnv(t)
	req := httptest.NewRequest("GET", "/favicon.ico", nil)
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET /favicon.ico: %d, want 404", rec.Code)
	}
	if got := e.srv.Journal().Query(journal.Filter{}); len(got) != 0 {
		t.Errorf("journal: %+v, want nothing", got)
	}
}
