package glob_test

import (
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/internal/glob"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		// Literals.
		{"/api/machines", "/api/machines", true},
		{"/api/machines", "/api/machines/", false},
		{"/api/machines", "/api/machinesx", false},
		{"/api/machines", "/api/machines/m1", false},
		{"/api/machines", "/api/machine", false},
		{"", "", true},
		{"", "/x", false},
		{"/a?", "/ab", false}, // '?' is a literal
		{"/a?", "/a?", true},
		{"/a[b]", "/ab", false}, // so is '['
		{"/a[b]", "/a[b]", true},

		// Stars cross slashes.
		{"/api/machines/*", "/api/machines/", true},
		{"/api/machines/*", "/api/machines", false},
		{"/api/machines/*", "/api/machines/m1/runliveresponse", true},
		{"/api/machineactions/*", "/api/machineactions/abc/GetLiveResponseResultDownloadLink(index=0)", true},
		{"/api/machineactions/*", "/api/machines/abc", false},
		{"/api/machines/*/runliveresponse", "/api/machines/m1/runliveresponse", true},
		{"/api/machines/*/runliveresponse", "/api/machines/a/b/runliveresponse", true},
		{"/api/machines/*/runliveresponse", "/api/machines/m1/runliveresponse/x", false},
		{"/api/machines/*/runliveresponse", "/api/machines/runliveresponse", false},
		{"*", "", true},
		{"*", "/anything/at/all", true},
		{"**", "/x", true},
		{"/api/**", "/api/", true},
		{"*/runliveresponse", "/api/machines/m1/runliveresponse", true},
		{"*/runliveresponse", "/api/machines/m1/runliveresponse/x", false},
		{"/api/*/m1/*", "/api/machines/m1/runliveresponse", true},
		{"/api/*/m1/*", "/api/machines/m2/runliveresponse", false},
		{"/api/*/*/x", "/api/a/b/x", true},
		{"/api/*/*/x", "/api/a/x", false},
		{"*a*b*c", "xaxbxcxc", true},
		{"*a*b*c", "xaxcxb", false},
		{"/a*a", "/a", false},
		{"/a*a", "/aa", true},
		{"/ab*ba", "/aba", false},
		{"a*a*a*a*b", strings.Repeat("a", 60), false},

		// Case.
		{"/API/Machines/*/RunLiveResponse", "/api/machines/m1/runliveresponse", true},
		{"/api/machines/*/runliveresponse", "/API/MACHINES/M1/RUNLIVERESPONSE", true},
		{"/ø/*", "/Ø/x", true},    // Unicode folding
		{"/k", "/\u212a", true},   // the Kelvin sign folds to k
		{"/\u212a", "/K", true},   // and back
		{"/é*", "/É\u00e9", true}, // a star after a multi-byte rune
		{"/*é", "/xxÉ", true},
	}
	for _, tt := range tests {
		if got := glob.Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		glob.Match("/API/*/m1/*", "/api/machines/m1/runliveresponse")
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times a call, want 0", allocs)
	}
}

func BenchmarkMatch(b *testing.B) {
	for _, bc := range []struct{ name, pattern, s string }{
		{"literal", "/api/machines", "/api/machines"},
		{"one star", "/api/machines/*/runliveresponse", "/api/machines/82fb3b669b460cf8436780882296d90371d68ad6/runliveresponse"},
		{"backtracking", "a*a*a*a*b", strings.Repeat("a", 60)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				glob.Match(bc.pattern, bc.s)
			}
		})
	}
}

// FuzzMatch holds the ASCII fast path to the rune-by-rune matcher.
func FuzzMatch(f *testing.F) {
	for _, seed := range [][2]string{
		{"/api/machines/*/runliveresponse", "/api/machines/m1/runliveresponse"},
		{"*a*b*c", "xaxbxcxc"},
		{"/ab*ba", "/aba"},
		{"a**", "A"},
		{"*", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if got, want := glob.Match(pattern, s), glob.MatchFold(pattern, s); got != want {
			t.Errorf("Match(%q, %q) = %v, the rune-by-rune matcher says %v", pattern, s, got, want)
		}
	})
}
