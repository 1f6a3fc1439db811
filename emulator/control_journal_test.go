package emulator_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/journal"
)

type journalBody struct {
	Entries []journal.Entry `json:"entries"`
	Stats   journal.Stats   `json:"stats"`
}

func (e *env) journal(query string) journalBody {
	e.t.Helper()
	r := e.call("GET", "/_emulator/journal"+query, "", "")
	if r.status != 200 {
		e.t.Fatalf("journal %s: %d %s", query, r.status, r.body)
	}
	var b journalBody
	r.decode(&b)
	return b
}

func TestJournalRecordsRequests(t *testing.T) {
	e := newEnv(t)
	id := e.submit(winMachine, runScriptThenGetFile)
	e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", runScriptThenGetFile) // 400
	e.api("GET", "/api/machineactions/"+id, "")
	e.call("GET", "/api/machines", "", "") // 401
	e.call("POST", "/"+tenantID+"/oauth2/v2.0/token", "", "grant_type=client_credentials&client_id="+soarClientID+"&client_secret=wrong&scope=x%2F.default",
		"Content-Type", "application/x-www-form-urlencoded")

	all := e.journal("")
	if len(all.Entries) != 5 {
		t.Fatalf("entries: %+v", all.Entries)
	}
	first := all.Entries[0]
	if first.Method != "POST" || first.Status != 201 || first.ActionID != id || first.TenantID != tenantID || first.AppID != soarClientID ||
		!strings.Contains(first.RequestBody, "Get-Processes.ps1") || !first.Time.Equal(start) {
		t.Errorf("submit entry: %+v", first)
	}
	if second := all.Entries[1]; second.Status != 400 || second.ErrorCode != "ActiveRequestAlreadyExists" {
		t.Errorf("second entry: %+v", second)
	}
	if got := e.journal("?status=4xx").Entries; len(got) != 3 {
		t.Errorf("4xx entries: %d", len(got))
	}
	if got := e.journal("?path=/api/machineactions/*&method=get").Entries; len(got) != 1 || got[0].ActionID != id {
		t.Errorf("GET action entries: %+v", got)
	}
	if tok := e.journal("?path=/*/oauth2/*").Entries; len(tok) != 1 || tok[0].Status != 401 || tok[0].AppID != soarClientID || tok[0].TenantID != tenantID {
		t.Errorf("token entry: %+v", tok)
	}
	if r := e.call("GET", "/_emulator/journal?status=abc", "", ""); r.status != 400 {
		t.Errorf("bad filter: %d %s", r.status, r.body)
	}
	if r := e.call("DELETE", "/_emulator/journal", "", ""); r.status != 204 {
		t.Errorf("delete: %d", r.status)
	}
	if got := e.journal("").Entries; len(got) != 0 {
		t.Errorf("after delete: %d entries", len(got))
	}
}

func TestJournalIsBounded(t *testing.T) {
	e := newEnv(t, func(o *emulator.Options) { o.JournalSize = 5 })
	for i := 0; i < 12; i++ {
		e.api("GET", "/api/machines/"+winMachine, "")
	}
	b := e.journal("")
	if len(b.Entries) != 5 || b.Entries[0].Seq != 8 || b.Stats.Dropped != 7 {
		t.Errorf("ring: %d entries from seq %d, stats %+v", len(b.Entries), b.Entries[0].Seq, b.Stats)
	}
}

