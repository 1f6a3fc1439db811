package emulator_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/scenario"
	"github.com/mdelive/mde-emulator/internal/persist"
)

// openPersistEmuWith is openPersistEmu with options of its own.
func openPersistEmuWith(t testing.TB, dir, tok string, set func(*emulator.Options)) *persistEmu {
	t.Helper()
	opts := emulator.Options{Fixtures: persistSet(t), Clock: clock.Manual, Data: dir}
	set(&opts)
	srv, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &persistEmu{t: t, srv: srv, tok: tok}
	if tok == "" {
		e.mint()
	}
	return e
}

// mint gives e a fresh token of the fixtures' app.
func (e *persistEmu) mint() {
	e.t.Helper()
	_, mt, err := e.srv.Authority().Mint(identityDefault())
	if err != nil {
		e.t.Fatal(err)
	}
	e.tok = mt.AccessToken
}

// everything is all a client and an instructor see: the actions and
// their results, the library, the clock, the machines, the fault rules,
// the scenario's timeline, the tenants made on the fly. The library and
// the machines are read from the state (the scenario's fault rules make
// their routes fail for a while).
func (e *persistEmu) everything() string {
	e.t.Helper()
	var b strings.Builder
	b.WriteString(e.json("GET", "/api/machineactions", "", 200))
	b.WriteString(e.json("GET", "/_emulator/clock", "", 200))
	now := e.srv.Clock().Now()
	for _, t := range e.srv.Store().Tenants() {
		lib, _ := json.Marshal(t.Library().List())
		b.Write(lib)
		for m := range t.Machines() {
			mv, _ := json.Marshal(m.View(now))
			b.Write(mv)
			ov, _ := json.Marshal(m.Outcomes())
			b.Write(ov)
		}
		for _, a := range t.Actions() {
			for i := range a.Commands {
				if act, err := t.Action(a.ID); err == nil {
					if r, err := act.Result(i); err == nil {
						b.Write(r.Content(time.Time{}))
					}
				}
			}
		}
	}
	if code, body := e.do("GET", "/_emulator/scenario", "", nil); code == http.StatusOK {
		b.WriteString(e.scenarioState())
	} else {
		b.WriteString(body)
		for _, r := range e.faultRules() {
			b.WriteString(r.ID + " " + r.Name + "\n")
		}
	}
	b.WriteString(e.json("GET", "/_emulator/tenants", "", 200))
	return b.String()
}

