package emulator_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/emulator/scenario"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/persist"
)

const persistFixture = `
profile: unlimited
tenants:
  - id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
    apps:
      - {clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7, clientSecret: s, displayName: Persist, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
    generateMachines: 4
    library:
      - {fileName: minidump.ps1, content: "x"}
      - {fileName: old.ps1, content: "y"}
`

func persistSet(t testing.TB) *fixture.Set {
	set, err := fixture.Parse("persist.yaml", []byte(persistFixture))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// persistEmu is an emulator on a store in dir, with a token of its app.
type persistEmu struct {
	t   testing.TB
	srv *emulator.Server
	tok string
}

func openPersistEmu(t testing.TB, dir string, tok string) *persistEmu {
	t.Helper()
	srv, err := emulator.New(emulator.Options{Fixtures: persistSet(t), Clock: clock.Manual, Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	if tok == "" {
		_, mt, err := srv.Authority().Mint(identityDefault())
		if err != nil {
			t.Fatal(err)
		}
		tok = mt.AccessToken
	}
	return &persistEmu{t: t, srv: srv, tok: tok}
}

func (e *persistEmu) do(method, path, contentType string, body []byte) (int, string) {
	e.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if !strings.HasPrefix(path, "/_") {
		req.Header.Set("Authorization", "Bearer "+e.tok)
	}
	req.RemoteAddr = "127.0.0.1:40000" // the control plane answers loopback peers
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func (e *persistEmu) json(method, path, body string, want int) string {
	e.t.Helper()
	code, b := e.do(method, path, "application/json", []byte(body))
	if code != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, code, want, b)
	}
	return b
}

func (e *persistEmu) machines() []string {
	var ids []string
	for m := range e.srv.Store().Tenants()[0].Machines() {
		ids = append(ids, m.ID())
	}
	return ids
}

func (e *persistEmu) submit(machine string) string {
	e.t.Helper()
	b := e.json("POST", "/api/machines/"+machine+"/runliveresponse",
		`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"}]}],"Comment":"persist"}`, http.StatusCreated)
	i := strings.Index(b, `"id":"`)
	return b[i+6 : i+6+36]
}

func (e *persistEmu) upload(name, content string) {
	e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(content))
	mw.WriteField("Description", "uploaded before the restart")
	mw.Close()
	if code, b := e.do("POST", "/api/libraryfiles", mw.FormDataContentType(), body.Bytes()); code != http.StatusOK {
		e.t.Fatalf("upload: %d %s", code, b)
	}
}

// snapshot is what a client sees of the state: the actions, the library,
// the clock.
func (e *persistEmu) snapshot() string {
	return e.json("GET", "/api/machineactions", "", 200) + "\n" +
		e.json("GET", "/api/libraryfiles", "", 200) + "\n" +
		e.json("GET", "/_emulator/clock", "", 200) + "\n" +
		e.json("GET", "/api/machines", "", 200)
}

func TestPersistRestartResumes(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	ms := e.machines()
	done := e.submit(ms[0])
	e.json("POST", "/_emulator/clock/advance", `{"by":"1m"}`, 200)
	e.upload("new.ps1", "Write-Output 'hi'")
	if code, b := e.do("DELETE", "/api/libraryfiles/old.ps1", "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, b)
	}
	e.json("PATCH", "/_emulator/machines/"+ms[1], `{"online":false}`, 200)
	queued := e.submit(ms[1])
	cancelled := e.submit(ms[2])
	e.json("POST", "/api/machineactions/"+cancelled+"/cancel", `{"Comment":"stop"}`, 200)
	e.json("POST", "/_emulator/clock/advance", `{"by":"10m"}`, 200)
	if b := e.json("GET", "/api/machineactions/"+done, "", 200); !strings.Contains(b, `"status":"Succeeded"`) {
		t.Fatalf("the first action did not succeed before the restart: %s", b)
	}
	linkBody := e.json("GET", "/api/machineactions/"+done+"/GetLiveResponseResultDownloadLink(index=0)", "", 200)
	link := linkBody[strings.Index(linkBody, `"value":"`)+9 : len(linkBody)-2]
	before := e.snapshot()
	tok := e.tok
	e.srv.Close()

	// The token of the first run still verifies: the signing key is kept.
	e = openPersistEmu(t, dir, tok)
	defer e.srv.Close()
	if after := e.snapshot(); after != before {
		t.Fatalf("the state after the restart differs:\nbefore: %s\nafter:  %s", before, after)
	}
	if code, b := e.do("GET", strings.TrimPrefix(link, "http://example.com"), "", nil); code != 200 {
		t.Fatalf("the result link made before the restart: %d %s", code, b)
	}
	for id, want := range map[string]string{queued: "Pending", cancelled: "Cancelled", done: "Succeeded"} {
		if b := e.json("GET", "/api/machineactions/"+id, "", 200); !strings.Contains(b, `"status":"`+want+`"`) {
			t.Errorf("action %s after the restart: want %s: %s", id, want, b)
		}
	}
	// Time goes on after the restart: the queued action expires at 3 days.
	e.json("POST", "/_emulator/clock/advance", `{"by":"73h"}`, 200)
	_, mt, err := e.srv.Authority().Mint(identityDefault()) // the first one expired
	if err != nil {
		t.Fatal(err)
	}
	e.tok = mt.AccessToken
	if b := e.json("GET", "/api/machineactions/"+queued, "", 200); strings.Contains(b, `"status":"Pending"`) {
		t.Errorf("the action queued for the offline machine did not expire after the restart: %s", b)
	}
	// Machines came back offline: a new action on ms[1] stays pending.
	e.json("POST", "/_emulator/clock/advance", `{"by":"1m"}`, 200)
	again := e.submit(ms[1])
	e.json("POST", "/_emulator/clock/advance", `{"by":"5m"}`, 200)
	if b := e.json("GET", "/api/machineactions/"+again, "", 200); !strings.Contains(b, `"status":"Pending"`) {
		t.Errorf("the machine set offline before the restart runs actions after it: %s", b)
	}
}

// faultRules returns the fault rules GET /_emulator/faults lists.
func (e *persistEmu) faultRules() []faults.Rule {
	e.t.Helper()
	var v struct{ Rules []faults.Rule }
	if err := json.Unmarshal([]byte(e.json("GET", "/_emulator/faults", "", 200)), &v); err != nil {
		e.t.Fatal(err)
	}
	return v.Rules
}

// form posts a dashboard form.
func (e *persistEmu) form(path string, v url.Values, want int) {
	e.t.Helper()
	if code, b := e.do("POST", path, "application/x-www-form-urlencoded", []byte(v.Encode())); code != want {
		e.t.Fatalf("POST %s: %d, want %d: %s", path, code, want, b)
	}
}

func TestPersistRestartKeepsFaultRules(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	e.json("POST", "/_emulator/faults", `{"name":"every2","match":{"method":"GET","path":"/api/machines"},"calls":{"every":2},"effect":{"status":503}}`, http.StatusCreated)
	e.form("/_emulator/ui/faults", url.Values{"rule": {`{"match":{"path":"/api/libraryfiles"},"calls":{"next":1},"effect":{"status":500}}`}}, http.StatusNoContent)
	e.json("POST", "/_emulator/faults", `{"match":{"path":"/api/machineactions"},"effect":{"status":429}}`, http.StatusCreated)
	e.json("DELETE", "/_emulator/faults/f2", "", http.StatusNoContent)
	e.form("/_emulator/ui/faults/f3/remove", nil, http.StatusNoContent)
	e.json("POST", "/_emulator/faults", `{"name":"slow","match":{"path":"/api/files"},"calls":{"probability":0.5,"seed":7},"effect":{"latency":"1s","latencyMax":"2s"}}`, http.StatusCreated)
	e.json("GET", "/api/machines", "", 200) // f1 sees a call: its counts are kept with the clock's mark
	before := e.faultRules()
	if len(before) != 2 || before[0].ID != "f1" || before[1].ID != "f4" || before[0].Seen != 1 {
		t.Fatalf("the rules before the restart: %+v", before)
	}
	e.srv.Close()

	e = openPersistEmu(t, dir, "")
	after := e.faultRules()
	if len(after) != len(before) {
		t.Fatalf("the rules after the restart: %+v, want %+v", after, before)
	}
	for i := range before {
		if !reflect.DeepEqual(after[i], before[i]) {
			t.Errorf("rule %d after the restart: %+v, want %+v", i, after[i], before[i])
		}
	}
	// f1 saw one call before the restart: it fires on the next, its 2nd.
	e.json("GET", "/api/machines", "", http.StatusServiceUnavailable)
	e.json("GET", "/api/machines", "", 200)
	// Ids are not reused after a restart.
	if b := e.json("POST", "/_emulator/faults", `{"match":{"path":"/x"},"effect":{"status":500}}`, http.StatusCreated); !strings.Contains(b, `"id":"f5"`) {
		t.Errorf("the rule added after the restart: %s, want id f5", b)
	}
	e.json("DELETE", "/_emulator/faults", "", http.StatusNoContent)
	e.srv.Close()

	e = openPersistEmu(t, dir, "")
	defer e.srv.Close()
	if rules := e.faultRules(); len(rules) != 0 {
		t.Errorf("the rules cleared before the restart came back: %+v", rules)
	}
	if b := e.json("POST", "/_emulator/faults", `{"match":{"path":"/x"},"effect":{"status":500}}`, http.StatusCreated); !strings.Contains(b, `"id":"f6"`) {
		t.Errorf("the rule added after a clear and a restart: %s, want id f6", b)
	}
}

const persistFixture2 = `
profile: unlimited
tenants:
  - id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
    apps:
      - {clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7, clientSecret: s, displayName: Persist, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
    generateMachines: 2
    library:
      - {fileName: minidump.ps1, content: "x"}
      - {fileName: other.ps1, content: "z"}
`

// storedKinds returns the kinds of the records of the store in dir (the
// emulator closed).
func storedKinds(t *testing.T, dir string) []string {
	t.Helper()
	st, err := persist.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var kinds []string
	if err := st.Replay(func(r persist.Record) error { kinds = append(kinds, r.Kind); return nil }); err != nil {
		t.Fatal(err)
	}
	return kinds
}

func TestPersistRestartAfterFixturesAndReset(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	startClock := e.json("GET", "/_emulator/clock", "", 200)
	e.json("POST", "/_emulator/faults", `{"match":{"path":"/x"},"effect":{"status":500}}`, http.StatusCreated)
	e.submit(e.machines()[0])
	e.json("POST", "/_emulator/clock/advance", `{"by":"10m"}`, 200)
	e.json("PUT", "/_emulator/fixtures", persistFixture2, 200)
	if n := len(e.machines()); n != 2 {
		t.Fatalf("machines after PUT /_emulator/fixtures: %d", n)
	}
	e.submit(e.machines()[1])
	e.json("POST", "/_emulator/clock/advance", `{"by":"1m"}`, 200)
	e.upload("new.ps1", "Write-Output 'hi'")
	before, rules := e.snapshot(), e.json("GET", "/_emulator/faults", "", 200)
	tok := e.tok
	e.srv.Close()

	// The log starts over at the fixtures: the submit before them is gone
	// from it.
	if kinds := strings.Join(storedKinds(t, dir), ","); kinds != "origin,faults,submit,advance,library-put" {
		t.Fatalf("the log after PUT /_emulator/fixtures: %s", kinds)
	}
	e = openPersistEmu(t, dir, tok)
	if after := e.snapshot(); after != before {
		t.Fatalf("the state after the restart differs:\nbefore: %s\nafter:  %s", before, after)
	}
	if after := e.json("GET", "/_emulator/faults", "", 200); after != rules {
		t.Fatalf("the fault rules kept by PUT /_emulator/fixtures, after the restart: %s, want %s", after, rules)
	}
	// A reset after the restart goes back to the clock's first start and
	// the fixtures last put, without the fault rules.
	e.json("POST", "/_emulator/reset", `{}`, 200)
	if c := e.json("GET", "/_emulator/clock", "", 200); c != startClock {
		t.Fatalf("the clock after a reset after a restart: %s, want %s", c, startClock)
	}
	_, mt, err := e.srv.Authority().Mint(identityDefault())
	if err != nil {
		t.Fatal(err)
	}
	e.tok = mt.AccessToken
	before = e.snapshot()
	if !strings.Contains(before, "other.ps1") || strings.Contains(before, "new.ps1") || len(e.faultRules()) != 0 {
		t.Fatalf("the state after the reset: %s", before)
	}
	e.srv.Close()

	if kinds := strings.Join(storedKinds(t, dir), ","); kinds != "origin" {
		t.Fatalf("the log after POST /_emulator/reset: %s", kinds)
	}
	e = openPersistEmu(t, dir, e.tok)
	if after := e.snapshot(); after != before {
		t.Fatalf("the state after a reset and a restart differs:\nbefore: %s\nafter:  %s", before, after)
	}
	// The fixtures the emulator started with are still known to a
	// restarted emulator.
	e.json("POST", "/_emulator/reset", `{"fixtures":"start"}`, 200)
	e.srv.Close()
	e = openPersistEmu(t, dir, e.tok)
	defer e.srv.Close()
	if n := len(e.machines()); n != 4 {
		t.Fatalf("machines after a reset to the start and a restart: %d, want 4", n)
	}
	if c := e.json("GET", "/_emulator/clock", "", 200); c != startClock {
		t.Fatalf("the clock after a reset to the start and a restart: %s, want %s", c, startClock)
	}
}

// tenantToken gets a token of the created tenant ct's first app with its
// client secret, as a trainee's client does.
func (e *persistEmu) tenantToken(ct classroomTenant) string {
	e.t.Helper()
	a := ct.Credentials.Apps[0]
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret}, "scope": {ct.Credentials.Scope}}
	code, b := e.do("POST", "/"+ct.Tenant.ID+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", []byte(f.Encode()))
	if code != 200 {
		e.t.Fatalf("the token of tenant %s: %d %s", ct.Tenant.Name, code, b)
	}
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(b), &v); err != nil {
		e.t.Fatal(err)
	}
	return v.AccessToken
}