// A request line of tens of KB, which needs no credentials, is kept cut
// to journal.FieldCap bytes of path and query, and says so.
func TestJournalCutsLongURLs(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("a", 20<<10)
	if r := e.call("GET", "/api/machines/"+long+"?x="+long, "", ""); r.status != 401 {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	b := e.journal("?limit=1")
	if len(b.Entries) != 1 {
		t.Fatalf("entries: %+v", b.Entries)
	}
	en := b.Entries[0]
	if len(en.Path) != journal.FieldCap || len(en.Query) != journal.FieldCap || !en.URLTruncated || !strings.HasPrefix(en.Path, "/api/machines/aaa") {
		t.Errorf("entry: path %d bytes, query %d bytes, urlTruncated %v", len(en.Path), len(en.Query), en.URLTruncated)
	}
}

func TestJournalWait(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	var got struct {
		Satisfied bool            `json:"satisfied"`
		Entries   []journal.Entry `json:"entries"`
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := e.call("POST", "/_emulator/journal/wait", "", `{"filter":{"method":"GET","path":"/api/machines/*"},"count":20,"timeout":"10s"}`)
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Error(err)
		}
	}()
	var senders sync.WaitGroup
	for i := 0; i < 4; i++ {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for j := 0; j < 5; j++ {
				e.api("GET", "/api/machines/"+winMachine, "")
				e.api("GET", "/api/libraryfiles", "")
			}
		}()
	}
	senders.Wait()
	wg.Wait()
	if !got.Satisfied || len(got.Entries) != 20 {
		t.Errorf("wait: satisfied %v, %d entries", got.Satisfied, len(got.Entries))
	}
	r := e.call("POST", "/_emulator/journal/wait", "", `{"filter":{"status":"503"},"count":1,"timeout":"20ms"}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"satisfied":false`) {
		t.Errorf("timed-out wait: %d %s", r.status, r.body)
	}
	if r := e.call("POST", "/_emulator/journal/wait", "", `{"filter":{"status":"nope"}}`); r.status != 400 {
		t.Errorf("bad wait filter: %d %s", r.status, r.body)
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t)
	add := func(rule string) string {
		t.Helper()
		r := e.call("POST", "/_emulator/faults", "", rule)
		if r.status != 201 {
			t.Fatalf("add %s: %d %s", rule, r.status, r.body)
		}
		var got struct{ ID string }
		r.decode(&got)
		return got.ID
	}
	add(`{"match":{"method":"GET","path":"/api/machines"},"calls":{"next":2},"effect":{"status":429,"retryAfter":"30s"}}`)
	for i := 0; i < 2; i++ {
		r := e.api("GET", "/api/machines", "")
		if r.status != 429 || r.errorCode() != "TooManyRequests" || r.header.Get("Retry-After") != "30" {
			t.Fatalf("faulted call %d: %d %v %s", i, r.status, r.header, r.body)
		}
	}
	if r := e.api("GET", "/api/machines", ""); r.status != 200 {
		t.Errorf("after the rule is used up: %d", r.status)
	}
	if j := e.journal("?status=429").Entries; len(j) != 2 || j[0].Fault == "" {
		t.Errorf("journal of faulted calls: %+v", j)
	}

	every := add(`{"match":{"path":"/api/libraryfiles"},"calls":{"every":2},"effect":{"status":503}}`)
	codes := []int{}
	for i := 0; i < 4; i++ {
		codes = append(codes, e.api("GET", "/api/libraryfiles", "").status)
	}
	if codes[0] != 200 || codes[1] != 503 || codes[2] != 200 || codes[3] != 503 {
		t.Errorf("every 2nd: %v", codes)
	}
	if r := e.call("DELETE", "/_emulator/faults/"+every, "", ""); r.status != 204 {
		t.Errorf("delete rule: %d", r.status)
	}
	if r := e.call("DELETE", "/_emulator/faults/"+every, "", ""); r.status != 404 {
		t.Errorf("delete again: %d", r.status)
	}

	drop := add(`{"match":{"path":"/api/machines/*"},"calls":{"next":1},"effect":{"drop":true}}`)
	req, _ := newRequest("GET", "/api/machines/"+winMachine, e.token)
	if _, err := e.srv.Client().Do(req); err == nil {
		t.Errorf("dropped connection: no error")
	}
	if j := e.journal("?fault=" + drop).Entries; len(j) != 1 || j[0].Status != 0 {
		t.Errorf("journal of the dropped call: %+v", j)
	}

	add(`{"effect":{"notFoundFor":"3s"}}`)
	id := e.submit(winMachine, runScriptThenGetFile)
	if r := e.api("GET", "/api/machineactions/"+id, ""); r.status != 404 || r.errorCode() != "ResourceNotFound" {
		t.Errorf("right after the 201: %d %s", r.status, r.body)
	}
	e.advance(3 * time.Second)
	if r := e.api("GET", "/api/machineactions/"+id, ""); r.status != 200 {
		t.Errorf("3 s later: %d %s", r.status, r.body)
	}

	r := e.call("GET", "/_emulator/faults", "", "")
	if r.status != 200 || !containsAll(string(r.body), `"fired":2`, `"notFoundFor":"3s"`) {
		t.Errorf("list: %s", r.body)
	}
	for _, bad := range []string{`{"effect":{}}`, `{"effect":{"status":200}}`, `{"calls":{"next":1,"every":2},"effect":{"status":500}}`, `{"effect":{"status":500},"colour":"red"}`} {
		if r := e.call("POST", "/_emulator/faults", "", bad); r.status != 400 {
			t.Errorf("%s: %d %s", bad, r.status, r.body)
		}
	}
	if r := e.call("DELETE", "/_emulator/faults", "", ""); r.status != 204 {
		t.Errorf("clear: %d", r.status)
	}
}