// copyStore copies the store file of the closed emulator in from to a new
// directory, and returns it.
func copyStore(t *testing.T, from string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(from, persist.FileName))
	if err != nil {
		t.Fatal(err)
	}
	to := t.TempDir()
	if err := os.WriteFile(filepath.Join(to, persist.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

// storeRecords returns the records of the closed store in dir.
func storeRecords(t *testing.T, dir string) []persist.Record {
	t.Helper()
	st, err := persist.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var recs []persist.Record
	if err := st.Replay(func(r persist.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return recs
}

// A store compacted in the middle of a run (a scenario half played, a
// tenant made on the fly, actions queued, running mid-command, finished,
// cancelled, library changes, fault rules) restarts to the state a store
// that was not compacted restarts to, and goes on the same way: the live
// actions finish at the same instants, the scenario's pending events fire.
func TestPersistCompactedRestartsAsUncompacted(t *testing.T) {
	sc, err := scenario.Parse("persist-timeline.yaml", []byte(persistScenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	if err := e.srv.LoadScenario(sc); err != nil {
		t.Fatal(err)
	}
	e.json("POST", "/_emulator/clock/advance", `{"by":"30s"}`, 200)
	e.submit("4444444444444444444444444444444444444444") // done at 40s
	e.upload("new.ps1", "Write-Output 'hi'")
	e.json("POST", "/_emulator/faults", `{"name":"mine","match":{"method":"DELETE"},"effect":{"status":500}}`, 201)
	var alice classroomTenant
	if err := json.Unmarshal([]byte(e.json("POST", "/_emulator/tenants", `{"name":"alice"}`, http.StatusCreated)), &alice); err != nil {
		t.Fatal(err)
	}
	e.json("POST", "/_emulator/clock/advance", `{"by":"2m30s"}`, 200) // 3m: m2 offline, rule first added, the 3m action submitted
	queued := e.submit("2222222222222222222222222222222222222222")    // m2 is offline: queued
	e.submit("4444444444444444444444444444444444444444")              // picked up at 3m5s
	cancelled := e.submit("1111111111111111111111111111111111111111")
	e.json("POST", "/api/machineactions/"+cancelled+"/cancel", `{"Comment":"stop"}`, 200)
	e.json("POST", "/_emulator/clock/advance", `{"by":"6s"}`, 200) // 3m6s: two actions mid-command
	for _, want := range []string{`"status":"InProgress"`, `"status":"Pending"`, `"status":"Cancelled"`, `"status":"Succeeded"`, `"status":"pending"`, `"status":"fired"`} {
		if !strings.Contains(e.everything(), want) {
			t.Fatalf("the workload did not reach %s:\n%s", want, e.everything())
		}
	}
	tok := e.tok
	e.srv.Close()
	other := copyStore(t, dir)

	// One store is compacted, the other not; both see the same changes.
	a, b := openPersistEmu(t, dir, tok), openPersistEmu(t, other, tok)
	if err := a.srv.CompactStore(); err != nil {
		t.Fatal(err)
	}
	if n, _, err := a.srv.StoreLog(); err != nil || n != 4 {
		t.Fatalf("the compacted log holds %d records (%v), want 4: origin, faults, scenario, snapshot", n, err)
	}
	for _, x := range []*persistEmu{a, b} {
		x.json("POST", "/_emulator/clock/advance", `{"by":"1s"}`, 200)
		x.json("POST", "/api/machineactions/"+queued+"/cancel", `{"Comment":"later"}`, 200)
		if code, body := x.do("DELETE", "/api/libraryfiles/new.ps1", "", nil); code != http.StatusInternalServerError {
			t.Fatalf("the fault rule mine: DELETE answered %d %s", code, body)
		}
		x.json("DELETE", "/_emulator/faults", "", http.StatusNoContent)
		x.json("POST", "/_emulator/clock/advance", `{"by":"1s"}`, 200)
	}
	if sa, sb := a.everything(), b.everything(); sa != sb {
		t.Fatalf("after the compaction, the two differ:\ncompacted: %s\nnot:       %s", sa, sb)
	}
	a.srv.Close()
	b.srv.Close()
	recs := storeRecords(t, dir)
	var kinds []string
	for _, r := range recs {
		kinds = append(kinds, r.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.HasPrefix(got, "origin,faults,scenario,snapshot,advance,cancel,") {
		t.Errorf("the compacted store's log: %s", got)
	}
	if len(storeRecords(t, other)) <= len(recs) {
		t.Errorf("the compacted log (%d records) is not shorter than the other (%d)", len(recs), len(storeRecords(t, other)))
	}

	for _, step := range []string{"restart", "10s", "5m", "30m", "restart", "80h"} {
		if step == "restart" {
			a.srv.Close()
			b.srv.Close()
			a, b = openPersistEmu(t, dir, ""), openPersistEmu(t, other, "")
			a.tenantToken(alice) // the credentials of a tenant made on the fly still work
		} else {
			for _, x := range []*persistEmu{a, b} {
				x.json("POST", "/_emulator/clock/advance", `{"by":"`+step+`"}`, 200)
				x.mint()
			}
		}
		sa, sb := a.everything(), b.everything()
		if sa != sb {
			t.Fatalf("after %s, the compacted store differs:\ncompacted: %s\nnot:       %s", step, sa, sb)
		}
		if step == "30m" && (strings.Contains(sa, `"status":"InProgress"`) || strings.Contains(sa, `"status":"pending"`) || !strings.Contains(sa, " second\n")) {
			t.Errorf("after 30m, live actions or pending events are left, or an event did not fire:\n%s", sa)
		}
	}
	a.srv.Close()
	b.srv.Close()
}

// Past Options.DataCompactAfter records the store compacts itself in the
// background: the log then holds the new generation's records only; after
// a compaction, the actions retention forgot are in no record of the
// store.
func TestPersistCompactsPastTheThreshold(t *testing.T) {
	dir := t.TempDir()
	opts := func(o *emulator.Options) { o.DataCompactAfter = 10; o.RetainActions = 2 }
	e := openPersistEmuWith(t, dir, "", opts)
	var ids []string
	for i := range 12 {
		ids = append(ids, e.submit(e.machines()[i%4]))
		e.json("POST", "/_emulator/clock/advance", `{"by":"1m"}`, 200) // each action done in 10s
	}
	// Each submit and advance is a record: 24 > 10, compacted at least once.
	var n int
	for range 2000 {
		var compacting bool
		var err error
		if n, compacting, err = e.srv.StoreLog(); err != nil {
			t.Fatal(err)
		}
		if !compacting && n <= 10 {
			break
		}
		clock.SleepWall(t.Context(), time.Millisecond)
	}
	if n > 10 {
		t.Fatalf("the log holds %d records past a threshold of 10", n)
	}
	// The actions submitted since the last compaction are in its log;
	// one more leaves only what is kept.
	if err := e.srv.CompactStore(); err != nil {
		t.Fatal(err)
	}
	before := e.everything()
	e.srv.Close()

	recs := storeRecords(t, dir)
	if len(recs) == 0 || !slicesHasKind(recs, "snapshot") {
		t.Fatalf("no snapshot in the store's log: %d records", len(recs))
	}
	kept := 0
	for _, id := range ids {
		in := false
		for _, r := range recs {
			in = in || bytes.Contains(r.Data, []byte(id))
		}
		shown := strings.Contains(before, id)
		switch {
		case shown && !in:
			t.Errorf("action %s is kept but not in the store", id)
		case !shown && in:
			t.Errorf("action %s was forgotten by retention but is still in the store", id)
		}
		if shown {
			kept++
		}
	}
	if kept != 2 {
		t.Errorf("%d actions kept, want 2 (RetainActions)", kept)
	}
	e = openPersistEmuWith(t, dir, e.tok, opts)
	defer e.srv.Close()
	if after := e.everything(); after != before {
		t.Fatalf("the state after a restart from the compacted store:\n%s\nwant\n%s", after, before)
	}
}

func slicesHasKind(recs []persist.Record, kind string) bool {
	for _, r := range recs {
		if r.Kind == kind {
			return true
		}
	}
	return false
}

// DataCompactAfter out of its bounds is refused, with the bounds.
func TestPersistCompactAfterBounds(t *testing.T) {
	for _, n := range []int{-1, emulator.MinDataCompactAfter - 1, emulator.MaxDataCompactAfter + 1} {
		_, err := emulator.New(emulator.Options{Fixtures: persistSet(t), Clock: clock.Manual, Data: t.TempDir(), DataCompactAfter: n})
		if err == nil || !strings.Contains(err.Error(), "out of bounds") {
			t.Errorf("DataCompactAfter %d: %v", n, err)
		}
	}
	e := openPersistEmuWith(t, t.TempDir(), "", func(o *emulator.Options) { o.DataCompactAfter = emulator.MinDataCompactAfter })
	e.srv.Close()
}

// A compaction while the emulator is in real time keeps what it
// acknowledged: the restarted store has every action.
func TestPersistCompactionRealClock(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmuWith(t, dir, "", func(o *emulator.Options) { o.Clock = clock.Real; o.TimeScale = 100 })
	var ids []string
	for i := range 4 {
		ids = append(ids, e.submit(e.machines()[i]))
	}
	if err := e.srv.CompactStore(); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, e.json("GET", "/api/machineactions", "", 200))
	e.srv.Close()
	recs := storeRecords(t, dir)
	if len(recs) < 2 || recs[len(recs)-1].Kind != "snapshot" && !slicesHasKind(recs, "snapshot") {
		t.Fatalf("no snapshot in the log: %v", recs)
	}
	var snap struct {
		State struct {
			Tenants []struct {
				Actions []struct{ ID string }
			}
		}
	}
	for _, r := range recs {
		if r.Kind == "snapshot" {
			if err := json.Unmarshal(r.Data, &snap); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := len(snap.State.Tenants[0].Actions); n != 4 {
		t.Fatalf("the snapshot holds %d actions, want 4", n)
	}
	e = openPersistEmuWith(t, dir, e.tok, func(o *emulator.Options) { o.Clock = clock.Real; o.TimeScale = 100 })
	defer e.srv.Close()
	list := e.json("GET", "/api/machineactions", "", 200)
	for _, id := range ids[:4] {
		if !strings.Contains(list, id) {
			t.Errorf("action %s is not there after the restart", id)
		}
	}
}

// TestPersistCompactionWaitsForTwiceTheState checks the amortization:
// after a compaction whose snapshot holds 30 actions, the log grows to
// 60 records (not the threshold of 10) before the next one starts.
func TestPersistCompactionWaitsForTwiceTheState(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmuWith(t, dir, "", func(o *emulator.Options) { o.DataCompactAfter = 10; o.RetainActions = 1000 })
	defer e.srv.Close()
	round := func(n int) {
		for i := range n {
			e.submit(e.machines()[i%4])
			e.json("POST", "/_emulator/clock/advance", `{"by":"1m"}`, 200)
		}
	}
	settled := func() int {
		for range 2000 {
			n, compacting, err := e.srv.StoreLog()
			if err != nil {
				t.Fatal(err)
			}
			if !compacting {
				return n
			}
			clock.SleepWall(t.Context(), time.Millisecond)
		}
		t.Fatal("a compaction did not end within 2 s")
		return 0
	}
	round(15)
	settled()
	if err := e.srv.CompactStore(); err != nil {
		t.Fatal(err)
	}
	head := settled() // the snapshot holds the 15 actions
	round(5)          // 10 records: past the threshold, not past 2 × 15
	if n := settled(); n != head+10 {
		t.Fatalf("after 10 records over a snapshot of 15 actions the log holds %d, want %d (no compaction yet)", n, head+10)
	}
	round(12) // 34 records since the snapshot: past 2 × 15
	if n := settled(); n >= head+34 {
		t.Fatalf("the log holds %d records after 34 changes over a snapshot of 15 actions: no compaction", n)
	}
}
