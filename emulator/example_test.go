package emulator_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

// An emulator with the default fixtures on a manual clock, called the way
// a client calls the real service: a token from the identity platform's
// client-credentials endpoint, a RunScript submitted, the emulated minute
// it takes passed by hand, the action read again and its result
// downloaded. srv.Client() serves every request in memory, whatever its
// host; to listen on a port, serve srv.Handler() (see NewHTTPServer).
func ExampleNew() {
	srv, err := emulator.New(emulator.Options{
		Clock: clock.Manual,
		Start: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	client := srv.Client()
	const base = "http://127.0.0.1:8080"

	// A token, as a client gets one: the default app's credentials.
	tenantID, app, _ := srv.DefaultApp()
	res, err := client.PostForm(base+"/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {app.ClientID},
		"client_secret": {app.ClientSecret},
		"scope":         {"https://api.securitycenter.microsoft.com/.default"},
	})
	if err != nil {
		log.Fatal(err)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	exampleDecode(res, &token)

	call := func(method, path, body string, v any) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token.AccessToken)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		exampleDecode(res, v)
		return res.StatusCode
	}

	// Submit a script: 201, the action Pending, its command Created.
	var action struct {
		ID       string `json:"id"`
		Status   string `json:"status"`
		Commands []struct {
			CommandStatus string `json:"commandStatus"`
		} `json:"commands"`
	}
	status := call("POST", "/api/machines/ws-finance-01.contoso.local/runliveresponse",
		`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}],"Comment":"example"}`,
		&action)
	fmt.Println(status, action.Status, action.Commands[0].CommandStatus)

	// The machine picks it up after 5 s, the script runs 3 s, the action
	// settles 2 s later: a minute is more than enough.
	srv.Clock().Advance(time.Minute)
	call("GET", "/api/machineactions/"+action.ID, "", &action)
	fmt.Println(action.Status, action.Commands[0].CommandStatus)

	// The result: a download link, fetched without the token.
	var link struct {
		Value string `json:"value"`
	}
	call("GET", "/api/machineactions/"+action.ID+"/GetLiveResponseResultDownloadLink(index=0)", "", &link)
	res, err = client.Get(link.Value)
	if err != nil {
		log.Fatal(err)
	}
	var result struct {
		ScriptName string `json:"script_name"`
		ExitCode   int    `json:"exit_code"`
	}
	exampleDecode(res, &result)
	fmt.Println(result.ScriptName, result.ExitCode)

	// Output:
	// 201 Pending Created
	// Succeeded Completed
	// Get-Processes.ps1 0
}

// exampleDecode reads res's JSON body into v.
func exampleDecode(res *http.Response, v any) {
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		log.Fatalf("%s: %v", res.Request.URL.Path, err)
	}
}
