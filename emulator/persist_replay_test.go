package emulator_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/persist"
)

// TestPersistReplayKeepsALateStepAfterTheChange writes the record a real
// clock leaves when a change comes just after a step was due but before
// it ran (the record's Fired before the step): a cancel of an action whose
// last step was due before the cancel's instant. The replay must run the
// change first, as it ran, and keep the cancel; replaying the step first
// would finish the action and refuse the cancel.
func TestPersistReplayKeepsALateStepAfterTheChange(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	id := e.submit(e.machines()[0])
	var created struct {
		CreationDateTimeUtc time.Time
	}
	if err := json.Unmarshal([]byte(e.json("GET", "/api/machineactions/"+id, "", 200)), &created); err != nil {
		t.Fatal(err)
	}
	tok := e.tok
	e.srv.Close()

	st, err := persist.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := storeRecordsOf(t, st)
	var submit struct {
		Caller json.RawMessage `json:"caller"`
	}
	if err := json.Unmarshal(recs[len(recs)-1].Data, &submit); err != nil || submit.Caller == nil {
		t.Fatalf("the submit's record: %s, %v", recs[len(recs)-1].Data, err)
	}
	data, _ := json.Marshal(map[string]any{"caller": submit.Caller, "id": id, "comment": "late"})
	p, err := st.Append(persist.Record{
		At:    created.CreationDateTimeUtc.Add(time.Minute), // past every step of the action (done in about 10 s)
		Fired: created.CreationDateTimeUtc.Add(time.Second), // none of them had run
		Kind:  "cancel", Data: data,
	})
	if err == nil {
		err = p.Wait()
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	e = openPersistEmu(t, dir, tok)
	defer e.srv.Close()
	if b := e.json("GET", "/api/machineactions/"+id, "", 200); !strings.Contains(b, `"status":"Cancelled"`) {
		t.Fatalf("the cancel made before the late steps ran was not replayed before them: %s", b)
	}
}

// storeRecordsOf returns the log of the open store st.
func storeRecordsOf(t *testing.T, st *persist.Store) []persist.Record {
	t.Helper()
	var recs []persist.Record
	if err := st.Replay(func(r persist.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestPersistRecordsWhatHadFired checks that a change's record keeps the
// instant up to which the clock's timers had fired: on a manual clock,
// the end of the last advance.
func TestPersistRecordsWhatHadFired(t *testing.T) {
	dir := t.TempDir()
	e := openPersistEmu(t, dir, "")
	e.json("POST", "/_emulator/clock/advance", `{"by":"1m"}`, 200)
	e.submit(e.machines()[0])
	e.srv.Close()
	st, err := persist.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs := storeRecordsOf(t, st)
	last := recs[len(recs)-1]
	if last.Kind != "submit" || !last.Fired.Truncate(100*time.Nanosecond).Equal(last.At) {
		t.Fatalf("the submit after an advance: kind %s, at %v, fired %v; want fired at the advance's end", last.Kind, last.At, last.Fired)
	}
}
