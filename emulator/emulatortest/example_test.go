package emulatortest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
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
