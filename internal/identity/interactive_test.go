package identity

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func deviceForm(kv ...string) url.Values {
	return with(url.Values{"client_id": {clientA1}, "scope": {apiScope + " offline_access"}}, kv...)
}

func pollForm(code string, kv ...string) url.Values {
	return with(url.Values{"grant_type": {DeviceCodeGrant}, "client_id": {clientA1}, "device_code": {code}}, kv...)
}

func wantOAuth(t *testing.T, what string, e *OAuthError, status int, code string, aadsts int) {
	t.Helper()
	if e == nil {
		t.Fatalf("%s: got success, want %d %s AADSTS%d", what, status, code, aadsts)
	}
	if e.Status != status || e.Error != code || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != aadsts {
		t.Fatalf("%s: got %d %s %v (%s), want %d %s AADSTS%d", what, e.Status, e.Error, e.ErrorCodes, e.Description, status, code, aadsts)
	}
	if !strings.HasPrefix(e.Description, "AADSTS") {
		t.Errorf("%s: description %q", what, e.Description)
	}
}

func TestDeviceCodeFlow(t *testing.T) {
	t.Parallel()
	a, clk := newDelegatedAuthority(t)
	dc, oerr := a.DeviceCode(tenantA, deviceForm(), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	if dc.ExpiresIn != 900 || dc.Interval != 5 || len(dc.UserCode) != 9 || dc.DeviceCode == "" ||
		dc.VerificationURI != DeviceLoginURI || !strings.Contains(dc.Message, dc.UserCode) {
		t.Fatalf("device code answer %+v", dc)
	}
	b, _ := json.Marshal(dc)
	for _, k := range []string{`"verification_uri":"https://microsoft.com/devicelogin"`, `"expires_in":900`, `"interval":5`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("v2 JSON %s lacks %s", b, k)
		}
	}
	// Pending, then polled too fast, then pending again after the interval.
	_, e := a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "first poll", e, 400, "authorization_pending", 70016)
	clk.Advance(time.Second)
	_, e = a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "fast poll", e, 400, "slow_down", 70016)
	clk.Advance(10 * time.Second) // the interval is now 10 s
	_, e = a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "patient poll", e, 400, "authorization_pending", 70016)

	if _, err := a.ApproveDeviceCode("nope", userUPN, true); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("unknown user code: %v", err)
	}
	if _, err := a.ApproveDeviceCode(dc.UserCode, "nobody@contoso.example", true); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("unknown user: %v", err)
	}
	ap, err := a.ApproveDeviceCode(strings.ToLower(dc.UserCode), userUPN, true)
	if err != nil || ap.Status != "approved" || ap.User != userUPN || ap.ClientID != clientA1 {
		t.Fatalf("approve: %+v %v", ap, err)
	}
	if _, err := a.ApproveDeviceCode(dc.UserCode, userUPN, false); !errors.Is(err, ErrCodeCompleted) {
		t.Errorf("approve twice: %v", err)
	}
	// An approved code answers at once, however fast the poll.
	resp, e := a.Token(tenantA, pollForm(dc.DeviceCode), true)
	if e != nil {
		t.Fatal(e.Description)
	}
	if resp.RefreshToken == "" || !strings.Contains(resp.Scope, "Machine.LiveResponse") {
		t.Errorf("token %+v", resp)
	}
	p, verr := a.Verify(resp.AccessToken)
	if verr != nil || p.UPN != userUPN || p.ClientID != clientA1 {
		t.Fatalf("verify: %+v %v", p, verr)
	}
	_, e = a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "redeemed", e, 400, "invalid_grant", 54005)
}

