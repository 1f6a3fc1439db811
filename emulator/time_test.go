package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/internal/faults"
)

// The tests of docs/time.md: what a client can observe is measured in its
// wall time, whatever the speed of the emulated clock.

// realClock60 runs the emulator on a real clock sped up 60 times: one wall
// second is one emulated minute.
func realClock60(o *emulator.Options) { o.Clock, o.TimeScale = clock.Real, 60 }

// A fault's retryAfter is sent as is, in wall seconds rounded up: "30s" is
// 30 at scale 60, not 1, and "1500ms" is 2.
func TestFaultRetryAfterIsWallTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock60)
	for _, tc := range []struct {
		retryAfter time.Duration
		want       string
	}{
		{30 * time.Second, "30"},
		{1500 * time.Millisecond, "2"},
		{time.Second, "1"},
	} {
		if _, err := e.srv.Faults().Add(faults.Rule{
			Match:  faults.Match{Path: "/api/machines"},
			Calls:  faults.Calls{Next: 1},
			Effect: faults.Effect{Status: 429, RetryAfter: faults.Duration(tc.retryAfter)},
		}); err != nil {
			t.Fatal(err)
		}
		r := e.api("GET", "/api/machines", "")
		if r.status != 429 || r.header.Get("Retry-After") != tc.want {
			t.Errorf("retryAfter %v: %d Retry-After %q, want 429 %s", tc.retryAfter, r.status, r.header.Get("Retry-After"), tc.want)
		}
		j := e.journal("?status=429")
		if last := j.Entries[len(j.Entries)-1]; last.RetryAfter != tc.want {
			t.Errorf("retryAfter %v: journal has %q", tc.retryAfter, last.RetryAfter)
		}
	}
}

// The limiter's window is emulated time; its Retry-After is the wall time
// until the window frees, and a client that waits it is let through.
func TestLimiterRetryAfterAgreesWithWindow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock60)
	// Ten calls in the minute (the 400s count too), then the 11th is refused.
	for i := 0; i < 10; i++ {
		r := e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", runScriptThenGetFile)
		if r.status == 429 {
			t.Fatalf("call %d refused early: %s", i, r.body)
		}
	}
	r := e.api("POST", "/api/machines/"+win10Machine+"/runliveresponse", runScriptThenGetFile)
	if r.status != 429 {
		t.Fatalf("11th call: %d %s", r.status, r.body)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs != 1 {
		// The window is 60 emulated seconds: at scale 60, at most 1 wall second.
		t.Fatalf("Retry-After %q, want 1 (a 60 s window at scale 60)", r.header.Get("Retry-After"))
	}
	time.Sleep(time.Duration(secs) * time.Second)
	if r := e.api("POST", "/api/machines/"+win10Machine+"/runliveresponse", runScriptThenGetFile); r.status != 201 {
		t.Errorf("after waiting Retry-After: %d %s", r.status, r.body)
	}
}

// claims decodes the payload of a JWT.
func claims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// expiresAt is the exp claim of a JWT.
func expiresAt(t *testing.T, raw string) time.Time {
	t.Helper()
	exp, ok := claims(t, raw)["exp"].(float64)
	if !ok {
		t.Fatal("no exp claim")
	}
	return time.Unix(int64(exp), 0).UTC()
}

// A token minted for 2 s at scale 60 ends 120 emulated seconds later: it
// works for 2 s of wall time (checked on the emulated clock, frozen right
// after the mint, to be exact).
func TestTokenLifetimeIsWallTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock60)
	before := e.srv.Clock().Now()
	r := e.call("POST", "/_emulator/tokens", "", `{"expiresIn":"2s"}`)
	after := e.srv.Clock().Now()
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.decode(&tok)
	if tok.ExpiresIn != 2 {
		t.Errorf("expires_in %d, want 2", tok.ExpiresIn)
	}
	exp := expiresAt(t, tok.AccessToken)
	if lo, hi := before.Add(2*time.Minute-time.Second), after.Add(2*time.Minute); exp.Before(lo) || exp.After(hi) {
		t.Errorf("exp %s, want emulated now + 2 s × 60 (between %s and %s)", exp, lo, hi)
	}
	e.srv.Clock().SetMode(clock.Manual)
	e.srv.Clock().AdvanceTo(exp.Add(-time.Millisecond))
	if r := e.call("GET", "/api/machines", tok.AccessToken, ""); r.status != 200 {
		t.Errorf("just before exp: %d %s", r.status, r.body)
	}
	e.srv.Clock().AdvanceTo(exp)
	if r := e.call("GET", "/api/machines", tok.AccessToken, ""); r.status != 401 {
		t.Errorf("at exp: %d %s", r.status, r.body)
	}
}

