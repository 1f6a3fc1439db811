package openapi

import (
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The operations the fast path covers; a schema change that drops one
// shows here.
func TestFastPathCoverage(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range v.fast {
		got = append(got, k)
	}
	sort.Strings(got)
	want := []string{
		"DELETE /libraryfiles/{fileName}",
		"GET /libraryfiles",
		"GET /machineactions/{id}",
		"GET /machines/{id}",
		"POST /machineactions/{id}/cancel",
		"POST /machines/{id}/runliveresponse",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("covered operations (-want +got):\n%s", diff)
	}
}

// The fast path accepts exactly the bodies kin-openapi accepts.
func FuzzFastPathMatchesKinOpenAPI(f *testing.F) {
	for _, s := range []string{
		`{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}`,
		`{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"x"}]},{"type":"GetFile","params":[]}],"Comment":null}`,
		`{"Commands":[]}`, `{"commands":[]}`, `{"Commands":[{"type":"Reboot","params":[]}]}`, `{"Commands":[{"type":"GetFile"}]}`,
		`{"Commands":[{"type":"GetFile","params":[{"key":"Path"}]}]}`, `{"Commands":[{"type":"GetFile","params":[{"key":1,"value":"x"}]}]}`,
		`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"x","extra":true}],"more":1}],"x":null}`,
		`{"Comment":5,"Commands":[{"type":"GetFile","params":[]}]}`, `{"Comment":"x"}`, `{"Comment":null}`, `[]`, `null`, `"x"`, `{`,
	} {
		for _, op := range []string{"submit", "cancel"} {
			f.Add(op, s)
		}
	}
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	ops := map[string]struct{ method, docPath, path string }{
		"submit": {"POST", "/machines/{id}/runliveresponse", "/api/machines/abc/runliveresponse"},
		"cancel": {"POST", "/machineactions/{id}/cancel", "/api/machineactions/abc/cancel"},
	}
	f.Fuzz(func(t *testing.T, name, body string) {
		op, ok := ops[name]
		if !ok {
			return
		}
		key := op.method + " " + op.docPath
		r1 := httptest.NewRequest(op.method, op.path, strings.NewReader(body))
		r1.Header.Set("Content-Type", "application/json")
		fast := v.fast[key].accept(r1)
		r2 := httptest.NewRequest(op.method, op.path, strings.NewReader(body))
		r2.Header.Set("Content-Type", "application/json")
		kinErr := v.validate(r2, v.routes[key], map[string]string{"id": "abc"})
		if fast != (kinErr == nil) {
			t.Fatalf("%s %q: fast path accepts: %v; kin-openapi: %v", name, body, fast, kinErr)
		}
		if fast {
			got, _ := ValidatedBody(r1)
			want, _ := ValidatedBody(r2)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%q: validated values differ (-kin +fast):\n%s", body, diff)
			}
		}
	})
}

func BenchmarkValidateRoutedSubmit(b *testing.B) {
	v, err := NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	body := `{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}`
	params := func() map[string]string { return map[string]string{"id": "abc"} }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest("POST", "/api/machines/abc/runliveresponse", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if e := v.ValidateRouted(r, "POST", "/machines/{id}/runliveresponse", true, params); e != nil {
			b.Fatal(e)
		}
	}
}

// scanCorpus is bodies of the submit and cancel operations, valid and
// invalid, among them those scan leaves to the decoding check: escapes,
// non-ASCII bytes, exponents, deep nesting, properties given twice.
var scanCorpus = []string{
	`{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}`,
	` { "Commands" : [ { "type" : "GetFile" , "params" : [ ] } ] , "Comment" : null } `,
	`{"Commands":[{"type":"PutFile","params":[{"key":"FileName","value":"x"}]},{"type":"GetFile","params":[]}],"Comment":null}`,
	`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"C:\\Windows\\x \u00e9 \ud83d\ude00"}]}],"Comment":"\u2028\"\/"}`,
	"{\"Commands\":[{\"type\":\"GetFile\",\"params\":[{\"key\":\"Path\",\"value\":\"\xff\xfe é\"}]}]}",
	`{"Commands":[{"type":"Run\u0053cript","params":[]}]}`, `{"Comm\u0061nds":[{"type":"GetFile","params":[]}]}`,
	`{"Commands":[{"type":"RunScripts","params":[]}]}`, `{"Commands":[{"type":"runscript","params":[]}]}`,
	`{"Commands":[{"type":"GetFile","params":[]}],"x":{"a":[1,-0.5,true,false,null,"s",{"b":{}}]}}`,
	`{"Commands":[{"type":"GetFile","params":[]}],"x":1e3}`, `{"Commands":[{"type":"GetFile","params":[]}],"x":1e999}`,
	`{"Commands":[{"type":"GetFile","params":[]}],"x":01}`, `{"Commands":[{"type":"GetFile","params":[]}],"x":-}`,
	`{"Commands":[{"type":"GetFile","params":[]}],"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	`{"Commands":[{"type":"GetFile","params":[]}],"x":"\x"}`, `{"Commands":[{"type":"GetFile","params":[]}],"x":"\u12"}`,
	`{"Commands":5,"Commands":[{"type":"GetFile","params":[]}]}`, `{"Commands":[{"type":"GetFile","params":[]}],"Commands":5}`,
	`{"Commands":[{"type":"GetFile","params":[],"params":[]}]}`,
	`{"Commands":[]}`, `{"commands":[]}`, `{"Commands":[{"type":"Reboot","params":[]}]}`, `{"Commands":[{"type":"GetFile"}]}`,
	`{"Commands":[{"type":"GetFile","params":[{"key":"Path"}]}]}`, `{"Commands":[{"type":"GetFile","params":[{"key":1,"value":"x"}]}]}`,
	`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":"x","extra":true}],"more":1}],"x":null}`,
	`{"Commands":[{"type":"GetFile","params":[{"key":"Path","value":null}]}]}`, `{"Commands":[{"type":null,"params":[]}]}`,
	`{"Comment":5,"Commands":[{"type":"GetFile","params":[]}]}`, `{"Comment":"x"}`, `{"Comment":null}`, `{"Comment":true,"Commands":[]}`,
	`{"Commands":[{"type":"GetFile","params":[]},]}`, `{"Commands":[{"type":"GetFile","params":[]}]`, `{"Commands":[{"type":"GetFile","params":[]}]}x`,
	`{"Commands":[{"type":"GetFile","params":[]}],}`, `{"Commands" [{"type":"GetFile","params":[]}]}`, "{\"Commands\":[{\"type\":\"GetFile\",\"params\":[]}],\"x\":\"a\x01\"}",
	`[]`, `null`, `"x"`, `{`, `{}`, ``, ` `, `tru`,
}

