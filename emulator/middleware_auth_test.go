package emulator_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestTokenEndpoints(t *testing.T) {
	e := newEnv(t)
	form := func(v url.Values) string { return v.Encode() }
	v2 := url.Values{"grant_type": {"client_credentials"}, "client_id": {soarClientID}, "client_secret": {defaultSecret},
		"scope": {"https://api.securitycenter.microsoft.com/.default"}}
	r := e.call("POST", "/"+tenantID+"/oauth2/v2.0/token", "", form(v2), "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 200 {
		t.Fatalf("v2 token: %d %s", r.status, r.body)
	}
	var tok struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}
	r.decode(&tok)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 3599 {
		t.Errorf("v2 token body: %s", r.body)
	}
	if r := e.call("GET", "/api/machines", tok.AccessToken, ""); r.status != 200 {
		t.Errorf("API call with the v2 token: %d %s", r.status, r.body)
	}

	v1 := url.Values{"grant_type": {"client_credentials"}, "client_id": {soarClientID}, "client_secret": {defaultSecret},
		"resource": {"https://api.securitycenter.microsoft.com"}}
	r = e.call("POST", "/"+tenantID+"/oauth2/token", "", form(v1), "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 200 || !strings.Contains(string(r.body), `"access_token"`) {
		t.Fatalf("v1 token: %d %s", r.status, r.body)
	}

	bad := url.Values{"grant_type": {"client_credentials"}, "client_id": {soarClientID}, "client_secret": {"wrong"},
		"scope": {"https://api.securitycenter.microsoft.com/.default"}}
	r = e.call("POST", "/"+tenantID+"/oauth2/v2.0/token", "", form(bad), "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 401 || !strings.Contains(string(r.body), `"invalid_client"`) || !strings.Contains(string(r.body), "AADSTS7000215") {
		t.Errorf("wrong secret: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token", "", form(v2), "Content-Type", "application/x-www-form-urlencoded")
	if r.status != 400 || !strings.Contains(string(r.body), "AADSTS90002") {
		t.Errorf("unknown tenant: %d %s", r.status, r.body)
	}

	// Client secret in HTTP Basic auth.
	basic := url.Values{"grant_type": {"client_credentials"}, "scope": {"https://api.securitycenter.microsoft.com/.default"}}
	req, _ := http.NewRequest("POST", testBase+"/"+tenantID+"/oauth2/v2.0/token", strings.NewReader(basic.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(soarClientID, defaultSecret)
	if r := e.send(req); r.status != 200 {
		t.Errorf("basic auth: %d %s", r.status, r.body)
	}

	for _, p := range []string{"/" + tenantID + "/discovery/v2.0/keys", "/" + tenantID + "/v2.0/.well-known/openid-configuration"} {
		if r := e.call("GET", p, "", ""); r.status != 200 {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
}

func TestAPIAuthentication(t *testing.T) {
	e := newEnv(t)
	expiring := e.mint(`{"expiresIn":"10m"}`)
	wrongAud := e.mint(`{"audience":"https://userrequestsgraphapi-prd.trafficmanager.net"}`)
	ownAud := e.mint(`{"audience":"` + testBase + `"}`)
	tests := []struct {
		name, token string
		header      string
		status      int
		code        string
	}{
		{"no header", "", "", 401, "Unauthorized"},
		{"not bearer", "", "Basic abc", 401, "Unauthorized"},
		{"garbage", "", "Bearer not.a.jwt", 401, "Unauthorized"},
		{"tampered", "", "Bearer " + e.token[:len(e.token)-4] + "AAAA", 401, "Unauthorized"},
		{"wrong audience", wrongAud, "", 403, "Forbidden"},
		{"own base URL as audience", ownAud, "", 200, ""},
		{"valid", expiring, "", 200, ""},
	}
	for _, tc := range tests {
		var hdr []string
		if tc.header != "" {
			hdr = []string{"Authorization", tc.header}
		}
		r := e.call("GET", "/api/machines", tc.token, "", hdr...)
		if r.status != tc.status || r.errorCode() != tc.code {
			t.Errorf("%s: got %d %s; want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	e.advance(10 * time.Minute)
	if r := e.call("GET", "/api/machines", expiring, ""); r.status != 401 || r.errorCode() != "Unauthorized" {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
}

func TestPermissions(t *testing.T) {
	e := newEnv(t)
	readOnly := e.mint(`{"clientId":"` + readClientID + `"}`)
	lrOnly := e.mint(`{"clientId":"` + lrClientID + `"}`)
	id := e.submit(winMachine, runScriptThenGetFile)
	tests := []struct {
		name, token, method, path, body string
		status                          int
		missing                         string
	}{
		{"read app cannot run live response", readOnly, "POST", "/api/machines/" + win10Machine + "/runliveresponse", runScriptThenGetFile, 403, "Machine.LiveResponse"},
		{"read app reads actions", readOnly, "GET", "/api/machineactions/" + id, "", 200, ""},
		{"read app cannot manage the library", readOnly, "GET", "/api/libraryfiles", "", 403, "Library.Manage"},
		{"live response app cannot read machines", lrOnly, "GET", "/api/machines", "", 403, "Machine.Read.All"},
		{"live response app gets download links", lrOnly, "GET", "/api/machineactions/" + id + "/GetLiveResponseResultDownloadLink(index=0)", "", 400, ""},
		{"live response app cancels", lrOnly, "POST", "/api/machineactions/" + id + "/cancel", `{"Comment":"x"}`, 200, ""},
		{"read app cannot cancel", readOnly, "POST", "/api/machineactions/" + id + "/cancel", `{"Comment":"x"}`, 403, "Machine.LiveResponse"},
	}
	for _, tc := range tests {
		r := e.call(tc.method, tc.path, tc.token, tc.body)
		if r.status != tc.status || (tc.missing != "" && (r.errorCode() != "Forbidden" || !strings.Contains(r.errorMessage(), tc.missing))) {
			t.Errorf("%s: got %d %s; want %d naming %q", tc.name, r.status, r.body, tc.status, tc.missing)
		}
	}
}

const twoTenants = `
tenants:
  - id: 11111111-1111-4111-8111-111111111111
    name: alpha
    apps:
      - {clientId: 21111111-1111-4111-8111-111111111111, clientSecret: a, displayName: Alpha App, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
    machines:
      - {id: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, computerDnsName: a1.alpha.local, osPlatform: Windows11}
    library:
      - {fileName: a.ps1, content: "Write-Output a"}
  - id: 22222222-2222-4222-8222-222222222222
    name: beta
    apps:
      - {clientId: 32222222-2222-4222-8222-222222222222, clientSecret: b, displayName: Beta App, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
    machines:
      - {id: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, computerDnsName: b1.beta.local, osPlatform: Windows11}
    library:
      - {fileName: b.ps1, content: "Write-Output b"}
`

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, withFixtures(t, twoTenants))
	alpha := e.mint(`{"tenantId":"11111111-1111-4111-8111-111111111111"}`)
	beta := e.mint(`{"tenantId":"22222222-2222-4222-8222-222222222222"}`)
	e.token = alpha
	id := e.submit("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"a.ps1"}]}]}`)
	e.advance(time.Minute)
	link := e.downloadLink(id, 0)

	checks := []struct{ method, path, body string }{
		{"GET", "/api/machines/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ""},
		{"GET", "/api/machines/a1.alpha.local", ""},
		{"GET", "/api/machineactions/" + id, ""},
		{"POST", "/api/machineactions/" + id + "/cancel", `{"Comment":"x"}`},
		{"GET", "/api/machineactions/" + id + "/GetLiveResponseResultDownloadLink(index=0)", ""},
		{"POST", "/api/machines/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/runliveresponse", `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"b.ps1"}]}]}`},
		{"DELETE", "/api/libraryfiles/a.ps1", ""},
	}
	for _, c := range checks {
		if r := e.call(c.method, c.path, beta, c.body); r.status != 404 {
			t.Errorf("beta %s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	r := e.call("GET", "/api/machineactions", beta, "")
	if strings.Contains(string(r.body), id) {
		t.Errorf("beta lists alpha's action: %s", r.body)
	}
	r = e.call("GET", "/api/libraryfiles", beta, "")
	if strings.Contains(string(r.body), "a.ps1") {
		t.Errorf("beta lists alpha's library: %s", r.body)
	}
	// A link of alpha's, with beta's tenant in its path, opens nothing.
	forged := strings.Replace(strings.TrimPrefix(link, testBase), "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", 1)
	if r := e.call("GET", forged, "", ""); r.status == 200 {
		t.Errorf("forged link opened: %s", r.body)
	}
}
