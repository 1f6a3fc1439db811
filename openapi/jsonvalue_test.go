package openapi

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeJSONValue accepts exactly what json.Unmarshal accepts into an any,
// and gives the same value.
func FuzzDecodeJSONValueMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{
		`{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}`,
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0.5e-3`, `1E400`, `"\u00e9\ud83d\ude00\u2028\"\\\/\b\f\n\r\t"`,
		`"\ud800"`, `"\ud800\u0041"`, `"\udc00x"`, "\"\xff\xfe\"", `{"a":1,"a":2}`, ` [1, 2 ,3] `, `{"a":}`, `[1,]`, `{"a" 1}`,
		`01`, `1.`, `-`, `1e`, `.5`, `"abc`, `{"a":1}x`, `tru`, `nul`, "\"a\x01b\"", `"\x"`, `"\u12"`, `{"C:\\Windows":"x"}`,
	} {
		f.Add([]byte(s))
	}
	words := map[string]any{}
	for _, w := range []string{"Commands", "Comment", "type", "params", "key", "value", "RunScript", "a", ""} {
		words[w] = w
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want any
		wantErr := json.Unmarshal(data, &want)
		for _, words := range []map[string]any{nil, words} {
			got, gotErr := decodeJSONValue(data, words)
			if (wantErr == nil) != (gotErr == nil) {
				t.Fatalf("%q: encoding/json error %v, decodeJSONValue error %v", data, wantErr, gotErr)
			}
			if wantErr == nil {
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("%q (-encoding/json +decodeJSONValue):\n%s", data, diff)
				}
			}
		}
	})
}

func BenchmarkDecodeJSONValue(b *testing.B) {
	data := []byte(`{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}`)
	v, err := NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	words := v.fast["POST /machines/{id}/runliveresponse"].words
	b.Run("decodeJSONValue", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := decodeJSONValue(data, words); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeJSONValue/no-words", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := decodeJSONValue(data, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var v any
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
