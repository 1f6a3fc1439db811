package parity

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A recording keeps no credential: not a bearer token (JWT or not), a
// client secret, a client assertion, a Basic password, a control token, a
// result link's signature, wherever the exchange carried it.
func TestRecordingKeepsNoSecret(t *testing.T) {
	t.Parallel()
	secrets := []string{
		"eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl", // a JWT access token
		"opaque-access-token-1234",                          // a token that is no JWT
		"s3cr3t-client-secret",
		"assertion-not-a-jwt-5678",
		"basic-password-9",
		"7om7FflP0wYKsig",
		"control-token-abcd",
		"refresh-token-efgh",
	}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/token"):
			io.WriteString(w, `{"token_type":"Bearer","access_token":"opaque-access-token-1234","refresh_token":"refresh-token-efgh"}`)
		default:
			io.WriteString(w, `{"value":"http://127.0.0.1:1/_blob/c/b?se=2026-01-05T10%3A31%3A01Z&sig=7om7FflP0wYKsig&sp=r","controlToken":"control-token-abcd"}`)
		}
	}))
	defer hs.Close()
	dir := t.TempDir()
	rec := NewRecorder(dir, hs.URL)
	client := &http.Client{Transport: rec.Transport(nil)}
	k := Key{Feature: "auth.feature", Scenario: "secrets"}
	rec.Begin(k)
	ctx := WithScenario(context.Background(), k)
	send := func(method, target, contentType, body string, header ...string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, hs.URL+target, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	form := "application/x-www-form-urlencoded"
	send("POST", "/t/oauth2/v2.0/token", form, "grant_type=client_credentials&client_id=a&client_secret=s3cr3t-client-secret&scope=x")
	send("POST", "/t/oauth2/v2.0/token", form, "client_assertion_type=jwt-bearer&client_assertion=assertion-not-a-jwt-5678&password=basic-password-9")
	send("POST", "/t/oauth2/v2.0/token", "", "client_secret=s3cr3t-client-secret&client_assertion=assertion-not-a-jwt-5678") // no Content-Type
	send("POST", "/t/oauth2/v2.0/token?client_secret=s3cr3t-client-secret", form, "grant_type=client_credentials",
		"Authorization", "Basic YTpiYXNpYy1wYXNzd29yZC05") // a:basic-password-9
	send("GET", "/api/machines", "", "", "Authorization", "Bearer opaque-access-token-1234")
	send("GET", "/_emulator/journal", "", "", "Authorization", "Bearer control-token-abcd")
	send("POST", "/_emulator/tokens", "application/json", `{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJl"}`)
	if err := rec.End(k); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if all.Len() == 0 {
		t.Fatal("nothing recorded")
	}
	for _, s := range append(secrets, "YTpiYXNpYy1wYXNzd29yZC05") {
		if strings.Contains(all.String(), s) {
			t.Errorf("the recording keeps %q:\n%s", s, all.String())
		}
	}
}

// Credential headers keep their scheme only, if a recording ever keeps
// them.
func TestScrubCredentialHeaders(t *testing.T) {
	t.Parallel()
	s := newScrubber("")
	h := http.Header{}
	h.Set("Authorization", "Bearer not-a-jwt")
	h.Set("Cookie", "session")
	got := s.headers(h, "Authorization", "Cookie")
	if got["Authorization"] != "Bearer <credential>" || got["Cookie"] != "<credential>" {
		t.Errorf("headers = %v", got)
	}
}
