package persist

import (
	"testing"
	"time"
)

// TestMarkQueuedKeepsTheOrderOfGenerations checks that a mark queued before
// a generation is dropped by it, that one queued after it is kept with its
// limits, and that the mark's records before it stay in the log.
func TestMarkQueuedKeepsTheOrderOfGenerations(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin([]byte(`{"g":1}`), Start{At: time.Unix(1, 0), Mode: "manual", Scale: 1}, []byte("k"), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	wait := func(p *Pending, err error) {
		t.Helper()
		if err == nil {
			err = p.Wait()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	wait(s.Append(Record{At: time.Unix(2, 0), Kind: "a", Data: []byte(`{}`)}))
	wait(s.MarkQueued(Mark{Emulated: time.Unix(3, 0).UTC(), Limits: []byte(`[1]`)}))
	st, err := s.State()
	if err != nil || !st.Mark.Emulated.Equal(time.Unix(3, 0)) || string(st.Mark.Limits) != `[1]` {
		t.Fatalf("after a mark: %+v, %v", st.Mark, err)
	}
	// Queued in this order without waiting: the generation drops the first
	// mark, the second stays.
	p1, err := s.MarkQueued(Mark{Emulated: time.Unix(4, 0).UTC(), Limits: []byte(`[2]`)})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := s.BeginQueued(Generation{Fixtures: []byte(`{"g":2}`), Start: Start{At: time.Unix(5, 0), Mode: "manual", Scale: 1}, TokenKey: []byte("k"), LinkKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	wait(p1, nil)
	wait(p2, nil)
	if st, err = s.State(); err != nil || !st.Mark.Emulated.IsZero() || st.Mark.Limits != nil {
		t.Fatalf("a mark queued before a generation survived it: %+v, %v", st.Mark, err)
	}
	wait(s.MarkQueued(Mark{Emulated: time.Unix(6, 0).UTC(), Limits: []byte(`[3]`)}))
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err = s.State(); err != nil || !st.Mark.Emulated.Equal(time.Unix(6, 0)) || string(st.Mark.Limits) != `[3]` {
		t.Fatalf("after a restart: %+v, %v", st.Mark, err)
	}
}
