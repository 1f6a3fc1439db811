package state

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"time"
)

// Result is what a completed command left to download: the result file of
// a RunScript, or the file a GetFile collected.
type Result struct {
	script *ScriptResult // RunScript
	file   []byte        // GetFile: the file's bytes
	path   string        // GetFile: where the file was on the machine
}

// ScriptResult is the JSON file a RunScript produces.
type ScriptResult struct {
	ScriptName   string `json:"script_name"`
	ExitCode     int    `json:"exit_code"`
	ScriptOutput string `json:"script_output"`
	ScriptErrors string `json:"script_errors"`
}

// ContentType returns the media type of the result's file:
// application/json for a RunScript, application/gzip for a GetFile.
func (r *Result) ContentType() string {
	if r.script != nil {
		return "application/json"
	}
	return "application/gzip"
}

// Content returns the result's file: a RunScript's result as JSON, a
// GetFile's file gzipped under its base name, with modTime in the gzip
// header.
func (r *Result) Content(modTime time.Time) []byte {
	if r.script != nil {
		b, _ := json.Marshal(r.script)
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