// The same on a real sped-up clock over HTTP, in wall time: a 2 s token
// still works after 1.4 s and is refused after 2.1 s.
func TestTokenExpiresInWallSeconds(t *testing.T) {
	t.Parallel()
	srv := emulatortest.NewServer(t, emulatortest.WithRealClock(60), emulatortest.WithListener())
	minted := time.Now()
	res, err := srv.Client().Post(srv.URL+"/_emulator/tokens", "application/json", strings.NewReader(`{"expiresIn":"2s"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil || tok.ExpiresIn != 2 {
		t.Fatalf("mint: %v, expires_in %d", err, tok.ExpiresIn)
	}
	get := func() int {
		req, _ := http.NewRequest("GET", srv.URL+"/api/machines", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	time.Sleep(time.Until(minted.Add(1400 * time.Millisecond)))
	if got := get(); got != 200 {
		t.Errorf("after 1.4 wall seconds: %d, want 200", got)
	}
	time.Sleep(time.Until(minted.Add(2100 * time.Millisecond)))
	if got := get(); got != 401 {
		t.Errorf("after 2.1 wall seconds: %d, want 401", got)
	}
}

// The v1 endpoint's expires_on and not_before are wall-clock Unix times:
// wall now + expires_in, wall now - 5 minutes.
func TestV1ExpiresOnIsWallTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock60) // emulated time starts in 2026, far from the wall clock
	before := time.Now().Unix()
	r := e.call("POST", "/"+tenantID+"/oauth2/token", "",
		"grant_type=client_credentials&client_id="+soarClientID+"&client_secret="+defaultSecret+"&resource="+url.QueryEscape("https://api.securitycenter.microsoft.com"),
		"Content-Type", "application/x-www-form-urlencoded")
	after := time.Now().Unix()
	var tok struct {
		ExpiresIn string `json:"expires_in"`
		ExpiresOn string `json:"expires_on"`
		NotBefore string `json:"not_before"`
	}
	r.decode(&tok)
	in, _ := strconv.ParseInt(tok.ExpiresIn, 10, 64)
	on, _ := strconv.ParseInt(tok.ExpiresOn, 10, 64)
	nbf, _ := strconv.ParseInt(tok.NotBefore, 10, 64)
	if in != 3599 {
		t.Errorf("expires_in %q, want 3599", tok.ExpiresIn)
	}
	if on < before+in || on > after+in {
		t.Errorf("expires_on %d, want wall now + %d (between %d and %d)", on, in, before+in, after+in)
	}
	if nbf < before-300 || nbf > after-300 {
		t.Errorf("not_before %d, want wall now - 300 (between %d and %d)", nbf, before-300, after-300)
	}
}

// A download link works for 30 minutes of wall time: at scale 60, 30
// emulated hours. Its se is the wall-clock expiry.
func TestLinkLifetimeIsWallTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t, realClock60)
	id := e.submit(winMachine, runScriptThenGetFile)
	e.advance(time.Minute) // pickup, the script, the file, the settle
	wallBefore := time.Now()
	link := e.downloadLink(id, 0)
	wallAfter := time.Now()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	se, err := time.Parse(time.RFC3339, u.Query().Get("se"))
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := wallBefore.Add(30*time.Minute).Truncate(time.Second), wallAfter.Add(30*time.Minute+time.Second); se.Before(lo) || se.After(hi) {
		t.Errorf("se %s, want wall now + 30 min (between %s and %s)", se, lo, hi)
	}
	path := strings.TrimPrefix(link, testBase)
	e.advance(30*time.Hour - time.Minute) // 29 min 59 s of wall time at scale 60
	if r := e.call("GET", path, "", ""); r.status != 200 {
		t.Errorf("before 30 wall minutes: %d %s", r.status, r.body)
	}
	e.advance(2 * time.Minute)
	if r := e.call("GET", path, "", ""); r.status != 403 || r.header.Get("x-ms-error-code") != "AuthenticationFailed" {
		t.Errorf("after 30 wall minutes: %d %s", r.status, r.body)
	}
}
