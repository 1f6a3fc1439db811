package emulator_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mdelive/mde-emulator/internal/state"
)

const runScriptThenGetFile = `{"Commands":[
 {"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"},{"key":"Args","value":"-Verbose"}]},
 {"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\Temp\\install.log"}]}],
 "Comment":"Testing Live Response API"}`

func strp(s string) *string { return &s }

// ignoreVolatile drops what differs between runs: ids and instants.
var ignoreVolatile = cmpopts.IgnoreFields(state.ActionView{}, "ID", "CreationDateTimeUtc", "LastUpdateDateTimeUtc", "CancellationDateTimeUtc")

func TestRunLiveResponseCreated(t *testing.T) {
	e := newEnv(t)
	r := e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", runScriptThenGetFile)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	var got state.ActionView
	r.decode(&got)
	var entity struct {
		ODataContext string `json:"@odata.context"`
	}
	r.decode(&entity)
	if want := testBase + "/api/$metadata#MachineActions/$entity"; entity.ODataContext != want {
		t.Errorf("@odata.context %q, want %q", entity.ODataContext, want)
	}
	want := state.ActionView{
		Type:             "LiveResponse",
		Requestor:        "SOAR Automation",
		RequestorComment: strp("Testing Live Response API"),
		Status:           "Pending",
		MachineID:        winMachine,
		ComputerDNSName:  "ws-finance-01.contoso.local",
		RequestSource:    "PublicApi",
		Commands: []state.CommandView{
			{Index: 0, CommandStatus: "Created", Errors: []string{}, Command: state.Command{Type: "RunScript", Params: []state.Param{{Key: "ScriptName", Value: "Get-Processes.ps1"}, {Key: "Args", Value: "-Verbose"}}}},
			{Index: 1, CommandStatus: "Created", Errors: []string{}, Command: state.Command{Type: "GetFile", Params: []state.Param{{Key: "Path", Value: `C:\Windows\Temp\install.log`}}}},
		},
	}
	if diff := cmp.Diff(want, got, ignoreVolatile); diff != "" {
		t.Errorf("201 body (-want +got):\n%s", diff)
	}
	if got.CreationDateTimeUtc.Time() != start || got.LastUpdateDateTimeUtc != got.CreationDateTimeUtc {
		t.Errorf("creation %v, last update %v; want both %v", got.CreationDateTimeUtc, got.LastUpdateDateTimeUtc, start)
	}
	// The real entity's property order, and nulls written as null.
	keys := jsonKeys(t, r.body)
	wantKeys := []string{"@odata.context", "id", "type", "title", "requestor", "requestorComment", "status", "machineId",
		"computerDnsName", "creationDateTimeUtc", "lastUpdateDateTimeUtc", "cancellationRequestor", "cancellationComment",
		"cancellationDateTimeUtc", "errorHResult", "scope", "externalId", "requestSource", "relatedFileInfo", "commands", "troubleshootInfo"}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Errorf("property order (-want +got):\n%s", diff)
	}
	if !bytes.Contains(r.body, []byte(`"startTime":null,"endTime":null`)) {
		t.Errorf("command times are not null: %s", r.body)
	}
}

