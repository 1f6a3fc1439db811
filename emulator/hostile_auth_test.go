package emulator_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/journal"
)

// hostileAuthCases returns the hostile inputs of this area for
// TestHostileInput: token audiences fixed at start whatever a request's
// Host says, one clear 401 message per cause, the control plane's
// exposure and its token, and secrets that no journal or log keeps.
func hostileAuthCases() []hostileCase {
	// message checks that an error answer names its cause once, without
	// a doubled prefix.
	message := func(e *env, r resp, want string) resp {
		e.t.Helper()
		if m := r.errorMessage(); !strings.Contains(m, want) || strings.Contains(m, "Unauthorized: Unauthorized") {
			e.t.Errorf("message %q, want one naming %q", m, want)
		}
		return r
	}
	// withHost sends a request to path with the Host header host.
	withHost := func(e *env, method, path, token, host string) resp {
		e.t.Helper()
		req, err := http.NewRequest(method, testBase+path, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		req.Host = host
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return e.send(req)
	}
	// serve sends req straight to h, as a peer at remoteAddr.
	serve := func(e *env, h http.Handler, req *http.Request, remoteAddr string) resp {
		req.RemoteAddr = remoteAddr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return resp{t: e.t, status: w.Code, header: w.Header(), body: w.Body.Bytes()}
	}
	// exposed starts an emulator whose control plane is exposed with
	// token (New makes one when empty).
	exposed := func(e *env, token string) *emulator.Server {
		e.t.Helper()
		srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: start, ExposeControl: true, ControlToken: token})
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() { srv.Close() })
		return srv
	}
	const peer = "203.0.113.7:41000" // TEST-NET-3: a peer on another host
	// validateControl checks a control-plane answer against its document.
	validateControl := func(r resp) error {
		val, err := controlValidator()
		if err != nil {
			return err
		}
		req := httptest.NewRequest("POST", "/_emulator/tokens", nil)
		return val.ValidateResponse(req, r.status, r.header, r.body)
	}
	return []hostileCase{
		{
			name: "a Host header does not make its URL a token audience",
			do: func(e *env) resp {
				for _, host := range []string{"evil.example", "evil.example:8080", "EVIL.example"} {
					withHost(e, "GET", "/api/machines", "", host)          // unauthenticated
					withHost(e, "GET", "/api/machines", e.token, host)     // authenticated
					withHost(e, "GET", "/api/machines", "not.a.jwt", host) // refused
				}
				evil := e.mint(`{"audience":"http://evil.example"}`)
				withHost(e, "GET", "/api/machines", evil, "evil.example")
				return message(e, e.call("GET", "/api/machines", evil, ""), "http://evil.example")
			},
			status: 403, code: "Forbidden",
			after: func(e *env) {
				for _, aud := range []string{"http://evil.example:8080", "https://evil.example"} {
					if r := e.call("GET", "/api/machines", e.mint(`{"audience":"`+aud+`"}`), ""); r.status != 403 {
						e.t.Errorf("a token for %s: %d, want 403", aud, r.status)
					}
				}
				// The configured public URL and the API's audiences still are.
				for _, aud := range []string{testBase, testBase + "/", "https://api.securitycenter.microsoft.com/", identity.DefaultAudience} {
					if r := e.call("GET", "/api/machines?$top=1", e.mint(`{"audience":"`+aud+`"}`), ""); r.status != 200 {
						e.t.Errorf("a token for %s: %d %s, want 200", aud, r.status, r.body)
					}
				}
			},
		},
		{
			name: "a token for another API",
			do: func(e *env) resp {
				tok := e.mint(`{"audience":"https://graph.microsoft.com"}`)
				return message(e, e.call("GET", "/api/machines", tok, ""), "audience")
			},
			status: 403, code: "Forbidden",
		},
		{
			name: "a token for the API with /.default kept in its audience",
			do: func(e *env) resp {
				tok := e.mint(`{"audience":"https://api.securitycenter.microsoft.com/.default"}`)
				return e.call("GET", "/api/machines", tok, "")
			},
			status: 403, code: "Forbidden",
		},
		{
			name: "no Authorization header",
			do: func(e *env) resp {
				return message(e, e.call("GET", "/api/machines", "", ""), "no Authorization header")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "a Basic credential on the API",
			do: func(e *env) resp {
				return message(e, e.call("GET", "/api/machines", "", "", "Authorization", "Basic YTpi"), "not a Bearer token")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "a Bearer scheme with no token",
			do: func(e *env) resp {
				return message(e, e.call("GET", "/api/machines", "", "", "Authorization", "Bearer "), "no token")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "a token that is no JWT",
			do: func(e *env) resp {
				return message(e, e.call("GET", "/api/machines", "not.a.jwt", ""), "malformed")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "a token with a forged signature",
			do: func(e *env) resp {
				parts := strings.Split(e.token, ".")
				sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
				sig[len(sig)/2] ^= 0x40
				forged := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
				return message(e, e.call("GET", "/api/machines", forged, ""), "signature is invalid")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "an expired token",
			do: func(e *env) resp {
				tok := e.mint(`{"expiresIn":"10m"}`)
				if r := e.call("GET", "/api/machines?$top=1", tok, ""); r.status != 200 {
					e.t.Fatalf("before expiry: %d %s", r.status, r.body)
				}
				e.advance(10 * time.Minute)
				return message(e, e.call("GET", "/api/machines", tok, ""), "expired")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "a token signed with the emulator's key by another issuer",
			do: func(e *env) resp {
				key, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					e.t.Fatal(err)
				}
				set, err := fixture.Default()
				if err != nil {
					e.t.Fatal(err)
				}
				set.SigningKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
				srv, err := emulator.New(emulator.Options{Fixtures: set, Clock: clock.Manual, Start: start})
				if err != nil {
					e.t.Fatal(err)
				}
				e.t.Cleanup(func() { srv.Close() })
				other, err := identity.New(identity.Options{Key: key, Now: srv.Clock().Now,
					Issuer: func(tid string) string { return "https://login.microsoftonline.com/" + tid + "/v2.0" }})
				if err != nil {
					e.t.Fatal(err)
				}
				other.SetApps(srv.Authority().Apps())
				tok, _, err := other.Mint(identity.MintRequest{})
				if err != nil {
					e.t.Fatal(err)
				}
				req := httptest.NewRequest("GET", "/api/machines", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				return message(e, serve(e, srv.Handler(), req, "127.0.0.1:40000"), "issuer")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "the control plane from another host",
			do: func(e *env) resp {
				// Through the client that checks the answer against the
				// control plane's document.
				req, err := http.NewRequest("POST", testBase+"/_emulator/tokens", nil)
				if err != nil {
					e.t.Fatal(err)
				}
				req.RemoteAddr = peer
				r := e.send(req)
				for _, path := range []string{"/_emulator/journal", "/_emulator/fixtures", "/_emulator/nothing", "/_emulator"} {
					if got := serve(e, e.srv.Handler(), httptest.NewRequest("GET", path, nil), peer); got.status != 403 {
						e.t.Errorf("GET %s from another host: %d", path, got.status)
					}
				}
				if got := serve(e, e.srv.Handler(), httptest.NewRequest("GET", "/_emulator/health", nil), "[::1]:40000"); got.status != 200 {
					e.t.Errorf("health from ::1: %d %s", got.status, got.body)
				}
				return r
			},
			status: 403, code: "Forbidden",
			after: func(e *env) {
				// The API itself answers every host.
				req := httptest.NewRequest("GET", "/api/machines?$top=1", nil)
				req.Header.Set("Authorization", "Bearer "+e.token)
				if r := serve(e, e.srv.Handler(), req, peer); r.status != 200 {
					e.t.Errorf("the API from another host: %d %s", r.status, r.body)
				}
			},
		},
		{
			name: "an exposed control plane without its token",
			do: func(e *env) resp {
				srv := exposed(e, "")
				if len(srv.ControlToken()) < 32 {
					e.t.Errorf("control token %q: want a random one", srv.ControlToken())
				}
				for _, auth := range []string{"Bearer wrong", "Basic " + base64.StdEncoding.EncodeToString([]byte("x:"+srv.ControlToken())), srv.ControlToken()} {
					req := httptest.NewRequest("POST", "/_emulator/tokens", nil)
					req.Header.Set("Authorization", auth)
					if r := serve(e, srv.Handler(), req, "127.0.0.1:40000"); r.status != 401 {
						e.t.Errorf("Authorization %q: %d", auth, r.status)
					}
				}
				r := serve(e, srv.Handler(), httptest.NewRequest("POST", "/_emulator/tokens", nil), peer)
				if err := validateControl(r); err != nil {
					e.t.Error(err)
				}
				return r
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "an exposed control plane with its token",
			do: func(e *env) resp {
				srv := exposed(e, "s3cret-control-token")
				req := httptest.NewRequest("POST", "/_emulator/tokens", nil)
				req.Header.Set("Authorization", "Bearer s3cret-control-token")
				return serve(e, srv.Handler(), req, peer)
			},
			status: 200,
		},
		{
			// The identity endpoints read a form of any size, without
			// credentials: net/http's 10 MB, or as multipart a file part
			// of any size, which echo wrote to a temporary file.
			name: "a 20 MB multipart form to the token endpoint",
			do: func(e *env) resp {
				var body bytes.Buffer
				mw := multipart.NewWriter(&body)
				fw, _ := mw.CreateFormFile("x", "x.bin")
				_, _ = fw.Write(bytes.Repeat([]byte("x"), 20<<20))
				_ = mw.WriteField("grant_type", "client_credentials")
				_ = mw.Close()
				req, _ := http.NewRequest("POST", testBase+"/"+tenantID+"/oauth2/v2.0/token", &body)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				return oauthResp(e.send(req))
			},
			status: 413, code: "invalid_request",
		},
		{
			name: "a chunked form of 100 KB to the device code endpoint",
			do: func(e *env) resp {
				form := "client_id=" + lrClientID + "&scope=" + strings.Repeat("s", 100<<10)
				req, _ := http.NewRequest("POST", testBase+"/"+tenantID+"/oauth2/v2.0/devicecode", io.MultiReader(strings.NewReader(form)))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.ContentLength = -1 // no length declared: found over the bound while read
				return oauthResp(e.send(req))
			},
			status: 413, code: "invalid_request",
		},
		{
			name: "a token request of 60 KB is read",
			do: func(e *env) resp {
				form := url.Values{"grant_type": {"client_credentials"}, "client_id": {soarClientID}, "client_secret": {defaultSecret},
					"scope": {identity.DefaultAudience + "/.default"}, "padding": {strings.Repeat("p", 60<<10)}}
				req, _ := http.NewRequest("POST", testBase+"/"+tenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return e.send(req)
			},
			status: 200,
		},
		{
			name: "secrets in token requests and links reach neither the journal nor the log",
			do: func(e *env) resp {
				var logs bytes.Buffer
				le := newEnv(e.t, func(o *emulator.Options) {
					o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				})
				secret := defaultSecret
				token := "/" + tenantID + "/oauth2/v2.0/token"
				form := url.Values{"grant_type": {"client_credentials"}, "scope": {identity.DefaultAudience + "/.default"}}
				// client_secret_basic: the credentials in the Authorization header.
				req, _ := http.NewRequest("POST", testBase+token, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(lrClientID, secret)
				basic := le.send(req)
				if basic.status != 200 {
					le.t.Fatalf("Basic token request: %d %s", basic.status, basic.body)
				}
				var tok struct {
					AccessToken string `json:"access_token"`
				}
				_ = json.Unmarshal(basic.body, &tok)
				// The secret in the query, a client assertion in the body.
				q := url.Values{"client_id": {soarClientID}, "client_secret": {secret}}
				le.call("POST", token+"?"+q.Encode(), "", "")
				req, _ = http.NewRequest("POST", testBase+token, strings.NewReader("client_id="+soarClientID+"&client_assertion=assertion-secret-1&client_assertion_type=x"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				le.send(req)
				// A token in the query of an API call, a result link's sig.
				le.call("GET", "/api/machines?access_token="+tok.AccessToken, tok.AccessToken, "")
				id := le.submit(winMachine, runScriptThenGetFile)
				le.advance(time.Minute)
				link, _ := url.Parse(le.downloadLink(id, 0))
				sig := link.Query().Get("sig")
				if got := le.call("GET", link.Path+"?"+link.RawQuery, "", ""); got.status != 200 {
					le.t.Fatalf("download: %d %s", got.status, got.body)
				}
				entries := le.srv.Journal().Query(journal.Filter{})
				all, _ := json.Marshal(entries)
				kept := string(all) + logs.String()
				for _, s := range []string{secret, "assertion-secret-1", tok.AccessToken, sig, url.QueryEscape(sig), le.token} {
					if s != "" && strings.Contains(kept, s) {
						le.t.Errorf("the journal or the log keeps %q:\n%s", s, kept)
					}
				}
				// The Basic token request is the Live Response Runner's.
				if !strings.Contains(logs.String(), "app="+lrClientID) || len(le.srv.Journal().Query(journal.Filter{AppID: lrClientID})) == 0 {
					le.t.Errorf("the Basic token request is not attributed to %s:\n%s", lrClientID, logs.String())
				}
				body, _ := io.ReadAll(strings.NewReader(logs.String()))
				return resp{t: e.t, status: http.StatusOK, body: body}
			},
			status: 200,
		},
	}
}

// oauthResp returns r with the identity platform's error code ("error",
// a string) where errorCode reads the API's (error.code).
func oauthResp(r resp) resp {
	var b struct{ Error string }
	if json.Unmarshal(r.body, &b) == nil && b.Error != "" {
		r.body = fmt.Appendf(nil, `{"error":{"code":%q},"oauth":%s}`, b.Error, r.body)
	}
	return r
}