func TestPersistRestartKeepsTenants(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	made := map[string]classroomTenant{}
	for _, name := range []string{"alice", "bob", "carol"} {
		var ct classroomTenant
		if err := json.Unmarshal([]byte(e.json("POST", "/_emulator/tenants", `{"name":"`+name+`"}`, http.StatusCreated)), &ct); err != nil {
			t.Fatal(err)
		}
		made[name] = ct
	}
	// alice and carol submit an action each (it stays pending: the clock
	// does not move).
	var actions = map[string]string{}
	for _, name := range []string{"alice", "carol"} {
		e.tok = e.tenantToken(made[name])
		actions[name] = e.submit(made[name].Credentials.Machines[0].ID)
	}
	e.json("DELETE", "/_emulator/tenants/"+made["bob"].Tenant.ID, "", http.StatusNoContent)
	e.json("DELETE", "/_emulator/tenants/"+made["carol"].Tenant.ID, "", http.StatusConflict)
	e.json("DELETE", "/_emulator/tenants/"+made["carol"].Tenant.ID+"?force=true", "", http.StatusNoContent)
	tenants := e.json("GET", "/_emulator/tenants", "", 200)
	creds := e.json("GET", "/_emulator/tenants/credentials", "", 200)
	e.srv.Close()

	e = openPersistEmu(t, dir, "")
	defer e.srv.Close()
	if after := e.json("GET", "/_emulator/tenants", "", 200); after != tenants {
		t.Fatalf("the tenants after the restart:\n%s\nwant\n%s", after, tenants)
	}
	if after := e.json("GET", "/_emulator/tenants/credentials", "", 200); after != creds {
		t.Fatalf("the credentials after the restart:\n%s\nwant\n%s", after, creds)
	}
	// alice's secret still gets a token, which sees her action.
	e.tok = e.tenantToken(made["alice"])
	if b := e.json("GET", "/api/machineactions/"+actions["alice"], "", 200); !strings.Contains(b, `"status":"Pending"`) {
		t.Errorf("alice's action after the restart: %s", b)
	}
	// bob and carol stay removed: their names are free again.
	for _, name := range []string{"bob", "carol"} {
		e.json("POST", "/_emulator/tenants", `{"name":"`+name+`"}`, http.StatusCreated)
	}
}

