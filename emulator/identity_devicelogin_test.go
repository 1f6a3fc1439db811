package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A device code asked under the emulator's own address points at the
// emulator's verification page; there the tester enters the code, picks
// a user, and the client's poll gets that user's token.
func TestDeviceCodeVerificationPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dc := e.deviceCode()
	if dc.VerificationURI != testBase+"/devicelogin" || !strings.Contains(dc.Message, testBase+"/devicelogin") ||
		!strings.Contains(dc.Message, dc.UserCode) {
		t.Fatalf("verification_uri %q, message %q", dc.VerificationURI, dc.Message)
	}
	status, h, page := e.browse("GET", "/devicelogin", nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(page, `name="code"`) {
		t.Fatalf("entry page: %d %s", status, page)
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", h)
	}
	status, _, page = e.browse("GET", "/devicelogin?code="+url.QueryEscape(strings.ToLower(dc.UserCode)), nil)
	if status != 200 {
		t.Fatalf("code page: %d %s", status, page)
	}
	for _, u := range []string{analystUPN, tier1UPN, "Decline", dc.UserCode} {
		if !strings.Contains(page, u) {
			t.Errorf("page lacks %s", u)
		}
	}
	m := sessionRe.FindStringSubmatch(page)
	oid := userOptionRe(tier1UPN).FindStringSubmatch(page)
	if m == nil || oid == nil {
		t.Fatalf("no session or user: %s", page)
	}
	// A form without the page's session approves nothing.
	if status, _, _ := e.browse("POST", "/devicelogin", url.Values{"user": {oid[1]}}); status != http.StatusBadRequest {
		t.Errorf("no session: %d", status)
	}
	oauthError(t, "still pending", e.pollDevice(dc.DeviceCode), 400, "authorization_pending", "AADSTS70016")
	status, _, done := e.browse("POST", "/devicelogin", url.Values{"session": {m[1]}, "user": {oid[1]}})
	if status != 200 || !strings.Contains(done, tier1UPN) {
		t.Fatalf("answer: %d %s", status, done)
	}
	// Used once.
	if status, _, _ := e.browse("POST", "/devicelogin", url.Values{"session": {m[1]}, "user": {oid[1]}}); status != http.StatusBadRequest {
		t.Errorf("session used twice: %d", status)
	}
	r := e.pollDevice(dc.DeviceCode)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(&tok)
	if r.status != 200 || upnOf(t, tok.AccessToken) != tier1UPN {
		t.Fatalf("poll: %d %s", r.status, r.body)
	}
	// The session token in the form never reaches the journal.
	for _, en := range e.journal("").Entries {
		b, _ := json.Marshal(en)
		if strings.Contains(string(b), m[1]) {
			t.Errorf("the page's session in the journal: %s", b)
		}
	}
}

// upnOf returns the upn claim of a JWT, unverified.
func upnOf(t *testing.T, raw string) string {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		UPN string `json:"upn"`
	}
	_ = json.Unmarshal(b, &c)
	return c.UPN
}

// Unknown and over-long codes, declining, and a body past the bound.
func TestDeviceCodeVerificationPageRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if status, _, page := e.browse("GET", "/devicelogin?code=NOSUCHCOD", nil); status != http.StatusNotFound || !strings.Contains(page, "not valid") {
		t.Errorf("unknown code: %d %s", status, page)
	}
	long := strings.Repeat("<script>", 20)
	if status, _, page := e.browse("GET", "/devicelogin?code="+url.QueryEscape(long), nil); status != http.StatusNotFound || strings.Contains(page, "<script>") {
		t.Errorf("long code: %d %s", status, page)
	}
	if status, _, _ := e.browse("POST", "/devicelogin", url.Values{"session": {strings.Repeat("x", 8<<10)}}); status != http.StatusRequestEntityTooLarge {
		t.Errorf("body past the bound: %d", status)
	}
	dc := e.deviceCode()
	_, _, page := e.browse("GET", "/devicelogin?code="+dc.UserCode, nil)
	m := sessionRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no session: %s", page)
	}
	if status, _, done := e.browse("POST", "/devicelogin", url.Values{"session": {m[1]}, "decline": {"1"}}); status != 200 || !strings.Contains(done, "declined") {
		t.Fatalf("decline: %d %s", status, done)
	}
	oauthError(t, "declined", e.pollDevice(dc.DeviceCode), 400, "authorization_declined", "AADSTS65004")
	if status, _, _ := e.browse("GET", "/devicelogin?code="+dc.UserCode, nil); status != http.StatusBadRequest {
		t.Errorf("a completed code: %d", status)
	}
}

