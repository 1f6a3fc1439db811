package openapi

import (
	"net/http/httptest"
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
