package persist

import (
	"encoding/json"
	"testing"
	"time"
)

// TestGenerationKeepsItsMarkAndLogLen: a generation begun with a Mark
// keeps it (one begun without drops the one before), and LogLen counts
// the current log's records only.
func TestGenerationKeepsItsMarkAndLogLen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := Start{At: time.Unix(1, 0).UTC(), Mode: "manual", Scale: 1}
	if err := s.Begin([]byte(`{}`), start, []byte("k"), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	rec := Record{At: time.Unix(5, 0), Kind: "x", Data: []byte(`{}`)}
	for range 3 {
		p, err := s.Append(rec)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.LogLen(); err != nil || n != 3 {
		t.Fatalf("LogLen = %d, %v; want 3", n, err)
	}
	if err := s.MarkClock(Mark{Emulated: time.Unix(6, 0).UTC()}); err != nil {
		t.Fatal(err)
	}
	mark := Mark{Emulated: time.Unix(7, 0).UTC(), Wall: time.Unix(100, 0).UTC(), Limits: json.RawMessage(`[1]`)}
	p, err := s.BeginQueued(Generation{Fixtures: []byte(`{}`), Start: start, TokenKey: []byte("k"), LinkKey: make([]byte, 32),
		Records: []Record{rec}, Mark: &mark})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.LogLen(); err != nil || n != 1 {
		t.Fatalf("LogLen after the generation = %d, %v; want 1", n, err)
	}
	st, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Mark.Emulated.Equal(mark.Emulated) || string(st.Mark.Limits) != "[1]" {
		t.Fatalf("mark after a generation with one: %+v, want %+v", st.Mark, mark)
	}
	if err := s.Begin([]byte(`{}`), start, []byte("k"), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	if st, err = s.State(); err != nil || !st.Mark.Emulated.IsZero() {
		t.Fatalf("mark after a generation without one: %+v, %v", st.Mark, err)
	}
}
