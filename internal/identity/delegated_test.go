package identity

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

const (
	userOID   = "0b2d4f6a-8c1e-4a3b-9d5f-7e9a1c3b5d7f"
	userUPN   = "analyst@contoso.example"
	userPwd   = "s3cret"
	otherOID  = "0b2d4f6a-8c1e-4a3b-9d5f-000000000002"
	apiScope  = DefaultAudience + "/.default"
	delegated = "Machine.LiveResponse Machine.Read"
)

// newDelegatedAuthority is newTestAuthority with delegated permissions on
// clientA1 and two users in tenant A (the second without a password).
func newDelegatedAuthority(t testing.TB) (*Authority, *fakeClock) {
	t.Helper()
	a, clk := newTestAuthority(t)
	apps := a.Apps()
	apps[0].DelegatedPermissions = strings.Fields(delegated)
	a.SetApps(apps)
	a.SetUsers([]User{
		{TenantID: tenantA, ObjectID: userOID, UPN: userUPN, DisplayName: "Alex Analyst", Password: userPwd},
		{TenantID: tenantA, ObjectID: otherOID, UPN: "nopassword@contoso.example", DisplayName: "No Password"},
	})
	return a, clk
}

func passwordForm(kv ...string) url.Values {
	return with(url.Values{
		"grant_type": {"password"}, "client_id": {clientA1}, "username": {userUPN}, "password": {userPwd},
		"scope": {apiScope + " offline_access"},
	}, kv...)
}

