package odata

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// dateTimeLayouts are the accepted date-time literal forms, tried in order.
// A literal without an offset is taken as UTC.
var dateTimeLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02Z07:00",
	"2006-01-02",
}

// parseDateTime parses an OData date-time literal such as
// 2024-01-01T00:00:00Z, 2024-01-01T02:00:00.1234567+02:00 or 2018-08-01Z.
func parseDateTime(s string) (time.Time, bool) {
	if len(s) < len("2006-01-02") || !isDigit(s[0]) {
		return time.Time{}, false
	}
	s = strings.ToUpper(s) // accept 't' and 'z'
	for _, layout := range dateTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// compareFold compares a and b rune by rune after mapping each rune to
// lower case, without allocating. It returns -1, 0 or +1.
func compareFold(a, b string) int {
	for a != "" && b != "" {
		var ra, rb rune
		if c := a[0]; c < utf8.RuneSelf {
			ra, a = rune(c), a[1:]
		} else {
			var n int
			ra, n = utf8.DecodeRuneInString(a)
			a = a[n:]
		}
		if c := b[0]; c < utf8.RuneSelf {
			rb, b = rune(c), b[1:]
		} else {
			var n int
			rb, n = utf8.DecodeRuneInString(b)
			b = b[n:]
		}
		ra, rb = unicode.ToLower(ra), unicode.ToLower(rb)
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	default:
		return 1
	}
}

// hasPrefixFold reports whether s begins with prefix, ignoring case.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// hasSuffixFold reports whether s ends with suffix, ignoring case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// foldNeedle is the argument of contains(), made ready to be found in a
// string ignoring case in time linear in both (Knuth–Morris–Pratt over
// lower-cased runes, as compareFold compares them), without allocating.
type foldNeedle struct {
	runes []rune // the argument, each rune lower-cased
	fail  []int  // fail[i]: length of the longest proper border of runes[:i+1]
}

func newFoldNeedle(sub string) *foldNeedle {
	f := &foldNeedle{}
	for _, r := range sub {
		f.runes = append(f.runes, unicode.ToLower(r))
	}
	f.fail = make([]int, len(f.runes))
	for i, k := 1, 0; i < len(f.runes); i++ {
		for k > 0 && f.runes[i] != f.runes[k] {
			k = f.fail[k-1]
		}
		if f.runes[i] == f.runes[k] {
			k++
		}
		f.fail[i] = k
	}
	return f
}

// in reports whether the needle is within s, ignoring case.
func (f *foldNeedle) in(s string) bool {
	if len(f.runes) == 0 {
		return true
	}
	k := 0
	for _, r := range s {
		r = unicode.ToLower(r)
		for k > 0 && f.runes[k] != r {
			k = f.fail[k-1]
		}
		if f.runes[k] == r {
			k++
			if k == len(f.runes) {
				return true
			}
		}
	}
	return false
}

// compareInt compares a and b, returning -1, 0 or +1.
func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
