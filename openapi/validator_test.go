package openapi

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const machineID = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"

// submitBody is the documentation's runliveresponse example.
const submitBody = `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]},` +
	`{"type":"GetFile","params":[{"key":"Path","value":"C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip"}]}],"Comment":"Testing Live Response API"}`

var validator = sync.OnceValues(NewValidator)

func newValidator(tb testing.TB) *Validator {
	tb.Helper()
	v, err := validator()
	if err != nil {
		tb.Fatalf("NewValidator() = %v", err)
	}
	return v
}

// upload returns a multipart body with a file part named fileField (none
// when empty) and the given text fields.
func upload(t *testing.T, fileField string, fields map[string]string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if fileField != "" {
		fw, err := w.CreateFormFile(fileField, "script.ps1")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, "Write-Output 'hello'\r\n")
	}
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.String()
}

// TestRoutersBuild builds the routers both Validators make on first use:
// ValidateRequest answers nil for a request it cannot route, so a
// document the router refuses would otherwise pass unnoticed.
func TestRoutersBuild(t *testing.T) {
	for name, build := range map[string]func() (*Validator, error){"api": NewValidator, "control": NewControlValidator} {
		v, err := build()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := v.router(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateRequest(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	run := "/api/machines/" + machineID + "/runliveresponse"
	link := "/api/machineactions/7f1f1c9b-6f2c-4a53-8f0e-6a5d8e1b2c3d/GetLiveResponseResultDownloadLink"
	uploadCT, uploadBody := upload(t, "file", map[string]string{"Description": "d", "ParametersDescription": "p", "HasParameters": "true", "OverrideIfExists": "True"})
	uploadUpperCT, uploadUpperBody := upload(t, "File", map[string]string{"HasParameters": "false"})
	noFileCT, noFileBody := upload(t, "", map[string]string{"Description": "d"})
	badBoolCT, badBoolBody := upload(t, "file", map[string]string{"HasParameters": "yes"})

	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		wantCode    string // "" means valid
		wantMessage string // substring of the message
	}{
		{name: "valid submit", method: "POST", target: run, contentType: "application/json", body: submitBody},
		{name: "valid submit with charset", method: "POST", target: run, contentType: "application/json; charset=utf-8", body: submitBody},
		{name: "submit without comment, no Args", method: "POST", target: run, contentType: "application/json",
			body: `{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"a.ps1"}]}]}`},
		{name: "submit with /API prefix", method: "POST", target: "/API/machines/" + machineID + "/runliveresponse", contentType: "application/json", body: submitBody},
		{name: "lower-case commands", method: "POST", target: run, contentType: "application/json",
			body:     strings.Replace(submitBody, `"Commands"`, `"commands"`, 1),
			wantCode: CodeMissingRequiredParameter, wantMessage: "Parameter Commands is missing."},
		{name: "empty Commands", method: "POST", target: run, contentType: "application/json", body: `{"Commands":[]}`,
			wantCode: CodeInvalidRequestBody, wantMessage: "Invalid request body: Commands must contain at least 1 item"},
		{name: "Commands not an array", method: "POST", target: run, contentType: "application/json", body: `{"Commands":{}}`,
			wantCode: CodeInvalidRequestBody, wantMessage: "Commands must be an array"},
		{name: "bad type", method: "POST", target: run, contentType: "application/json",
			body:     `{"Commands":[{"type":"runscript","params":[]}]}`,
			wantCode: CodeInvalidRequestBody, wantMessage: "Invalid request body: Commands[0].type must be one of PutFile, RunScript, GetFile"},
		{name: "bad type in second command", method: "POST", target: run, contentType: "application/json",
			body:     `{"Commands":[{"type":"PutFile","params":[]},{"type":"Run","params":[]}]}`,
			wantCode: CodeInvalidRequestBody, wantMessage: "Commands[1].type must be one of"},
		{name: "missing params", method: "POST", target: run, contentType: "application/json",
			body:     `{"Commands":[{"type":"GetFile"}]}`,
			wantCode: CodeMissingRequiredParameter, wantMessage: "Parameter Commands[0].params is missing."},
		{name: "param without value", method: "POST", target: run, contentType: "application/json",
			body:     `{"Commands":[{"type":"GetFile","params":[{"key":"Path"}]}]}`,
			wantCode: CodeMissingRequiredParameter, wantMessage: "Parameter Commands[0].params[0].value is missing."},
		{name: "numeric param value", method: "POST", target: run, contentType: "application/json",
			body:     `{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":1}]}]}`,
			wantCode: CodeInvalidRequestBody, wantMessage: "Commands[0].params[0].value must be a string"},
		{name: "not JSON", method: "POST", target: run, contentType: "application/json", body: `Commands=RunScript`,
			wantCode:    CodeInvalidRequestBody,
			wantMessage: "Invalid request body: the body is not valid JSON (offset 0: invalid character 'C' looking for beginning of value)."},
		// kin-openapi's own decoder would stop after the first value.
		{name: "data after the JSON value", method: "POST", target: run, contentType: "application/json", body: submitBody + ` {}`,
			wantCode:    CodeInvalidRequestBody,
			wantMessage: "Invalid request body: the body is not valid JSON (offset 270: invalid character '{' after top-level value)."},
		{name: "empty body", method: "POST", target: run, contentType: "application/json",
			wantCode: CodeInvalidRequestBody, wantMessage: "body is empty"},
		{name: "wrong content type", method: "POST", target: run, contentType: "text/plain", body: submitBody,
			wantCode: CodeInvalidRequestBody, wantMessage: `content type "text/plain" is not supported; use application/json`},
		{name: "missing content type", method: "POST", target: run, body: submitBody,
			wantCode: CodeInvalidRequestBody, wantMessage: "Content-Type header is missing; use application/json"},
		{name: "null body", method: "POST", target: run, contentType: "application/json", body: `null`,
			wantCode: CodeInvalidRequestBody, wantMessage: "the body must be an object"},
		{name: "null command", method: "POST", target: run, contentType: "application/json", body: `{"Commands":[null]}`,
			wantCode: CodeInvalidRequestBody, wantMessage: "Commands[0] must be an object"},
		{name: "numeric Comment", method: "POST", target: run, contentType: "application/json",
			body:     `{"Comment":5,"Commands":[{"type":"GetFile","params":[]}]}`,
			wantCode: CodeInvalidRequestBody, wantMessage: "Comment must be a string"},
		{name: "cancel", method: "POST", target: "/api/machineactions/x/cancel", contentType: "application/json", body: `{"Comment":"stop"}`},
		{name: "cancel without comment", method: "POST", target: "/api/machineactions/x/cancel", contentType: "application/json", body: `{}`,
			wantCode: CodeMissingRequiredParameter, wantMessage: "Parameter Comment is missing."},
		{name: "list actions with OData", method: "GET",
			target: "/api/machineactions?$filter=" + urlQuery("id in ('a','b') and status eq 'Pending'") + "&$top=1000&$skip=0&$orderby=creationDateTimeUtc%20desc&$count=true"},
		{name: "bad $top left to the OData parser", method: "GET", target: "/api/machineactions?$top=lots"},
		{name: "list machines", method: "GET", target: "/api/machines?$filter=" + urlQuery("computerDnsName eq 'x' or id eq 'y'")},
		{name: "get machine", method: "GET", target: "/api/machines/" + machineID},
		{name: "get action", method: "GET", target: "/api/machineactions/7f1f1c9b-6f2c-4a53-8f0e-6a5d8e1b2c3d"},
		{name: "download link", method: "GET", target: link + "(index=0)"},
		{name: "download link percent-encoded", method: "GET", target: link + "%28index%3D1%29"},
		{name: "download link in lower case", method: "GET", target: strings.ToLower(link) + "(index=1)"},
		// The emulator answers 404 for a link segment it does not
		// recognize, as it routes: its path is not spelled the document's way.
		{name: "download link in lower case, bad index", method: "GET", target: strings.ToLower(link) + "(index=x)"},
		{name: "upper-case path", method: "POST", target: "/API/Machines/" + machineID + "/RunLiveResponse", contentType: "application/json", body: `{}`,
			wantCode: CodeMissingRequiredParameter, wantMessage: "Parameter Commands is missing."},
		{name: "download link bad index", method: "GET", target: link + "(index=first)",
			wantCode: CodeBadRequest, wantMessage: "Invalid value for parameter index: must be an integer"},
		{name: "download link negative index", method: "GET", target: link + "(index=-1)",
			wantCode: CodeBadRequest, wantMessage: "parameter index"},
		{name: "library list", method: "GET", target: "/api/libraryfiles"},
		{name: "upload with file", method: "POST", target: "/api/libraryfiles", contentType: uploadCT, body: uploadBody},
		{name: "upload with File", method: "POST", target: "/api/libraryfiles", contentType: uploadUpperCT, body: uploadUpperBody},
		{name: "upload without a file is left to the server", method: "POST", target: "/api/libraryfiles", contentType: noFileCT, body: noFileBody},
		{name: "upload with a bad boolean", method: "POST", target: "/api/libraryfiles", contentType: badBoolCT, body: badBoolBody,
			wantCode: CodeInvalidRequestBody, wantMessage: "HasParameters has an invalid format"},
		{name: "upload as JSON", method: "POST", target: "/api/libraryfiles", contentType: "application/json", body: `{}`,
			wantCode: CodeInvalidRequestBody, wantMessage: "use multipart/form-data"},
		{name: "upload with a broken form", method: "POST", target: "/api/libraryfiles", contentType: uploadCT, body: "--nope",
			wantCode: CodeInvalidRequestBody},
		{name: "delete library file", method: "DELETE", target: "/api/libraryfiles/script.ps1"},
		{name: "unknown path is left to the HTTP layer", method: "GET", target: "/api/nothing"},
		{name: "unknown method is left to the HTTP layer", method: "DELETE", target: "/api/machineactions"},
		{name: "outside /api", method: "POST", target: "/_emulator/advance", contentType: "application/json", body: `[`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			got := v.ValidateRequest(r)
			var gotCode string
			if got != nil {
				gotCode = got.Code
			}
			if gotCode != tt.wantCode {
				t.Fatalf("ValidateRequest() = %v, want code %q", got, tt.wantCode)
			}
			if got != nil && !strings.Contains(got.Message, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", got.Message, tt.wantMessage)
			}
			// The handler must still see the whole body.
			rest, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.body, string(rest)); diff != "" {
				t.Errorf("body after validation (-want +got):\n%s", diff)
			}
		})
	}
}

