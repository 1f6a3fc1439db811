package emulator

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/state"
)

// actionEntity's AppendJSON must write exactly what encoding/json writes
// for it, whatever its @odata.context (a request's Host is in it).
func TestActionEntityAppendJSONMatchesEncodingJSON(t *testing.T) {
	contexts := []string{"", "http://127.0.0.1:8080/api/$metadata#MachineActions/$entity",
		`quote " and \ backslash`, "tab\tnew\nline", "\x00\x1f\x7f", "<html>&amp;", "é 日本 🙂", "\u2028\u2029", "bad \xff utf8"}
	comment := "a <comment> & \"quotes\""
	ts := state.Stamp(time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC))
	v := state.ActionView{
		ID: "7f1f1c9b-6f2c-4a53-8f0e-6a5d8e1b2c3d", Type: "LiveResponse", Requestor: "SOAR", RequestorComment: &comment,
		Status: state.StatusPending, MachineID: "a0", ComputerDNSName: "win1", CreationDateTimeUtc: ts, LastUpdateDateTimeUtc: ts,
		RequestSource: "PublicApi",
		Commands: []state.CommandView{{Index: 0, StartTime: &ts, CommandStatus: "Created", Errors: []string{},
			Command: state.Command{Type: state.RunScript, Params: []state.Param{{Key: "ScriptName", Value: "x.ps1"}}}}},
	}
	for _, ctx := range contexts {
		e := actionEntity{ctx, &v}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		got := e.AppendJSON([]byte("prefix"))
		if !bytes.Equal(append([]byte("prefix"), bytes.TrimSuffix(want.Bytes(), []byte("\n"))...), got) {
			t.Errorf("context %q:\nencoding/json: %s\nAppendJSON:    %s", ctx, want.Bytes(), got)
		}
	}
}
