package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tokenSource fetches tokens and caches one until shortly before it
// expires: an app's with the client credentials grant, or a user's with
// the password grant or the device code flow, then with the refresh token
// of the last answer (signing in again only when the identity platform
// refuses it).
type tokenSource struct {
	c                       *Client
	url                     string
	clientID, secret, scope string
	username, password      string // a user's sign-in, when username is set
	deviceCode              bool   // a user's sign-in with the device code flow
	deviceURL               string // the device authorization endpoint
	show                    func(DeviceCodePrompt)
	refresh                 string // the user's latest refresh token

	// sem lets one caller at a time fetch a token, the others wait for
	// it (or for their context).
	sem chan struct{}

	mu        sync.Mutex
	current   string
	refreshAt time.Time // wall time after which current is not used
}

func newTokenSource(c *Client, cfg Config) *tokenSource {
	return &tokenSource{
		c: c, url: cfg.TokenURL, clientID: cfg.ClientID, secret: cfg.ClientSecret, scope: cfg.Scope,
		username: cfg.Username, password: cfg.Password, sem: make(chan struct{}, 1),
		deviceCode: cfg.DeviceCode, deviceURL: cfg.DeviceCodeURL, show: cfg.ShowDeviceCode,
	}
}

// user reports whether the tokens are a user's (delegated), not the app's.
func (ts *tokenSource) user() bool { return ts.username != "" || ts.deviceCode }

// cached returns the cached token if it is still good.
func (ts *tokenSource) cached() (string, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.current, ts.current != "" && time.Now().Before(ts.refreshAt)
}

// token returns a token to call the API with, fetching one when the cache
// holds none that is good.
func (ts *tokenSource) token(ctx context.Context) (string, error) {
	if t, ok := ts.cached(); ok {
		return t, nil
	}
	select {
	case ts.sem <- struct{}{}:
		defer func() { <-ts.sem }()
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for a token: %w", context.Cause(ctx))
	}
	if t, ok := ts.cached(); ok { // another caller fetched it meanwhile
		return t, nil
	}
	t, lifetime, err := ts.fetch(ctx)
	if err != nil {
		return "", fmt.Errorf("getting a token: %w", err)
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.current = t
	ts.refreshAt = time.Now().Add(lifetime - min(5*time.Minute, lifetime/2))
	return t, nil
}

// invalidate drops token from the cache, if it is still the cached one:
// the API refused it.
func (ts *tokenSource) invalidate(token string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.current == token {
		ts.current = ""
	}
}

// fetch asks the token endpoint for a token and returns it with its
// lifetime. For a user it uses the refresh token when it has one, and
// signs in again (with the password, or a new device code) only when the
// identity platform refuses the refresh token (expired, revoked): a
// refused refresh token is no reason to fail a call the user's sign-in
// still allows.
func (ts *tokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	if !ts.user() {
		return ts.exchange(ctx, url.Values{"grant_type": {"client_credentials"}})
	}
	if ts.refresh != "" {
		t, lifetime, err := ts.exchange(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ts.refresh}})
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
			return t, lifetime, err
		}
		ts.c.log.Debug("refresh token refused, signing in again", "code", ae.Code)
		ts.refresh = ""
	}
	if ts.deviceCode {
		return ts.deviceSignIn(ctx)
	}
	return ts.exchange(ctx, url.Values{"grant_type": {"password"}, "username": {ts.username}, "password": {ts.password}})
}

// userScope is the v2.0 scope of a user's sign-in: the API's, and
// offline_access for a refresh token.
func (ts *tokenSource) userScope() string {
	if !ts.user() || strings.Contains(" "+ts.scope+" ", " offline_access ") {
		return ts.scope
	}
	return ts.scope + " offline_access"
}

// exchange posts form, completed with the client and the scope, to the
// token endpoint and returns the token and its lifetime; it keeps the
// refresh token of the answer, if any.
func (ts *tokenSource) exchange(ctx context.Context, form url.Values) (string, time.Duration, error) {
	form.Set("client_id", ts.clientID)
	if ts.secret != "" {
		form.Set("client_secret", ts.secret)
	}
	ts.setScope(form)
	body, err := ts.c.do(ctx, &call{
		method: "POST", url: ts.url,
		body: []byte(form.Encode()), contentType: "application/x-www-form-urlencoded",
	})
	if err != nil {
		return "", 0, err
	}
	// v2.0 sends numbers, v1 sends strings (and expires_on).
	var r struct {
		AccessToken  string      `json:"access_token"`
		RefreshToken string      `json:"refresh_token"`
		ExpiresIn    json.Number `json:"expires_in"`
		ExpiresOn    json.Number `json:"expires_on"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.AccessToken == "" {
		return "", 0, fmt.Errorf("POST %s: the answer holds no access_token", redact(ts.url))
	}
	lifetime := 5 * time.Minute // when the answer says nothing usable
	if s, err := strconv.ParseFloat(string(r.ExpiresIn), 64); err == nil && s > 0 {
		lifetime = time.Duration(s * float64(time.Second))
	} else if on, err := strconv.ParseInt(string(r.ExpiresOn), 10, 64); err == nil {
		lifetime = max(time.Until(time.Unix(on, 0)), 0)
	}
	if r.RefreshToken != "" && ts.user() {
		ts.refresh = r.RefreshToken
	}
	return r.AccessToken, lifetime, nil
}

// setScope sets what form asks for: the resource on the v1 endpoints
// (…/oauth2/token, …/oauth2/devicecode), which take no scope, else the
// scope.
func (ts *tokenSource) setScope(form url.Values) {
	if strings.HasSuffix(strings.TrimRight(ts.url, "/"), "/oauth2/token") {
		form.Set("resource", strings.TrimSuffix(ts.scope, "/.default"))
	} else {
		form.Set("scope", ts.userScope())
	}
}