// The same seed gives the same faults.
func TestSeededFaultsAreReproducible(t *testing.T) {
	run := func() []int {
		e := newEnv(t)
		e.call("POST", "/_emulator/faults", "", `{"match":{"path":"/api/machines"},"calls":{"probability":0.3,"seed":7},"effect":{"status":500}}`)
		var codes []int
		for i := 0; i < 40; i++ {
			codes = append(codes, e.api("GET", "/api/machines", "").status)
		}
		return codes
	}
	a, b := run(), run()
	n500 := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("runs differ at call %d: %v vs %v", i, a, b)
		}
		if a[i] == 500 {
			n500++
		}
	}
	if n500 == 0 || n500 == len(a) {
		t.Errorf("probability 0.3 gave %d of %d", n500, len(a))
	}
}

// Latency is added before the answer (wall time: a client's timeouts are).
func TestFaultLatency(t *testing.T) {
	e := newEnv(t)
	e.call("POST", "/_emulator/faults", "", `{"match":{"path":"/api/machines"},"calls":{"next":1},"effect":{"latency":"30ms"}}`)
	e.api("GET", "/api/machines", "")
	e.api("GET", "/api/machines", "")
	got := e.journal("?path=/api/machines").Entries
	if len(got) != 2 || got[0].DurationMs < 30 || got[0].Fault == "" || got[1].Fault != "" {
		t.Errorf("entries: %+v", got)
	}
}

// Result downloads are journaled, without the link's sig.
func TestJournalRecordsDownloads(t *testing.T) {
	e := newEnv(t)
	id := e.submit(winMachine, runScriptThenGetFile)
	e.advance(time.Minute)
	link := e.downloadLink(id, 0)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	sig := u.Query().Get("sig")
	path := strings.TrimPrefix(link, testBase)
	if r := e.call("GET", path, "", ""); r.status != 200 {
		t.Fatalf("download: %d %s", r.status, r.body)
	}
	e.advance(31 * time.Minute)
	if r := e.call("GET", path, "", ""); r.status != 403 {
		t.Fatalf("expired download: %d %s", r.status, r.body)
	}

	got := e.journal("?path=/_blob/*").Entries
	if len(got) != 2 {
		t.Fatalf("blob entries: %+v", got)
	}
	ok, expired := got[0], got[1]
	if ok.Method != "GET" || ok.Path != u.Path || ok.Status != 200 || ok.ErrorCode != "" {
		t.Errorf("download entry: %+v", ok)
	}
	if expired.Status != 403 || expired.ErrorCode != "AuthenticationFailed" {
		t.Errorf("expired download entry: %+v", expired)
	}
	// Both name the action and the command, whatever the answer; so does
	// the request for the link.
	all := append(got, e.journal("?path=/api/machineactions/*/GetLiveResponseResultDownloadLink*").Entries...)
	if len(all) != 3 {
		t.Errorf("%d entries for the link and its downloads, want 3", len(all))
	}
	for _, en := range all {
		if en.ActionID != id || en.CommandIndex == nil || *en.CommandIndex != 0 {
			t.Errorf("entry %s %s: action %q, command %v; want %s and 0", en.Method, en.Path, en.ActionID, en.CommandIndex, id)
		}
	}
	for _, en := range got {
		q, err := url.ParseQuery(en.Query)
		if err != nil {
			t.Fatal(err)
		}
		if q.Get("sig") != "REDACTED" || strings.Contains(en.Query, url.QueryEscape(sig)) || strings.Contains(en.Query, sig) {
			t.Errorf("the journal keeps the link's sig: %q", en.Query)
		}
		if q.Get("se") != u.Query().Get("se") || q.Get("sp") != "r" {
			t.Errorf("the rest of the query is lost: %q", en.Query)
		}
	}
	// The whole journal, as the control plane serves it, has no sig.
	r := e.call("GET", "/_emulator/journal", "", "")
	if strings.Contains(string(r.body), url.QueryEscape(sig)) {
		t.Errorf("sig in the journal: %s", r.body)
	}
	if got := e.journal("?errorCode=AuthenticationFailed").Entries; len(got) != 1 || got[0].Seq != expired.Seq {
		t.Errorf("errorCode=AuthenticationFailed: %+v", got)
	}
}

