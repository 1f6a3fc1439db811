package intern_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/mdelive/mde-emulator/internal/intern"
)

func TestTableSharesRepeatedStrings(t *testing.T) {
	var tab intern.Table
	a := tab.String([]byte("minidump.ps1"))
	b := tab.String([]byte("minidump.ps1"))
	if a != "minidump.ps1" || b != a {
		t.Fatalf("String gave %q and %q", a, b)
	}
	if unsafe.StringData(a) != unsafe.StringData(b) {
		t.Fatal("the same short string came back as two copies")
	}
	if p, q := tab.Pointer([]byte("x")), tab.Pointer([]byte("x")); p != q || *p != "x" {
		t.Fatalf("Pointer gave %p (%q) and %p (%q), want one pointer", p, *p, q, *q)
	}
}

func TestTableKeepsNoLongString(t *testing.T) {
	var tab intern.Table
	long := []byte(strings.Repeat("a", intern.MaxLen+1))
	a, b := tab.String(long), tab.String(long)
	if a != string(long) || b != a {
		t.Fatal("a long string came back changed")
	}
	if unsafe.StringData(a) == unsafe.StringData(b) {
		t.Fatal("a string longer than MaxLen was kept")
	}
	long[0] = 'b'
	if a[0] != 'a' {
		t.Fatal("the string shares the caller's bytes")
	}
}

// TestTableIsBounded puts 50 times more distinct strings through a table
// than it has slots: every answer is right, and it holds at most Slots.
// Looked up again in reverse order, the strings it still holds come back
// as the pointers first returned (a lookup that finds its string stores
// nothing), one per slot at most; a miss meanwhile may replace one of
// them, so somewhat fewer come back than it held.
func TestTableIsBounded(t *testing.T) {
	var tab intern.Table
	n := 50 * intern.Slots
	first := make([]*string, n)
	for i := range n {
		want := fmt.Sprintf("value-%d", i)
		first[i] = tab.Pointer([]byte(want))
		if *first[i] != want {
			t.Fatalf("Pointer(%q) = %q", want, *first[i])
		}
	}
	held := 0
	for i := n - 1; i >= 0; i-- {
		if tab.Pointer([]byte(fmt.Sprintf("value-%d", i))) == first[i] {
			held++
		}
	}
	if held < intern.Slots/2 || held > intern.Slots {
		t.Fatalf("the table held %d of %d strings, want at most %d and nearly that many", held, n, intern.Slots)
	}
}

func TestTableConcurrent(t *testing.T) {
	var tab intern.Table
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20000 {
				want := fmt.Sprintf("v%d", (i*7+g)%3000)
				if got := tab.String([]byte(want)); got != want {
					t.Errorf("String(%q) = %q", want, got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkTableHit(b *testing.B) {
	var tab intern.Table
	v := []byte("OfficeClickToRun")
	tab.String(v)
	b.ReportAllocs()
	for b.Loop() {
		tab.String(v)
	}
}
