package emulator_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/identity"
)

// Apps of appSettingsYAML: an unattended public client whose device codes
// approve by themselves, a confidential client with 3-second tokens, and
// one that says nothing (a secret optional, 3599 s tokens).
const (
	cliClientID    = "c11c0000-0000-4000-8000-000000000001"
	daemonClientID = "c11c0000-0000-4000-8000-000000000002"
	plainClientID  = "c11c0000-0000-4000-8000-000000000003"
)

const appSettingsYAML = `tenants:
  - id: ` + tenantID + `
    apps:
      - clientId: ` + plainClientID + `
        clientSecret: plain-secret
        displayName: Plain
        roles: [Machine.Read.All]
        delegatedPermissions: [Machine.LiveResponse, Machine.Read]
      - clientId: ` + cliClientID + `
        displayName: Unattended CLI
        roles: []
        delegatedPermissions: [Machine.LiveResponse, Machine.Read]
        publicClient: true
        deviceCodeAutoApprove: {user: analyst@contoso.onmicrosoft.com, after: 300ms}
      - clientId: ` + daemonClientID + `
        clientSecret: daemon-secret
        displayName: Daemon
        roles: [Machine.Read.All]
        delegatedPermissions: [Machine.LiveResponse, Machine.Read]
        publicClient: false
        accessTokenLifetime: 3s
    users:
      - userPrincipalName: analyst@contoso.onmicrosoft.com
        password: pw
        role: {liveResponse: advanced}
`

func scopeV2() string { return "https://api.securitycenter.microsoft.com/.default offline_access" }

// The fixture's deviceCodeAutoApprove: the client's polls get
// authorization_pending until the delay has passed in wall time (the
// manual clock does not move), then the user's token.
func TestDeviceCodeAutoApproveFromTheFixture(t *testing.T) {
	t.Parallel()
	if fixture.DeviceCodeLifetime != identity.DeviceCodeLifetime {
		t.Fatalf("fixture.DeviceCodeLifetime %s, identity.DeviceCodeLifetime %s", fixture.DeviceCodeLifetime, identity.DeviceCodeLifetime)
	}
	e := newEnv(t, withFixtures(t, appSettingsYAML))
	r := e.form("/"+tenantID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {cliClientID}, "scope": {scopeV2()}})
	if r.status != 200 {
		t.Fatalf("devicecode: %d %s", r.status, r.body)
	}
	var dc deviceCodeAnswer
	r.decode(&dc)
	poll := func() resp {
		return e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {cliClientID}, "device_code": {dc.DeviceCode},
		})
	}
	oauthError(t, "before the delay", poll(), 400, "authorization_pending", "AADSTS70016")
	time.Sleep(400 * time.Millisecond) // wall time; the manual clock stays put
	r = poll()
	if r.status != 200 {
		t.Fatalf("after the delay: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(&tok)
	if got := e.call("GET", "/api/machines", tok.AccessToken, ""); got.status != 200 {
		t.Errorf("the auto-approved user's token on the API: %d %s", got.status, got.body)
	}
	if got := e.call("POST", "/_emulator/devicecode/"+dc.UserCode, "", `{"user":"analyst@contoso.onmicrosoft.com"}`); got.status != 400 || got.errorCode() != "InvalidInput" {
		t.Errorf("control plane after the automatic approval: %d %s", got.status, got.body)
	}

	// Another app's codes wait for the control plane.
	r = e.form("/"+tenantID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {plainClientID}, "scope": {scopeV2()}})
	r.decode(&dc)
	time.Sleep(400 * time.Millisecond)
	r = e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {plainClientID}, "device_code": {dc.DeviceCode},
	})
	oauthError(t, "an app without the setting", r, 400, "authorization_pending", "AADSTS70016")
}

// publicClient: a public client sending a secret, a confidential client
// sending none, are 401 invalid_client on the delegated grants; an app
// that says nothing goes either way; client credentials are unchanged.
func TestPublicAndConfidentialApps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFixtures(t, appSettingsYAML))
	password := func(clientID, secret string) resp {
		f := url.Values{"grant_type": {"password"}, "client_id": {clientID}, "username": {"analyst@contoso.onmicrosoft.com"},
			"password": {"pw"}, "scope": {scopeV2()}}
		if secret != "" {
			f.Set("client_secret", secret)
		}
		return e.form("/"+tenantID+"/oauth2/v2.0/token", f)
	}
	oauthError(t, "public client with a secret", password(cliClientID, "anything"), 401, "invalid_client", "AADSTS700025")
	oauthError(t, "confidential client without a secret", password(daemonClientID, ""), 401, "invalid_client", "AADSTS7000218")
	for _, tc := range []struct{ name, client, secret string }{
		{"public client", cliClientID, ""}, {"confidential client", daemonClientID, "daemon-secret"},
		{"default, no secret", plainClientID, ""}, {"default, secret", plainClientID, "plain-secret"},
	} {
		if r := password(tc.client, tc.secret); r.status != 200 {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	// Client credentials of the confidential app, unchanged.
	r := e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {daemonClientID},
		"client_secret": {"daemon-secret"}, "scope": {"https://api.securitycenter.microsoft.com/.default"}})
	if r.status != 200 {
		t.Errorf("client credentials: %d %s", r.status, r.body)
	}
}

// accessTokenLifetime: expires_in is the app's lifetime, and the API
// refuses the token once it has passed (3 s advanced on the manual
// clock).
func TestAccessTokenLifetimeFromTheFixture(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFixtures(t, appSettingsYAML))
	r := e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {daemonClientID},
		"client_secret": {"daemon-secret"}, "scope": {"https://api.securitycenter.microsoft.com/.default"}})
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.decode(&tok)
	if tok.ExpiresIn != 3 {
		t.Fatalf("expires_in %d, want 3: %s", tok.ExpiresIn, r.body)
	}
	if got := e.call("GET", "/api/machines", tok.AccessToken, ""); got.status != 200 {
		t.Fatalf("fresh token: %d %s", got.status, got.body)
	}
	e.advance(3 * time.Second)
	if got := e.call("GET", "/api/machines", tok.AccessToken, ""); got.status != 401 {
		t.Errorf("after 3 s: %d %s, want 401", got.status, got.body)
	}
	// Another app keeps 3599 s.
	r = e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {plainClientID},
		"client_secret": {"plain-secret"}, "scope": {"https://api.securitycenter.microsoft.com/.default"}})
	r.decode(&tok)
	if tok.ExpiresIn != 3599 {
		t.Errorf("the default app's expires_in %d", tok.ExpiresIn)
	}
}
