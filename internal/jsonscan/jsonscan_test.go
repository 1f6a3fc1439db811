package jsonscan_test

import (
	"encoding/json"
	"testing"

	"github.com/mdelive/mde-emulator/internal/jsonscan"
)

func TestSpaceAndNext(t *testing.T) {
	c := jsonscan.Cursor{Data: []byte(" \t\r\n{ } x")}
	c.Space()
	if !c.Next('{') || c.Pos != 5 {
		t.Fatalf("after the white space and '{', Pos = %d, want 5", c.Pos)
	}
	if c.Next('}') {
		t.Fatal("Next('}') stepped over a space")
	}
	c.Space()
	if !c.Next('}') || c.Next('}') {
		t.Fatal("Next('}') did not read exactly one '}'")
	}
	c.Space()
	c.Space()
	if c.Pos != 8 || c.Next('y') || c.Pos != 8 {
		t.Fatalf("Pos = %d, want 8, unmoved by a byte not there", c.Pos)
	}
	end := jsonscan.Cursor{Data: []byte("  ")}
	end.Space()
	if end.Pos != 2 || end.Next(' ') {
		t.Fatal("at the end, Space or Next read past it")
	}
}

func TestLiteral(t *testing.T) {
	for _, tc := range []struct {
		in   string
		lit  string
		ok   bool
		rest int
	}{
		{"null,", "null", true, 4},
		{"nul", "null", false, 0},
		{"nulL", "null", false, 0},
		{"true", "true", true, 4},
		{"", "false", false, 0},
	} {
		c := jsonscan.Cursor{Data: []byte(tc.in)}
		if ok := c.Literal(tc.lit); ok != tc.ok || c.Pos != tc.rest {
			t.Errorf("Literal(%q) on %q = %v at %d, want %v at %d", tc.lit, tc.in, ok, c.Pos, tc.ok, tc.rest)
		}
	}
}

// TestPlainString holds PlainString to encoding/json: what it accepts
// decodes to its bytes, and it refuses every string with an escape, a
// control character or a byte from 0x80 up.
func TestPlainString(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`"minidump.ps1",`, true},
		{`""`, true},
		{`"C:\\temp"`, false},
		{`"tab	"`, false},
		{`"caf` + "\xc3\xa9" + `"`, false},
		{`"unterminated`, false},
		{`x"`, false},
		{``, false},
	} {
		c := jsonscan.Cursor{Data: []byte(tc.in)}
		b, ok := c.PlainString()
		if ok != tc.ok {
			t.Errorf("PlainString(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			if c.Pos != 0 {
				t.Errorf("PlainString(%q) refused but moved to %d", tc.in, c.Pos)
			}
			continue
		}
		var want string
		if err := json.Unmarshal([]byte(tc.in[:c.Pos]), &want); err != nil || string(b) != want {
			t.Errorf("PlainString(%q) = %q up to %d; encoding/json: %q, %v", tc.in, b, c.Pos, want, err)
		}
	}
}

// FuzzPlainString checks, on any input, that an accepted string is a JSON
// string that decodes to the bytes returned.
func FuzzPlainString(f *testing.F) {
	for _, s := range []string{`"a"`, `"a\"b"`, `"` + "\x7f" + `"`, `"é"`, `""x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c := jsonscan.Cursor{Data: []byte(in)}
		b, ok := c.PlainString()
		if !ok {
			return
		}
		var want string
		if err := json.Unmarshal([]byte(in[:c.Pos]), &want); err != nil || want != string(b) {
			t.Fatalf("PlainString(%q) = %q, but encoding/json reads %q: %q, %v", in, b, in[:c.Pos], want, err)
		}
	})
}