func TestDeviceCodeErrors(t *testing.T) {
	t.Parallel()
	a, clk := newDelegatedAuthority(t)
	_, e := a.Token(tenantA, pollForm("bogus"), true)
	wantOAuth(t, "unknown code", e, 400, "bad_verification_code", 70018)

	_, e = a.DeviceCode(tenantA, deviceForm("scope", ""), true)
	wantOAuth(t, "no scope", e, 400, "invalid_request", 900144)
	_, e = a.DeviceCode(tenantA, deviceForm("scope", DefaultAudience+"/Library.Manage"), true)
	wantOAuth(t, "not consented", e, 400, "invalid_grant", 65001)
	_, e = a.DeviceCode("nope", deviceForm(), true)
	wantOAuth(t, "tenant", e, 400, "invalid_request", 90002)
	_, e = a.DeviceCode(tenantA, deviceForm("client_id", "00000000-0000-0000-0000-000000000000"), true)
	wantOAuth(t, "app", e, 400, "unauthorized_client", 700016)

	// Declined.
	dc, _ := a.DeviceCode(tenantA, deviceForm(), true)
	if ap, err := a.ApproveDeviceCode(dc.UserCode, "", false); err != nil || ap.Status != "declined" {
		t.Fatalf("decline: %+v %v", ap, err)
	}
	_, e = a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "declined", e, 400, "authorization_declined", 65004)

	// Another client cannot poll it.
	dc, _ = a.DeviceCode(tenantA, deviceForm(), true)
	_, e = a.Token(tenantA, pollForm(dc.DeviceCode, "client_id", clientA2), true)
	wantOAuth(t, "other client", e, 400, "bad_verification_code", 70018)

	// Expired.
	clk.Advance(DeviceCodeLifetime)
	_, e = a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "expired", e, 400, "expired_token", 70019)
	if _, err := a.ApproveDeviceCode(dc.UserCode, userUPN, true); !errors.Is(err, ErrCodeExpired) {
		t.Errorf("approve expired: %v", err)
	}
}

