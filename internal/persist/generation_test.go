package persist

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBeginQueuedStartsANewLogInOrder(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin([]byte(`{"g":1}`), Start{At: time.Unix(1, 0), Mode: "manual", Scale: 1}, []byte("k"), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	rec := func(kind string) Record { return Record{At: time.Unix(5, 0), Kind: kind, Data: []byte(`{}`)} }
	var ps []*Pending
	for _, k := range []string{"old1", "old2"} {
		p, err := s.Append(rec(k))
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	p, err := s.BeginQueued(Generation{Fixtures: []byte(`{"g":2}`), Start: Start{At: time.Unix(9, 0), Mode: "real", Scale: 2},
		TokenKey: []byte("k2"), LinkKey: make([]byte, 32), Records: []Record{rec("head")}})
	if err != nil {
		t.Fatal(err)
	}
	ps = append(ps, p)
	if p, err = s.Append(rec("new")); err != nil {
		t.Fatal(err)
	}
	ps = append(ps, p)
	for _, p := range ps {
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var kinds []string
	if err := s.Replay(func(r Record) error {
		kinds = append(kinds, r.Kind)
		if r.Seq != uint64(len(kinds)) {
			t.Errorf("record %s: seq %d", r.Kind, r.Seq)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(kinds, ",") != "head,new" {
		t.Fatalf("the log of the new generation: %v, want head,new", kinds)
	}
	st, err := s.State()
	if err != nil || st.Generation != 2 || string(st.Fixtures) != `{"g":2}` || string(st.TokenKey) != "k2" || st.Start.Mode != "real" || !st.Start.At.Equal(time.Unix(9, 0)) {
		t.Fatalf("state: %+v %v", st, err)
	}
}

func TestFailedWriteFailsEveryLaterChange(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Begin([]byte(`{}`), Start{At: time.Unix(1, 0), Mode: "manual", Scale: 1}, nil, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	disk := errors.New("disk full")
	s.FailWrites(disk)
	p, err := s.Append(Record{At: time.Unix(2, 0), Kind: "k", Data: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); !errors.Is(err, disk) || !strings.Contains(err.Error(), s.Path()) {
		t.Fatalf("the failed write: %v", err)
	}
	s.FailWrites(nil) // the disk has room again: the store stays failed
	if err := s.Ready(); !errors.Is(err, disk) {
		t.Fatalf("Ready after a failed write: %v", err)
	}
	if _, err := s.Append(Record{At: time.Unix(3, 0), Kind: "k", Data: []byte(`{}`)}); !errors.Is(err, disk) {
		t.Fatalf("an append after a failed write: %v", err)
	}
}