func TestPersistFailedWriteAnswers503(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	ms := e.machines()
	kept := e.submit(ms[0])
	e.srv.FailStoreWrites(errors.New("disk full"))
	code, b := e.do("POST", "/api/machines/"+ms[1]+"/runliveresponse", "application/json",
		[]byte(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"}]}],"Comment":"lost"}`))
	if code != http.StatusServiceUnavailable || !strings.Contains(b, `"code":"ServiceUnavailable"`) || !strings.Contains(b, "disk full") {
		t.Fatalf("a submit whose write fails: %d %s", code, b)
	}
	// Every later change is refused too, the control plane's with its code.
	for _, r := range []struct{ method, path, body string }{
		{"PATCH", "/_emulator/machines/" + ms[2], `{"online":false}`},
		{"POST", "/_emulator/faults", `{"match":{"path":"/x"},"effect":{"status":500}}`},
		{"POST", "/_emulator/tenants", `{"name":"alice"}`},
		{"POST", "/_emulator/reset", `{}`},
		{"PUT", "/_emulator/fixtures", persistFixture2},
		{"POST", "/_emulator/clock/advance", `{"by":"1m"}`},
	} {
		code, b := e.do(r.method, r.path, "application/json", []byte(r.body))
		if code != http.StatusServiceUnavailable || !strings.Contains(b, `"code":"ServiceUnavailable"`) {
			t.Errorf("%s %s after a failed write: %d %s", r.method, r.path, code, b)
		}
	}
	if len(e.srv.Faults().List()) != 0 || len(e.srv.Store().Tenants()) != 1 {
		t.Errorf("a change refused after a failed write was made in memory")
	}
	e.srv.Close()

	// A restart holds what was durable: the first action, not the second.
	e = openPersistEmu(t, dir, "")
	defer e.srv.Close()
	var list struct{ Value []struct{ ID string } }
	if err := json.Unmarshal([]byte(e.json("GET", "/api/machineactions", "", 200)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Value) != 1 || list.Value[0].ID != kept {
		t.Fatalf("the actions after the restart: %+v, want only %s", list.Value, kept)
	}
}

func TestPersistSecondEmulatorRefused(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	defer e.srv.Close()
	_, err := emulator.New(emulator.Options{Fixtures: persistSet(t), Clock: clock.Manual, Data: dir})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, persist.FileName)) || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("a second emulator on the same --data: %v", err)
	}
}