func TestPasswordGrant(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	tests := []struct {
		name string
		form url.Values
		v2   bool
		want *oauthResult // nil: success
	}{
		{name: "v2, public client", form: passwordForm(), v2: true},
		{name: "v2, confidential client", form: passwordForm("client_secret", secretA1), v2: true},
		{name: "v2, one permission", form: passwordForm("scope", DefaultAudience+"/Machine.Read offline_access"), v2: true},
		{name: "v1", form: passwordForm("scope", "", "resource", DefaultAudience)},
		{name: "username in another case", form: passwordForm("username", strings.ToUpper(userUPN)), v2: true},
		{name: "wrong password", form: passwordForm("password", "nope"), v2: true,
			want: &oauthResult{400, "invalid_grant", []int{50126}, "AADSTS50126: Error validating credentials due to invalid username or password."}},
		{name: "user without a password", form: passwordForm("username", "nopassword@contoso.example"), v2: true,
			want: &oauthResult{400, "invalid_grant", []int{50126}, "AADSTS50126: Error validating credentials due to invalid username or password."}},
		{name: "unknown user", form: passwordForm("username", "nobody@contoso.example"), v2: true,
			want: &oauthResult{400, "invalid_grant", []int{50034}, "AADSTS50034: The user account {EUII Hidden} does not exist in the " + tenantA + " directory. To sign into this application, the account must be added to the directory."}},
		{name: "missing username", form: passwordForm("username", ""), v2: true,
			want: &oauthResult{400, "invalid_request", []int{900144}, "AADSTS900144: The request body must contain the following parameter: 'username'."}},
		{name: "missing password", form: passwordForm("password", ""), v2: true,
			want: &oauthResult{400, "invalid_request", []int{900144}, "AADSTS900144: The request body must contain the following parameter: 'password'."}},
		{name: "missing scope", form: passwordForm("scope", ""), v2: true,
			want: &oauthResult{400, "invalid_request", []int{900144}, "AADSTS900144: The request body must contain the following parameter: 'scope'."}},
		{name: "v1 missing resource", form: passwordForm("scope", ""),
			want: &oauthResult{400, "invalid_resource", []int{50001}, "AADSTS50001: Resource identifier is not provided."}},
		{name: "scope without a resource", form: passwordForm("scope", "Machine.Read"), v2: true,
			want: &oauthResult{400, "invalid_scope", []int{70011}, "AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope Machine.Read is not valid."}},
		{name: "permission not consented", form: passwordForm("scope", DefaultAudience+"/Library.Manage"), v2: true,
			want: &oauthResult{400, "invalid_grant", []int{65001}, "AADSTS65001: The user or administrator has not consented to use the application with ID '" + clientA1 + "' named 'SOAR connector'. Send an interactive authorization request for this user and resource."}},
		{name: "another API", form: passwordForm("scope", "https://graph.microsoft.com/.default"), v2: true,
			want: &oauthResult{400, "invalid_grant", []int{65001}, "AADSTS65001: The user or administrator has not consented to use the application with ID '" + clientA1 + "' named 'SOAR connector'. Send an interactive authorization request for this user and resource."}},
		{name: "wrong client secret", form: passwordForm("client_secret", "nope"), v2: true,
			want: &oauthResult{401, "invalid_client", []int{7000215}, "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + clientA1 + "'."}},
		{name: "app without delegated permissions", form: passwordForm("client_id", clientA2), v2: true,
			want: &oauthResult{400, "invalid_grant", []int{65001}, "AADSTS65001: The user or administrator has not consented to use the application with ID '" + clientA2 + "' named 'Reader'. Send an interactive authorization request for this user and resource."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, oerr := a.Token(tenantA, tt.form, tt.v2)
			if diff := cmp.Diff(tt.want, resultOf(oerr)); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if tt.want != nil {
				if oerr.ErrorCodes[0] == 65001 && oerr.SubError != "consent_required" {
					t.Errorf("suberror %q, want consent_required", oerr.SubError)
				}
				return
			}
			if resp.AccessToken == "" || resp.RefreshToken == "" {
				t.Fatalf("response without access or refresh token: %+v", resp)
			}
			p, err := a.Verify(resp.AccessToken)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !p.Delegated || p.UserID != userOID || p.UPN != userUPN || len(p.Roles) != 0 {
				t.Errorf("principal %+v, want the user's", p)
			}
		})
	}
}

func TestPasswordGrantResponseAndClaims(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	resp, oerr := a.Token(tenantA, passwordForm("client_secret", secretA1), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	b, _ := json.Marshal(resp)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	if body["scope"] != DefaultAudience+"/Machine.LiveResponse "+DefaultAudience+"/Machine.Read" {
		t.Errorf("scope %v", body["scope"])
	}
	if _, ok := body["refresh_token"]; !ok {
		t.Error("no refresh_token with offline_access")
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(resp.AccessToken, claims); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"aud": DefaultAudience, "iss": "https://sts.windows.net/" + tenantA + "/", "tid": tenantA,
		"appid": clientA1, "appidacr": "1", "app_displayname": "SOAR connector", "idtyp": "user",
		"oid": userOID, "upn": userUPN, "unique_name": userUPN, "name": "Alex Analyst",
		"scp": delegated, "ver": "1.0",
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if _, ok := claims["roles"]; ok {
		t.Error("a delegated token carries roles")
	}

	// Without offline_access, v2.0 gives no refresh token; v1 always does.
	resp, _ = a.Token(tenantA, passwordForm("scope", apiScope), true)
	if resp.RefreshToken != "" {
		t.Error("refresh_token without offline_access")
	}
	resp, _ = a.Token(tenantA, passwordForm("scope", "", "resource", DefaultAudience), false)
	b, _ = json.Marshal(resp)
	if !strings.Contains(string(b), `"refresh_token":"`) || !strings.Contains(string(b), `"scope":"Machine.LiveResponse Machine.Read"`) ||
		!strings.Contains(string(b), `"expires_in":"3599"`) {
		t.Errorf("v1 body %s", b)
	}
}

func TestRefreshGrant(t *testing.T) {
	t.Parallel()
	a, clk := newDelegatedAuthority(t)
	resp, oerr := a.Token(tenantA, passwordForm(), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	rt := resp.RefreshToken
	form := func(kv ...string) url.Values {
		return with(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientA1}, "refresh_token": {rt}}, kv...)
	}

	// The refresh token is not an access token.
	if _, err := a.Verify(rt); err == nil || !strings.Contains(err.Error(), "refresh token") {
		t.Errorf("Verify(refresh token) = %v, want a refusal naming it", err)
	}

	r2, oerr := a.Token(tenantA, form(), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	if r2.RefreshToken == "" || r2.RefreshToken == rt {
		t.Error("no new refresh token")
	}
	p, err := a.Verify(r2.AccessToken)
	if err != nil || p.UPN != userUPN || strings.Join(p.Scopes, " ") != delegated {
		t.Fatalf("refreshed token: %+v, %v", p, err)
	}
	// A narrower scope through v2.0, and the v1 endpoint.
	r3, oerr := a.Token(tenantA, form("scope", DefaultAudience+"/Machine.Read"), true)
	if oerr != nil || r3.Scope != DefaultAudience+"/Machine.Read" {
		t.Fatalf("narrower scope: %+v %v", r3, oerr)
	}
	if _, oerr := a.Token(tenantA, form(), false); oerr != nil {
		t.Fatalf("v1 refresh: %s", oerr.Description)
	}

	for _, tt := range []struct {
		name string
		form url.Values
		want *oauthResult
	}{
		{"malformed", form("refresh_token", "AwABAAAAvPM1KaPlrEqdFSBzjqfTGAMxZGUTdM0t4B4"),
			&oauthResult{400, "invalid_grant", []int{9002313}, "AADSTS9002313: Invalid request. Request is malformed or invalid."}},
		{"an access token", form("refresh_token", resp.AccessToken),
			&oauthResult{400, "invalid_grant", []int{9002313}, "AADSTS9002313: Invalid request. Request is malformed or invalid."}},
		{"another client", form("client_id", clientA2),
			&oauthResult{400, "invalid_grant", []int{70000}, "AADSTS70000: The provided value for the input parameter 'refresh_token' or 'assertion' is not valid: it was issued to another client."}},
		{"missing refresh_token", form("refresh_token", ""),
			&oauthResult{400, "invalid_request", []int{900144}, "AADSTS900144: The request body must contain the following parameter: 'refresh_token'."}},
	} {
		_, oerr := a.Token(tenantA, tt.form, true)
		if diff := cmp.Diff(tt.want, resultOf(oerr)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}

	// A user removed from the directory: the refresh token stops working.
	b, _ := newDelegatedAuthority(t)
	b.SetUsers(nil)
	if _, oerr := b.Token(tenantA, form(), true); oerr == nil || oerr.ErrorCodes[0] != 70000 {
		t.Errorf("refresh for a removed user: %v", resultOf(oerr))
	}
	// And its access tokens too.
	if _, err := b.Verify(r2.AccessToken); err == nil {
		t.Error("a removed user's token verifies")
	}

	// 90 days later the refresh token has expired.
	clk.Advance(DefaultRefreshLifetime)
	_, oerr = a.Token(tenantA, form(), true)
	if oerr == nil || oerr.ErrorCodes[0] != 700082 || oerr.Status != http.StatusBadRequest {
		t.Errorf("expired refresh token: %v", resultOf(oerr))
	}
}

func TestMintDelegated(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	raw, _, err := a.Mint(MintRequest{TenantID: tenantA, ClientID: clientA1, User: strings.ToUpper(userUPN), Scopes: []string{"Library.Manage"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Verify(raw)
	if err != nil || !p.Delegated || p.UserID != userOID || !p.HasAnyScope("Library.Manage") || p.HasAnyScope("Machine.Read") {
		t.Fatalf("principal %+v, %v", p, err)
	}
	raw, _, err = a.Mint(MintRequest{TenantID: tenantA, User: userOID})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := a.Verify(raw); strings.Join(p.Scopes, " ") != delegated {
		t.Errorf("default scopes %v, want the app's delegated permissions", p.Scopes)
	}
	raw, _, err = a.Mint(MintRequest{TenantID: tenantA, User: userOID, Scopes: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := a.Verify(raw); err != nil || !p.Delegated || len(p.Scopes) != 0 {
		t.Errorf("a token without scopes: %+v, %v", p, err)
	}
	for _, req := range []MintRequest{
		{TenantID: tenantA, User: "nobody@contoso.example"},
		{TenantID: tenantA, User: userUPN, Roles: []string{"Machine.Read.All"}},
		{TenantID: tenantA, Scopes: []string{"Machine.Read"}},
	} {
		if _, _, err := a.Mint(req); err == nil {
			t.Errorf("Mint(%+v): no error", req)
		}
	}
}

func TestDiscoveryGrantTypes(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	for _, v2 := range []bool{false, true} {
		b, _ := a.OpenIDConfiguration(tenantA, "http://localhost", v2)
		var doc struct {
			GrantTypes []string `json:"grant_types_supported"`
		}
		_ = json.Unmarshal(b, &doc)
		if diff := cmp.Diff([]string{"authorization_code", "client_credentials", "password", "refresh_token", DeviceCodeGrant}, doc.GrantTypes); diff != "" {
			t.Errorf("v2 %v: grant_types_supported (-want +got):\n%s", v2, diff)
		}
	}
}