// A fault rule on /_blob/*: a 403 answers exactly as an expired link does;
// other statuses in the same XML shape.
func TestFaultsOnDownloads(t *testing.T) {
	e := newEnv(t)
	id := e.submit(winMachine, runScriptThenGetFile)
	e.advance(time.Minute)
	link := e.downloadLink(id, 0)
	path := strings.TrimPrefix(link, testBase)

	rule, err := e.srv.Faults().Add(faults.Rule{Match: faults.Match{Path: "/_blob/*"}, Calls: faults.Calls{Next: 1}, Effect: faults.Effect{Status: 403}})
	if err != nil {
		t.Fatal(err)
	}
	faulted := e.call("GET", path, "", "")
	if r := e.call("GET", path, "", ""); r.status != 200 {
		t.Fatalf("after the one fault: %d %s", r.status, r.body)
	}
	e.advance(31 * time.Minute)
	expired := e.call("GET", path, "", "")

	for name, r := range map[string]resp{"fault": faulted, "expired": expired} {
		if r.status != 403 || r.header.Get("x-ms-error-code") != "AuthenticationFailed" ||
			r.header.Get("Content-Type") != "application/xml" || r.header.Get("x-ms-request-id") == "" {
			t.Errorf("%s: %d %v", name, r.status, r.header)
		}
	}
	if a, b := storageError(t, faulted.body), storageError(t, expired.body); a.Code != b.Code || firstLine(a.Message) != firstLine(b.Message) ||
		!strings.HasPrefix(a.Detail, "Signed expiry time [") || !strings.HasPrefix(b.Detail, "Signed expiry time [") {
		t.Errorf("fault %+v, expired link %+v", a, b)
	}
	entries := e.journal("?path=/_blob/*").Entries
	if len(entries) != 3 || entries[0].Fault != rule.ID || entries[0].ErrorCode != "AuthenticationFailed" || entries[0].Status != 403 {
		t.Errorf("journal: %+v", entries)
	}

	// Other statuses: the blob store's codes, a rule's own code kept.
	e.token = e.mint(`{}`) // the first expired with the link
	fresh := strings.TrimPrefix(e.downloadLink(id, 0), testBase)
	for _, tc := range []struct {
		effect     faults.Effect
		code       string
		retryAfter string
	}{
		{faults.Effect{Status: 503}, "ServerBusy", ""},
		{faults.Effect{Status: 500}, "InternalError", ""},
		{faults.Effect{Status: 404}, "BlobNotFound", ""},
		{faults.Effect{Status: 429, RetryAfter: faults.Duration(30 * time.Second)}, "ServerBusy", "30"},
		{faults.Effect{Status: 500, Code: "OperationTimedOut", Message: "timed out"}, "OperationTimedOut", ""},
	} {
		if _, err := e.srv.Faults().Add(faults.Rule{Match: faults.Match{Path: "/_blob/*"}, Calls: faults.Calls{Next: 1}, Effect: tc.effect}); err != nil {
			t.Fatal(err)
		}
		r := e.call("GET", fresh, "", "")
		se := storageError(t, r.body)
		if r.status != tc.effect.Status || se.Code != tc.code || r.header.Get("x-ms-error-code") != tc.code || r.header.Get("Retry-After") != tc.retryAfter {
			t.Errorf("%+v: %d %v %s", tc.effect, r.status, r.header, r.body)
		}
	}
	if r := e.call("GET", fresh, "", ""); r.status != 200 {
		t.Errorf("without faults: %d %s", r.status, r.body)
	}
}

