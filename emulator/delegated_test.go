package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Users of the default fixtures.
const (
	analystUPN  = "analyst@contoso.onmicrosoft.com"  // advanced, every group
	tier1UPN    = "tier1@contoso.onmicrosoft.com"    // basic
	helpdeskUPN = "helpdesk@contoso.onmicrosoft.com" // advanced, Workstations only
	auditorUPN  = "auditor@contoso.onmicrosoft.com"  // no live response
	userPwd     = "emulator-password"
)

const (
	getFileOnly = `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\install.log"}]}]}`
	runScript   = `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}],"Comment":"as a user"}`
)

// userToken mints a delegated token for user through the control plane,
// with scopes (nil: the app's delegated permissions).
func (e *env) userToken(user string, scopes ...string) string {
	e.t.Helper()
	body := map[string]any{"user": user}
	if scopes != nil {
		body["scopes"] = scopes
	}
	b, _ := json.Marshal(body)
	return e.mint(string(b))
}

// form posts a form to the identity platform.
func (e *env) form(path string, f url.Values) resp {
	e.t.Helper()
	req, err := http.NewRequest("POST", testBase+path, strings.NewReader(f.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.send(req)
}

func TestDelegatedPasswordGrantRunsAScript(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"password"}, "client_id": {soarClientID}, "client_secret": {defaultSecret},
		"username": {analystUPN}, "password": {userPwd},
		"scope": {"https://api.securitycenter.microsoft.com/.default offline_access"},
	})
	if r.status != 200 {
		t.Fatalf("password grant: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
	}
	r.decode(&tok)
	if tok.RefreshToken == "" || !strings.Contains(tok.Scope, "/Machine.LiveResponse") {
		t.Fatalf("token response %s", r.body)
	}

	r = e.call("POST", "/api/machines/"+winMachine+"/runliveresponse", tok.AccessToken, runScript)
	if r.status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var a struct{ ID, Requestor string }
	r.decode(&a)
	if a.Requestor != analystUPN {
		t.Errorf("requestor %q, want the UPN %q", a.Requestor, analystUPN)
	}
	e.advance(time.Minute)
	r = e.call("GET", "/api/machineactions/"+a.ID, tok.AccessToken, "")
	if r.status != 200 || !strings.Contains(string(r.body), `"status":"Succeeded"`) {
		t.Fatalf("action: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/machineactions/"+a.ID+"/GetLiveResponseResultDownloadLink(index=0)", tok.AccessToken, "")
	if r.status != 200 {
		t.Fatalf("link: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/machineactions?$filter=requestor eq '"+analystUPN+"'", tok.AccessToken, "")
	if r.status != 200 || !strings.Contains(string(r.body), a.ID) {
		t.Fatalf("list by requestor: %d %s", r.status, r.body)
	}

	// The refresh token gives a new access token that works.
	r = e.form("/"+tenantID+"/oauth2/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {soarClientID}, "refresh_token": {tok.RefreshToken},
	})
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	var v1 struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(&v1)
	if r := e.call("GET", "/api/machines", v1.AccessToken, ""); r.status != 200 {
		t.Fatalf("refreshed token: %d %s", r.status, r.body)
	}

	// A wrong password: the identity platform's error.
	r = e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"password"}, "client_id": {soarClientID}, "username": {analystUPN}, "password": {"wrong"},
		"scope": {"https://api.securitycenter.microsoft.com/.default"},
	})
	var oerr struct {
		Error      string `json:"error"`
		ErrorCodes []int  `json:"error_codes"`
	}
	r.decode(&oerr)
	if r.status != 400 || oerr.Error != "invalid_grant" || len(oerr.ErrorCodes) != 1 || oerr.ErrorCodes[0] != 50126 {
		t.Errorf("wrong password: %d %s", r.status, r.body)
	}
}

func TestDelegatedScopeMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.userToken(analystUPN, "Machine.Read")
	r := e.call("POST", "/api/machines/"+winMachine+"/runliveresponse", tok, runScript)
	if r.status != http.StatusForbidden || r.errorCode() != "Forbidden" ||
		r.errorMessage() != "Missing delegated permissions (scp). API required permissions: Machine.LiveResponse" {
		t.Errorf("runliveresponse without Machine.LiveResponse: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/libraryfiles", tok, ""); r.status != http.StatusForbidden {
		t.Errorf("library without Library.Manage: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/machines", tok, ""); r.status != 200 {
		t.Errorf("machines with Machine.Read: %d %s", r.status, r.body)
	}
	tok = e.userToken(analystUPN, "Machine.LiveResponse")
	if r := e.call("GET", "/api/machines", tok, ""); r.status != http.StatusForbidden ||
		r.errorMessage() != "Missing delegated permissions (scp). API required permissions: Machine.Read, Machine.ReadWrite" {
		t.Errorf("machines without Machine.Read: %d %s", r.status, r.body)
	}
	// App roles in a user's token count for nothing: an app token with
	// roles still works as before.
	if r := e.api("GET", "/api/machines", ""); r.status != 200 {
		t.Errorf("app token: %d %s", r.status, r.body)
	}
}

func TestDelegatedRoleLevels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	basic := e.userToken(tier1UPN)
	r := e.call("POST", "/api/machines/"+winMachine+"/runliveresponse", basic, runScript)
	if r.status != http.StatusForbidden || r.errorCode() != "Forbidden" || !strings.Contains(r.errorMessage(), "does not allow RunScript") {
		t.Errorf("basic user, RunScript: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/machines/"+winMachine+"/runliveresponse", basic,
		`{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"tools.zip"}]}]}`)
	if r.status != http.StatusForbidden || !strings.Contains(r.errorMessage(), "does not allow PutFile") {
		t.Errorf("basic user, PutFile: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/machines/"+winMachine+"/runliveresponse", basic, getFileOnly)
	if r.status != http.StatusCreated {
		t.Errorf("basic user, GetFile: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/libraryfiles", basic, ""); r.status != http.StatusForbidden {
		t.Errorf("basic user, library: %d %s", r.status, r.body)
	}

	none := e.userToken(auditorUPN)
	r = e.call("POST", "/api/machines/"+win10Machine+"/runliveresponse", none, getFileOnly)
	if r.status != http.StatusForbidden || !strings.Contains(r.errorMessage(), "lacks the live response role permission") {
		t.Errorf("user without live response: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/machines/"+winMachine, none, ""); r.status != 200 {
		t.Errorf("user with view data, machine: %d %s", r.status, r.body)
	}
}

func TestDelegatedDeviceGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// An action on a server, by the analyst (every group).
	serverAction := e.submit(dcMachine, runScript)

	tok := e.userToken(helpdeskUPN)
	r := e.call("GET", "/api/machines", tok, "")
	if r.status != 200 {
		t.Fatalf("machines: %d %s", r.status, r.body)
	}
	var list struct {
		Value []struct{ ID, RbacGroupName string }
	}
	r.decode(&list)
	if len(list.Value) == 0 {
		t.Fatal("no machines")
	}
	for _, m := range list.Value {
		if m.RbacGroupName != "Workstations" {
			t.Errorf("machine %s of group %q listed for a Workstations user", m.ID, m.RbacGroupName)
		}
	}
	for _, path := range []string{
		"/api/machines/" + dcMachine,
		"/api/machines/srv-dc-01.contoso.local",
		"/api/machineactions/" + serverAction,
		"/api/machineactions/" + serverAction + "/GetLiveResponseResultDownloadLink(index=0)",
	} {
		if r := e.call("GET", path, tok, ""); r.status != http.StatusNotFound || r.errorCode() != "ResourceNotFound" {
			t.Errorf("GET %s: %d %s, want 404", path, r.status, r.body)
		}
	}
	r = e.call("POST", "/api/machines/"+dcMachine+"/runliveresponse", tok, runScript)
	if r.status != http.StatusNotFound {
		t.Errorf("runliveresponse on a server: %d %s", r.status, r.body)
	}
	r = e.call("POST", "/api/machineactions/"+serverAction+"/cancel", tok, `{"Comment":"x"}`)
	if r.status != http.StatusNotFound {
		t.Errorf("cancel of a server's action: %d %s", r.status, r.body)
	}
	r = e.call("GET", "/api/machineactions", tok, "")
	if r.status != 200 || strings.Contains(string(r.body), serverAction) {
		t.Errorf("action list shows a server's action: %d %s", r.status, r.body)
	}
	// A workstation works, and the action appears.
	r = e.call("POST", "/api/machines/"+winMachine+"/runliveresponse", tok, runScript)
	if r.status != http.StatusCreated {
		t.Fatalf("runliveresponse on a workstation: %d %s", r.status, r.body)
	}
	var a struct{ ID string }
	r.decode(&a)
	r = e.call("POST", "/api/machineactions/"+a.ID+"/cancel", tok, `{"Comment":"stop"}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"cancellationRequestor":"`+helpdeskUPN+`"`) {
		t.Errorf("cancel by the user: %d %s", r.status, r.body)
	}
}

func TestDelegatedSessionsPerUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withFixtures(t, fmt.Sprintf(`
limits: {sessionsPerUser: 2}
tenants:
  - id: %s
    apps:
      - {clientId: %s, clientSecret: s, displayName: App, roles: [Machine.LiveResponse], delegatedPermissions: [Machine.LiveResponse]}
    users:
      - {userPrincipalName: a@x.example, password: p, role: {liveResponse: advanced}}
      - {userPrincipalName: b@x.example, password: p, role: {liveResponse: advanced}}
    machines:
      - {id: "%s", computerDnsName: m1, osPlatform: Windows11, offline: true}
      - {id: "%s", computerDnsName: m2, osPlatform: Windows11, offline: true}
      - {id: "%s", computerDnsName: m3, osPlatform: Windows11, offline: true}
      - {id: "%s", computerDnsName: m4, osPlatform: Windows11, offline: true}
`, tenantID, soarClientID, strings.Repeat("1", 40), strings.Repeat("2", 40), strings.Repeat("3", 40), strings.Repeat("4", 40))))
	a, b := e.userToken("a@x.example"), e.userToken("b@x.example")
	for _, m := range []string{"m1", "m2"} {
		if r := e.call("POST", "/api/machines/"+m+"/runliveresponse", a, getFileOnly); r.status != http.StatusCreated {
			t.Fatalf("session on %s: %d %s", m, r.status, r.body)
		}
	}
	r := e.call("POST", "/api/machines/m3/runliveresponse", a, getFileOnly)
	if r.status != http.StatusTooManyRequests || r.errorCode() != "TooManyRequests" || r.header.Get("Retry-After") == "" ||
		!strings.Contains(r.errorMessage(), "the user a@x.example has reached the limit of 2") {
		t.Errorf("third session of one user: %d %s", r.status, r.body)
	}
	// Another user still has sessions of their own.
	if r := e.call("POST", "/api/machines/m3/runliveresponse", b, getFileOnly); r.status != http.StatusCreated {
		t.Errorf("another user's session: %d %s", r.status, r.body)
	}
}

func TestDelegatedTokenForUnknownUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("POST", "/_emulator/tokens", "", `{"user":"nobody@contoso.onmicrosoft.com"}`)
	if r.status != http.StatusBadRequest || r.errorCode() != "InvalidInput" {
		t.Errorf("mint for an unknown user: %d %s", r.status, r.body)
	}
	tok := e.userToken(analystUPN)
	// Fixtures without that user: the token stops working.
	if r := e.call("PUT", "/_emulator/fixtures", "", fmt.Sprintf(`{"tenants":[{"id":"%s","apps":[{"clientId":"%s","clientSecret":"s","displayName":"A","roles":[]}]}]}`, tenantID, soarClientID)); r.status != 200 {
		t.Fatalf("put fixtures: %d %s", r.status, r.body)
	}
	if r := e.call("GET", "/api/machines", tok, ""); r.status != http.StatusUnauthorized {
		t.Errorf("token of a user no longer there: %d %s", r.status, r.body)
	}
}
