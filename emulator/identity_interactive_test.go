package emulator_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

type deviceCodeAnswer struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

func (e *env) deviceCode() deviceCodeAnswer {
	e.t.Helper()
	r := e.form("/"+tenantID+"/oauth2/v2.0/devicecode", url.Values{
		"client_id": {soarClientID},
		"scope":     {"https://api.securitycenter.microsoft.com/.default offline_access"},
	})
	if r.status != 200 {
		e.t.Fatalf("devicecode: %d %s", r.status, r.body)
	}
	var dc deviceCodeAnswer
	r.decode(&dc)
	return dc
}

func (e *env) pollDevice(code string) resp {
	e.t.Helper()
	return e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {soarClientID}, "device_code": {code},
	})
}

// oauthError checks an identity platform error answer.
func oauthError(t *testing.T, what string, r resp, status int, code, aadsts string) {
	t.Helper()
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	_ = json.Unmarshal(r.body, &e)
	if r.status != status || e.Error != code || !strings.HasPrefix(e.Description, aadsts+":") {
		t.Fatalf("%s: %d %s, want %d %s %s", what, r.status, r.body, status, code, aadsts)
	}
}

func TestDeviceCodeFlowThroughTheControlPlane(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dc := e.deviceCode()
	if dc.ExpiresIn != 900 || dc.Interval != 5 || dc.UserCode == "" || !strings.Contains(dc.Message, dc.UserCode) {
		t.Fatalf("device code %+v", dc)
	}
	oauthError(t, "pending", e.pollDevice(dc.DeviceCode), 400, "authorization_pending", "AADSTS70016")
	oauthError(t, "too fast", e.pollDevice(dc.DeviceCode), 400, "slow_down", "AADSTS70016")

	r := e.call("POST", "/_emulator/devicecode/"+dc.UserCode, "", `{"user":"`+analystUPN+`","approve":true}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"status":"approved"`) {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	r = e.pollDevice(dc.DeviceCode)
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.decode(&tok)
	if tok.RefreshToken == "" {
		t.Errorf("no refresh token: %s", r.body)
	}
	r = e.call("POST", "/api/machines/"+winMachine+"/runliveresponse", tok.AccessToken, runScript)
	if r.status != http.StatusCreated || !strings.Contains(string(r.body), analystUPN) {
		t.Fatalf("submit as the user: %d %s", r.status, r.body)
	}
	oauthError(t, "redeemed twice", e.pollDevice(dc.DeviceCode), 400, "invalid_grant", "AADSTS54005")
}

func TestDeviceCodeErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	oauthError(t, "unknown", e.pollDevice("nope"), 400, "bad_verification_code", "AADSTS70018")

	dc := e.deviceCode()
	if r := e.call("POST", "/_emulator/devicecode/"+dc.UserCode, "", `{"approve":false}`); r.status != 200 {
		t.Fatalf("decline: %d %s", r.status, r.body)
	}
	oauthError(t, "declined", e.pollDevice(dc.DeviceCode), 400, "authorization_declined", "AADSTS65004")
	if r := e.call("POST", "/_emulator/devicecode/"+dc.UserCode, "", `{"user":"`+analystUPN+`"}`); r.status != 400 || r.errorCode() != "InvalidInput" {
		t.Errorf("approve after decline: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/_emulator/devicecode/NOSUCHCODE", "", `{"user":"`+analystUPN+`"}`); r.status != 404 || r.errorCode() != "ResourceNotFound" {
		t.Errorf("unknown user code: %d %s", r.status, r.body)
	}

	// Expiry: expires_in is wall time; under the manual clock it passes
	// when the clock is advanced by it.
	dc = e.deviceCode()
	if r := e.call("POST", "/_emulator/devicecode/"+dc.UserCode, "", `{}`); r.status != 400 || r.errorCode() != "MissingRequiredParameter" {
		t.Errorf("approve without user: %d %s", r.status, r.body)
	}
	e.advance(15 * time.Minute)
	oauthError(t, "expired", e.pollDevice(dc.DeviceCode), 400, "expired_token", "AADSTS70019")

	r := e.form("/"+tenantID+"/oauth2/devicecode", url.Values{"client_id": {soarClientID}})
	oauthError(t, "v1 without resource", r, 400, "invalid_resource", "AADSTS50001")
	r = e.form("/"+tenantID+"/oauth2/devicecode", url.Values{"client_id": {soarClientID}, "resource": {"https://api.securitycenter.microsoft.com"}})
	if r.status != 200 || !strings.Contains(string(r.body), `"verification_url"`) {
		t.Errorf("v1: %d %s", r.status, r.body)
	}
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// noRedirect returns e's client without following redirects.
func (e *env) noRedirect() *http.Client {
	c := *e.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (e *env) browse(method, path string, form url.Values) (int, http.Header, string) {
	e.t.Helper()
	var req *http.Request
	var err error
	if method == "POST" {
		req, err = http.NewRequest(method, testBase+path, strings.NewReader(form.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequest(method, testBase+path, nil)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.noRedirect().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, rerr := res.Body.Read(buf)
		b.Write(buf[:n])
		if rerr != nil {
			break
		}
	}
	return res.StatusCode, res.Header, b.String()
}

var sessionRe = regexp.MustCompile(`name="session" value="([^"]+)"`)

// userOptionRe matches the sign-in pages' option for upn; its group is
// the user's object id.
func userOptionRe(upn string) *regexp.Regexp {
	return regexp.MustCompile(`value="([^"]+)">[^<]*&lt;` + regexp.QuoteMeta(upn))
}

func authorizePath(kv ...string) string {
	q := url.Values{
		"client_id": {soarClientID}, "response_type": {"code"}, "redirect_uri": {"http://localhost:8400/callback"},
		"scope": {"https://api.securitycenter.microsoft.com/.default offline_access"}, "state": {"xyz"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return "/" + tenantID + "/oauth2/v2.0/authorize?" + q.Encode()
}

// signIn opens the page, picks the user by object id (read from the
// page) and returns the redirect's Location.
func (e *env) signIn(path, upn string) *url.URL {
	e.t.Helper()
	status, h, page := e.browse("GET", path, nil)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		e.t.Fatalf("page: %d %s", status, page)
	}
	m := sessionRe.FindStringSubmatch(page)
	oid := userOptionRe(upn).FindStringSubmatch(page)
	if m == nil || oid == nil {
		e.t.Fatalf("page without session or %s: %s", upn, page)
	}
	status, h, body := e.browse("POST", strings.SplitN(path, "?", 2)[0], url.Values{"session": {m[1]}, "user": {oid[1]}})
	if status != http.StatusFound {
		e.t.Fatalf("answer: %d %s", status, body)
	}
	loc, err := url.Parse(h.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return loc
}

func (e *env) redeem(code string, kv ...string) resp {
	e.t.Helper()
	f := url.Values{
		"grant_type": {"authorization_code"}, "client_id": {soarClientID}, "code": {code},
		"redirect_uri": {"http://localhost:8400/callback"}, "code_verifier": {verifier},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return e.form("/"+tenantID+"/oauth2/v2.0/token", f)
}

func TestAuthorizationCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, _, page := e.browse("GET", authorizePath(), nil)
	for _, u := range []string{analystUPN, tier1UPN, helpdeskUPN, auditorUPN, "Decline"} {
		if !strings.Contains(page, u) {
			t.Errorf("page lacks %s", u)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the page has a script")
	}
	loc := e.signIn(authorizePath(), analystUPN)
	if loc.Host != "localhost:8400" || loc.Path != "/callback" || loc.Query().Get("state") != "xyz" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s", loc)
	}
	code := loc.Query().Get("code")
	oauthError(t, "wrong verifier", e.redeem(code, "code_verifier", "not-the-verifier-not-the-verifier-not-the-ver"), 400, "invalid_grant", "AADSTS501481")
	oauthError(t, "redirect mismatch", e.redeem(code, "redirect_uri", "http://localhost:8400/other"), 400, "invalid_grant", "AADSTS70000")
	r := e.redeem(code)
	if r.status != 200 {
		t.Fatalf("redeem: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.decode(&tok)
	if tok.RefreshToken == "" {
		t.Errorf("no refresh token: %s", r.body)
	}
	if r := e.call("GET", "/api/machines/"+winMachine, tok.AccessToken, ""); r.status != 200 {
		t.Errorf("call as the user: %d %s", r.status, r.body)
	}
	oauthError(t, "reused", e.redeem(code), 400, "invalid_grant", "AADSTS54005")

	code = e.signIn(authorizePath(), tier1UPN).Query().Get("code")
	e.advance(10*time.Minute + time.Second)
	oauthError(t, "expired", e.redeem(code), 400, "invalid_grant", "AADSTS70008")
}

func TestAuthorizeErrorsAndDecline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A redirect URI neither on localhost nor registered: an error page,
	// never a redirect.
	status, _, page := e.browse("GET", authorizePath("redirect_uri", "https://evil.example/cb"), nil)
	if status != 400 || !strings.Contains(page, "AADSTS50011") {
		t.Fatalf("foreign redirect: %d %s", status, page)
	}
	// An error after the redirect URI is trusted goes to it.
	status, h, _ := e.browse("GET", authorizePath("response_type", "token"), nil)
	loc, _ := url.Parse(h.Get("Location"))
	if status != http.StatusFound || loc.Query().Get("error") != "unsupported_response_type" || loc.Query().Get("state") != "xyz" {
		t.Fatalf("response_type token: %d %s", status, h.Get("Location"))
	}
	// Decline.
	_, _, page = e.browse("GET", authorizePath(), nil)
	m := sessionRe.FindStringSubmatch(page)
	status, h, _ = e.browse("POST", "/"+tenantID+"/oauth2/v2.0/authorize", url.Values{"session": {m[1]}, "decline": {"1"}})
	loc, _ = url.Parse(h.Get("Location"))
	if status != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "xyz" || loc.Query().Get("code") != "" {
		t.Fatalf("decline: %d %s", status, h.Get("Location"))
	}
	// The session is answered once.
	if status, _, _ = e.browse("POST", "/"+tenantID+"/oauth2/v2.0/authorize", url.Values{"session": {m[1]}, "decline": {"1"}}); status != 400 {
		t.Errorf("session reused: %d", status)
	}
}

func TestSignInPageEscapesAndRegisteredRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFixtures(t, `
tenants:
  - id: `+tenantID+`
    name: contoso
    apps:
      - clientId: `+soarClientID+`
        clientSecret: s
        displayName: "<b>SOAR</b>"
        roles: [Machine.LiveResponse]
        delegatedPermissions: [Machine.Read]
        redirectUris: ["https://app.example/signin"]
    users:
      - userPrincipalName: mallory@contoso.onmicrosoft.com
        displayName: "<script>alert(1)</script>"
        password: p
`))
	status, h, page := e.browse("GET", authorizePath("redirect_uri", "https://app.example/signin"), nil)
	if status != 200 {
		t.Fatalf("registered redirect: %d %s", status, page)
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "<b>SOAR") ||
		!strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("user data not escaped: %s", page)
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("CSP %q", h.Get("Content-Security-Policy"))
	}
	loc := e.signIn(authorizePath("redirect_uri", "https://app.example/signin"), "mallory@contoso.onmicrosoft.com")
	if loc.Host != "app.example" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect %s", loc)
	}
}

func TestDiscoveryListsInteractiveEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/v2.0/.well-known/openid-configuration", "/.well-known/openid-configuration"} {
		r := e.call("GET", "/"+tenantID+p, "", "")
		var doc struct {
			Authorization string   `json:"authorization_endpoint"`
			Device        string   `json:"device_authorization_endpoint"`
			Grants        []string `json:"grant_types_supported"`
		}
		r.decode(&doc)
		if !strings.HasSuffix(doc.Authorization, "/authorize") || !strings.HasSuffix(doc.Device, "/devicecode") ||
			!containsAll(strings.Join(doc.Grants, " "), "authorization_code", "urn:ietf:params:oauth:grant-type:device_code") {
			t.Errorf("%s: %s", p, r.body)
		}
	}
}