type blobError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
	Detail  string `xml:"AuthenticationErrorDetail"`
}

func storageError(t *testing.T, body []byte) blobError {
	t.Helper()
	var b blobError
	if err := xml.Unmarshal(body, &b); err != nil {
		t.Fatalf("not the blob store's XML error: %v: %s", err, body)
	}
	return b
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// Errors that handlers return carry their code into the journal, strict
// responses or not (strict mode used to hide that they did not).
func TestJournalErrorCodes(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run("strict="+strconv.FormatBool(strict), func(t *testing.T) {
			e := newEnv(t, func(o *emulator.Options) { o.StrictResponses = strict })
			e.submit(winMachine, runScriptThenGetFile)
			if r := e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", runScriptThenGetFile); r.status != 400 {
				t.Fatalf("second submit: %d %s", r.status, r.body)
			}
			if got := e.journal("?errorCode=ActiveRequestAlreadyExists").Entries; len(got) != 1 || got[0].Status != 400 || got[0].Method != "POST" {
				t.Errorf("errorCode=ActiveRequestAlreadyExists: %+v", got)
			}
			cases := []struct {
				method, path, token, body string
				status                    int
				code                      string
			}{
				{"GET", "/api/machineactions/00000000-0000-4000-8000-000000000000", e.token, "", 404, "ResourceNotFound"},
				{"GET", "/api/libraryfiles", e.mint(`{"clientId":"` + readClientID + `"}`), "", 403, "Forbidden"},
				{"POST", "/api/machines/" + win10Machine + "/runliveresponse", e.token, `{"Commands":[]}`, 400, "InvalidRequestBody"},
				{"GET", "/api/machines?$select=id", e.token, "", 400, "ODataError"},
				{"GET", "/api/machines", "", "", 401, "Unauthorized"},
			}
			for _, tc := range cases {
				r := e.call(tc.method, tc.path, tc.token, tc.body)
				if r.status != tc.status || r.errorCode() != tc.code {
					t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, r.status, r.body, tc.status, tc.code)
					continue
				}
				j := e.journal("")
				if last := j.Entries[len(j.Entries)-1]; last.Status != tc.status || last.ErrorCode != tc.code {
					t.Errorf("%s %s: journal status %d errorCode %q, want %d %s", tc.method, tc.path, last.Status, last.ErrorCode, tc.status, tc.code)
				}
			}
			// The identity platform's errors carry its error value.
			r := e.call("POST", "/"+tenantID+"/oauth2/v2.0/token", "", "grant_type=client_credentials&client_id="+soarClientID+"&client_secret=wrong&scope=x%2F.default",
				"Content-Type", "application/x-www-form-urlencoded")
			j := e.journal("")
			if last := j.Entries[len(j.Entries)-1]; r.status != 401 || last.ErrorCode != "invalid_client" {
				t.Errorf("token error: %d, journal errorCode %q", r.status, last.ErrorCode)
			}
		})
	}
}

