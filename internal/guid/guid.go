// Package guid makes the random GUIDs the service uses as ids.
package guid

import (
	"crypto/rand"
	"encoding/hex"
)

// New returns a random version 4 GUID in its canonical text form.
func New() string { return Format(NewBytes()) }

// NewBytes returns a random version 4 GUID as its 16 bytes.
func NewBytes() [16]byte {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// Parse reads a GUID in its canonical text form (8-4-4-4-12 hexadecimal
// digits, either case) into its 16 bytes, and reports whether s was one:
// Format's inverse.
func Parse(s string) (b [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return b, false
	}
	for _, f := range [...]struct{ to, from, end int }{{0, 0, 8}, {4, 9, 13}, {6, 14, 18}, {8, 19, 23}, {10, 24, 36}} {
		if _, err := hex.Decode(b[f.to:], []byte(s[f.from:f.end])); err != nil {
			return [16]byte{}, false
		}
	}
	return b, true
}

// Format writes 16 bytes in a GUID's canonical text form.
func Format(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