// jsonKeys returns the top-level keys of a JSON object in order.
func jsonKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestRunLiveResponseErrors(t *testing.T) {
	const script = `{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}`
	tests := []struct {
		name, path, body string
		status           int
		code, message    string
	}{
		{"unknown machine", "/api/machines/" + unknownID + "/runliveresponse", `{"Commands":[` + script + `]}`,
			404, "ResourceNotFound", "Machine " + unknownID + " was not found"},
		{"no remediation level", "/api/machines/" + kioskMachine + "/runliveresponse", `{"Commands":[` + script + `]}`,
			403, "DisallowedOperation", "This device has no automation level assigned to it. You'll need to at least enable the minimum Remediation Level for a given Device Group."},
		{"unsupported platform", "/api/machines/" + win7Machine + "/runliveresponse", `{"Commands":[` + script + `]}`,
			400, "OsPlatformNotSupported", "OS Platform Windows7 isn't supported for this action."},
		{"body property case", "/api/machines/" + winMachine + "/runliveresponse", `{"commands":[` + script + `]}`,
			400, "MissingRequiredParameter", "Commands"},
		{"empty commands", "/api/machines/" + winMachine + "/runliveresponse", `{"Commands":[]}`,
			400, "InvalidRequestBody", "Commands"},
		{"unknown type", "/api/machines/" + winMachine + "/runliveresponse", `{"Commands":[{"type":"RunCommand","params":[]}]}`,
			400, "InvalidRequestBody", "type"},
		{"wrong order", "/api/machines/" + winMachine + "/runliveresponse",
			`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\x"}]},` + script + `]}`,
			400, "InvalidRequestBody", "order PutFile, RunScript, GetFile"},
		{"missing ScriptName", "/api/machines/" + winMachine + "/runliveresponse", `{"Commands":[{"type":"RunScript","params":[{"key":"Args","value":"x"}]}]}`,
			400, "MissingRequiredParameter", "Parameter ScriptName is missing."},
		{"missing Path", "/api/machines/" + winMachine + "/runliveresponse", `{"Commands":[{"type":"GetFile","params":[]}]}`,
			400, "MissingRequiredParameter", "Parameter Path is missing."},
		{"missing FileName", "/api/machines/" + winMachine + "/runliveresponse", `{"Commands":[{"type":"PutFile","params":[]}]}`,
			400, "MissingRequiredParameter", "Parameter FileName is missing."},
		{"param key case", "/api/machines/" + winMachine + "/runliveresponse", `{"Commands":[{"type":"RunScript","params":[{"key":"scriptname","value":"Get-Processes.ps1"}]}]}`,
			400, "InvalidRequestBody", "scriptname"},
		{"script not in library", "/api/machines/" + winMachine + "/runliveresponse", `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"nope.ps1"}]}]}`,
			400, "InvalidInput", "nope.ps1"},
		{"not JSON", "/api/machines/" + winMachine + "/runliveresponse", `{"Commands":`,
			400, "InvalidRequestBody", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			r := e.api("POST", tc.path, tc.body)
			if r.status != tc.status || r.errorCode() != tc.code || !strings.Contains(r.errorMessage(), tc.message) {
				t.Errorf("got %d %s; want %d %s with message containing %q", r.status, r.body, tc.status, tc.code, tc.message)
			}
		})
	}
}

