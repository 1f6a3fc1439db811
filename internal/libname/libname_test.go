package libname

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		want string // "" for valid; else a part of the error
	}{
		{"Get-Processes.ps1", ""},
		{"a", ""},
		{"x.tar.gz", ""},
		{".hidden", ""},
		{"a..b", ""},
		{"CONSOLE.ps1", ""},
		{"COM10", ""},
		{"LPT0.txt", ""},
		{"nul_1.txt", ""},
		{strings.Repeat("a", MaxLength), ""},
		{"", "is empty"},
		{strings.Repeat("a", MaxLength+1), "is 256 characters long; the limit is 255"},
		{strings.Repeat("a", 5000), "is 5000 characters long"},
		{".", "dots only"},
		{"..", "dots only"},
		{"...", "dots only"},
		{"script.ps1.", "may not end with '.'"},
		{"a.", "may not end with '.'"},
		{"a/b", "path"},
		{`a\b`, "path"},
		{"../x.ps1", "path"},
		{"C:x.ps1", "path"},
		{"my script.ps1", "only letters"},
		{"a%2Fb", "only letters"},
		{"é.ps1", "only letters"},
		{"a\x00b", "only letters"},
		{"CON", "device name (CON)"},
		{"con", "device name (CON)"},
		{"Nul.txt", "device name (NUL)"},
		{"nul.txt", "device name (NUL)"},
		{"aux.tar.gz", "device name (AUX)"},
		{"prn.", "device name (PRN)"},
		{"COM1", "device name (COM1)"},
		{"com9.ps1", "device name (COM9)"},
		{"LPT1", "device name (LPT1)"},
		{"lpt9.bat", "device name (LPT9)"},
	} {
		err := Check(tt.name)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Check(%.40q) = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Check(%.40q) = %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Get-Processes.ps1":   "Get-Processes.ps1",
		"Get%2DProcesses.ps1": "Get-Processes.ps1",
		"a%2Fb":               "a/b",
		"%2E%2E":              "..",
		"a%252Fb":             "a%2Fb", // once only
		"a%zzb":               "a%zzb", // not percent-encoding: kept, and refused by Check
		"100%":                "100%",
	} {
		if got := Decode(in); got != want {
			t.Errorf("Decode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQuote(t *testing.T) {
	t.Parallel()
	if got := Quote("a.ps1"); got != `"a.ps1"` {
		t.Errorf("Quote = %s", got)
	}
	if got := Quote(strings.Repeat("a", 5000)); len(got) > 100 || !strings.Contains(got, "(5000 bytes)") {
		t.Errorf("Quote of 5,000 bytes = %s", got)
	}
}

// FuzzCheck: Check never panics, accepts only names of the documented
// characters and length, and accepts the decoded form of a name only when
// it is valid itself.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"Get-Processes.ps1", ".", "..", "...", "CON", "nul.txt", "COM1.ps1", "LPT9", "a/b", `a\b`, "c:x",
		"Get%2DProcesses.ps1", "a%2Fb", "%2E%2E", "%", strings.Repeat("a", 5000), strings.Repeat("a", MaxLength),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := Check(name)
		if err == nil {
			if name == "" || len(name) > MaxLength || strings.Trim(name, ".") == "" {
				t.Fatalf("accepted %q", name)
			}
			for i := 0; i < len(name); i++ {
				if !allowed(name[i]) {
					t.Fatalf("accepted %q with %q", name, name[i])
				}
			}
		}
		if d := Decode(name); Check(d) == nil && (d == "" || len(d) > MaxLength) {
			t.Fatalf("accepted decoded %q", d)
		}
		if q := Quote(name); len(q) > 4*64+40 {
			t.Fatalf("Quote is %d bytes", len(q))
		}
	})
}
