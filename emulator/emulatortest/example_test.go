package emulatortest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/emulatortest"
)

// A client test in ten lines: submit a script, let the emulated minute
// pass, read the action, check what the client sent.
func Example() {
	srv, _ := emulatortest.New() // in a test: emulatortest.NewServer(t)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/machines/ws-finance-01.contoso.local/runliveresponse",
		strings.NewReader(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`))
	token, _ := srv.Token()
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, _ := srv.Client().Do(req)
	var action struct{ ID, Status string }
	_ = json.NewDecoder(res.Body).Decode(&action)
	srv.Advance(time.Minute)

	get, _ := http.NewRequest("GET", srv.URL+"/api/machineactions/"+action.ID, nil)
	get.Header.Set("Authorization", "Bearer "+token)
	res, _ = srv.Client().Do(get)
	_ = json.NewDecoder(res.Body).Decode(&action)
	fmt.Println(action.Status, len(srv.Requests(emulatortest.Filter{Method: "POST", Path: "/api/machines/*"})))
	// Output: Succeeded 1
}

// A fault: the next two submissions are throttled, as the real service
// does past 10 calls a minute, so the client's retry logic is exercised.
func ExampleServer_AddFault() {
	srv, _ := emulatortest.New()
	defer srv.Close()
	rule, err := emulatortest.ParseFaultRule(`{"match":{"path":"/api/machines/*/runliveresponse"},"calls":{"next":2},"effect":{"status":429,"retryAfter":"30s"}}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	rule, _ = srv.AddFault(rule)
	fmt.Println(rule.ID, rule.Effect.Status, rule.Effect.RetryAfter)
	// Output: f1 429 30s
}

// A client that signs in with a device code: the test plays the user who
// enters the code the client printed.
func ExampleServer_ApproveDeviceCode() {
	srv, _ := emulatortest.New()
	defer srv.Close()
	res, _ := srv.Client().PostForm(srv.URL+"/"+srv.TenantID+"/oauth2/v2.0/devicecode", url.Values{
		"client_id": {srv.ClientID}, "scope": {"https://api.securitycenter.microsoft.com/.default"}})
	var dc struct {
		UserCode   string `json:"user_code"`
		DeviceCode string `json:"device_code"`
	}
	_ = json.NewDecoder(res.Body).Decode(&dc)
	res.Body.Close()

	fmt.Println(srv.ApproveDeviceCode(dc.UserCode, "analyst@contoso.onmicrosoft.com"))
	res, _ = srv.Client().PostForm(srv.TokenURL(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {srv.ClientID}, "device_code": {dc.DeviceCode}})
	fmt.Println(res.StatusCode)
	res.Body.Close()
	// Output:
	// <nil>
	// 200
}

// A delegated token for a fixture user: the API answers as that user.
func ExampleServer_UserToken() {
	srv, _ := emulatortest.New()
	defer srv.Close()
	token, err := srv.UserToken("auditor@contoso.onmicrosoft.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/machines/srv-sql-01.contoso.local/runliveresponse",
		strings.NewReader(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, _ := srv.Client().Do(req)
	res.Body.Close()
	fmt.Println(res.StatusCode) // the auditor has no live response
	// Output: 403
}
