package identity

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

func clientForm(clientID, secret string) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
	}
}

func with(form url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			out.Del(kv[i])
		} else {
			out.Set(kv[i], kv[i+1])
		}
	}
	return out
}

// oauthResult is the part of an OAuthError the tests compare: the
// description's first line (without trace id, correlation id and time).
type oauthResult struct {
	Status  int
	Error   string
	Codes   []int
	Message string
}

func resultOf(e *OAuthError) *oauthResult {
	if e == nil {
		return nil
	}
	msg, _, _ := strings.Cut(e.Description, "\r\n")
	return &oauthResult{Status: e.Status, Error: e.Error, Codes: e.ErrorCodes, Message: msg}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	base := clientForm(clientA1, secretA1)
	v1 := with(base, "resource", "https://api.securitycenter.microsoft.com")
	v2 := with(base, "scope", "https://api.securitycenter.microsoft.com/.default")

	tests := []struct {
		name     string
		tenant   string
		form     url.Values
		v2       bool
		wantAud  string
		wantErr  *oauthResult
		wantResp *TokenResponse // AccessToken ignored
	}{
		{
			name: "v1 success", tenant: tenantA, form: v1,
			wantAud: "https://api.securitycenter.microsoft.com",
			wantResp: &TokenResponse{TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599,
				ExpiresOn: t0.Unix() + 3599, NotBefore: t0.Unix() - 300,
				Resource: "https://api.securitycenter.microsoft.com", V1: true},
		},
		{
			name: "v1 app id resource, tenant in upper case", tenant: strings.ToUpper(tenantA),
			form:    with(v1, "resource", WindowsDefenderATPAppID),
			wantAud: WindowsDefenderATPAppID,
			wantResp: &TokenResponse{TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599,
				ExpiresOn: t0.Unix() + 3599, NotBefore: t0.Unix() - 300, Resource: WindowsDefenderATPAppID, V1: true},
		},
		{
			name: "v2 success", tenant: tenantA, form: v2, v2: true,
			wantAud:  "https://api.securitycenter.microsoft.com",
			wantResp: &TokenResponse{TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599},
		},
		{
			name: "v2 windowsatpservice scope", tenant: tenantA, v2: true,
			form:     with(base, "scope", "https://securitycenter.onmicrosoft.com/windowsatpservice/.default"),
			wantAud:  "https://securitycenter.onmicrosoft.com/windowsatpservice",
			wantResp: &TokenResponse{TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599},
		},
		{
			name: "v2 other API's scope, with openid ignored", tenant: tenantA, v2: true,
			form:     with(base, "scope", "openid https://graph.microsoft.com/.default offline_access"),
			wantAud:  "https://graph.microsoft.com",
			wantResp: &TokenResponse{TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599},
		},
		{
			name: "unknown tenant", tenant: "99999999-9999-9999-9999-999999999999", form: v2, v2: true,
			wantErr: &oauthResult{400, "invalid_request", []int{90002},
				"AADSTS90002: Tenant '99999999-9999-9999-9999-999999999999' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."},
		},
		{
			name: "unknown client", tenant: tenantA, form: with(v2, "client_id", clientB1), v2: true,
			wantErr: &oauthResult{400, "unauthorized_client", []int{700016},
				"AADSTS700016: Application with identifier '" + clientB1 + "' was not found in the directory '" + tenantA + "'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."},
		},
		{
			name: "wrong secret", tenant: tenantA, form: with(v1, "client_secret", "nope"),
			wantErr: &oauthResult{401, "invalid_client", []int{7000215},
				"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '" + clientA1 + "'."},
		},
		{
			name: "missing secret", tenant: tenantA, form: with(v2, "client_secret", ""), v2: true,
			wantErr: &oauthResult{401, "invalid_client", []int{7000218},
				"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."},
		},
		{
			name: "missing grant_type", tenant: tenantA, form: with(v2, "grant_type", ""), v2: true,
			wantErr: &oauthResult{400, "invalid_request", []int{900144},
				"AADSTS900144: The request body must contain the following parameter: 'grant_type'."},
		},
		{
			name: "unsupported grant_type", tenant: tenantA, form: with(v1, "grant_type", "password"),
			wantErr: &oauthResult{400, "unsupported_grant_type", []int{70003},
				"AADSTS70003: The app requested an unsupported grant type 'password'."},
		},
		{
			name: "missing client_id", tenant: tenantA, form: with(v2, "client_id", ""), v2: true,
			wantErr: &oauthResult{400, "invalid_request", []int{900144},
				"AADSTS900144: The request body must contain the following parameter: 'client_id'."},
		},
		{
			name: "v2 missing scope", tenant: tenantA, form: base, v2: true,
			wantErr: &oauthResult{400, "invalid_request", []int{900144},
				"AADSTS900144: The request body must contain the following parameter: 'scope'."},
		},
		{
			name: "v2 scope without /.default", tenant: tenantA, v2: true,
			form: with(base, "scope", "https://api.securitycenter.microsoft.com/Machine.LiveResponse"),
			wantErr: &oauthResult{400, "invalid_scope", []int{1002012},
				"AADSTS1002012: The provided value for scope https://api.securitycenter.microsoft.com/Machine.LiveResponse is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."},
		},
		{
			name: "v2 two resources", tenant: tenantA, v2: true,
			form: with(base, "scope", "https://api.securitycenter.microsoft.com/.default https://graph.microsoft.com/.default"),
			wantErr: &oauthResult{400, "invalid_scope", []int{28000},
				"AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource. Scope https://api.securitycenter.microsoft.com/.default https://graph.microsoft.com/.default is not valid."},
		},
		{
			name: "v1 missing resource", tenant: tenantA, form: base,
			wantErr: &oauthResult{400, "invalid_resource", []int{50001}, "AADSTS50001: Resource identifier is not provided."},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := newTestAuthority(t)
			resp, oerr := a.ClientCredentials(tt.tenant, tt.form, tt.v2)
			if diff := cmp.Diff(tt.wantErr, resultOf(oerr)); diff != "" {
				t.Fatalf("error mismatch (-want +got):\n%s", diff)
			}
			if oerr != nil {
				checkOAuthErrorEnvelope(t, oerr)
				return
			}
			got := *resp
			got.AccessToken = ""
			if diff := cmp.Diff(*tt.wantResp, got); diff != "" {
				t.Errorf("response mismatch (-want +got):\n%s", diff)
			}
			p, err := a.Verify(resp.AccessToken)
			if tt.wantAud != "https://graph.microsoft.com" {
				if err != nil {
					t.Fatalf("Verify of the issued token: %v", err)
				}
			} else if ae, ok := err.(*AuthError); !ok || ae.Kind != WrongAudience {
				t.Fatalf("Verify of a token for another API = %v, want WrongAudience", err)
			}
			claims := decodeClaims(t, resp.AccessToken)
			if got := claims["aud"]; got != tt.wantAud {
				t.Errorf("aud = %v, want %q", got, tt.wantAud)
			}
			if p != nil && p.Audience != tt.wantAud {
				t.Errorf("Principal.Audience = %q, want %q", p.Audience, tt.wantAud)
			}
		})
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// checkOAuthErrorEnvelope checks the parts of an error body that vary per
// request: ids, time and the description's trailer.
func checkOAuthErrorEnvelope(t *testing.T, e *OAuthError) {
	t.Helper()
	if !guidRE.MatchString(e.TraceID) || !guidRE.MatchString(e.CorrelationID) {
		t.Errorf("trace_id %q, correlation_id %q: want GUIDs", e.TraceID, e.CorrelationID)
	}
	if want := "2025-03-18 21:02:00Z"; e.Timestamp != want {
		t.Errorf("timestamp = %q, want %q", e.Timestamp, want)
	}
	trailer := "\r\nTrace ID: " + e.TraceID + "\r\nCorrelation ID: " + e.CorrelationID + "\r\nTimestamp: " + e.Timestamp
	if !strings.HasSuffix(e.Description, trailer) {
		t.Errorf("description %q does not end with %q", e.Description, trailer)
	}
	if want := "https://login.microsoftonline.com/error?code="; !strings.HasPrefix(e.ErrorURI, want) {
		t.Errorf("error_uri = %q, want prefix %q", e.ErrorURI, want)
	}
	var body map[string]any
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"} {
		if _, ok := body[k]; !ok {
			t.Errorf("error body %s lacks %q", b, k)
		}
	}
	if _, ok := body["Status"]; ok {
		t.Errorf("error body %s carries the status", b)
	}
}

func TestTokenResponseJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp TokenResponse
		want string
	}{
		{
			name: "v2 numbers",
			resp: TokenResponse{TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599, ExpiresOn: 5, NotBefore: 1, Resource: "r", AccessToken: "eyJ"},
			want: `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ"}`,
		},
		{
			name: "v1 strings",
			resp: TokenResponse{TokenType: "Bearer", ExpiresIn: 3599, ExtExpiresIn: 3599, ExpiresOn: 1547440166, NotBefore: 1547436266,
				Resource: "https://api.securitycenter.microsoft.com", AccessToken: "eyJ", V1: true},
			want: `{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":"1547440166","not_before":"1547436266","resource":"https://api.securitycenter.microsoft.com","access_token":"eyJ"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, v := range []any{tt.resp, &tt.resp} {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, string(b)); diff != "" {
					t.Errorf("JSON mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// decodeClaims returns a token's claims without verifying it.
func decodeClaims(t *testing.T, raw string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		t.Fatalf("decode token: %v", err)
	}
	return claims
}

func TestClientCredentialsClaims(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	form := with(clientForm(clientA1, secretA1), "scope", "https://api.securitycenter.microsoft.com/.default")
	resp, oerr := a.ClientCredentials(tenantA, form, true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	tok, _, err := jwt.NewParser().ParseUnverified(resp.AccessToken, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"alg": "RS256", "typ": "JWT", "kid": a.kid, "x5t": a.kid}, tok.Header); diff != "" {
		t.Errorf("header mismatch (-want +got):\n%s", diff)
	}
	claims := tok.Claims.(jwt.MapClaims)
	if got, ok := claims["uti"].(string); !ok || len(got) < 16 {
		t.Errorf("uti = %v, want a random id", claims["uti"])
	}
	delete(claims, "uti")
	oid := nameGUID(tenantA + "/" + clientA1)
	want := jwt.MapClaims{
		"aud":             "https://api.securitycenter.microsoft.com",
		"iss":             "https://sts.windows.net/" + tenantA + "/",
		"idp":             "https://sts.windows.net/" + tenantA + "/",
		"iat":             float64(t0.Unix() - 300),
		"nbf":             float64(t0.Unix() - 300),
		"exp":             float64(t0.Unix() + 3599),
		"app_displayname": "SOAR connector",
		"appid":           clientA1,
		"appidacr":        "1",
		"azp":             clientA1,
		"azpacr":          "1",
		"idtyp":           "app",
		"oid":             oid,
		"sub":             oid,
		"tid":             tenantA,
		"roles":           []any{"Machine.LiveResponse", "Machine.Read.All"},
		"ver":             "1.0",
	}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims mismatch (-want +got):\n%s", diff)
	}
	if !guidRE.MatchString(oid) {
		t.Errorf("oid %q is not a GUID", oid)
	}
}

func TestClientCredentialsIssuerOption(t *testing.T) {
	t.Parallel()
	key, _ := testKeys()
	clk := &fakeClock{t: t0}
	a, err := New(Options{Key: key, Now: clk.Now, Issuer: func(tid string) string { return "http://localhost:8080/" + tid + "/v2.0" }})
	if err != nil {
		t.Fatal(err)
	}
	a.SetApps(testApps)
	resp, oerr := a.ClientCredentials(tenantB, with(clientForm(clientB1, "b1"), "resource", DefaultAudience), false)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	if got, want := decodeClaims(t, resp.AccessToken)["iss"], "http://localhost:8080/"+tenantB+"/v2.0"; got != want {
		t.Errorf("iss = %v, want %q", got, want)
	}
	if _, err := a.Verify(resp.AccessToken); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestMint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		req        MintRequest
		wantTenant string
		wantClient string
		wantRoles  any // the roles claim; nil when absent
		wantAud    string
		wantExp    int64
	}{
		{
			name: "empty request: default app", req: MintRequest{},
			wantTenant: tenantA, wantClient: clientA1, wantRoles: []any{"Machine.LiveResponse", "Machine.Read.All"},
			wantAud: DefaultAudience, wantExp: t0.Unix() + 3599,
		},
		{
			name: "tenant only: its first app", req: MintRequest{TenantID: tenantB},
			wantTenant: tenantB, wantClient: clientB1, wantRoles: []any{"Library.Manage"},
			wantAud: DefaultAudience, wantExp: t0.Unix() + 3599,
		},
		{
			name: "client only", req: MintRequest{ClientID: clientA2},
			wantTenant: tenantA, wantClient: clientA2, wantRoles: []any{"Machine.Read.All"},
			wantAud: DefaultAudience, wantExp: t0.Unix() + 3599,
		},
		{
			name: "roles, audience and lifetime given",
			req: MintRequest{TenantID: tenantA, ClientID: clientA2, Roles: []string{"Machine.Isolate"},
				Audience: "https://api.security.microsoft.com", ExpiresIn: 10 * time.Minute},
			wantTenant: tenantA, wantClient: clientA2, wantRoles: []any{"Machine.Isolate"},
			wantAud: "https://api.security.microsoft.com", wantExp: t0.Unix() + 600,
		},
		{
			name: "empty roles: no roles claim", req: MintRequest{Roles: []string{}},
			wantTenant: tenantA, wantClient: clientA1, wantRoles: nil,
			wantAud: DefaultAudience, wantExp: t0.Unix() + 3599,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := newTestAuthority(t)
			raw, resp, err := a.Mint(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.AccessToken != raw || resp.TokenType != "Bearer" || int64(resp.ExpiresIn) != tt.wantExp-t0.Unix() {
				t.Errorf("response = %+v, want Bearer, the token and expires_in %d", resp, tt.wantExp-t0.Unix())
			}
			c := decodeClaims(t, raw)
			got := map[string]any{"tid": c["tid"], "appid": c["appid"], "roles": c["roles"], "aud": c["aud"], "exp": c["exp"]}
			want := map[string]any{"tid": tt.wantTenant, "appid": tt.wantClient, "roles": tt.wantRoles, "aud": tt.wantAud, "exp": float64(tt.wantExp)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("claims mismatch (-want +got):\n%s", diff)
			}
			if _, err := a.Verify(raw); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestMintErrors(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	for _, req := range []MintRequest{
		{TenantID: "99999999-9999-9999-9999-999999999999"},
		{ClientID: "no-such-client"},
		{TenantID: tenantB, ClientID: clientA1},
	} {
		if _, _, err := a.Mint(req); err == nil {
			t.Errorf("Mint(%+v): got no error", req)
		}
	}
	a.SetApps(nil)
	if _, _, err := a.Mint(MintRequest{}); err == nil {
		t.Error("Mint on an empty directory: got no error")
	}
}

func TestMintExpired(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	raw, _, err := a.Mint(MintRequest{ExpiresIn: -time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Verify(raw)
	if ae, ok := err.(*AuthError); !ok || ae.Kind != Unauthorized {
		t.Fatalf("Verify of an expired minted token = %v, want Unauthorized", err)
	}
}

// TestLifetimeIsWallTime: under a clock sped up 60 times, expires_in stays
// the requested lifetime, exp (emulated) is lifetime×60 away so the token
// stops verifying after lifetime of wall time, and the v1 response's
// expires_on and not_before are wall-clock instants.
func TestLifetimeIsWallTime(t *testing.T) {
	t.Parallel()
	key, _ := testKeys()
	clk := &fakeClock{t: t0}
	wallNow := time.Date(2031, 7, 1, 8, 0, 0, 0, time.UTC) // far from emulated time
	a, err := New(Options{Key: key, Now: clk.Now,
		Wall:             func() time.Time { return wallNow },
		EmulatedDuration: func(d time.Duration) time.Duration { return 60 * d },
	})
	if err != nil {
		t.Fatal(err)
	}
	a.SetApps(testApps)

	resp, oerr := a.ClientCredentials(tenantA, with(clientForm(clientA1, secretA1), "resource", DefaultAudience), false)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	if resp.ExpiresIn != 3599 {
		t.Errorf("expires_in = %d, want 3599", resp.ExpiresIn)
	}
	if got, want := resp.ExpiresOn, wallNow.Unix()+3599; got != want {
		t.Errorf("expires_on = %d, want wall now + 3599 = %d", got, want)
	}
	if got, want := resp.NotBefore, wallNow.Unix()-300; got != want {
		t.Errorf("not_before = %d, want wall now - 300 = %d", got, want)
	}
	claims := decodeClaims(t, resp.AccessToken)
	if got, want := claims["exp"], float64(t0.Add(60*3599*time.Second).Unix()); got != want {
		t.Errorf("exp = %v, want emulated now + 3599 s × 60 = %v", got, want)
	}
	if got, want := claims["nbf"], float64(t0.Add(-5*time.Minute).Unix()); got != want {
		t.Errorf("nbf = %v, want emulated now - 5 min = %v", got, want)
	}

	// A 2 s token (Mint): valid until 120 emulated seconds have passed.
	raw, mresp, err := a.Mint(MintRequest{ExpiresIn: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if mresp.ExpiresIn != 2 || mresp.ExpiresOn != 0 {
		t.Errorf("Mint response: %+v", mresp)
	}
	clk.Advance(2*time.Minute - time.Millisecond)
	if _, err := a.Verify(raw); err != nil {
		t.Errorf("just before 2 wall seconds: %v", err)
	}
	clk.Advance(time.Millisecond)
	if _, err := a.Verify(raw); err == nil {
		t.Error("verified after 2 wall seconds")
	}
}
