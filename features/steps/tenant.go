package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TenantTarget is a real tenant (or anything without a control plane): the
// default app's token comes from the OAuth client-credentials flow, and
// the only machine known is the test device.
type TenantTarget struct {
	base    string
	client  *http.Client
	creds   Credentials
	machine string
	user    UserCredentials
	now     func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewTenantTarget returns a target for the API at base (such as
// https://api.securitycenter.microsoft.com), with tokens from creds and
// machine as its one test device. client nil means http.DefaultClient.
func NewTenantTarget(base string, client *http.Client, creds Credentials, machine string) *TenantTarget {
	if client == nil {
		client = http.DefaultClient
	}
	if creds.Scope == "" {
		creds.Scope = apiScope
	}
	return &TenantTarget{base: strings.TrimSuffix(base, "/"), client: client, creds: creds, machine: machine, now: time.Now}
}

// BaseURL implements Target.
func (t *TenantTarget) BaseURL() string { return t.base }

// HTTPClient implements Target.
func (t *TenantTarget) HTTPClient() *http.Client { return t.client }

// Credentials implements Target.
func (t *TenantTarget) Credentials() Credentials { return t.creds }

// Control implements Target: a tenant has none.
func (t *TenantTarget) Control() Control { return nil }

// Machines implements Target: only the test device.
func (t *TenantTarget) Machines() MachineRefs { return MachineRefs{Windows: t.machine} }

// SetUser makes u the target's test user: a user with "View data" and
// advanced live response over the test device, whom the default app may
// sign in with the password grant. Without one the @delegated scenarios
// cannot run.
func (t *TenantTarget) SetUser(u UserCredentials) { t.user = u }

// Users implements Target: only the test user, if any.
func (t *TenantTarget) Users() UserRefs { return UserRefs{Test: t.user} }

// Token implements Target: a client-credentials token for the default
// app, reused until five minutes before it expires.
func (t *TenantTarget) Token(ctx context.Context, app AppRef) (string, error) {
	if !app.IsDefault() {
		return "", ErrNeedsControl
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Before(t.expires.Add(-5*time.Minute)) {
		return t.token, nil
	}
	tok, err := ClientCredentials(ctx, t.client, t.creds)
	if err != nil {
		return "", err
	}
	t.token, t.expires = tok.AccessToken, t.now().Add(time.Duration(tok.ExpiresIn)*time.Second)
	return t.token, nil
}

// TokenResponse is the identity platform's answer to a token request.
type TokenResponse struct {
	TokenType string `json:"token_type"`
	// ExpiresIn is the token's lifetime in seconds (a number from the
	// v2.0 endpoint, a string from v1).
	ExpiresIn   Seconds `json:"expires_in"`
	AccessToken string  `json:"access_token"`
}

// Seconds is a number of seconds written as a JSON number or string.
type Seconds int

// UnmarshalJSON reads 3599 or "3599".
func (s *Seconds) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(b), `"`))
	if err != nil {
		return fmt.Errorf("expires_in %s: %w", b, err)
	}
	*s = Seconds(n)
	return nil
}

// PasswordGrant gets a user's token with the password grant (resource
// owner password credentials) of the identity platform's v2.0 endpoint,
// through the app of c (its secret sent when not empty).
func PasswordGrant(ctx context.Context, client *http.Client, c Credentials, u UserCredentials) (TokenResponse, error) {
	if u.Username == "" {
		return TokenResponse{}, ErrNoUser
	}
	return tokenRequest(ctx, client, c.TokenURL, passwordForm(c, u))
}

// passwordForm is the form of a password grant.
func passwordForm(c Credentials, u UserCredentials) url.Values {
	scope := c.Scope
	if scope == "" {
		scope = apiScope
	}
	form := url.Values{
		"grant_type": {"password"}, "client_id": {c.ClientID},
		"username": {u.Username}, "password": {u.Password}, "scope": {scope},
	}
	if c.ClientSecret != "" {
		form.Set("client_secret", c.ClientSecret)
	}
	return form
}

// ClientCredentials gets a token with the client-credentials grant of the
// identity platform's v2.0 endpoint.
func ClientCredentials(ctx context.Context, client *http.Client, c Credentials) (TokenResponse, error) {
	form := url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.ClientID},
		"client_secret": {c.ClientSecret}, "scope": {c.Scope},
	}
	return tokenRequest(ctx, client, c.TokenURL, form)
}

// tokenRequest posts form to the token endpoint tokenURL.
func tokenRequest(ctx context.Context, client *http.Client, tokenURL string, form url.Values) (TokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return TokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := client.Do(req)
	if err != nil {
		return TokenResponse{}, fmt.Errorf("token request: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return TokenResponse{}, err
	}
	if res.StatusCode != http.StatusOK {
		return TokenResponse{}, fmt.Errorf("token request to %s: %d %s", tokenURL, res.StatusCode, b)
	}
	var tok TokenResponse
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return TokenResponse{}, fmt.Errorf("token request to %s: no access_token in %s", tokenURL, b)
	}
	return tok, nil
}
