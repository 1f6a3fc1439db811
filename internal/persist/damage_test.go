package persist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTruncatedStoreRefused cuts a store at many lengths, page-aligned and
// not, and expects each to be refused with an error naming the file (or,
// when what was cut was never used, opened whole): never a crash. bbolt
// maps the file, and a page past the end of a truncated file is a fault
// (SIGBUS), which the store turns into an error (debug.SetPanicOnFault).
func TestTruncatedStoreRefused(t *testing.T) {
	src := t.TempDir()
	s, err := Open(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Begin([]byte(`{"g":1}`), Start{At: time.Unix(1, 0), Mode: "manual", Scale: 1}, []byte("k"), make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		p, err := s.Append(Record{At: time.Unix(int64(2+i), 0), Kind: "submit", Data: []byte(`{"id":"` + strings.Repeat("x", 200) + `"}`)})
		if err == nil {
			err = p.Wait()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	whole, err := os.ReadFile(filepath.Join(src, FileName))
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for n := 4096; n < len(whole); n += 4096 * 3 {
		for _, cut := range []int{n, n + 1000} {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, whole[:cut], 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir)
			if err == nil {
				_, err = s.State()
				if err == nil {
					err = s.Replay(func(Record) error { return nil })
				}
				s.Close()
			}
			if err != nil {
				if !strings.Contains(err.Error(), path) {
					t.Errorf("cut at %d of %d: %v, without the file's name", cut, len(whole), err)
				}
				refused++
			}
		}
	}
	if refused == 0 {
		t.Fatalf("no cut of a %d-byte store was refused", len(whole))
	}
}