// Under the identity platform's host name (the proxy mode), the device
// code keeps https://microsoft.com/devicelogin.
func TestDeviceCodeUnderTheRealHostName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req, _ := http.NewRequest("POST", testBase+"/"+tenantID+"/oauth2/v2.0/devicecode", strings.NewReader(url.Values{
		"client_id": {soarClientID}, "scope": {"https://api.securitycenter.microsoft.com/.default"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "login.microsoftonline.com"
	r := e.send(req)
	var dc deviceCodeAnswer
	r.decode(&dc)
	if r.status != 200 || dc.VerificationURI != "https://microsoft.com/devicelogin" || !strings.Contains(dc.Message, "https://microsoft.com/devicelogin") {
		t.Errorf("%d %s", r.status, r.body)
	}
}

// response_mode=form_post answers a page whose form POSTs code and state
// to the redirect URI (escaped); fragment puts them after '#'.
func TestAuthorizeResponseModes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	path := authorizePath("response_mode", "form_post", "state", `"><script>alert(1)</script>`)
	_, _, page := e.browse("GET", path, nil)
	m := sessionRe.FindStringSubmatch(page)
	oid := userOptionRe(analystUPN).FindStringSubmatch(page)
	if m == nil || oid == nil {
		t.Fatalf("page: %s", page)
	}
	status, h, body := e.browse("POST", "/"+tenantID+"/oauth2/v2.0/authorize", url.Values{"session": {m[1]}, "user": {oid[1]}})
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("form_post: %d %s", status, body)
	}
	if !strings.Contains(body, `<form method="post" action="http://localhost:8400/callback">`) ||
		!strings.Contains(body, `name="code" value="`) || !strings.Contains(body, "document.forms[0].submit()") {
		t.Errorf("form_post page: %s", body)
	}
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, `name="state" value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`) {
		t.Errorf("state not escaped: %s", body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action http://localhost:8400") || !strings.Contains(csp, "script-src 'sha256-") {
		t.Errorf("CSP %q", csp)
	}
	code := regexp.MustCompile(`name="code" value="([^"]+)"`).FindStringSubmatch(body)
	if code == nil {
		t.Fatal("no code")
	}
	if r := e.redeem(code[1]); r.status != 200 {
		t.Errorf("redeem the form_post code: %d %s", r.status, r.body)
	}

	loc := e.signIn(authorizePath("response_mode", "fragment"), analystUPN)
	frag, err := url.ParseQuery(loc.Fragment)
	if err != nil || loc.RawQuery != "" || frag.Get("code") == "" || frag.Get("state") != "xyz" {
		t.Errorf("fragment: %s", loc)
	}

	// An error of a form_post request reaches the app by form too.
	status, _, body = e.browse("GET", authorizePath("response_mode", "form_post", "response_type", "token"), nil)
	if status != 200 || !strings.Contains(body, `name="error" value="unsupported_response_type"`) {
		t.Errorf("form_post error: %d %s", status, body)
	}
}

// The authorization code grant asked with openid (and nonce) answers an
// id_token whose aud is the client and whose nonce is the request's.
func TestAuthorizationCodeIDToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	loc := e.signIn(authorizePath("scope", "openid profile https://api.securitycenter.microsoft.com/.default", "nonce", "n-42"), analystUPN)
	r := e.redeem(loc.Query().Get("code"))
	var tok struct {
		IDToken string `json:"id_token"`
	}
	r.decode(&tok)
	parts := strings.Split(tok.IDToken, ".")
	if r.status != 200 || len(parts) != 3 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	if c["aud"] != soarClientID || c["nonce"] != "n-42" || c["preferred_username"] != analystUPN ||
		c["iss"] != "https://login.microsoftonline.com/"+tenantID+"/v2.0" {
		t.Errorf("claims %v", c)
	}
}

// A public client asking the client-credentials grant gets
// invalid_client AADSTS7000218, as a missing secret does.
func TestPublicClientAskingClientCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFixtures(t, appSettingsYAML))
	r := e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cliClientID},
		"scope": {"https://api.securitycenter.microsoft.com/.default"}})
	oauthError(t, "public client", r, 401, "invalid_client", "AADSTS7000218")
	r = e.form("/"+tenantID+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cliClientID},
		"client_secret": {"anything"}, "resource": {"https://api.securitycenter.microsoft.com"}})
	oauthError(t, "public client with a secret", r, 401, "invalid_client", "AADSTS700025")
}

// A reset replaces the state and takes the clock back: a device code and
// a sign-in page of before it are gone, not waiting to be answered
// (TestReloadsDoNotLeak found them kept).
func TestResetDropsFlowsInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dc := e.deviceCode()
	_, _, page := e.browse("GET", authorizePath(), nil)
	session := sessionRe.FindStringSubmatch(page)
	oid := userOptionRe(analystUPN).FindStringSubmatch(page)
	if session == nil || oid == nil {
		t.Fatalf("sign-in page: %s", page)
	}
	oauthError(t, "before the reset", e.pollDevice(dc.DeviceCode), 400, "authorization_pending", "AADSTS70016")
	if r := e.call("POST", "/_emulator/reset", "", ""); r.status != 200 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	e.advance(time.Minute) // past the polling interval
	oauthError(t, "the device code after the reset", e.pollDevice(dc.DeviceCode), 400, "bad_verification_code", "AADSTS70018")
	if status, _, body := e.browse("GET", "/devicelogin?code="+url.QueryEscape(dc.UserCode), nil); status == 200 && strings.Contains(body, `name="session"`) {
		t.Errorf("the user code after the reset still opens a sign-in: %d", status)
	}
	if status, _, _ := e.browse("POST", "/"+tenantID+"/oauth2/v2.0/authorize", url.Values{"session": {session[1]}, "user": {oid[1]}}); status != http.StatusBadRequest {
		t.Errorf("the sign-in page's session after the reset: %d, want 400", status)
	}
}