func TestPathsAreCaseInsensitive(t *testing.T) {
	e := newEnv(t)
	id := e.submit(strings.ToUpper(winMachine), runScriptThenGetFile)
	for _, p := range []string{"/API/MachineActions/" + id, "/api/machineactions/" + strings.ToUpper(id), "/Api/MACHINEACTIONS/" + id} {
		if r := e.api("GET", p, ""); r.status != 200 {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	r := e.api("POST", "/API/Machines/ws-hr-02.contoso.local/RunLiveResponse", runScriptThenGetFile)
	if r.status != 201 {
		t.Errorf("POST by computer name with upper-case path: %d %s", r.status, r.body)
	}
}

func TestActiveRequestAlreadyExists(t *testing.T) {
	e := newEnv(t)
	e.submit(winMachine, runScriptThenGetFile)
	r := e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", runScriptThenGetFile)
	if r.status != 400 || r.errorCode() != "ActiveRequestAlreadyExists" || r.errorMessage() != "Action is already in progress" {
		t.Fatalf("second submit: %d %s", r.status, r.body)
	}
	e.advance(time.Minute)
	e.submit(winMachine, runScriptThenGetFile)
}

// action polls an action.
func (e *env) action(id string) state.ActionView {
	e.t.Helper()
	r := e.api("GET", "/api/machineactions/"+id, "")
	if r.status != 200 {
		e.t.Fatalf("GET action %s: %d %s", id, r.status, r.body)
	}
	var v state.ActionView
	r.decode(&v)
	return v
}

func TestRoundTripRunScriptAndGetFile(t *testing.T) {
	e := newEnv(t)
	id := e.submit(winMachine, runScriptThenGetFile)
	e.advance(4 * time.Second)
	if s := e.action(id).Status; s != "Pending" {
		t.Fatalf("before pickup: %s", s)
	}
	e.advance(time.Second)
	v := e.action(id)
	if v.Status != "InProgress" || v.Commands[0].CommandStatus != "InProgress" || v.Commands[1].CommandStatus != "Created" {
		t.Fatalf("after pickup: %+v", v)
	}
	e.advance(time.Minute)
	v = e.action(id)
	if v.Status != "Succeeded" {
		t.Fatalf("after a minute: %+v", v)
	}

	link := e.downloadLink(id, 0)
	r := e.call("GET", strings.TrimPrefix(link, testBase), "", "")
	var script state.ScriptResult
	r.decode(&script)
	if script.ScriptName != "Get-Processes.ps1" || script.ExitCode != 0 || !strings.Contains(script.ScriptOutput, "MsMpEng") {
		t.Errorf("RunScript result: %s", r.body)
	}

	r = e.call("GET", strings.TrimPrefix(e.downloadLink(id, 1), testBase), "", "")
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("GetFile result is not gzip: %v", err)
	}
	content, _ := io.ReadAll(zr)
	if !strings.Contains(string(content), "Installing Contoso Finance Client") {
		t.Errorf("GetFile content: %q", content)
	}

	// Links expire after 30 minutes; a fresh one works again.
	e.advance(30 * time.Minute)
	r = e.call("GET", strings.TrimPrefix(link, testBase), "", "")
	if r.status != 403 || !bytes.Contains(r.body, []byte("<Code>AuthenticationFailed</Code>")) {
		t.Errorf("expired link: %d %s", r.status, r.body)
	}
	e.token = e.mint(`{}`)
	if r := e.call("GET", strings.TrimPrefix(e.downloadLink(id, 0), testBase), "", ""); r.status != 200 {
		t.Errorf("fresh link: %d %s", r.status, r.body)
	}
}

func (e *env) downloadLink(id string, index int) string {
	e.t.Helper()
	r := e.api("GET", "/api/machineactions/"+id+"/GetLiveResponseResultDownloadLink(index="+strconv.Itoa(index)+")", "")
	if r.status != 200 {
		e.t.Fatalf("download link %d: %d %s", index, r.status, r.body)
	}
	var l struct {
		Context string `json:"@odata.context"`
		Value   string `json:"value"`
	}
	r.decode(&l)
	if !strings.HasSuffix(l.Context, "#Edm.String") {
		e.t.Errorf("@odata.context %q", l.Context)
	}
	return l.Value
}

func TestDownloadLinkErrors(t *testing.T) {
	e := newEnv(t)
	id := e.submit(winMachine, `{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"tools.zip"}]},
	  {"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`)
	tests := []struct {
		name, path string
		status     int
		code       string
	}{
		{"not completed", "/api/machineactions/" + id + "/GetLiveResponseResultDownloadLink(index=1)", 400, "BadRequest"},
		{"out of range", "/api/machineactions/" + id + "/GetLiveResponseResultDownloadLink(index=7)", 404, "ResourceNotFound"},
		{"PutFile", "/api/machineactions/" + id + "/GetLiveResponseResultDownloadLink(index=0)", 400, "BadRequest"},
		{"unknown action", "/api/machineactions/6a1c2b7e-0d0e-4c55-9f5e-0b8a9f2c1d3e/GetLiveResponseResultDownloadLink(index=0)", 404, "ResourceNotFound"},
	}
	for _, tc := range tests {
		r := e.api("GET", tc.path, "")
		if r.status != tc.status || r.errorCode() != tc.code {
			t.Errorf("%s: got %d %s; want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t)
	id := e.submit(winMachine, runScriptThenGetFile)
	r := e.api("POST", "/api/machineactions/"+id+"/cancel", `{"Comment":"Machine action was canceled by automation"}`)
	if r.status != 200 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	var v state.ActionView
	r.decode(&v)
	if v.Status != "Cancelled" || v.CancellationRequestor == nil || *v.CancellationRequestor != "SOAR Automation" ||
		v.CancellationComment == nil || *v.CancellationComment != "Machine action was canceled by automation" || v.CancellationDateTimeUtc == nil {
		t.Errorf("cancelled action: %s", r.body)
	}
	e.advance(time.Hour)
	e.token = e.mint(`{}`)
	if got := e.action(id); got.Status != "Cancelled" || got.Commands[0].StartTime != nil {
		t.Errorf("a cancelled pending action started: %+v", got)
	}
	if r := e.api("POST", "/api/machineactions/"+id+"/cancel", `{"Comment":"again"}`); r.status != 400 || r.errorCode() != "BadRequest" {
		t.Errorf("second cancel: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/machineactions/6a1c2b7e-0d0e-4c55-9f5e-0b8a9f2c1d3e/cancel", `{"Comment":"x"}`); r.status != 404 {
		t.Errorf("cancel of unknown action: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/machineactions/"+id+"/cancel", `{}`); r.status != 400 || r.errorCode() != "MissingRequiredParameter" {
		t.Errorf("cancel without Comment: %d %s", r.status, r.body)
	}
}

func TestListMachineActionsOData(t *testing.T) {
	e := newEnv(t)
	first := e.submit(winMachine, runScriptThenGetFile)
	e.advance(time.Minute)
	second := e.submit(win10Machine, runScriptThenGetFile)
	third := e.submit(linuxMachine, `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Fail-Always.ps1"}]}]}`)
	e.advance(time.Minute)

	list := func(query string) (ids []string, count *int, r resp) {
		t.Helper()
		r = e.api("GET", "/api/machineactions"+query, "")
		if r.status != 200 {
			t.Fatalf("list %s: %d %s", query, r.status, r.body)
		}
		var body struct {
			Count *int `json:"@odata.count"`
			Value []state.ActionView
		}
		r.decode(&body)
		for _, v := range body.Value {
			ids = append(ids, v.ID)
		}
		return ids, body.Count, r
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{third, second, first}},
		{"?$filter=status eq 'Succeeded'", []string{second, first}},
		{"?$filter=Status eq 'Failed'", []string{third}},
		{"?$filter=machineId eq '" + winMachine + "' or machineId eq '" + linuxMachine + "'", []string{third, first}},
		{"?$filter=id in ('" + first + "','" + third + "')", []string{third, first}},
		{"?$filter=CreationDateTimeUtc ge " + start.Add(30*time.Second).Format(time.RFC3339), []string{third, second}},
		{"?$filter=type eq 'LiveResponse' and requestor eq 'SOAR Automation'&$top=1&$skip=1", []string{second}},
		// Ties keep the default order, newest first.
		{"?$orderby=creationDateTimeUtc asc&$top=2", []string{first, third}},
	}
	for _, tc := range tests {
		got, _, _ := list(strings.ReplaceAll(tc.query, " ", "%20"))
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, diff)
		}
	}
	_, count, _ := list("?$count=true&$top=1")
	if count == nil || *count != 3 {
		t.Errorf("@odata.count = %v, want 3", count)
	}
	for _, bad := range []string{"?$filter=status%20eq", "?$filter=color%20eq%20'red'", "?$top=10001", "?$top=x", "?$select=id"} {
		r := e.api("GET", "/api/machineactions"+bad, "")
		if r.status != 400 || r.errorCode() != "ODataError" {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
}