func TestPersistDamagedStoreRefused(t *testing.T) {
	for name, damage := range map[string]func(path string) error{
		"truncated": func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(path, b[:len(b)/3], 0o600)
		},
		"garbage": func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for i := 0; i < len(b); i += 7 {
				b[i] ^= 0x5a
			}
			return os.WriteFile(path, b, 0o600)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			e := openPersistEmu(t, dir, "")
			e.submit(e.machines()[0])
			e.srv.Close()
			path := filepath.Join(dir, persist.FileName)
			if err := damage(path); err != nil {
				t.Fatal(err)
			}
			was, _ := os.ReadFile(path)
			_, err := emulator.New(emulator.Options{Fixtures: persistSet(t), Clock: clock.Manual, Data: dir})
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("a %s store: %v", name, err)
			}
			if now, _ := os.ReadFile(path); !bytes.Equal(now, was) {
				t.Fatalf("the %s store was changed by the refusal", name)
			}
		})
	}
}

// persistScenario is a scenario whose timeline has every kind of event
// a restart must bring back: actions started (at 0 and later), a machine
// set offline and back, fault rules added and removed, a note.
const persistScenario = `
name: persist-timeline
title: The store's timeline
summary: A timeline for the store's tests.
instructor: Nothing to teach.
fixture:
  profile: unlimited
  tenants:
    - id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
      apps:
        - {clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7, clientSecret: s, displayName: Persist, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
      machines:
        - {id: 1111111111111111111111111111111111111111, computerDnsName: m1.persist.local, osPlatform: Windows11}
        - {id: 2222222222222222222222222222222222222222, computerDnsName: m2.persist.local, osPlatform: Windows11}
        - {id: 3333333333333333333333333333333333333333, computerDnsName: m3.persist.local, osPlatform: Windows11}
        - {id: 4444444444444444444444444444444444444444, computerDnsName: m4.persist.local, osPlatform: Windows11}
      library:
        - {fileName: minidump.ps1, content: "x"}
events:
  - at: 0s
    startAction: {machine: m1.persist.local, commands: [{type: RunScript, params: [{key: ScriptName, value: minidump.ps1}]}]}
  - at: 1m
    setOnline: {machine: m2.persist.local, online: false}
  - at: 2m
    addFault: {name: first, match: {method: GET, path: /api/libraryfiles}, effect: {status: 503}}
  - at: 3m
    startAction: {machine: m3.persist.local, requestor: Colleague, commands: [{type: RunScript, params: [{key: ScriptName, value: minidump.ps1}]}]}
  - at: 5m
    addFault: {name: second, match: {method: GET, path: /api/machines}, effect: {status: 503}}
  - at: 6m
    removeFault: first
  - at: 7m
    startAction: {machine: m2.persist.local, commands: [{type: RunScript, params: [{key: ScriptName, value: minidump.ps1}]}]}
  - at: 20m
    setOnline: {machine: m2.persist.local, online: true}
  - at: 30m
    note: The end.
`