func urlQuery(s string) string {
	return strings.NewReplacer(" ", "%20", "'", "%27", "(", "%28", ")", "%29", ",", "%2C").Replace(s)
}

func TestValidateRequestBodyTooLarge(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	r := httptest.NewRequest("POST", "/api/machines/"+machineID+"/runliveresponse", strings.NewReader(submitBody))
	r.Header.Set("Content-Type", "application/json")
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 16)
	got := v.ValidateRequest(r)
	if got == nil || got.Code != CodeRequestEntityTooLarge {
		t.Errorf("ValidateRequest() = %v, want %s", got, CodeRequestEntityTooLarge)
	}
}

// The fast path too: a body cut by its limit is too large, not truncated
// JSON ("unexpected end of JSON input").
func TestValidateRoutedBodyTooLarge(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	for _, length := range []int64{-1, int64(len(submitBody))} {
		r := httptest.NewRequest("POST", "/api/machines/"+machineID+"/runliveresponse", strings.NewReader(submitBody))
		r.Header.Set("Content-Type", "application/json")
		r.ContentLength = length
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 16)
		got := v.ValidateRouted(r, "POST", "/machines/{id}/runliveresponse", true, func() map[string]string { return map[string]string{"id": machineID} })
		if got == nil || got.Code != CodeRequestEntityTooLarge {
			t.Errorf("length %d: ValidateRouted() = %v, want %s", length, got, CodeRequestEntityTooLarge)
		}
	}
}

