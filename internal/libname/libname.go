// Package libname holds the one rule for live response library file
// names, used by the API (upload, delete) and by the fixture loader alike.
//
// A library file name is 1 to MaxLength ASCII letters, digits, '-', '_'
// and '.' (docs/service-contract.md §7), so it has no path part ('/', '\', ':'),
// is not made of dots only ('.', '..', '...'), does not end with a dot
// (Windows drops a trailing dot, so "x.ps1." would land as "x.ps1"), and
// is not a reserved
// Windows device name (CON, PRN, AUX, NUL, COM1-COM9, LPT1-LPT9), in any
// letter case, with or without an extension ("nul.txt", "Con.tar.gz"): the
// file is written to a Windows machine under that name by PutFile.
package libname

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxLength is the longest library file name, in bytes (all its
// characters are ASCII): 255, the longest file name NTFS and most Unix
// file systems take.
const MaxLength = 255

// reserved are the Windows device names, lower-cased.
var reserved = map[string]bool{"con": true, "prn": true, "aux": true, "nul": true}

func init() {
	for d := '1'; d <= '9'; d++ {
		reserved["com"+string(d)] = true
		reserved["lpt"+string(d)] = true
	}
}

// Check returns nil when name is a valid library file name, or an error
// whose message says which rule it breaks, in words that complete
// "library file name X …" style messages, such as
// "may not be a Windows device name (CON)". It quotes at most a short
// prefix of name.
func Check(name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case len(name) > MaxLength:
		return fmt.Errorf("is %d characters long; the limit is %d", len(name), MaxLength)
	case strings.ContainsAny(name, `/\:`):
		return errors.New(`may not hold a path ('/', '\' or ':'); give the file's name only`)
	}
	for i := 0; i < len(name); i++ {
		if !allowed(name[i]) {
			return errors.New("may contain only letters, digits, '-', '_' and '.'")
		}
	}
	if strings.Trim(name, ".") == "" {
		return errors.New("may not be made of dots only")
	}
	stem, _, _ := strings.Cut(name, ".")
	if reserved[strings.ToLower(stem)] {
		return fmt.Errorf("may not be a Windows device name (%s), with or without an extension", strings.ToUpper(stem))
	}
	if strings.HasSuffix(name, ".") {
		return errors.New("may not end with '.' (Windows drops a trailing dot)")
	}
	return nil
}

func allowed(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.'
}

// Decode undoes the percent-encoding of a name taken from a URL path or a
// multipart file name ("Get%2DProcesses.ps1" is "Get-Processes.ps1"),
// once. A name that is not valid percent-encoding is returned as it is
// (Check then refuses its '%').
func Decode(name string) string {
	if !strings.Contains(name, "%") {
		return name
	}
	d, err := url.PathUnescape(name)
	if err != nil {
		return name
	}
	return d
}

// Quote returns name for an error message: quoted, and cut to its first
// 64 bytes when longer.
func Quote(name string) string {
	if len(name) > 64 {
		return fmt.Sprintf("%q… (%d bytes)", name[:64], len(name))
	}
	return fmt.Sprintf("%q", name)
}