func TestDeviceCodeV1(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	dc, oerr := a.DeviceCode(tenantA, url.Values{"client_id": {clientA1}, "resource": {DefaultAudience}}, false)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	b, _ := json.Marshal(dc)
	for _, k := range []string{`"verification_url":`, `"expires_in":"900"`, `"interval":"5"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("v1 JSON %s lacks %s", b, k)
		}
	}
	if _, err := a.ApproveDeviceCode(dc.UserCode, userOID, true); err != nil {
		t.Fatal(err)
	}
	resp, e := a.Token(tenantA, pollForm(dc.DeviceCode, "client_secret", secretA1), false)
	if e != nil {
		t.Fatal(e.Description)
	}
	if !resp.V1 || resp.Resource != DefaultAudience || resp.RefreshToken == "" {
		t.Errorf("v1 token %+v", resp)
	}
}

const testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return b64(sum[:])
}

func authorizeQuery(kv ...string) url.Values {
	return with(url.Values{
		"client_id": {clientA1}, "response_type": {"code"}, "redirect_uri": {"http://localhost:8400/cb"},
		"scope": {apiScope + " offline_access openid"}, "state": {"st-1"},
		"code_challenge": {s256(testVerifier)}, "code_challenge_method": {"S256"},
	}, kv...)
}

func redeemForm(code string, kv ...string) url.Values {
	return with(url.Values{
		"grant_type": {"authorization_code"}, "client_id": {clientA1}, "code": {code},
		"redirect_uri": {"http://localhost:8400/cb"}, "code_verifier": {testVerifier},
	}, kv...)
}

// signIn runs the authorization endpoint and the page's answer for user,
// and returns the code.
func signIn(t *testing.T, a *Authority, q url.Values) string {
	t.Helper()
	page, aerr := a.Authorize(tenantA, q, true, nil)
	if aerr != nil {
		t.Fatalf("authorize: %+v", aerr)
	}
	r, err := a.CompleteSignIn(page.Session, userOID, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Params.Get("state") != q.Get("state") || r.Params.Get("code") == "" {
		t.Fatalf("redirect %+v", r)
	}
	return r.Params.Get("code")
}

func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	a, clk := newDelegatedAuthority(t)
	page, aerr := a.Authorize(tenantA, authorizeQuery(), true, nil)
	if aerr != nil {
		t.Fatalf("%+v", aerr)
	}
	if len(page.Users) != 2 || page.AppName != "SOAR connector" {
		t.Fatalf("page %+v", page)
	}
	r, err := a.CompleteSignIn(page.Session, userUPN, false)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := url.Parse(r.URL())
	if loc.Host != "localhost:8400" || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		t.Fatalf("location %s", r.URL())
	}
	if _, err := a.CompleteSignIn(page.Session, userUPN, false); !errors.Is(err, ErrUnknownSession) {
		t.Errorf("session reused: %v", err)
	}
	code := loc.Query().Get("code")

	_, e := a.Token(tenantA, redeemForm(code, "code_verifier", "wrong-verifier-wrong-verifier-wrong-verifier"), true)
	wantOAuth(t, "wrong verifier", e, 400, "invalid_grant", 501481)
	_, e = a.Token(tenantA, redeemForm(code, "code_verifier", ""), true)
	wantOAuth(t, "no verifier", e, 400, "invalid_grant", 501481)
	_, e = a.Token(tenantA, redeemForm(code, "redirect_uri", "http://localhost:8400/other"), true)
	wantOAuth(t, "redirect mismatch", e, 400, "invalid_grant", 70000)
	_, e = a.Token(tenantA, redeemForm(code, "client_id", clientA2), true)
	wantOAuth(t, "other client", e, 400, "invalid_grant", 70000)
	_, e = a.Token(tenantA, redeemForm(code, "client_secret", "nope"), true)
	wantOAuth(t, "bad secret", e, 401, "invalid_client", 7000215)

	resp, e := a.Token(tenantA, redeemForm(code), true)
	if e != nil {
		t.Fatal(e.Description)
	}
	if resp.RefreshToken == "" || resp.Scope == "" {
		t.Errorf("token %+v", resp)
	}
	if p, err := a.Verify(resp.AccessToken); err != nil || p.UserID != userOID {
		t.Fatalf("verify %+v %v", p, err)
	}
	_, e = a.Token(tenantA, redeemForm(code), true)
	wantOAuth(t, "reused", e, 400, "invalid_grant", 54005)
	_, e = a.Token(tenantA, redeemForm("bogus"), true)
	wantOAuth(t, "unknown", e, 400, "invalid_grant", 70000)

	// Expired after 10 minutes.
	code = signIn(t, a, authorizeQuery())
	clk.Advance(AuthCodeLifetime + time.Second)
	_, e = a.Token(tenantA, redeemForm(code), true)
	wantOAuth(t, "expired", e, 400, "invalid_grant", 70008)

	// plain, and a confidential client.
	code = signIn(t, a, authorizeQuery("code_challenge", testVerifier, "code_challenge_method", "plain"))
	if _, e = a.Token(tenantA, redeemForm(code, "client_secret", secretA1), true); e != nil {
		t.Fatal(e.Description)
	}
	// No PKCE at all, no offline_access: no refresh token.
	code = signIn(t, a, authorizeQuery("code_challenge", "", "code_challenge_method", "", "scope", apiScope))
	resp, e = a.Token(tenantA, redeemForm(code, "code_verifier", ""), true)
	if e != nil || resp.RefreshToken != "" {
		t.Fatalf("no pkce: %+v %v", resp, e)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	page := []struct {
		name   string
		q      url.Values
		aadsts string
	}{
		{"no client_id", authorizeQuery("client_id", ""), "AADSTS900144"},
		{"unknown app", authorizeQuery("client_id", "00000000-0000-0000-0000-000000000000"), "AADSTS700016"},
		{"no redirect", authorizeQuery("redirect_uri", ""), "AADSTS900144"},
		{"foreign redirect", authorizeQuery("redirect_uri", "https://evil.example/cb"), "AADSTS50011"},
		{"https localhost is not the exception", authorizeQuery("redirect_uri", "https://attacker.example@localhost/"), "AADSTS50011"},
	}
	for _, tc := range page {
		_, e := a.Authorize(tenantA, tc.q, true, nil)
		if e == nil || e.RedirectURI != "" || !strings.HasPrefix(e.Description, tc.aadsts) {
			t.Errorf("%s: %+v", tc.name, e)
		}
	}
	redirect := []struct {
		name, err, aadsts string
		q                 url.Values
	}{
		{"response_type token", "unsupported_response_type", "AADSTS70005", authorizeQuery("response_type", "token")},
		{"response_mode web_message", "invalid_request", "AADSTS70007", authorizeQuery("response_mode", "web_message")},
		{"nonce too long", "invalid_request", "AADSTS90015", authorizeQuery("nonce", strings.Repeat("n", maxNonce+1))},
		{"no scope", "invalid_request", "AADSTS900144", authorizeQuery("scope", "")},
		{"not consented", "consent_required", "AADSTS65001", authorizeQuery("scope", DefaultAudience+"/Library.Manage")},
		{"bad method", "invalid_request", "AADSTS501491", authorizeQuery("code_challenge_method", "S512")},
		{"short challenge", "invalid_request", "AADSTS501491", authorizeQuery("code_challenge", "abc")},
	}
	for _, tc := range redirect {
		_, e := a.Authorize(tenantA, tc.q, true, nil)
		if e == nil || e.RedirectURI != "http://localhost:8400/cb" || e.Error != tc.err || !strings.HasPrefix(e.Description, tc.aadsts) || e.State != "st-1" {
			t.Errorf("%s: %+v", tc.name, e)
		}
	}
	// A registered redirect URI is accepted exactly.
	reg := func(tid, cid string) []string { return []string{"https://app.example/cb"} }
	if _, e := a.Authorize(tenantA, authorizeQuery("redirect_uri", "https://app.example/cb"), true, reg); e != nil {
		t.Errorf("registered: %+v", e)
	}
	if _, e := a.Authorize(tenantA, authorizeQuery("redirect_uri", "https://app.example/cb/"), true, reg); e == nil {
		t.Error("registered + slash accepted")
	}
	// Declined.
	p, _ := a.Authorize(tenantA, authorizeQuery("response_mode", "fragment"), true, nil)
	r, err := a.CompleteSignIn(p.Session, "", true)
	if err != nil || r.Params.Get("error") != "access_denied" || r.Params.Get("state") != "st-1" || !strings.Contains(r.URL(), "#") {
		t.Fatalf("decline: %+v %v %s", r, err, r.URL())
	}
}

// response_mode form_post and fragment are kept in the session and tell
// the answer how to reach the app; a state too long is refused.
func TestAuthorizeResponseModes(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	for _, mode := range []string{"", "query", "fragment", "form_post"} {
		p, aerr := a.Authorize(tenantA, authorizeQuery("response_mode", mode), true, nil)
		if aerr != nil {
			t.Fatalf("%q: %+v", mode, aerr)
		}
		r, err := a.CompleteSignIn(p.Session, userOID, false)
		if err != nil {
			t.Fatal(err)
		}
		if r.FormPost != (mode == "form_post") || r.Fragment != (mode == "fragment") {
			t.Errorf("%q: form post %v, fragment %v", mode, r.FormPost, r.Fragment)
		}
		fields := map[string]string{}
		for _, f := range r.Fields() {
			fields[f.Name] = f.Value
		}
		if fields["code"] == "" || fields["state"] != "st-1" || len(fields) != 2 {
			t.Errorf("%q: fields %v", mode, fields)
		}
	}
	_, aerr := a.Authorize(tenantA, authorizeQuery("response_mode", "form_post", "state", strings.Repeat("s", maxState+1)), true, nil)
	if aerr == nil || aerr.Mode != "form_post" || aerr.Error != "invalid_request" || aerr.State != "" || !strings.HasPrefix(aerr.Description, "AADSTS90015") {
		t.Errorf("state too long: %+v", aerr)
	}
}