// pendingAction is the emulator's answer to the documented submit example:
// the real shape of a LiveResponse action (contract §3.4) right after 201.
const pendingAction = `{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#MachineActions/$entity",` +
	`"id":"7f1f1c9b-6f2c-4a53-8f0e-6a5d8e1b2c3d","type":"LiveResponse","title":null,"requestor":"M365DLiveResponse",` +
	`"requestorComment":"Testing Live Response API","status":"Pending","machineId":"` + machineID + `",` +
	`"computerDnsName":"hostname","creationDateTimeUtc":"2021-02-04T15:36:52.7788848Z","lastUpdateDateTimeUtc":"2021-02-04T15:36:52.7788848Z",` +
	`"cancellationRequestor":null,"cancellationComment":null,"cancellationDateTimeUtc":null,"errorHResult":0,"scope":null,` +
	`"externalId":null,"requestSource":"PublicApi","relatedFileInfo":null,` +
	`"commands":[{"index":0,"startTime":null,"endTime":null,"commandStatus":"Created","errors":[],` +
	`"command":{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}},` +
	`{"index":1,"startTime":null,"endTime":null,"commandStatus":"Created","errors":[],` +
	`"command":{"type":"GetFile","params":[{"key":"Path","value":"C:\\windows\\TEMP\\OfficeClickToRun.dmp.zip"}]}}],` +
	`"troubleshootInfo":null}`

