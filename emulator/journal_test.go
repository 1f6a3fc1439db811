package emulator_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/journal"
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
