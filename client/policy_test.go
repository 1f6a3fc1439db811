package client_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/client"
)

func TestRetryAfterParsing(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	} {
		got, ok := client.RetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffBounds(t *testing.T) {
	t.Parallel()
	c, err := client.New(client.Config{TenantID: "t", ClientID: "c", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var total time.Duration
	for n := range 6 {
		want := min(time.Second<<n, 15*time.Second)
		for range 100 {
			d := client.Backoff(c, n)
			if d > want || d < want-want/4 {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, want-want/4, want)
			}
		}
		total += want
	}
	if total > 45*time.Second {
		t.Errorf("6 retries may wait %v, want a persistent outage to fail well under 120 s", total)
	}
	if d := client.Backoff(c, 100); d > 15*time.Second {
		t.Errorf("backoff(100) = %v", d)
	}
}

func TestParseAPIError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, code, msg string
	}{
		{"api", `{"error":{"code":"ActiveRequestAlreadyExists","message":"Action is already in progress","target":"x"}}`,
			"ActiveRequestAlreadyExists", "Action is already in progress"},
		{"identity", `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`,
			"invalid_client", "AADSTS7000215: Invalid client secret provided."},
		{"azure", `<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.
RequestId:abc
Time:2026-01-05T09:00:00.0000000Z</Message></Error>`, "AuthenticationFailed", "Server failed to authenticate the request."},
		{"text", "upstream connect error", "", "upstream connect error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := client.ParseAPIError("GET", "http://x/api", 400, []byte(tc.body))
			if e.Code != tc.code || e.Message != tc.msg || e.Status != 400 {
				t.Errorf("got %+v, want code %q message %q", e, tc.code, tc.msg)
			}
		})
	}
}
