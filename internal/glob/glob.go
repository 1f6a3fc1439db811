// Package glob is the path pattern of the control plane: the journal's
// path filter and the fault rules' path match use it, so that a pattern
// means the same in both. In a pattern, '*' stands for any run of
// characters, '/' included ("/api/machines/*" matches
// "/api/machines/m1/runliveresponse"); every other character, '?' and '['
// too, stands for itself and matches case-insensitively (Unicode simple
// folding, as strings.EqualFold).
package glob

import (
	"strings"
	"unicode/utf8"
)

// Match reports whether s matches pattern. The empty pattern matches the
// empty string only; callers that mean "any path" by an empty pattern test
// for it first. Match allocates nothing, and runs in O(len(pattern) *
// len(s)) time at worst.
func Match(pattern, s string) bool {
	if isASCII(pattern) && isASCII(s) {
		return matchASCII(pattern, s)
	}
	return matchFold(pattern, s)
}

// matchASCII is Match for ASCII pattern and s: the text before the first
// star is a prefix of s, the text after the last star a suffix, and the
// pieces between stars appear in order, each at its leftmost place (the
// leftmost place never loses a match that a later one would find).
func matchASCII(pattern, s string) bool {
	first := strings.IndexByte(pattern, '*')
	if first < 0 {
		return len(pattern) == len(s) && equalFoldASCII(pattern, s)
	}
	last := strings.LastIndexByte(pattern, '*')
	prefix, suffix := pattern[:first], pattern[last+1:]
	if len(s) < len(prefix)+len(suffix) || !equalFoldASCII(prefix, s[:len(prefix)]) || !equalFoldASCII(suffix, s[len(s)-len(suffix):]) {
		return false
	}
	s = s[len(prefix) : len(s)-len(suffix)]
	middle := ""
	if first < last {
		middle = pattern[first+1 : last]
	}
	for middle != "" {
		piece, rest, _ := strings.Cut(middle, "*")
		middle = rest
		i := indexFoldASCII(s, piece)
		if i < 0 {
			return false
		}
		s = s[i+len(piece):]
	}
	return true
}

// matchFold is Match for any pattern and s: case folding may pair runes of
// different lengths in bytes (the Kelvin sign and k), so it walks both rune
// by rune, backtracking only to the last star.
func matchFold(pattern, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0 // resume points after the last star
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			if pattern[px] == '*' {
				starPx, starSx = px, sx
				px++
				continue
			}
			if sx < len(s) {
				_, pn := utf8.DecodeRuneInString(pattern[px:])
				_, sn := utf8.DecodeRuneInString(s[sx:])
				if strings.EqualFold(pattern[px:px+pn], s[sx:sx+sn]) {
					px += pn
					sx += sn
					continue
				}
			}
		}
		// Mismatch: let the last star swallow one more character.
		if starPx >= 0 && starSx < len(s) {
			_, sn := utf8.DecodeRuneInString(s[starSx:])
			starSx += sn
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

// isASCII reports whether s has only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// equalFoldASCII reports whether the ASCII strings a and b, of the same
// length, are equal but for the case of letters.
func equalFoldASCII(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// indexFoldASCII returns the index of the first instance of piece in s,
// ignoring the case of ASCII letters, or -1.
func indexFoldASCII(s, piece string) int {
	for i := 0; i+len(piece) <= len(s); i++ {
		if equalFoldASCII(piece, s[i:i+len(piece)]) {
			return i
		}
	}
	return -1
}

// lowerASCII returns the lower case of the ASCII letter c, else c.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