// Token requests are journaled without their secrets, and an HTTP Basic
// one with its app.
func TestJournalKeepsNoSecrets(t *testing.T) {
	e := newEnv(t)
	form := "grant_type=client_credentials&client_id=" + soarClientID + "&client_secret=" + defaultSecret +
		"&scope=" + url.QueryEscape("https://api.securitycenter.microsoft.com/.default") +
		"&client_assertion=eyJassertion&password=hunter2&refresh_token=rt-value&code=auth-code"
	if r := e.call("POST", "/"+tenantID+"/oauth2/v2.0/token", "", form, "Content-Type", "application/x-www-form-urlencoded"); r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	req, err := http.NewRequest("POST", testBase+"/"+tenantID+"/oauth2/v2.0/token",
		strings.NewReader("grant_type=client_credentials&scope="+url.QueryEscape("https://api.securitycenter.microsoft.com/.default")))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(lrClientID, defaultSecret)
	if r := e.send(req); r.status != 200 {
		t.Fatalf("basic token: %d %s", r.status, r.body)
	}

	got := e.journal("?path=/*/oauth2/*").Entries
	if len(got) != 2 {
		t.Fatalf("token entries: %+v", got)
	}
	body, err := url.ParseQuery(got[0].RequestBody)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"client_secret", "client_assertion", "password", "refresh_token", "code"} {
		if body.Get(k) != "REDACTED" {
			t.Errorf("%s=%q in the journal", k, body.Get(k))
		}
	}
	for _, secret := range []string{defaultSecret, "eyJassertion", "hunter2", "rt-value", "auth-code"} {
		if strings.Contains(got[0].RequestBody, secret) {
			t.Errorf("the journal keeps %q: %s", secret, got[0].RequestBody)
		}
	}
	if body.Get("client_id") != soarClientID || body.Get("grant_type") != "client_credentials" {
		t.Errorf("the rest of the body is lost: %s", got[0].RequestBody)
	}
	if got[0].AppID != soarClientID {
		t.Errorf("form token app %q", got[0].AppID)
	}
	if basic := got[1]; basic.AppID != lrClientID || basic.TenantID != tenantID || basic.Status != 200 {
		t.Errorf("basic token entry: %+v", basic)
	}
	if r := e.call("GET", "/_emulator/journal", "", ""); strings.Contains(string(r.body), defaultSecret) {
		t.Errorf("the secret is in the journal: %s", r.body)
	}
}

// TestBodyGivenBack: the journal records a request's body through a
// recorder it puts in the request's place, from a pool, and gives the
// request its own body back when done. The caller of a request closes
// its body after ServeHTTP (as net/http and in-process clients do): that
// must close its own body, not the recorder of a later request that the
// pool handed the same context, whose body would be cut mid-read.
func TestBodyGivenBack(t *testing.T) {
	_, h, tok, machines := benchServer(t, 2)
	request := func(machine string, body io.ReadCloser) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/api/machines/"+machine+"/runliveresponse", nil)
		r.Host = "127.0.0.1:8080"
		r.Header.Set("Authorization", "Bearer "+tok)
		r.Header.Set("Content-Type", "application/json")
		r.Body, r.ContentLength = body, int64(len(benchBody))
		return r
	}

	own := io.NopCloser(strings.NewReader(benchBody))
	first := request(machines[0], own)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, first)
	if w.Code != http.StatusCreated {
		t.Fatalf("first POST: %d %s", w.Code, w.Body)
	}
	if first.Body != own {
		t.Errorf("the first request's body is %T after ServeHTTP, not its own", first.Body)
	}

	// The second request's body comes in two halves; the first's caller
	// closes that request's body in between.
	pr, pw := io.Pipe()
	second := request(machines[1], pr)
	w2 := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w2, second)
	}()
	half := len(benchBody) / 2
	if _, err := io.WriteString(pw, benchBody[:half]); err != nil {
		t.Fatal(err)
	}
	first.Body.Close()
	if _, err := io.WriteString(pw, benchBody[half:]); err != nil {
		t.Errorf("the second request's body was closed when the first's caller closed its own: %v", err)
	}
	pw.Close()
	<-done
	if w2.Code != http.StatusCreated {
		t.Errorf("second POST: %d %s", w2.Code, w2.Body)
	}
}
