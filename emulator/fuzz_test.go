package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

// Bad input never crashes the emulator nor gets a 5xx: it gets the
// service's error body. The fuzzers send arbitrary submit bodies and
// OData queries through the whole handler, with responses checked
// against the OpenAPI document (a mismatch would be a 500).
func FuzzRunLiveResponseBody(f *testing.F) {
	for _, s := range []string{
		runScriptThenGetFile,
		`{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"tools.zip"}]}]}`,
		`{"Commands":[]}`, `{"commands":[]}`, `{}`, `[]`, `null`, `"x"`, ``, `{"Commands":`,
		`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"},{"key":"ScriptName","value":"x"}]}]}`,
		`{"Comment":5,"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"\u0000"}]}]}`,
	} {
		f.Add(s)
	}
	srv, tok := fuzzServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		req, _ := http.NewRequest("POST", testBase+"/api/machines/"+winMachine+"/runliveresponse", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		checkNoServerError(t, srv, req)
		srv.Reset() // the next input finds the machine free
	})
}

func FuzzListMachineActionsQuery(f *testing.F) {
	for _, s := range []string{
		"$filter=status eq 'Succeeded'", "$filter=id in ('a','b')&$top=2&$skip=1&$count=true",
		"$orderby=creationDateTimeUtc desc", "$filter=creationDateTimeUtc ge 2024-01-01T00:00:00Z",
		"$filter=(status eq 'x' or not (type ne 'y')) and requestor eq ''''", "$top=-1", "$filter=", "$select=id",
		"$filter=machineId eq", "$filter=((((", "$filter=status eq 'a",
	} {
		f.Add(s)
	}
	srv, tok := fuzzServer(f)
	f.Fuzz(func(t *testing.T, query string) {
		u := testBase + "/api/machineactions?" + query
		if _, err := url.Parse(u); err != nil {
			return
		}
		req, err := http.NewRequest("GET", u, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		checkNoServerError(t, srv, req)
	})
}

func fuzzServer(f *testing.F) (*emulator.Server, string) {
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: start, StrictResponses: true,
		Fixtures: mustFixtures(f, generated(3, "profile: unlimited\n"))})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	tok, _, err := srv.Authority().Mint(identityDefault())
	if err != nil {
		f.Fatal(err)
	}
	return srv, tok
}

// checkNoServerError sends req and fails on a 5xx, a panic, or an error
// answer that is not the service's error body.
func checkNoServerError(t *testing.T, srv *emulator.Server, req *http.Request) {
	t.Helper()
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("transport: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		t.Fatalf("status %d: %s", res.StatusCode, b)
	}
	if res.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message, Target string } `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Target == "" || !utf8.ValidString(e.Error.Message) {
			t.Fatalf("status %d with a body that is not the service's error: %s", res.StatusCode, b)
		}
	}
}