// finishedAction is the real finished action of contract §3.4, as a list item.
const finishedAction = `{"id":"c141bb71-8125-4234-a184-0123456789ab","type":"LiveResponse","title":null,"requestor":"M365DLiveResponse",` +
	`"requestorComment":"Create Domain Admin","status":"Succeeded","machineId":"a9e15a8b846d93d43d6","computerDnsName":"dc1.corp.cloud-architekt.net",` +
	`"creationDateTimeUtc":"2023-03-18T21:02:00.3538594Z","lastUpdateDateTimeUtc":"2023-03-18T21:04:41.93163Z","cancellationRequestor":null,` +
	`"cancellationComment":null,"cancellationDateTimeUtc":null,"errorHResult":0,"scope":null,"externalId":null,"requestSource":"PublicApi",` +
	`"relatedFileInfo":null,"commands":[{"index":0,"startTime":"2023-03-18T21:04:01.92Z","endTime":"2023-03-18T21:04:04.693Z",` +
	`"commandStatus":"Completed","errors":[],"command":{"type":"RunScript","params":[{"key":"ScriptName","value":"Add-DomainAdmin.ps1"}]}}],` +
	`"troubleshootInfo":null}`

const machine = `{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Machines/$entity",` +
	`"id":"` + machineID + `","computerDnsName":"desktop-1.contoso.com","firstSeen":"2024-01-02T03:04:05.123Z","lastSeen":"2024-06-01T00:00:00Z",` +
	`"osPlatform":"Windows11","osVersion":null,"osProcessor":"x64","version":"23H2","lastIpAddress":"10.0.0.4","lastExternalIpAddress":"203.0.113.7",` +
	`"agentVersion":"10.8760.22621.1","osBuild":22631,"healthStatus":"Active","deviceValue":"Normal","rbacGroupId":0,"rbacGroupName":null,` +
	`"riskScore":"None","exposureLevel":"Low","isAadJoined":true,"aadDeviceId":null,"machineTags":["lab"],"defenderAvStatus":"Updated",` +
	`"onboardingStatus":"Onboarded","osArchitecture":"64-bit","managedBy":"Intune","managedByStatus":"Success",` +
	`"ipAddresses":[{"ipAddress":"10.0.0.4","macAddress":"00155D010203","type":"Ethernet","operationalStatus":"Up"}],"vmMetadata":null}`

