package identity

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// validClaims are the claims of a token the test authority accepts, as of
// its clock's now.
func validClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"aud":   DefaultAudience,
		"iss":   "https://sts.windows.net/" + tenantA + "/",
		"iat":   now.Add(-5 * time.Minute).Unix(),
		"nbf":   now.Add(-5 * time.Minute).Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"appid": clientA1,
		"tid":   tenantA,
		"roles": []string{"Machine.LiveResponse"},
		"ver":   "1.0",
	}
}

// sign signs claims with the method and key, with the authority's kid.
func sign(t *testing.T, a *Authority, claims jwt.MapClaims, method jwt.SigningMethod, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = a.kid
	raw, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return raw
}

func edit(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	key, otherKey := testKeys()
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&key.PublicKey))})

	tests := []struct {
		name  string
		token func(t *testing.T, a *Authority, clk *fakeClock) string
		want  Kind
	}{
		{"no token", func(*testing.T, *Authority, *fakeClock) string { return "" }, Unauthorized},
		{"garbage", func(*testing.T, *Authority, *fakeClock) string { return "not-a-jwt" }, Unauthorized},
		{"three garbage parts", func(*testing.T, *Authority, *fakeClock) string { return "eyJ.eyJ.sig" }, Unauthorized},
		{"signed by another key", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, validClaims(clk.Now()), jwt.SigningMethodRS256, otherKey)
		}, Unauthorized},
		{"alg none", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, validClaims(clk.Now()), jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType)
		}, Unauthorized},
		{"HS256 keyed with the public key", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, validClaims(clk.Now()), jwt.SigningMethodHS256, pubPEM)
		}, Unauthorized},
		{"HS256 keyed with the public key DER", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, validClaims(clk.Now()), jwt.SigningMethodHS256, must(x509.MarshalPKIXPublicKey(&key.PublicKey)))
		}, Unauthorized},
		{"RS512 with our key", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, validClaims(clk.Now()), jwt.SigningMethodRS512, key)
		}, Unauthorized},
		{"PS256 with our key", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, validClaims(clk.Now()), jwt.SigningMethodPS256, key)
		}, Unauthorized},
		{"unknown kid", func(t *testing.T, a *Authority, clk *fakeClock) string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, validClaims(clk.Now()))
			tok.Header["kid"] = "someone-elses-key"
			return must(tok.SignedString(key))
		}, Unauthorized},
		{"tampered payload", func(t *testing.T, a *Authority, clk *fakeClock) string {
			good := sign(t, a, validClaims(clk.Now()), jwt.SigningMethodRS256, key)
			forged := sign(t, a, edit(validClaims(clk.Now()), "roles", []string{"Machine.Offboard"}), jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType)
			return splice(good, forged)
		}, Unauthorized},
		{"expired by the clock", func(t *testing.T, a *Authority, clk *fakeClock) string {
			raw, _, err := a.Mint(MintRequest{})
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(3599 * time.Second) // exp is now: no leeway
			return raw
		}, Unauthorized},
		{"no exp", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "exp", nil), jwt.SigningMethodRS256, key)
		}, Unauthorized},
		{"nbf in the future", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "nbf", clk.Now().Add(time.Second).Unix()), jwt.SigningMethodRS256, key)
		}, Unauthorized},
		{"wrong issuer", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "iss", "https://login.microsoftonline.com/"+tenantA+"/v2.0"), jwt.SigningMethodRS256, key)
		}, Unauthorized},
		{"issuer of another tenant", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "iss", "https://sts.windows.net/"+tenantB+"/"), jwt.SigningMethodRS256, key)
		}, Unauthorized},
		{"no tid", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "tid", nil), jwt.SigningMethodRS256, key)
		}, Unauthorized},
		{"unknown tenant", func(t *testing.T, a *Authority, clk *fakeClock) string {
			const tid = "99999999-9999-9999-9999-999999999999"
			return sign(t, a, edit(validClaims(clk.Now()), "tid", tid, "iss", "https://sts.windows.net/"+tid+"/"), jwt.SigningMethodRS256, key)
		}, Unauthorized},
		{"app of another tenant", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "appid", clientB1), jwt.SigningMethodRS256, key)
		}, Unauthorized},
		{"no app id", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "appid", nil), jwt.SigningMethodRS256, key)
		}, Unauthorized},
		{"app removed by SetApps", func(t *testing.T, a *Authority, clk *fakeClock) string {
			raw, _, err := a.Mint(MintRequest{ClientID: clientA2})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Verify(raw); err != nil { // now cached
				t.Fatalf("Verify before SetApps: %v", err)
			}
			a.SetApps([]App{testApps[0], testApps[2]})
			return raw
		}, Unauthorized},
		{"wrong audience", func(t *testing.T, a *Authority, clk *fakeClock) string {
			raw, _, err := a.Mint(MintRequest{Audience: "https://userrequestsgraphapi-prd.trafficmanager.net"})
			if err != nil {
				t.Fatal(err)
			}
			return raw
		}, WrongAudience},
		{"no audience", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "aud", nil), jwt.SigningMethodRS256, key)
		}, WrongAudience},
		{"wrong audience but expired", func(t *testing.T, a *Authority, clk *fakeClock) string {
			return sign(t, a, edit(validClaims(clk.Now()), "aud", "https://graph.microsoft.com", "exp", clk.Now().Unix()), jwt.SigningMethodRS256, key)
		}, Unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, clk := newTestAuthority(t)
			raw := tt.token(t, a, clk)
			p, err := a.Verify(raw)
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("Verify = %+v, %v; want an *AuthError of kind %v", p, err, tt.want)
			}
			if ae.Kind != tt.want {
				t.Fatalf("Verify kind = %v (%s), want %v", ae.Kind, ae.Reason, tt.want)
			}
			if p != nil {
				t.Errorf("Verify returned principal %+v with an error", p)
			}
			if n := a.cache.len(); n != 0 {
				t.Errorf("a refused token left %d cache entries", n)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// splice returns good's header and signature around forged's payload.
func splice(good, forged string) string {
	g := splitJWT(good)
	f := splitJWT(forged)
	return g[0] + "." + f[1] + "." + g[2]
}

func splitJWT(raw string) [3]string {
	var out [3]string
	i := 0
	start := 0
	for j := 0; j < len(raw); j++ {
		if raw[j] == '.' {
			out[i] = raw[start:j]
			i++
			start = j + 1
		}
	}
	out[i] = raw[start:]
	return out
}

func TestVerifyAccepts(t *testing.T) {
	t.Parallel()
	key, _ := testKeys()
	tests := []struct {
		name string
		aud  any
	}{
		{"api.securitycenter", "https://api.securitycenter.microsoft.com"},
		{"trailing slash", "https://api.securitycenter.microsoft.com/"},
		{"api.security", "https://api.security.microsoft.com"},
		{"windowsatpservice", "https://securitycenter.onmicrosoft.com/windowsatpservice"},
		{"app id", WindowsDefenderATPAppID},
		{"geo host", "https://eu.api.security.microsoft.com/"},
		{"GCC High", "https://api-gov.securitycenter.microsoft.us"},
		{"GCC", "https://api-gcc.securitycenter.microsoft.us"},
		{"legacy regional api-eu", "https://api-eu.securitycenter.microsoft.com"},
		{"legacy regional api-us", "https://api-us.securitycenter.microsoft.com"},
		{"legacy regional api-uk", "https://api-uk.securitycenter.microsoft.com"},
		{"geo host ina", "https://ina.api.security.microsoft.com"},
		{"geo host aea", "https://aea.api.security.microsoft.com"},
		{"upper case", "HTTPS://API.SECURITYCENTER.MICROSOFT.COM"},
		{"array with one accepted", []string{"https://graph.microsoft.com", "https://api.security.microsoft.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, clk := newTestAuthority(t)
			raw := sign(t, a, edit(validClaims(clk.Now()), "aud", tt.aud), jwt.SigningMethodRS256, key)
			p, err := a.Verify(raw)
			if err != nil {
				t.Fatal(err)
			}
			want := &Principal{
				TenantID: tenantA, ClientID: clientA1, DisplayName: "SOAR connector",
				Roles:     []string{"Machine.LiveResponse"},
				ExpiresAt: time.Unix(t0.Add(time.Hour).Unix(), 0),
				NotBefore: time.Unix(t0.Add(-5*time.Minute).Unix(), 0),
			}
			if s, ok := tt.aud.(string); ok {
				want.Audience = s
			} else {
				want.Audience = "https://api.security.microsoft.com"
			}
			if diff := cmp.Diff(want, p); diff != "" {
				t.Errorf("principal mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerifyAzpWithoutAppID(t *testing.T) {
	t.Parallel()
	key, _ := testKeys()
	a, clk := newTestAuthority(t)
	raw := sign(t, a, edit(validClaims(clk.Now()), "appid", nil, "azp", clientA2), jwt.SigningMethodRS256, key)
	p, err := a.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != clientA2 {
		t.Errorf("ClientID = %q, want %q", p.ClientID, clientA2)
	}
}

func TestAcceptAudience(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	raw, _, err := a.Mint(MintRequest{Audience: "http://localhost:8080/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(raw); !isKind(err, WrongAudience) {
		t.Fatalf("before AcceptAudience: Verify = %v, want WrongAudience", err)
	}
	a.AcceptAudience("http://LOCALHOST:8080")
	a.AcceptAudience("http://localhost:8080") // again: no change
	a.AcceptAudience("")
	p, err := a.Verify(raw)
	if err != nil {
		t.Fatalf("after AcceptAudience: %v", err)
	}
	if p.Audience != "http://localhost:8080/" {
		t.Errorf("Audience = %q, want the token's aud", p.Audience)
	}
}

func isKind(err error, k Kind) bool {
	var ae *AuthError
	return errors.As(err, &ae) && ae.Kind == k
}

func TestVerifyCachedTokenFollowsClock(t *testing.T) {
	t.Parallel()
	a, clk := newTestAuthority(t)
	raw, _, err := a.Mint(MintRequest{})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := a.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if n := a.cache.len(); n != 1 {
		t.Fatalf("cache holds %d tokens after one Verify, want 1", n)
	}
	p2, err := a.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Error("second Verify did not answer from the cache")
	}

	clk.Advance(-6 * time.Minute) // before nbf (backdated 5 minutes)
	if _, err := a.Verify(raw); !isKind(err, Unauthorized) {
		t.Errorf("cached token before nbf: Verify = %v, want Unauthorized", err)
	}
	clk.Advance(6*time.Minute + 3598*time.Second) // one second before exp
	if _, err := a.Verify(raw); err != nil {
		t.Errorf("cached token one second before exp: %v", err)
	}
	clk.Advance(time.Second) // exp
	if _, err := a.Verify(raw); !isKind(err, Unauthorized) {
		t.Errorf("cached token at exp: Verify = %v, want Unauthorized", err)
	}
	if n := a.cache.len(); n != 1 {
		t.Errorf("cache holds %d tokens, want the one (the expired path must not re-add)", n)
	}
}

func TestVerifyCacheInvalidatedBySetApps(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	raw, _, err := a.Mint(MintRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(raw); err != nil {
		t.Fatal(err)
	}
	renamed := append([]App(nil), testApps...)
	renamed[0].DisplayName = "Renamed"
	a.SetApps(renamed)
	p, err := a.Verify(raw)
	if err != nil {
		t.Fatal(err)
	}
	if p.DisplayName != "Renamed" {
		t.Errorf("DisplayName after SetApps = %q, want %q (stale cache)", p.DisplayName, "Renamed")
	}
	a.SetApps(testApps[1:])
	if _, err := a.Verify(raw); !isKind(err, Unauthorized) {
		t.Errorf("token of a removed app: Verify = %v, want Unauthorized", err)
	}
	a.SetApps(testApps)
	if _, err := a.Verify(raw); err != nil {
		t.Errorf("token of the app added back: %v", err)
	}
}

func TestVerifyCacheBounded(t *testing.T) {
	t.Parallel()
	key, _ := testKeys()
	clk := &fakeClock{t: t0}
	a, err := New(Options{Key: key, Now: clk.Now, CacheSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	a.SetApps(testApps)
	var tokens []string
	for range 400 {
		raw, _, err := a.Mint(MintRequest{})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, raw)
		if _, err := a.Verify(raw); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.cache.len(); n > 64 || n == 0 {
		t.Errorf("cache holds %d tokens, want 1..64", n)
	}
	for i, raw := range tokens {
		if _, err := a.Verify(raw); err != nil {
			t.Fatalf("token %d after eviction: %v", i, err)
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header  string
		want    string
		wantErr bool
	}{
		{header: "Bearer eyJ.a.b", want: "eyJ.a.b"},
		{header: "bearer eyJ.a.b", want: "eyJ.a.b"},
		{header: "BEARER   eyJ.a.b  ", want: "eyJ.a.b"},
		{header: "", wantErr: true},
		{header: "Bearer", wantErr: true},
		{header: "Bearer ", wantErr: true},
		{header: "Basic dXNlcjpwYXNz", wantErr: true},
		{header: "eyJ.a.b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			t.Parallel()
			got, err := ParseAuthorization(tt.header)
			if tt.wantErr {
				if !isKind(err, Unauthorized) {
					t.Errorf("ParseAuthorization(%q) = %q, %v; want an Unauthorized *AuthError", tt.header, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseAuthorization(%q) = %q, %v; want %q", tt.header, got, err, tt.want)
			}
		})
	}
}

func TestPrincipalHasAny(t *testing.T) {
	t.Parallel()
	p := &Principal{Roles: []string{"Machine.Read.All", "Machine.LiveResponse"}}
	tests := []struct {
		roles []string
		want  bool
	}{
		{[]string{"Machine.LiveResponse"}, true},
		{[]string{"Machine.ReadWrite.All", "Machine.Read.All"}, true},
		{[]string{"machine.liveresponse"}, false},
		{[]string{"Library.Manage"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := p.HasAny(tt.roles...); got != tt.want {
			t.Errorf("HasAny(%q) = %v, want %v", tt.roles, got, tt.want)
		}
	}
}

func TestAuthErrorString(t *testing.T) {
	t.Parallel()
	e := &AuthError{Kind: WrongAudience, Reason: "aud x"}
	if got, want := e.Error(), "WrongAudience: aud x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := Kind(9).String(), "Kind(9)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestConcurrentUse runs verification, minting, the token endpoint,
// directory swaps and audience changes at once; run it with -race.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	a, clk := newTestAuthority(t)
	raw, _, err := a.Mint(MintRequest{ClientID: clientA1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				switch (g + i) % 5 {
				case 0, 1:
					// clientA1 stays in every directory below: always valid.
					if _, err := a.Verify(raw); err != nil {
						errs <- fmt.Errorf("Verify: %w", err)
						return
					}
				case 2:
					tok, _, err := a.Mint(MintRequest{TenantID: tenantA, ClientID: clientA1})
					if err == nil {
						_, err = a.Verify(tok)
					}
					if err != nil {
						errs <- fmt.Errorf("Mint+Verify: %w", err)
						return
					}
				case 3:
					if i%2 == 0 {
						a.SetApps(testApps)
					} else {
						a.SetApps(testApps[:1])
					}
				case 4:
					a.AcceptAudience(fmt.Sprintf("http://host-%d", i))
					_, _ = a.ClientCredentials(tenantA, with(clientForm(clientA1, secretA1), "resource", DefaultAudience), false)
					_ = a.JWKS()
					_, _ = a.OpenIDConfiguration(tenantA, "http://localhost", true)
					_ = clk.Now()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
