package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/openapi"
)

const (
	testMachine = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07"
	submitBody  = `{"Comment":"Testing Live Response API","Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"},{"key":"Args","value":"OfficeClickToRun"}]}]}`
)

// TestReferenceAnswers checks every answer of the reference: its status,
// and that the body and headers are what openapi/mde-api.yaml documents
// for that status (the 201 and 200 a valid MachineAction, the 429 with
// Retry-After and the error body), so that the reference serves the
// emulator's exchange and not a cheaper one.
func TestReferenceAnswers(t *testing.T) {
	v, err := openapi.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		throttle bool
		method   string
		path     string
		want     int
		wantCode string // error code of the body, for errors
	}{
		{"submit", false, http.MethodPost, "/api/machines/" + testMachine + "/runliveresponse", http.StatusCreated, ""},
		{"submit upper-case id", false, http.MethodPost, "/api/machines/" + strings.ToUpper(testMachine) + "/runliveresponse", http.StatusCreated, ""},
		{"submit unknown machine", false, http.MethodPost, "/api/machines/" + unknownMachineID + "/runliveresponse", http.StatusNotFound, "ResourceNotFound"},
		{"submit not an id", false, http.MethodPost, "/api/machines/not-a-machine/runliveresponse", http.StatusNotFound, "ResourceNotFound"},
		{"submit throttled", true, http.MethodPost, "/api/machines/" + testMachine + "/runliveresponse", http.StatusTooManyRequests, "TooManyRequests"},
		{"get", false, http.MethodGet, "/api/machineactions/" + actionID, http.StatusOK, ""},
		{"get throttled server", true, http.MethodGet, "/api/machineactions/" + actionID, http.StatusOK, ""},
		{"get unknown", false, http.MethodGet, "/api/machineactions/6e0c1a77-1b7e-4b3e-a2b1-000000000000", http.StatusNotFound, "ResourceNotFound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler(c.throttle))
			defer srv.Close()
			var body io.Reader
			if c.method == http.MethodPost {
				body = strings.NewReader(submitBody)
			}
			req, err := http.NewRequest(c.method, srv.URL+c.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer bench")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.want {
				t.Fatalf("%s %s = %d, want %d: %s", c.method, c.path, resp.StatusCode, c.want, got)
			}
			if ct := resp.Header.Get("Content-Type"); ct != contentType {
				t.Errorf("Content-Type %q, want %q", ct, contentType)
			}
			check, _ := http.NewRequest(c.method, "https://api.securitycenter.microsoft.com"+c.path, nil)
			if err := v.ValidateResponse(check, resp.StatusCode, resp.Header, got); err != nil {
				t.Errorf("not the documented answer: %v", err)
			}
			if c.wantCode != "" {
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				if err := json.Unmarshal(got, &e); err != nil || e.Error.Code != c.wantCode {
					t.Errorf("error code %q (%v), want %q: %s", e.Error.Code, err, c.wantCode, got)
				}
			}
			if c.want == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if c.want == http.StatusCreated || c.want == http.StatusOK {
				var a struct{ ID, MachineID, Status string }
				if err := json.Unmarshal(got, &a); err != nil || a.ID != actionID || a.Status != "Pending" {
					t.Errorf("MachineAction id %q status %q (%v), want %q Pending", a.ID, a.Status, err, actionID)
				}
			}
		})
	}
}

// TestReferenceToken checks the canned token of POST /_emulator/tokens,
// which the start-up measure asks for before its first runliveresponse.
func TestReferenceToken(t *testing.T) {
	srv := httptest.NewServer(newHandler(false))
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL+"/_emulator/tokens", "application/json", bytes.NewBufferString(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Errorf("POST /_emulator/tokens = %d, token %q (%v)", resp.StatusCode, tok.AccessToken, err)
	}
}

// TestKnownMachine is the reference's notion of an existing machine.
func TestKnownMachine(t *testing.T) {
	for id, want := range map[string]bool{
		testMachine:                  true,
		strings.ToUpper(testMachine): true,
		unknownMachineID:             false,
		testMachine[:39]:             false,
		testMachine + "0":            false,
		"g" + testMachine[1:]:        false,
		"":                           false,
	} {
		if got := knownMachine(id); got != want {
			t.Errorf("knownMachine(%q) = %v, want %v", id, got, want)
		}
	}
}
