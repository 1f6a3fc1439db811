package emulatortest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator/emulatortest"
)

const (
	analyst = "analyst@contoso.onmicrosoft.com" // advanced live response, every group
	auditor = "auditor@contoso.onmicrosoft.com" // no live response
)

func callAs(t *testing.T, srv *emulatortest.Server, token, method, path, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

const script = `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`

// UserToken's token acts as the user: their role decides, and scopes
// narrow it.
func TestUserToken(t *testing.T) {
	t.Parallel()
	srv := emulatortest.NewServer(t)
	tok, err := srv.UserToken(analyst)
	if err != nil {
		t.Fatal(err)
	}
	if got := callAs(t, srv, tok, "POST", "/api/machines/ws-finance-01.contoso.local/runliveresponse", script); got != 201 {
		t.Errorf("the analyst's script: %d", got)
	}
	aud, err := srv.UserToken(auditor)
	if err != nil {
		t.Fatal(err)
	}
	if got := callAs(t, srv, aud, "GET", "/api/machines", ""); got != 200 {
		t.Errorf("the auditor lists machines: %d", got)
	}
	if got := callAs(t, srv, aud, "POST", "/api/machines/srv-sql-01.contoso.local/runliveresponse", script); got != 403 {
		t.Errorf("the auditor's script: %d, want 403", got)
	}
	readOnly, err := srv.UserToken(analyst, "Machine.Read")
	if err != nil {
		t.Fatal(err)
	}
	if got := callAs(t, srv, readOnly, "POST", "/api/machines/srv-sql-01.contoso.local/runliveresponse", script); got != 403 {
		t.Errorf("scp Machine.Read only: %d, want 403", got)
	}
	if _, err := srv.UserToken("nobody@contoso.onmicrosoft.com"); err == nil {
		t.Error("a user not in the fixtures got a token")
	}
}

// ApproveDeviceCode completes a client's device code; DeclineDeviceCode
// declines one; an unknown code is an error.
func TestApproveDeviceCode(t *testing.T) {
	t.Parallel()
	srv := emulatortest.NewServer(t)
	start := func() (userCode, deviceCode string) {
		res, err := srv.Client().PostForm(srv.URL+"/"+srv.TenantID+"/oauth2/v2.0/devicecode", url.Values{
			"client_id": {srv.ClientID}, "scope": {"https://api.securitycenter.microsoft.com/.default"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var dc struct{ UserCode, DeviceCode string }
		var raw map[string]any
		_ = json.NewDecoder(res.Body).Decode(&raw)
		dc.UserCode, _ = raw["user_code"].(string)
		dc.DeviceCode, _ = raw["device_code"].(string)
		return dc.UserCode, dc.DeviceCode
	}
	poll := func(deviceCode string) map[string]any {
		res, err := srv.Client().PostForm(srv.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"client_id": {srv.ClientID}, "device_code": {deviceCode}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		return out
	}
	user, device := start()
	if got := poll(device); got["error"] != "authorization_pending" {
		t.Fatalf("before approval: %v", got)
	}
	if err := srv.ApproveDeviceCode(strings.ToLower(user), analyst); err != nil {
		t.Fatal(err)
	}
	got := poll(device)
	tok, _ := got["access_token"].(string)
	if tok == "" || callAs(t, srv, tok, "GET", "/api/machines", "") != 200 {
		t.Fatalf("after approval: %v", got)
	}
	if err := srv.ApproveDeviceCode(user, analyst); err == nil {
		t.Error("a completed code approved again")
	}
	user, device = start()
	if err := srv.DeclineDeviceCode(user); err != nil {
		t.Fatal(err)
	}
	if got := poll(device); got["error"] != "authorization_declined" {
		t.Errorf("declined: %v", got)
	}
	if err := srv.ApproveDeviceCode("NOSUCHCOD", analyst); err == nil {
		t.Error("an unknown code approved")
	}
}