const libraryFile = `{"fileName":"script1.ps1","sha256":"6e212a0d6f8d1a2b1a3b7c5e9f0d2c4b6a8e0f1d3c5b7a9e1f3d5c7b9a1e3f5d","description":null,` +
	`"creationTime":"2019-10-24T10:54:23.2009016Z","lastUpdatedTime":"2019-10-24T10:54:23.2009016Z","createdBy":"admin",` +
	`"hasParameters":true,"parametersDescription":"test"}`

const errorBody = `{"error":{"code":"ResourceNotFound","message":"Machine 123 was not found","target":"43f4cb08-8fac-4b65-9db1-745c2ae65f3a"}}`

func TestValidateResponse(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	run := "/api/machines/" + machineID + "/runliveresponse"
	action := "/api/machineactions/7f1f1c9b-6f2c-4a53-8f0e-6a5d8e1b2c3d"
	withStatus := func(s string) string {
		return strings.Replace(finishedAction, `"status":"Succeeded"`, s, 1)
	}
	tests := []struct {
		name    string
		method  string
		target  string
		status  int
		header  http.Header
		body    string
		wantErr string // "" means valid; else a substring of the error
	}{
		{name: "submit answer", method: "POST", target: run, status: 201, body: pendingAction},
		{name: "finished action", method: "GET", target: action, status: 200, body: finishedAction},
		{name: "cancelled action", method: "POST", target: action + "/cancel", status: 200,
			body: strings.Replace(withStatus(`"status":"Cancelled"`), `"cancellationRequestor":null,"cancellationComment":null,"cancellationDateTimeUtc":null`,
				`"cancellationRequestor":"app","cancellationComment":"stop","cancellationDateTimeUtc":"2023-03-18T21:05:00Z"`, 1)},
		{name: "running command", method: "GET", target: action, status: 200,
			body: strings.Replace(withStatus(`"status":"InProgress"`), `"Completed"`, `"InProgress"`, 1)},
		{name: "failed command with errors", method: "GET", target: action, status: 200,
			body: strings.Replace(withStatus(`"status":"Failed"`), `"commandStatus":"Completed","errors":[]`, `"commandStatus":"Failed","errors":["script failed"]`, 1)},
		{name: "extra property", method: "GET", target: action, status: 200,
			body: strings.Replace(finishedAction, `"troubleshootInfo":null}`, `"troubleshootInfo":null,"extra":1}`, 1), wantErr: `"extra" is unsupported`},
		{name: "extra property in a command", method: "GET", target: action, status: 200,
			body: strings.Replace(finishedAction, `"errors":[]`, `"errors":[],"output":""`, 1), wantErr: `"output" is unsupported`},
		{name: "missing troubleshootInfo", method: "GET", target: action, status: 200,
			body: strings.Replace(finishedAction, `,"troubleshootInfo":null`, ``, 1), wantErr: `"troubleshootInfo" is missing`},
		{name: "doc spelling lastUpdateTimeUtc", method: "GET", target: action, status: 200,
			body: strings.Replace(finishedAction, `lastUpdateDateTimeUtc`, `lastUpdateTimeUtc`, 1), wantErr: "lastUpdateDateTimeUtc"},
		{name: "unknown status", method: "GET", target: action, status: 200, body: withStatus(`"status":"Done"`), wantErr: "status"},
		{name: "errors as objects", method: "GET", target: action, status: 200,
			body: strings.Replace(finishedAction, `"errors":[]`, `"errors":[{"message":"x"}]`, 1), wantErr: "errors"},
		{name: "timestamp with offset", method: "GET", target: action, status: 200,
			body: strings.Replace(finishedAction, `2023-03-18T21:02:00.3538594Z`, `2023-03-18T21:02:00.3538594+00:00`, 1), wantErr: "creationDateTimeUtc"},
		{name: "timestamp with 9 digits", method: "GET", target: action, status: 200,
			body: strings.Replace(finishedAction, `2023-03-18T21:02:00.3538594Z`, `2023-03-18T21:02:00.353859412Z`, 1), wantErr: "creationDateTimeUtc"},
		{name: "error body", method: "GET", target: action, status: 404, body: errorBody},
		{name: "error without target", method: "GET", target: action, status: 404,
			body: `{"error":{"code":"ResourceNotFound","message":"x"}}`, wantErr: `"target" is missing`},
		{name: "error as plain text", method: "GET", target: action, status: 404, header: http.Header{"Content-Type": {"text/plain"}},
			body: "not found", wantErr: "Content-Type"},
		{name: "429 with Retry-After", method: "POST", target: run, status: 429, header: http.Header{"Retry-After": {"60"}},
			body: `{"error":{"code":"TooManyRequests","message":"Rate limit is exceeded.","target":"t"}}`},
		{name: "429 without Retry-After", method: "POST", target: run, status: 429,
			body: `{"error":{"code":"TooManyRequests","message":"Rate limit is exceeded.","target":"t"}}`, wantErr: "Retry-After"},
		{name: "undocumented status", method: "GET", target: action, status: 418, body: errorBody, wantErr: "status is not supported"},
		{name: "action list", method: "GET", target: "/api/machineactions?$count=true", status: 200,
			body: `{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#MachineActions","@odata.count":2,` +
				`"@odata.nextLink":"https://api.securitycenter.microsoft.com/api/machineactions?$skip=2","value":[` + finishedAction + `,` + finishedAction + `]}`},
		{name: "action list without context", method: "GET", target: "/api/machineactions", status: 200,
			body: `{"value":[]}`, wantErr: `"@odata.context" is missing`},
		{name: "download link", method: "GET", target: action + "/GetLiveResponseResultDownloadLink(index=0)", status: 200,
			body: `{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Edm.String","value":"http://127.0.0.1:8080/_blob/x?se=2021-02-04T16%3A13%3A50Z&sig=abc"}`},
		{name: "machine", method: "GET", target: "/api/machines/" + machineID, status: 200, body: machine},
		{name: "machine with string rbacGroupId", method: "GET", target: "/api/machines/" + machineID, status: 200,
			body: strings.Replace(machine, `"rbacGroupId":0`, `"rbacGroupId":"0"`, 1), wantErr: "rbacGroupId"},
		{name: "machine list", method: "GET", target: "/api/machines", status: 200,
			body: `{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Machines","value":[` +
				strings.Replace(machine, `"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Machines/$entity",`, ``, 1) + `]}`},
		{name: "library list", method: "GET", target: "/api/libraryfiles", status: 200,
			body: `{"@odata.context":"https://api.security.microsoft.com/api/$metadata#LibraryFiles","value":[` + libraryFile + `]}`},
		{name: "library upload", method: "POST", target: "/api/libraryfiles", status: 200, body: libraryFile},
		{name: "library delete", method: "DELETE", target: "/api/libraryfiles/script1.ps1", status: 204},
		{name: "library delete with a body", method: "DELETE", target: "/api/libraryfiles/script1.ps1", status: 204, body: `{}`, wantErr: "must be empty"},
		{name: "unknown path", method: "GET", target: "/api/nothing", status: 200, body: `{}`, wantErr: "no matching operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.target, nil)
			header := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
			for k, vals := range tt.header {
				header[k] = vals
			}
			err := v.ValidateResponse(r, tt.status, header, []byte(tt.body))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("ValidateResponse() = %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("ValidateResponse() = nil, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("ValidateResponse() = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func BenchmarkValidateSubmit(b *testing.B) {
	v := newValidator(b)
	body := []byte(submitBody)
	r := httptest.NewRequest(http.MethodPost, "/api/machines/"+machineID+"/runliveresponse", nil)
	r.Header.Set("Content-Type", "application/json")
	b.ReportAllocs()
	for b.Loop() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = nil
		if err := v.ValidateRequest(r); err != nil {
			b.Fatal(err)
		}
	}
}