// scenarioState is what a restart must keep of a scenario's run: the
// actions (ids, statuses, requestors), the machines' online flags, the
// fault rules with their ids, and the scenario's status (its
// journalAfterSeq aside: the journal is not kept).
func (e *persistEmu) scenarioState() string {
	e.t.Helper()
	var b strings.Builder
	for _, tn := range e.srv.Store().Tenants() {
		for _, a := range tn.Actions() {
			fmt.Fprintf(&b, "action %s %s %s %s %s\n", a.ID, a.MachineID, a.Requestor, a.Status, a.LastUpdateDateTimeUtc.Time())
		}
		for m := range tn.Machines() {
			fmt.Fprintf(&b, "machine %s online=%v\n", m.ID(), m.Online())
		}
	}
	for _, r := range e.faultRules() {
		fmt.Fprintf(&b, "fault %s %s\n", r.ID, r.Name)
	}
	var st emulator.ScenarioStatus
	if err := json.Unmarshal([]byte(e.json("GET", "/_emulator/scenario", "", 200)), &st); err != nil {
		e.t.Fatal(err)
	}
	st.JournalAfterSeq = 0
	sb, _ := json.Marshal(st)
	b.Write(sb)
	return b.String()
}

// A scenario loaded with --data is kept: after a restart its actions
// (with their ids), machines, fault rules (with their ids) and timeline
// are as they were, and the events still pending fire as they would have.
func TestPersistRestartKeepsScenario(t *testing.T) {
	sc, err := scenario.Parse("persist-timeline.yaml", []byte(persistScenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	e.json("POST", "/_emulator/faults", `{"name":"before","effect":{"status":500}}`, 201) // f1, cleared by the load
	if err := e.srv.LoadScenario(sc); err != nil {
		t.Fatal(err)
	}
	e.json("POST", "/_emulator/clock/advance", `{"by":"2m30s"}`, 200)
	e.json("POST", "/_emulator/faults", `{"name":"mine","match":{"method":"DELETE"},"effect":{"status":500}}`, 201)
	mine := e.submit("4444444444444444444444444444444444444444")
	e.json("POST", "/_emulator/clock/advance", `{"by":"1m"}`, 200) // 3m30s: the 3m action started
	before := e.scenarioState()
	for _, want := range []string{mine, "fault f2 first", "fault f3 mine", "online=false", `"status":"pending"`, "Colleague"} {
		if !strings.Contains(before, want) {
			t.Fatalf("before the restart, %q is missing:\n%s", want, before)
		}
	}
	if n := strings.Count(before, "action "); n != 3 {
		t.Fatalf("before the restart, %d actions, want 3:\n%s", n, before)
	}
	e.srv.Close()

	e = openPersistEmu(t, dir, e.tok)
	if !e.srv.Restored() {
		t.Error("Restored: false after a restart on a store with state")
	}
	if after := e.scenarioState(); after != before {
		t.Fatalf("the restart changed the scenario's state:\nbefore %s\nafter  %s", before, after)
	}
	e.json("POST", "/_emulator/clock/advance", `{"by":"30m"}`, 200) // every event due
	end := e.scenarioState()
	var st emulator.ScenarioStatus
	if err := json.Unmarshal([]byte(e.json("GET", "/_emulator/scenario", "", 200)), &st); err != nil {
		t.Fatal(err)
	}
	if st.State != emulator.ScenarioFinished || st.Pending != 0 {
		t.Errorf("after the restart and 30m: state %s, %d pending:\n%s", st.State, st.Pending, end)
	}
	for i, ev := range st.Events {
		if ev.Status != emulator.EventFired {
			t.Errorf("event %d (%s): %s %s", i, ev.Action, ev.Status, ev.Error)
		}
	}
	for _, want := range []string{"fault f4 second", "machine 2222222222222222222222222222222222222222 online=true"} {
		if !strings.Contains(end, want) {
			t.Errorf("after the restart and 30m, %q is missing:\n%s", want, end)
		}
	}
	if strings.Contains(end, " first\n") || strings.Count(end, "action ") != 4 {
		t.Errorf("after the restart and 30m, want 4 actions and no rule first:\n%s", end)
	}
	e.srv.Close()

	// The events fired after the restart are replayed too.
	e = openPersistEmu(t, dir, e.tok)
	defer e.srv.Close()
	if again := e.scenarioState(); again != end {
		t.Errorf("a second restart changed the state:\nbefore %s\nafter  %s", end, again)
	}
}

// POST /_emulator/scenarios/{name}/load and the dashboard's picker load
// a shipped scenario with --data; a restart keeps it (busy-machine starts
// an action at 0).
func TestPersistScenarioLoadRoutes(t *testing.T) {
	for _, via := range []string{"api", "dashboard"} {
		t.Run(via, func(t *testing.T) {
			dir := t.TempDir()
			e := openPersistEmu(t, dir, "")
			if via == "api" {
				e.json("POST", "/_emulator/scenarios/busy-machine/load", ``, 200)
			} else {
				e.form("/_emulator/ui/scenario", url.Values{"name": {"busy-machine"}}, http.StatusNoContent)
			}
			e.json("POST", "/_emulator/clock/advance", `{"by":"11m"}`, 200)
			before := e.scenarioState()
			if !strings.Contains(before, "action ") || !strings.Contains(before, `"name":"busy-machine"`) {
				t.Fatalf("no action or no scenario after the load:\n%s", before)
			}
			e.srv.Close()
			e = openPersistEmu(t, dir, "")
			defer e.srv.Close()
			if after := e.scenarioState(); after != before {
				t.Fatalf("the restart changed the scenario's state:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// BenchmarkSubmitPersisted is BenchmarkSubmit's POST runliveresponse with
// a store (--data) in a temporary directory, from concurrent clients, as
// the group commit is made for; BenchmarkSubmitInMemoryParallel is the
// same without a store.
func BenchmarkSubmitPersisted(b *testing.B)        { benchmarkSubmitParallel(b, true) }
func BenchmarkSubmitInMemoryParallel(b *testing.B) { benchmarkSubmitParallel(b, false) }

func benchmarkSubmitParallel(b *testing.B, data bool) {
	n := b.N + 64
	set := benchFleet(b, n)
	ids := make(chan string, n)
	for _, m := range set.Tenants[0].AllMachines() {
		ids <- m.ID
	}
	opts := emulator.Options{Fixtures: set, Clock: clock.Manual}
	if data {
		opts.Data = b.TempDir()
	}
	srv, err := emulator.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	_, tok, err := srv.Authority().Mint(identityDefault())
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	b.ReportAllocs()
	b.SetParallelism(32) // 64 clients on 2 CPUs: the load a group commit batches
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/machines/"+<-ids+"/runliveresponse", strings.NewReader(benchBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusCreated {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
