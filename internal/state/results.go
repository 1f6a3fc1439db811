package state

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/internal/guid"
)

// Result is what a completed command left to download: the result file of
// a RunScript, or the file a GetFile collected.
type Result struct {
	script *ScriptResult // RunScript
	file   []byte        // GetFile: the file's bytes
	path   string        // GetFile: where the file was on the machine
	// transcribe says the service wraps the RunScript's output in a
	// PowerShell transcript, whose id derives from the action's id and
	// the command's index. A kept Result names neither, so that one may
	// serve every action that ran a fixture's script alike
	// (LibraryFile.scriptResult): Action.Result returns a copy bound to
	// them (transcriptOf, index), whose Content wraps the output.
	transcribe   bool
	transcriptOf string
	index        int
	// held is the library file version whose bytes file shares (a
	// GetFile of a file PutFile copied): the result holds it in its
	// tenant's storage from when its command completes until the action
	// is forgotten. nil: the bytes are the fixture's or a snapshot's. A
	// snapshot does not keep it: a restored result holds nothing.
	held *LibraryFile
	// own says file's bytes are this result's alone (a queued outcome's
	// content, not a file the fixtures or the library hold): they count
	// in its action's footprint (Retention.MaxBytes). A restored result
	// is not own: a snapshot shares its contents.
	own bool
}

// ScriptResult is the JSON file a RunScript produces.
type ScriptResult struct {
	ScriptName   string `json:"script_name"`
	ExitCode     int    `json:"exit_code"`
	ScriptOutput string `json:"script_output"`
	ScriptErrors string `json:"script_errors"`
}

// transcriptPath is where the service's PowerShell host writes a
// RunScript's transcript on a Windows device, before the transcript's id
// and ".txt" (docs/service-contract.md §6: the results page's example).
const transcriptPath = `C:\ProgramData\Microsoft\Windows Defender Advanced Threat Protection\Temp\PSScriptOutputs\PSScript_Transcript_`

// trailingNULs is what follows a transcribed script's output: the
// documented example ends with three NUL characters.
const trailingNULs = "\x00\x00\x00"

// transcribes reports whether the service runs script on a device of
// platform under a PowerShell transcript, which wraps its output: a
// PowerShell script (.ps1, any case) on Windows. Other scripts, and every
// script on macOS and Linux (run by a shell, with no documented wrapping),
// keep their output as it is.
func transcribes(platform, script string) bool {
	return isWindows(platform) && strings.HasSuffix(strings.ToLower(script), ".ps1")
}

// transcriptID returns the id of the transcript of command index of the
// action actionID: a GUID derived from both, so unique per command.
func transcriptID(actionID string, index int) string {
	sum := sha256.Sum256([]byte(actionID + "/" + strconv.Itoa(index)))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return guid.Format(b)
}

// transcribed returns output as the service's script_output carries it
// for a transcribed script: the transcript's header line naming its file,
// the output (ended by a line break when it has none), then trailingNULs.
func transcribed(output, id string) string {
	var b strings.Builder
	b.Grow(len(transcriptPath) + len(id) + len(output) + 64)
	b.WriteString("Transcript started, output file is ")
	b.WriteString(transcriptPath)
	b.WriteString(id)
	b.WriteString(".txt\n")
	b.WriteString(output)
	if output != "" && !strings.HasSuffix(output, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString(trailingNULs)
	return b.String()
}

// newScriptResult returns the Result of a RunScript that produced s,
// transcribed or not, the two in one allocation.
func newScriptResult(s ScriptResult, transcribe bool) *Result {
	b := &struct {
		r Result
		s ScriptResult
	}{s: s}
	b.r.script, b.r.transcribe = &b.s, transcribe
	return &b.r
}

// boundTo returns r as command index of the action id reads it: a copy
// that names them when its output is transcribed, else r.
func (r *Result) boundTo(id string, index int) *Result {
	if !r.transcribe {
		return r
	}
	b := *r
	b.transcriptOf, b.index = id, index
	return &b
}

// scriptResult returns r's RunScript result, nil for none (r nil, or a
// GetFile's).
func (r *Result) scriptResult() *ScriptResult {
	if r == nil {
		return nil
	}
	return r.script
}

// ContentType returns the media type of the result's file:
// application/json for a RunScript, application/gzip for a GetFile.
func (r *Result) ContentType() string {
	if r.script != nil {
		return "application/json"
	}
	return "application/gzip"
}

// SizeHint returns about how many bytes Content will hold: the
// GetFile's file (gzip at its fastest adds little to what it cannot
// shrink), or the script's output and errors with the JSON and a
// transcript's wrapping around them.
func (r *Result) SizeHint() int64 {
	if s := r.script; s != nil {
		return int64(len(s.ScriptName)+len(s.ScriptOutput)+len(s.ScriptErrors)) + 1<<10
	}
	return int64(len(r.file)) + 1<<10
}

// Content returns the result's file: a RunScript's result as JSON, a
// GetFile's file gzipped under its base name, with modTime in the gzip
// header.
func (r *Result) Content(modTime time.Time) []byte {
	if r.script != nil {
		s := *r.script
		if r.transcriptOf != "" {
			s.ScriptOutput = transcribed(s.ScriptOutput, transcriptID(r.transcriptOf, r.index))
		}
		b, _ := json.Marshal(&s)
		return b
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Name = baseName(r.path)
	zw.ModTime = modTime
	_, _ = zw.Write(r.file)
	_ = zw.Close()
	return buf.Bytes()
}

// baseName returns the last element of a Windows or POSIX path.
func baseName(path string) string {
	if i := strings.LastIndexAny(path, `\/`); i >= 0 {
		return path[i+1:]
	}
	return path
}
