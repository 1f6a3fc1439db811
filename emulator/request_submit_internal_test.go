package emulator

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/mdelive/mde-emulator/internal/state"
)

// submitBodies are runliveresponse bodies: plain ones decodeSubmitRequest
// reads, and others it leaves to state.SubmitRequestFrom.
var submitBodies = []string{
	`{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}`,
	` { "Commands" : [ { "type" : "GetFile" , "params" : [ ] } ] , "Comment" : null } `,
	`{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"x"}]},{"params":[],"type":"GetFile"}]}`,
	`{"Comment":"a","Comment":null,"Commands":[{"type":"GetFile","params":[]}]}`,
	`{"Comment":null,"Comment":"b","Commands":[{"type":"GetFile","params":[]}],"Commands":[{"type":"PutFile","params":[{"key":"k","value":"v"},{"value":"w","key":"j"}]}]}`,
	`{"Commands":[{"type":"GetFile","type":"RunScript","params":[]}]}`,
	`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows"}]}]}`,
	`{"Comment":"é","Commands":[{"type":"GetFile","params":[]}]}`,
	`{"Commands":[{"type":"GetFile","params":[]}],"x":1}`,
	`{"Commands":[{"type":"GetFile","params":[],"x":1}]}`,
	`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"x","x":1}]}]}`,
	`{"Commands":[{"type":"GetFile"}]}`, `{"Commands":[{"params":[]}]}`, `{"Commands":[{"type":"GetFile","params":[{"key":"Path"}]}]}`,
	`{"Commands":[{"type":"GetFile","params":[{"value":"x"}]}]}`, `{"Comment":"x"}`, `{}`, `[]`, `null`,
	`{"Commands":[]}`, `{"Commands":[{"type":"GetFile","params":[]}]}x`,
}

// decodeSubmitRequest gives what state.SubmitRequestFrom gives for the
// decoded body, and reads the plain bodies clients send.
func TestDecodeSubmitRequestMatchesSubmitRequestFrom(t *testing.T) {
	read := 0
	for _, body := range submitBodies {
		if checkDecodeSubmitRequest(t, body) {
			read++
		}
	}
	if read < 7 {
		t.Errorf("decodeSubmitRequest read %d bodies of the corpus, want the 7 plain ones", read)
	}
}

// checkDecodeSubmitRequest checks decodeSubmitRequest against
// state.SubmitRequestFrom on body and reports whether it read it.
func checkDecodeSubmitRequest(t *testing.T, body string) bool {
	t.Helper()
	got, ok := decodeSubmitRequest([]byte(body))
	if !ok {
		return false
	}
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Errorf("%q: decodeSubmitRequest reads a body that is not JSON: %v", body, err)
		return true
	}
	want, wantOK := state.SubmitRequestFrom(v)
	if !wantOK {
		t.Errorf("%q: decodeSubmitRequest reads a body SubmitRequestFrom does not", body)
	} else if !reflect.DeepEqual(got, want) {
		t.Errorf("%q: decodeSubmitRequest = %+v, SubmitRequestFrom = %+v", body, got, want)
	}
	return true
}

func FuzzDecodeSubmitRequest(f *testing.F) {
	for _, body := range submitBodies {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if !json.Valid([]byte(body)) {
			// decodeSubmitRequest reads validated JSON only.
			return
		}
		checkDecodeSubmitRequest(t, body)
	})
}
