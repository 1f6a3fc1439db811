package persist

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestAppendIsDurableAndReplaysInOrder(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin([]byte(`{"tenants":[]}`), Start{At: time.Unix(1, 0), Mode: "manual", Scale: 1}, []byte("k"), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	var ps []*Pending
	for i := range 100 {
		p, err := s.Append(Record{At: time.Unix(int64(i), 0), Kind: "k", Data: []byte(`{"i":` + string(rune('0'+i%10)) + `}`)})
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if err := p.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	if err := s.Replay(func(r Record) error {
		if r.At.Unix() != int64(n) || r.Seq != uint64(n+1) {
			t.Errorf("record %d: at %v seq %d", n, r.At, r.Seq)
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 100 {
		t.Fatalf("replayed %d records, want 100", n)
	}
	st, err := s.State()
	if err != nil || st.Generation != 1 || string(st.TokenKey) != "k" {
		t.Fatalf("state: %+v %v", st, err)
	}
}

func TestNewerVersionRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte("99")) })
	db.Close()
	_, err = Open(dir)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("a store of format 99: %v", err)
	}
}

func TestDamagedRecordRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Append(Record{Kind: "k", Data: []byte(`{}`)})
	p.Wait()
	s.Close()
	path := filepath.Join(dir, FileName)
	db, _ := bolt.Open(path, 0o600, nil)
	db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLog)
		k, v := b.Cursor().First()
		v = append([]byte(nil), v...)
		v[len(v)-2] ^= 1
		return b.Put(k, v)
	})
	db.Close()
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Replay(func(Record) error { return nil })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("a damaged record: %v", err)
	}
}

func TestFullQueueAndClosedRefuse(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.Append(Record{Kind: "k"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after Close: %v", err)
	}
	if err := s.Ready(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ready after Close: %v", err)
	}
}
