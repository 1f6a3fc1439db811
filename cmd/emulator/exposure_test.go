package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startRun runs the binary with args until the test ends and returns its
// banner and the base URL it printed.
func startRun(t *testing.T, args ...string) (banner, base string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("run did not return")
		}
	})
	re := regexp.MustCompile(`listening on (https?://\S+)`)
	for i := 0; i < 300; i++ {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "Try:") {
			return out.String(), m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("run returned %v: %s", err, out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("no banner: %q", out.String())
	return "", ""
}

func call(t *testing.T, method, url, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func mintFor(t *testing.T, base, auth, audience string) string {
	t.Helper()
	status, body := call(t, "POST", base+"/_emulator/tokens", auth, `{"audience":"`+audience+`"}`)
	if status != 200 {
		t.Fatalf("mint for %s: %d %s", audience, status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(body), &tok)
	return tok.AccessToken
}

// On every interface the banner gives a URL a person can use and says the
// control plane answers loopback peers only; the API is reachable.
func TestAllInterfacesBanner(t *testing.T) {
	banner, base := startRun(t, "--addr", "0.0.0.0:0", "--clock", "manual")
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Errorf("base %s, want http://127.0.0.1:PORT", base)
	}
	for _, want := range []string{"listening on all interfaces", "WARNING: other hosts can reach the API", "control plane: loopback peers only"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, "0.0.0.0") || strings.Contains(banner, "[::]") || strings.Contains(banner, "control token:") {
		t.Errorf("banner:\n%s", banner)
	}
	// Loopback peers use the control plane without a token.
	tok := mintFor(t, base, "", "")
	if status, body := call(t, "GET", base+"/api/machines?$top=1", "Bearer "+tok, ""); status != 200 {
		t.Errorf("API: %d %s", status, body)
	}
	// The defaults own URLs are audiences: 127.0.0.1 and localhost.
	port := base[strings.LastIndex(base, ":")+1:]
	for _, aud := range []string{base, "http://localhost:" + port} {
		if status, body := call(t, "GET", base+"/api/machines?$top=1", "Bearer "+mintFor(t, base, "", aud), ""); status != 200 {
			t.Errorf("a token for %s: %d %s", aud, status, body)
		}
	}
}

// --expose-control makes a control token, prints it, and requires it.
func TestExposeControl(t *testing.T) {
	banner, base := startRun(t, "--addr", "127.0.0.1:0", "--clock", "manual", "--expose-control")
	m := regexp.MustCompile(`control token: ([0-9a-f]{32})`).FindStringSubmatch(banner)
	if m == nil || !strings.Contains(banner, "control plane (/_emulator: tokens, fixtures, journal) is exposed") {
		t.Fatalf("banner:\n%s", banner)
	}
	if !strings.Contains(banner, `curl -s -X POST -H "Authorization: Bearer `+m[1]+`"`) {
		t.Errorf("the Try line does not send the control token:\n%s", banner)
	}
	if status, _ := call(t, "GET", base+"/_emulator/health", "", ""); status != 401 {
		t.Errorf("health without the token: %d", status)
	}
	if status, _ := call(t, "GET", base+"/_emulator/health", "Bearer nope", ""); status != 401 {
		t.Errorf("health with a wrong token: %d", status)
	}
	if status, body := call(t, "GET", base+"/_emulator/health", "Bearer "+m[1], ""); status != 200 {
		t.Errorf("health with the token: %d %s", status, body)
	}
}

// --control-token (or MDE_CONTROL_TOKEN) fixes the token; --public-url
// replaces the default own URLs.
func TestControlTokenAndPublicURL(t *testing.T) {
	t.Setenv("MDE_CONTROL_TOKEN", "from-the-environment")
	banner, base := startRun(t, "--addr", "127.0.0.1:0", "--clock", "manual",
		"--public-url", "http://emulator.internal:8080/", "--public-url", "https://a.example,https://b.example")
	if !strings.Contains(banner, "control token: from-the-environment") || !strings.Contains(banner, "http://emulator.internal:8080, https://a.example, https://b.example") {
		t.Errorf("banner:\n%s", banner)
	}
	auth := "Bearer from-the-environment"
	for aud, want := range map[string]int{
		"http://emulator.internal:8080": 200, "https://b.example/": 200,
		base: 403, "http://evil.example": 403,
	} {
		if status, body := call(t, "GET", base+"/api/machines?$top=1", "Bearer "+mintFor(t, base, auth, aud), ""); status != want {
			t.Errorf("a token for %s: %d %s, want %d", aud, status, body, want)
		}
	}
}

func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:8080": true, "localhost:9090": true, "127.0.0.2:1": true,
		"0.0.0.0:8080": false, ":8080": false, "[::]:8080": false, "192.168.1.5:8080": false, "myhost:8080": false, "bad": false,
	} {
		if got := loopbackAddr(addr); got != want {
			t.Errorf("loopbackAddr(%q) = %v", addr, got)
		}
	}
	for addr, want := range map[string]string{"0.0.0.0:8080": "http://127.0.0.1:8080", "[::]:8080": "http://127.0.0.1:8080", "[::1]:9": "http://[::1]:9"} {
		tcp, _ := net.ResolveTCPAddr("tcp", addr)
		if got, _ := localBase("http", tcp); got != want {
			t.Errorf("localBase(%s) = %s, want %s", addr, got, want)
		}
	}
}

func TestBadPublicURL(t *testing.T) {
	if err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--public-url", "emulator.internal:8080"}, io.Discard); err == nil || !strings.Contains(err.Error(), "public URL") {
		t.Errorf("run = %v, want a public URL error", err)
	}
}
