package parity

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestScrubText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080/api/machines/82FB3B669B460CF8436780882296D90371D68AD6", "<base>/api/machines/<machine-1>"},
		{"action 436b3f67-bfc5-45da-a6ac-d8f3e20a6949 then 436B3F67-BFC5-45DA-A6AC-D8F3E20A6949 then 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1",
			"action <guid-1> then <guid-1> then <guid-2>"},
		{"Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl", "Bearer <token>"},
		{"grant_type=client_credentials&client_secret=s3cr3t&scope=x", "grant_type=client_credentials&client_secret=<secret>&scope=x"},
		{"?se=2026-01-05T10%3A31%3A01Z&sig=7om7%2FflP0wYK%3D&sp=r", "?se=<time>&sig=<sig>&sp=r"},
		{"created 2026-01-05T10:00:00.1234567Z, updated 2026-01-05 10:00:01Z", "created <time>, updated <time>"},
		{"Signed expiry time [Mon, 05 Jan 2026 10:31:01 UTC]", "Signed expiry time [<time>]"},
		{"Trace ID: 436b3f67-bfc5-45da-a6ac-d8f3e20a6949", "Trace ID: <correlation-id>"},
		{`output file is C:\Temp\PSScriptOutputs\PSScript_Transcript_436b3f67-bfc5-45da-a6ac-d8f3e20a6949.txt\nok; PSScript_Transcript_436b3f67-bfc5-45da-a6ac-d8f3e20a6949.txt, PSScript_Transcript_{TRANSCRIPT_ID}.txt`,
			`output file is C:\Temp\PSScriptOutputs\PSScript_Transcript_<transcript-1>.txt\nok; PSScript_Transcript_<transcript-1>.txt, PSScript_Transcript_<transcript-2>.txt`},
		{"sha256 6e212a0d6e212a0d6e212a0d6e212a0d6e212a0d6e212a0d6e212a0d6e212a0d", "sha256 6e212a0d6e212a0d6e212a0d6e212a0d6e212a0d6e212a0d6e212a0d6e212a0d"},
	}
	for _, tc := range tests {
		s := newScrubber("http://127.0.0.1:8080")
		if got := s.text(tc.in); got != tc.want {
			t.Errorf("text(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestScrubJSONBody(t *testing.T) {
	t.Parallel()
	s := newScrubber("")
	got := s.body("application/json; charset=utf-8", []byte(`{"error":{"code":"ResourceNotFound","target":"436b3f67-bfc5-45da-a6ac-d8f3e20a6949"},
		"id":"8ac829e3-bb83-48d7-8cfb-45ebe834d8e1","expires_on":"1795801336","n":3}`))
	want := map[string]any{
		"error":      map[string]any{"code": "ResourceNotFound", "target": "<correlation-id>"},
		"id":         "<guid-1>",
		"expires_on": "<epoch>",
		"n":          jsonNumber("3"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scrubbed body (-want +got):\n%s", diff)
	}
}

func TestRecorderFilesExchangesByScenario(t *testing.T) {
	t.Parallel()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "50")
		w.Header().Set("X-Other", "dropped")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"error":{"code":"TooManyRequests","message":"m","target":"436b3f67-bfc5-45da-a6ac-d8f3e20a6949"}}`)
	}))
	defer hs.Close()
	dir := t.TempDir()
	rec := NewRecorder(dir, hs.URL)
	client := &http.Client{Transport: rec.Transport(nil)}
	k := Key{Feature: "limits.feature", Scenario: "The 11th call: waits"}
	rec.Begin(k)
	req, _ := http.NewRequestWithContext(WithScenario(context.Background(), k), "POST",
		hs.URL+"/api/machines/82fb3b669b460cf8436780882296d90371d68ad6/runliveresponse", strings.NewReader(`{"Comment":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer eyJa.eyJb.c")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(body), "TooManyRequests") {
		t.Errorf("the client lost the body: %s", body)
	}
	// Requests without a scenario pass unrecorded.
	if _, err := client.Get(hs.URL + "/other"); err != nil {
		t.Fatal(err)
	}
	if err := rec.End(k); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Key]Recording{k: {Feature: k.Feature, Scenario: k.Scenario, Exchanges: []Exchange{{
		Request: Request{Method: "POST", URL: "/api/machines/<machine-1>/runliveresponse",
			Header: map[string]string{"Content-Type": "application/json"}, Body: map[string]any{"Comment": "x"}},
		Response: Response{Status: 429, Header: map[string]string{"Content-Type": "application/json", "Retry-After": "50"},
			Body: map[string]any{"error": map[string]any{"code": "TooManyRequests", "message": "m", "target": "<correlation-id>"}}},
	}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("recording (-want +got):\n%s", diff)
	}
}

func TestDiff(t *testing.T) {
	t.Parallel()
	ex := func(status int, code string) Exchange {
		return Exchange{Request: Request{Method: "POST", URL: "/api/x"}, Response: Response{Status: status, Body: map[string]any{"code": code}}}
	}
	k1, k2, k3 := Key{"a.feature", "one"}, Key{"a.feature", "two"}, Key{"b.feature", "three"}
	a := map[Key]Recording{
		k1: {Exchanges: []Exchange{ex(201, "x"), ex(429, "TooManyRequests")}},
		k2: {Exchanges: []Exchange{ex(200, "y")}},
	}
	b := map[Key]Recording{
		k1: {Exchanges: []Exchange{ex(201, "x"), ex(201, "z"), ex(429, "TooManyRequests")}},
		k2: {Exchanges: []Exchange{ex(200, "y")}},
		k3: {Exchanges: []Exchange{ex(200, "y")}},
	}
	var got []string
	for _, d := range Diff(a, b) {
		got = append(got, d.String())
	}
	want := []string{
		`a.feature: one: exchange 2 (POST /api/x): .Response.Status: A 429, B 201`,
		`a.feature: one: exchange 2 (POST /api/x): .Response.Body.(map[string]any)["code"].(string): A "TooManyRequests", B "z"`,
		`a.feature: one: exchange 3 (POST /api/x): A (none), B status 429`,
		`b.feature: three: A (not run), B 1 exchanges`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("differences (-want +got):\n%s", diff)
	}
	if d := Diff(a, a); len(d) != 0 {
		t.Errorf("a recording differs from itself: %v", d)
	}
}

func jsonNumber(s string) any { return json.Number(s) }
