package state

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// AppendJSON must write exactly what encoding/json writes.
func TestActionViewAppendJSONMatchesEncodingJSON(t *testing.T) {
	tricky := []string{"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f",
		"<html>&amp;", "é ü 日本", "\u2028\u2029", "bad \xff\xfe utf8", `C:\Windows\Temp\x.log`, "emoji 🙂"}
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func() string { return tricky[rng.IntN(len(tricky))] }
	ptr := func() *string {
		if rng.IntN(3) == 0 {
			return nil
		}
		s := pick()
		return &s
	}
	ts := func() *Timestamp {
		if rng.IntN(2) == 0 {
			return nil
		}
		s := Stamp(time.Date(2026, 1, 2, 3, 4, 5, rng.IntN(1e9), time.UTC))
		return &s
	}
	for i := 0; i < 500; i++ {
		v := ActionView{
			ID: pick(), Type: "LiveResponse", Title: ptr(), Requestor: pick(), RequestorComment: ptr(),
			Status: pick(), MachineID: pick(), ComputerDNSName: pick(),
			CreationDateTimeUtc: *orNow(ts()), LastUpdateDateTimeUtc: *orNow(ts()),
			CancellationRequestor: ptr(), CancellationComment: ptr(), CancellationDateTimeUtc: ts(),
			ErrorHResult: rng.IntN(3) - 1, Scope: ptr(), ExternalID: ptr(), RequestSource: pick(),
		}
		if rng.IntN(4) == 0 {
			v.RelatedFileInfo = &struct{}{}
		}
		if rng.IntN(4) != 0 {
			v.Commands = []CommandView{}
			for j := rng.IntN(4); j > 0; j-- {
				c := CommandView{Index: j, StartTime: ts(), EndTime: ts(), CommandStatus: pick(), Command: Command{Type: pick()}}
				if rng.IntN(4) != 0 {
					c.Errors = []string{}
					for k := rng.IntN(3); k > 0; k-- {
						c.Errors = append(c.Errors, pick())
					}
				}
				if rng.IntN(4) != 0 {
					c.Command.Params = []Param{}
					for k := rng.IntN(3); k > 0; k-- {
						c.Command.Params = append(c.Command.Params, Param{Key: pick(), Value: pick()})
					}
				}
				v.Commands = append(v.Commands, c)
			}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&v); err != nil {
			t.Fatal(err)
		}
		got := v.AppendJSON(nil)
		if !bytes.Equal(bytes.TrimSuffix(want.Bytes(), []byte("\n")), got) {
			t.Fatalf("case %d:\nencoding/json: %s\nAppendJSON:    %s", i, want.Bytes(), got)
		}
	}
}

func orNow(ts *Timestamp) *Timestamp {
	if ts == nil {
		s := Stamp(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		return &s
	}
	return ts
}
