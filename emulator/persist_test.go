package emulator_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
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
	for _, m := range e.srv.Store().Tenants()[0].Machines() {
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

func TestPersistRefusesWhatItDoesNotRecord(t *testing.T) {
	e := openPersistEmu(t, t.TempDir(), "")
	defer e.srv.Close()
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/_emulator/reset", `{}`},
		{"PUT", "/_emulator/fixtures", persistFixture},
		{"POST", "/_emulator/faults", `{"path":"/api/machines","status":500}`},
		{"POST", "/_emulator/tenants", `{"name":"trainee-01"}`},
	} {
		code, b := e.do(r.method, r.path, "application/json", []byte(r.body))
		if code != http.StatusConflict || !strings.Contains(b, "--data") {
			t.Errorf("%s %s with --data: %d %s", r.method, r.path, code, b)
		}
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
	set, err := fixture.Parse("bench.yaml", []byte(fmt.Sprintf(`
profile: unlimited
tenants:
  - id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
    apps:
      - {clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7, clientSecret: s, displayName: Bench, roles: [Machine.LiveResponse]}
    generateMachines: %d
    library:
      - {fileName: minidump.ps1, content: "x"}
`, n)))
	if err != nil {
		b.Fatal(err)
	}
	ids := make(chan string, n)
	for _, m := range set.Tenants[0].Machines {
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
