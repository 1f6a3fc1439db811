package state

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// The gates a command meets on the device, when it runs: the tenant's
// unsigned-script switch and PutFile's size limit by platform. Both make
// the command Failed (its text in errors[]) rather than refuse the submit,
// as GetFile's 3 GB limit does: they are the device's checks, and the
// library file may change between the submit and the run. The service's
// texts are not documented; these are the emulator's.

// signatureBlock begins the Authenticode signature block that
// Set-AuthenticodeSignature appends to a PowerShell script.
var signatureBlock = []byte("# SIG # Begin signature block")

// signedScript reports whether f counts as signed: the fixture says so, or
// its content carries a signature block (the emulator does not verify it).
func signedScript(f *LibraryFile) bool {
	return f.Signed || bytes.Contains(f.Content, signatureBlock)
}

// scriptRefused returns why a RunScript of f fails before the script runs,
// or "": an unsigned PowerShell script in a tenant that does not allow
// unsigned scripts. Signatures are checked for PowerShell only (the live
// response page), so other scripts (Bash) always run.
func (t *Tenant) scriptRefused(f *LibraryFile) string {
	if t.settings.UnsignedScriptsAllowed() || !strings.HasSuffix(strings.ToLower(f.FileName), ".ps1") || signedScript(f) {
		return ""
	}
	return fmt.Sprintf("Script %s is not signed, and the tenant does not allow unsigned scripts (advanced feature: live response unsigned script execution).", f.FileName)
}

// putFileRefused returns why a PutFile of f to a machine whose fixture is
// info fails, or "": a file over the limit of its platform (300 MB on Windows, 10 MB elsewhere, unless
// the fixture says otherwise).
func (t *Tenant) putFileRefused(info *fixture.Machine, f *LibraryFile) string {
	limit := t.settings.PutFileLimit(info.OSPlatform)
	if int64(len(f.Content)) <= limit {
		return ""
	}
	kind := "other platforms"
	if isWindows(info.OSPlatform) {
		kind = "Windows"
	}
	return fmt.Sprintf("File %s is %d bytes, over the PutFile limit of %s on %s.", f.FileName, len(f.Content), formatLimit(limit), kind)
}

// formatLimit writes a byte limit, in MB too when it is a whole number of
// them: "10 MB (10485760 bytes)", "1000 bytes".
func formatLimit(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB (%d bytes)", n>>20, n)
	}
	return fmt.Sprintf("%d bytes", n)
}
