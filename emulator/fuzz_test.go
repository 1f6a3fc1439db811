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

// FuzzLibraryUpload sends arbitrary multipart bodies (and boundaries) to
// POST /api/libraryfiles: no input may crash the emulator or get a 5xx,
// every refusal is the service's error body, and a 200 leaves a file the
// library lists under the name the answer gave.
func FuzzLibraryUpload(f *testing.F) {
	form := func(parts ...string) string { // name, filename ("" for a field), content, ...
		var b strings.Builder
		for i := 0; i+2 < len(parts); i += 3 {
			b.WriteString("--B\r\nContent-Disposition: form-data; name=\"" + parts[i] + "\"")
			if parts[i+1] != "" {
				b.WriteString("; filename=\"" + parts[i+1] + "\"")
			}
			b.WriteString("\r\n\r\n" + parts[i+2] + "\r\n")
		}
		b.WriteString("--B--\r\n")
		return b.String()
	}
	for _, s := range []string{
		form("file", "Get-Services.ps1", "Get-Service", "Description", "", "x", "HasParameters", "", "true", "OverrideIfExists", "", "True"),
		form("File", "a.sh", "echo", "ParametersDescription", "", "none"),
		form("Description", "", "no file"),
		form("file", "", "no file name"),
		form("file", "..", "x"), form("file", "CON", "x"), form("file", "x.ps1.", "x"), form("file", "a%2Fb", "x"),
		form("file", "a.ps1", "1", "file", "b.ps1", "2"),
		form("file", "a.ps1", "x", "HasParameters", "", "maybe"),
		"--B\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''caf%C3%A9.ps1\r\n\r\nx\r\n--B--\r\n",
		"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.ps1\"\r\n\r\nno closing boundary",
		"--B\r\nContent-Disposition: attachment\r\n\r\nx\r\n--B--\r\n",
		"--B\r\n" + strings.Repeat("X-H: v\r\n", 200) + "\r\n\r\n--B--\r\n",
		"--B\r\nContent-Type: multipart/mixed; boundary=C\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.ps1\"\r\n\r\n--C\r\n\r\nx\r\n--C--\r\n--B--\r\n",
		"", "--", "--B--", "\x00\xff",
	} {
		f.Add("B", []byte(s))
	}
	f.Add("", []byte(form("file", "a.ps1", "x")))
	f.Add("\"B\"", []byte(form("file", "a.ps1", "x")))
	srv, tok := fuzzServer(f)
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		req, _ := http.NewRequest("POST", testBase+"/api/libraryfiles", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		req.Header.Set("Authorization", "Bearer "+tok)
		if strings.ContainsFunc(boundary, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return // not a header value a client can send
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatalf("transport: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("status %d: %s", res.StatusCode, b)
		}
		if res.StatusCode >= 400 {
			var e struct {
				Error struct{ Code, Message, Target string } `json:"error"`
			}
			if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || !utf8.ValidString(e.Error.Message) {
				t.Fatalf("status %d with a body that is not the service's error: %s", res.StatusCode, b)
			}
		}
		if res.StatusCode == http.StatusOK {
			var got struct{ FileName string }
			if err := json.Unmarshal(b, &got); err != nil || got.FileName == "" {
				t.Fatalf("200 without a file name: %s", b)
			}
			list, _ := http.NewRequest("GET", testBase+"/api/libraryfiles", nil)
			list.Header.Set("Authorization", "Bearer "+tok)
			lr, err := srv.Client().Do(list)
			if err != nil {
				t.Fatal(err)
			}
			lb, _ := io.ReadAll(lr.Body)
			lr.Body.Close()
			if !strings.Contains(string(lb), `"fileName":"`+got.FileName+`"`) {
				t.Fatalf("uploaded %q, not in the list: %s", got.FileName, lb)
			}
		}
		srv.Reset() // the next input finds the library as the fixtures made it
	})
}
