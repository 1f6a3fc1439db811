package guid

import (
	"strings"
	"testing"
)

func TestParseFormatRoundTrip(t *testing.T) {
	for range 1000 {
		s := New()
		b, ok := Parse(s)
		if !ok {
			t.Fatalf("Parse(%q) refused a GUID New made", s)
		}
		if got := Format(b); got != s {
			t.Fatalf("Format(Parse(%q)) = %q", s, got)
		}
		if up, ok := Parse(strings.ToUpper(s)); !ok || up != b {
			t.Fatalf("Parse(%q) = %x %v, want %x", strings.ToUpper(s), up, ok, b)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	for _, s := range []string{
		"",
		"0d4bd7e3-4e8d-4b2a-8a2d-3f1c9a0b7e2",     // 35
		"0d4bd7e3-4e8d-4b2a-8a2d-3f1c9a0b7e2ff",   // 37
		"0d4bd7e3x4e8d-4b2a-8a2d-3f1c9a0b7e2f",    // no dash
		"0d4bd7e34e8d-4b2a-8a2d-3f1c9a0b7e2f-",    // dash moved
		"0d4bd7e3-4e8d-4b2a-8a2d-3f1c9a0b7e2g",    // not hex
		"{d4bd7e3-4e8d-4b2a-8a2d-3f1c9a0b7e2f}",   // braces
		"0d4bd7e3-4e8d-4b2a-8a2d-3f1c9a0b7\u00e9", // not ASCII
	} {
		if b, ok := Parse(s); ok {
			t.Errorf("Parse(%q) = %x, want refused", s, b)
		}
	}
}

// TestNewBytes checks that NewBytes makes version 4, RFC 4122 variant
// GUIDs, different each time, as New writes them.
func TestNewBytes(t *testing.T) {
	seen := map[[16]byte]bool{}
	for range 1000 {
		b := NewBytes()
		if b[6]>>4 != 4 || b[8]>>6 != 2 {
			t.Fatalf("NewBytes() = %x: not version 4, variant 10", b)
		}
		if seen[b] {
			t.Fatalf("NewBytes() made %x twice", b)
		}
		seen[b] = true
		if s := New(); s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
			t.Fatalf("New() = %s: not version 4, variant 10", s)
		}
	}
}