// The fast path, the scan first, gives kin-openapi's verdict on every
// body of scanCorpus, for the submit and the cancel operations.
func TestFastPathVerdictsMatchKinOpenAPI(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	ops := []struct{ method, docPath, path string }{
		{"POST", "/machines/{id}/runliveresponse", "/api/machines/abc/runliveresponse"},
		{"POST", "/machineactions/{id}/cancel", "/api/machineactions/abc/cancel"},
	}
	accepted := 0
	for _, op := range ops {
		key := op.method + " " + op.docPath
		for _, body := range scanCorpus {
			r1 := httptest.NewRequest(op.method, op.path, strings.NewReader(body))
			r1.Header.Set("Content-Type", "application/json")
			fast := v.fast[key].accept(r1)
			r2 := httptest.NewRequest(op.method, op.path, strings.NewReader(body))
			r2.Header.Set("Content-Type", "application/json")
			kinErr := v.validate(r2, v.routes[key], map[string]string{"id": "abc"})
			if fast != (kinErr == nil) {
				t.Errorf("%s %q: fast path accepts: %v; kin-openapi: %v", key, body, fast, kinErr)
				continue
			}
			if !fast {
				continue
			}
			accepted++
			got, _ := ValidatedBody(r1)
			want, _ := ValidatedBody(r2)
			// reflect.DeepEqual first: cmp.Diff takes exponential time
			// over the corpus's deep nesting.
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%s %q: validated values differ (-kin +fast):\n%s", key, body, cmp.Diff(want, got))
			}
			raw, ok := ValidatedJSON(r1)
			if !ok || string(raw) != body {
				t.Errorf("%s %q: ValidatedJSON = %q, %v", key, body, raw, ok)
			}
		}
	}
	if accepted < 10 {
		t.Errorf("only %d bodies of the corpus accepted: the corpus no longer tests acceptance", accepted)
	}
}

// scan accepts only what the decoding check accepts, and it does judge
// the plain bodies clients send (else the fast path would be slow, not
// wrong).
func TestScanImpliesValid(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, key := range []string{"POST /machines/{id}/runliveresponse", "POST /machineactions/{id}/cancel"} {
		op := v.fast[key]
		for _, body := range scanCorpus {
			if !op.body.scan([]byte(body)) {
				continue
			}
			scanned++
			if val, err := decodeJSONValue([]byte(body), nil); err != nil || !op.body.valid(val) {
				t.Errorf("%s %q: scan accepts, the decoding check does not (%v)", key, body, err)
			}
		}
	}
	plain := []string{scanCorpus[0], scanCorpus[1], scanCorpus[2], scanCorpus[3], scanCorpus[4], scanCorpus[9]}
	for _, body := range plain {
		if !v.fast["POST /machines/{id}/runliveresponse"].body.scan([]byte(body)) {
			t.Errorf("scan does not judge %q", body)
		}
	}
	if scanned == 0 {
		t.Error("scan accepted nothing")
	}
}

// scan accepts only bodies the decoding check accepts.
func FuzzScanImpliesValid(f *testing.F) {
	for _, s := range scanCorpus {
		f.Add(s)
	}
	v, err := NewValidator()
	if err != nil {
		f.Fatal(err)
	}
	nodes := []*schemaNode{v.fast["POST /machines/{id}/runliveresponse"].body, v.fast["POST /machineactions/{id}/cancel"].body}
	f.Fuzz(func(t *testing.T, body string) {
		for _, n := range nodes {
			if !n.scan([]byte(body)) {
				continue
			}
			if val, err := decodeJSONValue([]byte(body), nil); err != nil || !n.valid(val) {
				t.Fatalf("%q: scan accepts, the decoding check does not (%v)", body, err)
			}
		}
	})
}

// readAll reads the whole body whatever its announced length says.
func TestReadAll(t *testing.T) {
	for _, tc := range []struct {
		body    string
		length  int64
		wantErr bool
	}{
		{"abcdef", 6, false}, {"abcdef", 3, false}, {"abcdef", 0, false}, {"abcdef", -1, false},
		{"abc", 6, true}, {"", 0, false}, {strings.Repeat("x", 5000), 10, false},
	} {
		got, err := readAll(strings.NewReader(tc.body), tc.length)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q announced %d: error %v", tc.body, tc.length, err)
			continue
		}
		if !tc.wantErr && string(got) != tc.body {
			t.Errorf("%q announced %d: read %q", tc.body, tc.length, got)
		}
	}
}
