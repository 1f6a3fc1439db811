package persist

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// setVersion writes v as the format version of the closed store in dir.
func setVersion(t *testing.T, dir, v string) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte(v)) }); err != nil {
		t.Fatal(err)
	}
}

// version reads the format version of the closed store in dir.
func version(t *testing.T, dir string) string {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	db.View(func(tx *bolt.Tx) error { v = string(tx.Bucket(bucketMeta).Get(keyVersion)); return nil })
	return v
}

// TestVersion1Migrated opens a store of format 1 holding a generation and
// records: it is migrated to the current format, its state and log kept.
func TestVersion1Migrated(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin([]byte(`{"g":1}`), Start{At: time.Unix(1, 0), Mode: "manual", Scale: 1}, []byte("k"), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	p, err := s.Append(Record{At: time.Unix(2, 0), Kind: "submit", Data: []byte(`{"id":"a"}`)})
	if err == nil {
		err = p.Wait()
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Format 1's layout: the clock mark in the meta bucket, no mark bucket.
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	mark := `{"emulated":"2026-01-01T00:00:03Z","wall":"2026-01-01T00:00:04Z"}`
	err = db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketMark); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(keyClockMark, []byte(mark))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	setVersion(t, dir, "1")

	if s, err = Open(dir); err != nil {
		t.Fatalf("a store of format 1: %v", err)
	}
	st, err := s.State()
	if err != nil || st.Generation != 1 || string(st.Fixtures) != `{"g":1}` {
		t.Fatalf("state after the migration: %+v, %v", st, err)
	}
	if want := time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC); !st.Mark.Emulated.Equal(want) {
		t.Fatalf("the clock mark after the migration: %+v, want %v", st.Mark, want)
	}
	if err := s.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keyClockMark) != nil {
			t.Error("the clock mark is still in the meta bucket")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	if err := s.Replay(func(r Record) error { kinds = append(kinds, r.Kind); return nil }); err != nil || strings.Join(kinds, ",") != "submit" {
		t.Fatalf("log after the migration: %v, %v", kinds, err)
	}
	s.Close()
	if v := version(t, dir); v != "2" {
		t.Fatalf("format after the migration: %q, want 2", v)
	}
}

// TestVersionBeforeTheFirstRefused opens a store of format 0: no
// migration leads from it, so it is refused with the file's name.
func TestVersionBeforeTheFirstRefused(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	setVersion(t, dir, "0")
	_, err = Open(dir)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, FileName)) || !strings.Contains(err.Error(), "older than any") {
		t.Fatalf("a store of format 0: %v", err)
	}
	if v := version(t, dir); v != "0" {
		t.Fatalf("the refused store's format became %q: it must be left as it is", v)
	}
}
