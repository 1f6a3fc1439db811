package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// The interactive sign-in flows: the device authorization grant
// (v2-oauth2-device-code) and the authorization code flow with PKCE
// (v2-oauth2-auth-code-flow). Unlike the password and refresh-token
// grants they keep state between requests: device codes, sign-in
// sessions of the authorization page and authorization codes, in the
// Authority's flowStore.
//
// Time, after docs/time.md: every lifetime a client is told or acts on
// (a device code's expires_in, an authorization code's 10 minutes) is
// wall time, and is converted once, when issued, into an emulated
// deadline (Options.EmulatedDuration), like an access token's exp: under
// a sped-up clock it passes in that much wall time, under a manual clock
// when the clock is advanced by it. The polling interval of the device
// flow is the client's own pace and is measured on the wall clock only.

const (
	// DeviceCodeGrant is the grant_type of a device-code poll.
	DeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"
	// DeviceCodeLifetime is a device code's expires_in: "the user has 15
	// minutes to sign in. This is the default value for expires_in"
	// (v2-oauth2-device-code).
	DeviceCodeLifetime = 15 * time.Minute
	// DeviceCodeInterval is the polling interval a device code answer
	// gives (the identity platform answers 5).
	DeviceCodeInterval = 5 * time.Second
	// slowDownStep is what each slow_down adds to the interval (RFC 8628
	// §3.5: "the interval MUST be increased by 5 seconds").
	slowDownStep = 5 * time.Second
	// pollSlack forgives a poll that arrives up to this much before the
	// interval has passed (network jitter between two polls).
	pollSlack = time.Second
	// AuthCodeLifetime is an authorization code's lifetime: "Authorization
	// codes are short lived. Typically, they expire after about 10
	// minutes" (v2-oauth2-auth-code-flow). The sign-in page's session
	// lasts as long.
	AuthCodeLifetime = 10 * time.Minute
	// DeviceLoginURI is the verification_uri of a device code, the
	// identity platform's.
	DeviceLoginURI = "https://microsoft.com/devicelogin"
	// maxState bounds the state an authorization request may carry; it
	// travels back to the client in the redirect (longer: AADSTS90015).
	maxState = 2048
	// maxFlows bounds each kind of pending flow the store holds; beyond
	// it (after dropping expired ones) new flows are refused.
	maxFlows = 10000
	// flowPruneEvery is how often (in emulated time) the store drops what
	// has expired when it takes a new flow, so that flows nobody finishes
	// do not sit in it until it is full.
	flowPruneEvery = time.Minute
)

// flowStore holds the state of the interactive flows.
type flowStore struct {
	mu      sync.Mutex
	devices map[string]*deviceFlow // device_code → flow
	byUser  map[string]*deviceFlow // normalised user_code → flow
	// byLogin: the verification page's session → flow (one per flow,
	// replaced each time the page is opened for its code).
	byLogin  map[string]*deviceFlow
	sessions map[string]*authSession
	codes    map[string]*authCode
	pruneAt  time.Time // when a new flow next drops the expired ones
}

func (f *flowStore) init() {
	f.devices = map[string]*deviceFlow{}
	f.byUser = map[string]*deviceFlow{}
	f.byLogin = map[string]*deviceFlow{}
	f.sessions = map[string]*authSession{}
	f.codes = map[string]*authCode{}
}

type deviceState int

const (
	devicePending deviceState = iota
	deviceApproved
	deviceDeclined
	deviceRedeemed
)

// deviceFlow is one device code.
type deviceFlow struct {
	tenantID, clientID   string
	deviceCode, userCode string
	req                  delegatedRequest
	scopes               []string
	expires              time.Time     // emulated
	interval             time.Duration // wall
	lastPoll             time.Time     // wall; zero before the first poll
	state                deviceState
	userOID              string
	// autoUser approves the code by itself at autoAt (wall), when set:
	// the app's AutoApproveUser and AutoApproveAfter when it was issued.
	autoUser string
	autoAt   time.Time
	// login is the verification page's session for this code, if opened.
	login string
}

// autoApproveLocked approves flow, still pending and not expired, when
// its app approves device codes by themselves and their delay has passed
// on the wall clock: lazily, when the code is next looked at (a poll, the
// control plane), so no timer runs per code. A user no longer in the
// directory approves nothing: the code stays pending.
func (flow *deviceFlow) autoApproveLocked(d *directory, now, wall time.Time) {
	if flow.state != devicePending || flow.autoUser == "" || wall.Before(flow.autoAt) || !now.Before(flow.expires) {
		return
	}
	if u := d.userByName(flow.tenantID, flow.autoUser); u != nil {
		flow.state, flow.userOID = deviceApproved, u.ObjectID
	}
}

// authSession is a sign-in page shown and not yet answered.
type authSession struct {
	tenantID, clientID         string
	redirectURI, state, mode   string
	challenge, challengeMethod string
	req                        delegatedRequest
	scopes                     []string
	expires                    time.Time // emulated
}

// authCode is an authorization code.
type authCode struct {
	tenantID, clientID         string
	redirectURI                string
	challenge, challengeMethod string
	req                        delegatedRequest
	scopes                     []string
	userOID                    string
	expires                    time.Time // emulated
	redeemed                   bool
}

// randomCode returns n random bytes, base64url-encoded.
func randomCode(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b64(b)
}

// newUserCode returns a user code of 9 letters and digits without the
// ambiguous ones, like the identity platform's ("FRWQDE7YL").
func newUserCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// normalizeUserCode compares user codes without case, spaces or dashes.
func normalizeUserCode(s string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(s)))
}

// ClearFlows drops every device code, sign-in page and authorization code
// in progress: the emulator's state was replaced (a reset, new fixtures,
// a scenario), and they belong to the old one. Its clock may even have
// gone back, so that they would not expire when they should.
func (a *Authority) ClearFlows() {
	f := &a.flows
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.devices)
	clear(f.byUser)
	clear(f.byLogin)
	clear(f.sessions)
	clear(f.codes)
	f.pruneAt = time.Time{}
}

// pruneDueLocked drops what has expired when a store of n flows of the
// kind about to be added is full or a prune is due (flowPruneEvery).
func (f *flowStore) pruneDueLocked(now time.Time, n int) {
	if n >= maxFlows || !now.Before(f.pruneAt) {
		f.pruneLocked(now)
		f.pruneAt = now.Add(flowPruneEvery)
	}
}

// pruneLocked drops what has expired (device codes and authorization
// codes a lifetime later, so a late poll still learns they expired).
func (f *flowStore) pruneLocked(now time.Time) {
	for k, d := range f.devices {
		if now.Sub(d.expires) > DeviceCodeLifetime || d.state == deviceRedeemed && now.After(d.expires) {
			delete(f.devices, k)
			delete(f.byUser, normalizeUserCode(d.userCode))
			delete(f.byLogin, d.login)
		}
	}
	for k, s := range f.sessions {
		if now.After(s.expires) {
			delete(f.sessions, k)
		}
	}
	for k, c := range f.codes {
		if now.Sub(c.expires) > AuthCodeLifetime {
			delete(f.codes, k)
		}
	}
}

func (a *Authority) busy() *OAuthError {
	return a.newOAuthError(http.StatusServiceUnavailable, "temporarily_unavailable", 90033,
		"A transient error has occurred. Please try again.")
}

// DeviceCodeResponse is the answer of the device authorization endpoint.
// The v2.0 endpoint sends expires_in and interval as numbers and
// verification_uri; the v1 endpoint (V1) sends every value as a string
// and verification_url, as ADAL reads it.
type DeviceCodeResponse struct {
	UserCode        string
	DeviceCode      string
	VerificationURI string
	ExpiresIn       int
	Interval        int
	Message         string
	V1              bool
}

// MarshalJSON writes r in its endpoint's shape.
func (r DeviceCodeResponse) MarshalJSON() ([]byte, error) {
	if r.V1 {
		return json.Marshal(struct {
			UserCode        string `json:"user_code"`
			DeviceCode      string `json:"device_code"`
			VerificationURL string `json:"verification_url"`
			ExpiresIn       string `json:"expires_in"`
			Interval        string `json:"interval"`
			Message         string `json:"message"`
		}{r.UserCode, r.DeviceCode, r.VerificationURI, fmt.Sprint(r.ExpiresIn), fmt.Sprint(r.Interval), r.Message})
	}
	return json.Marshal(struct {
		UserCode        string `json:"user_code"`
		DeviceCode      string `json:"device_code"`
		VerificationURI string `json:"verification_uri"`
		ExpiresIn       int    `json:"expires_in"`
		Interval        int    `json:"interval"`
		Message         string `json:"message"`
	}{r.UserCode, r.DeviceCode, r.VerificationURI, r.ExpiresIn, r.Interval, r.Message})
}

// DeviceCode answers the device authorization request (POST
// /{tenant}/oauth2/v2.0/devicecode with client_id and scope, or v1's
// /{tenant}/oauth2/devicecode with client_id and resource). The checks:
// the tenant (400 invalid_request AADSTS90002), client_id (AADSTS900144),
// the scope or resource (as the password grant), the app and its secret
// when sent (delegatedClient), consent (grantedScopes, AADSTS65001). The
// device code then waits for the user: ApproveDeviceCode, or the
// verification page (OpenDeviceLogin). verification_uri is
// DeviceLoginURI, the identity platform's (DeviceCodeAt names another).
func (a *Authority) DeviceCode(tenant string, form url.Values, v2 bool) (*DeviceCodeResponse, *OAuthError) {
	return a.DeviceCodeAt(tenant, form, v2, DeviceLoginURI)
}

// DeviceCodeAt is DeviceCode with verificationURI as the answer's
// verification_uri and in its message: the emulator's own verification
// page when the client reached the emulator under the emulator's address.
func (a *Authority) DeviceCodeAt(tenant string, form url.Values, v2 bool, verificationURI string) (*DeviceCodeResponse, *OAuthError) {
	d := a.dir.Load()
	if _, ok := d.tenant(tenant); !ok {
		return nil, a.tenantNotFound(tenant)
	}
	if strings.TrimSpace(form.Get("client_id")) == "" {
		return nil, a.missingParameter("client_id")
	}
	req, oerr := a.resourceOf(form, v2, true)
	if oerr != nil {
		return nil, oerr
	}
	tid, app, _, oerr := a.delegatedClient(d, tenant, form, false)
	if oerr != nil {
		return nil, oerr
	}
	scopes, oerr := a.grantedScopes(app, req)
	if oerr != nil {
		return nil, oerr
	}
	now := a.now()
	flow := &deviceFlow{
		tenantID: tid, clientID: app.ClientID,
		deviceCode: randomCode(96), userCode: newUserCode(),
		req: req, scopes: scopes,
		expires:  now.Add(a.toEmu(DeviceCodeLifetime)),
		interval: DeviceCodeInterval,
	}
	if app.AutoApproveUser != "" {
		flow.autoUser, flow.autoAt = app.AutoApproveUser, a.wall().Add(app.AutoApproveAfter)
	}
	f := &a.flows
	f.mu.Lock()
	f.pruneDueLocked(now, len(f.devices))
	if len(f.devices) >= maxFlows {
		f.mu.Unlock()
		return nil, a.busy()
	}
	for f.byUser[flow.userCode] != nil {
		flow.userCode = newUserCode()
	}
	f.devices[flow.deviceCode] = flow
	f.byUser[flow.userCode] = flow
	f.mu.Unlock()
	return &DeviceCodeResponse{
		UserCode:        flow.userCode,
		DeviceCode:      flow.deviceCode,
		VerificationURI: verificationURI,
		ExpiresIn:       int(DeviceCodeLifetime / time.Second),
		Interval:        int(DeviceCodeInterval / time.Second),
		Message: fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.",
			verificationURI, flow.userCode),
		V1: !v2,
	}, nil
}

// DeviceToken answers a poll of the token endpoint with the device-code
// grant (grant_type=urn:ietf:params:oauth:grant-type:device_code,
// client_id, device_code, optional client_secret). The checks: the
// tenant, client_id and device_code (AADSTS900144), the app and its
// secret (delegatedClient), then the code: unknown, or of another tenant
// or app → 400 bad_verification_code AADSTS70018; expired (expires_in
// passed) → 400 expired_token AADSTS70019; declined → 400
// authorization_declined AADSTS65004; already redeemed → 400
// invalid_grant AADSTS54005; still pending → 400 authorization_pending
// AADSTS70016 (unless the app approves its codes by themselves and
// AutoApproveAfter of wall time has passed since the code was issued:
// then the code is approved by the app's AutoApproveUser), or 400
// slow_down (RFC 8628 §3.5; the same AADSTS70016) when polled more than a second before the interval since the previous
// poll had passed, each slow_down adding 5 seconds to the interval. An
// approved code answers with the delegated token of the password grant
// (and its refresh token: v1 always, v2.0 with offline_access), once.
func (a *Authority) DeviceToken(tenant string, form url.Values, v2 bool) (*TokenResponse, *OAuthError) {
	d := a.dir.Load()
	if _, ok := d.tenant(tenant); !ok {
		return nil, a.tenantNotFound(tenant)
	}
	for _, p := range []string{"client_id", "device_code"} {
		if strings.TrimSpace(form.Get(p)) == "" {
			return nil, a.missingParameter(p)
		}
	}
	tid, app, confidential, oerr := a.delegatedClient(d, tenant, form, true)
	if oerr != nil {
		return nil, oerr
	}
	now, wall := a.now(), a.wall()
	f := &a.flows
	f.mu.Lock()
	flow := f.devices[strings.TrimSpace(form.Get("device_code"))]
	if flow == nil || !strings.EqualFold(flow.tenantID, tid) || !strings.EqualFold(flow.clientID, app.ClientID) {
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "bad_verification_code", 70018,
			"The provided value for the input parameter 'device_code' is not valid.")
	}
	flow.autoApproveLocked(d, now, wall)
	last := flow.lastPoll
	flow.lastPoll = wall
	state, oid := flow.state, flow.userOID
	switch {
	case state == deviceRedeemed:
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 54005,
			"OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case state != deviceApproved && !now.Before(flow.expires):
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "expired_token", 70019,
			"Verification code expired. Have the user retry the sign-in.")
	case state == deviceDeclined:
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "authorization_declined", 65004,
			"User declined to consent to access the app.")
	case state == devicePending:
		if !last.IsZero() && wall.Sub(last) < flow.interval-pollSlack {
			flow.interval += slowDownStep
			iv := flow.interval
			f.mu.Unlock()
			return nil, a.newOAuthError(http.StatusBadRequest, "slow_down", 70016, fmt.Sprintf(
				"OAuth 2.0 device flow error. Authorization is pending and the client polled faster than the interval. Wait %d seconds between polls.",
				int(iv/time.Second)))
		}
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "authorization_pending", 70016,
			"OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	}
	flow.state = deviceRedeemed
	req, scopes := flow.req, flow.scopes
	f.mu.Unlock()
	user := d.userByID(tid, oid)
	if user == nil {
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 70000,
			"The provided value for the input parameter 'device_code' is not valid: its user no longer exists in the directory.")
	}
	return a.delegatedResponse(app, user, scopes, req, confidential, v2)
}

// Errors of ApproveDeviceCode.
var (
	ErrUnknownUserCode = errors.New("identity: no pending device code has this user code")
	ErrCodeExpired     = errors.New("identity: the device code has expired")
	ErrCodeCompleted   = errors.New("identity: the device code was already approved or declined")
	ErrUnknownUser     = errors.New("identity: no such user in the device code's tenant")
)

// DeviceApproval says who completed a device code, for the control plane.
type DeviceApproval struct {
	UserCode string `json:"userCode"`
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
	Status   string `json:"status"` // "approved" or "declined"
	User     string `json:"user,omitempty"`
}

// ApproveDeviceCode completes the sign-in of the device code with this
// user code (without case, spaces or dashes), as the user would at the
// verification page: approve true signs user (UPN or object id of the
// code's tenant) in, false declines. It fails with ErrUnknownUserCode,
// ErrCodeExpired, ErrCodeCompleted (also once the app's automatic
// approval has taken place) or ErrUnknownUser.
func (a *Authority) ApproveDeviceCode(userCode, user string, approve bool) (*DeviceApproval, error) {
	d := a.dir.Load()
	f := &a.flows
	f.mu.Lock()
	defer f.mu.Unlock()
	return a.approveLocked(d, f.byUser[normalizeUserCode(userCode)], user, approve)
}

// approveLocked completes flow (nil: unknown) as ApproveDeviceCode
// describes; f.mu is held.
func (a *Authority) approveLocked(d *directory, flow *deviceFlow, user string, approve bool) (*DeviceApproval, error) {
	now, wall := a.now(), a.wall()
	if flow != nil {
		flow.autoApproveLocked(d, now, wall)
	}
	switch {
	case flow == nil:
		return nil, ErrUnknownUserCode
	case flow.state != devicePending:
		return nil, ErrCodeCompleted
	case !now.Before(flow.expires):
		return nil, ErrCodeExpired
	}
	out := &DeviceApproval{UserCode: flow.userCode, TenantID: flow.tenantID, ClientID: flow.clientID}
	if !approve {
		flow.state = deviceDeclined
		out.Status = "declined"
		return out, nil
	}
	u := d.userByName(flow.tenantID, user)
	if u == nil {
		return nil, fmt.Errorf("%w: %q in tenant %s", ErrUnknownUser, user, flow.tenantID)
	}
	flow.state, flow.userOID = deviceApproved, u.ObjectID
	out.Status, out.User = "approved", u.UPN
	return out, nil
}

// SignInUser is a user as the sign-in page lists them.
type SignInUser struct {
	ObjectID, UPN, DisplayName string
}

// SignInPage is what the authorization endpoint shows: the app, the
// tenant's users to pick from, and the session the answer names.
type SignInPage struct {
	Session  string
	TenantID string
	AppName  string
	ClientID string
	Scopes   []string
	Users    []SignInUser
}

// AuthorizeError is a refused authorization request. With RedirectURI
// set the client gets it at its redirect URI (error, error_description,
// state); without, the redirect URI cannot be trusted and the emulator
// shows it on an error page, as the identity platform does.
type AuthorizeError struct {
	Status      int
	Error       string
	Description string
	RedirectURI string
	State       string
	Mode        string
}

func (a *Authority) authorizeError(code string, aadsts int, msg string) *AuthorizeError {
	e := a.newOAuthError(http.StatusBadRequest, code, aadsts, msg)
	return &AuthorizeError{Status: http.StatusBadRequest, Error: code, Description: e.Description}
}

// RedirectURIAllowed reports whether redirect is a redirect URI the
// emulator accepts for an app that registers registered: any http URI on
// localhost or 127.0.0.1 (any port and path, as the identity platform's
// localhost exception allows for native apps), and exactly any URI the
// app registers.
func RedirectURIAllowed(redirect string, registered []string) bool {
	for _, r := range registered {
		if r == redirect {
			return true
		}
	}
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "[::1]" || h == "::1"
}

// Authorize checks an authorization request (GET
// /{tenant}/oauth2/v2.0/authorize; v1's /{tenant}/oauth2/authorize takes
// resource instead of scope) and opens a sign-in session. registered are
// the app's redirect URIs (RedirectURIAllowed). The checks: the tenant
// (AADSTS90002), client_id (AADSTS900144), the app (AADSTS700016),
// redirect_uri (missing: AADSTS900144; not allowed: AADSTS50011), all
// shown on an error page; then, sent to the redirect URI:
// response_type not code → unsupported_response_type AADSTS70005,
// response_mode other than query, fragment or form_post → invalid_request
// AADSTS70007, state longer than 2048 characters or nonce longer than 512
// → invalid_request AADSTS90015, the scope (invalid_request AADSTS900144 when missing,
// invalid_scope as the password grant's), consent (consent_required
// AADSTS65001), code_challenge_method without code_challenge or other
// than S256 and plain → invalid_request AADSTS501491.
func (a *Authority) Authorize(tenant string, q url.Values, v2 bool, registered func(tenantID, clientID string) []string) (*SignInPage, *AuthorizeError) {
	d := a.dir.Load()
	tid, ok := d.tenant(tenant)
	if !ok {
		return nil, a.authorizeError("invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found.", tenant))
	}
	clientID := strings.TrimSpace(q.Get("client_id"))
	if clientID == "" {
		return nil, a.authorizeError("invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	app := d.app(tid, clientID)
	if app == nil {
		return nil, a.authorizeError("unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'.", clientID, tid))
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		return nil, a.authorizeError("invalid_request", 900144, "The request body must contain the following parameter: 'redirect_uri'.")
	}
	var reg []string
	if registered != nil {
		reg = registered(tid, app.ClientID)
	}
	if !RedirectURIAllowed(redirect, reg) {
		return nil, a.authorizeError("invalid_request", 50011, fmt.Sprintf(
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. "+
				"Make sure the redirect URI sent in the request matches one added to your application.", redirect, app.ClientID))
	}
	mode := q.Get("response_mode")
	redirectErr := func(code string, aadsts int, msg string) *AuthorizeError {
		e := a.authorizeError(code, aadsts, msg)
		e.Status, e.RedirectURI, e.State, e.Mode = http.StatusFound, redirect, q.Get("state"), mode
		if len(e.State) > maxState {
			e.State = ""
		}
		switch mode {
		case "fragment", "form_post":
		default:
			e.Mode = "query"
		}
		return e
	}
	switch mode {
	case "", "query", "fragment", "form_post":
	default:
		return nil, redirectErr("invalid_request", 70007, fmt.Sprintf(
			"The application requested an unsupported response_mode '%s': the emulator answers with query, fragment or form_post.", mode))
	}
	if len(q.Get("state")) > maxState || len(q.Get("nonce")) > maxNonce {
		return nil, redirectErr("invalid_request", 90015, fmt.Sprintf(
			"The request has a parameter that is too long: state may hold %d characters, nonce %d.", maxState, maxNonce))
	}
	if rt := q.Get("response_type"); rt != "code" {
		return nil, redirectErr("unsupported_response_type", 70005, fmt.Sprintf(
			"The application requested an unsupported response type '%s': the emulator serves the authorization code flow (response_type=code).", rt))
	}
	req, oerr := a.resourceOf(q, v2, true)
	if oerr != nil {
		return nil, redirectErr(oerr.Error, oerr.ErrorCodes[0], stripDescription(oerr.Description))
	}
	req.nonce = q.Get("nonce")
	scopes, oerr := a.grantedScopes(app, req)
	if oerr != nil {
		return nil, redirectErr("consent_required", oerr.ErrorCodes[0], stripDescription(oerr.Description))
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return nil, redirectErr("invalid_request", 501491, "code_challenge_method was sent without code_challenge.")
	case challenge != "" && method == "":
		method = "plain" // "If excluded, code_challenge is assumed to be plaintext"
	case challenge != "" && method != "S256" && method != "plain":
		return nil, redirectErr("invalid_request", 501491, fmt.Sprintf(
			"Invalid code_challenge_method '%s': the identity platform supports S256 and plain.", method))
	case challenge != "" && (len(challenge) < 43 || len(challenge) > 128):
		return nil, redirectErr("invalid_request", 501491, "InvalidCodeChallengeMethodInvalidSize - Invalid size of Code_Challenge parameter.")
	}
	now := a.now()
	s := &authSession{
		tenantID: tid, clientID: app.ClientID, redirectURI: redirect, state: q.Get("state"), mode: mode,
		challenge: challenge, challengeMethod: method, req: req, scopes: scopes,
		expires: now.Add(a.toEmu(AuthCodeLifetime)),
	}
	id := randomCode(32)
	f := &a.flows
	f.mu.Lock()
	f.pruneDueLocked(now, len(f.sessions))
	if len(f.sessions) >= maxFlows {
		f.mu.Unlock()
		e := a.authorizeError("temporarily_unavailable", 90033, "A transient error has occurred. Please try again.")
		e.Status = http.StatusServiceUnavailable
		return nil, e
	}
	f.sessions[id] = s
	f.mu.Unlock()
	page := &SignInPage{Session: id, TenantID: tid, AppName: app.DisplayName, ClientID: app.ClientID, Scopes: scopes}
	for _, u := range d.users {
		if strings.EqualFold(u.TenantID, tid) && u.ObjectID != "" && u.UPN != "" {
			page.Users = append(page.Users, SignInUser{ObjectID: u.ObjectID, UPN: u.UPN, DisplayName: u.DisplayName})
		}
	}
	return page, nil
}

// stripDescription returns the message of an OAuthError's description,
// without its AADSTS prefix and trace lines (authorizeError adds them
// again).
func stripDescription(desc string) string {
	msg, _, _ := strings.Cut(desc, "\r\n")
	if _, rest, ok := strings.Cut(msg, ": "); ok {
		return rest
	}
	return msg
}

// AuthorizeRedirect is where the sign-in page's answer sends the browser:
// RedirectURI with Params in its query (or fragment when Fragment), or,
// when FormPost (response_mode=form_post), a page whose form POSTs Params
// to RedirectURI.
type AuthorizeRedirect struct {
	RedirectURI string
	Params      url.Values
	Fragment    bool
	FormPost    bool
}

// FormField is one hidden field of a form_post answer.
type FormField struct{ Name, Value string }

// Fields returns Params as the form_post page's fields, sorted by name.
func (r *AuthorizeRedirect) Fields() []FormField {
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []FormField
	for _, k := range keys {
		for _, v := range r.Params[k] {
			out = append(out, FormField{k, v})
		}
	}
	return out
}

// URL returns the redirect's location.
func (r *AuthorizeRedirect) URL() string {
	u, err := url.Parse(r.RedirectURI)
	if err != nil {
		return r.RedirectURI
	}
	if r.Fragment {
		u.Fragment = ""
		return u.String() + "#" + r.Params.Encode()
	}
	q := u.Query()
	for k, v := range r.Params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Errors of CompleteSignIn.
var ErrUnknownSession = errors.New("identity: the sign-in session is unknown or has expired")

// CompleteSignIn answers the sign-in page of session: decline true, or
// the user picked (object id or UPN of the session's tenant). It returns
// where to send the browser: the redirect URI with code and state, or
// with error=access_denied (AADSTS65004) and state when declined. The
// session is used once. It fails with ErrUnknownSession or
// ErrUnknownUser.
func (a *Authority) CompleteSignIn(session, user string, decline bool) (*AuthorizeRedirect, error) {
	d := a.dir.Load()
	now := a.now()
	f := &a.flows
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[session]
	if s == nil || now.After(s.expires) {
		delete(f.sessions, session)
		return nil, ErrUnknownSession
	}
	out := &AuthorizeRedirect{RedirectURI: s.redirectURI, Params: url.Values{}, Fragment: s.mode == "fragment", FormPost: s.mode == "form_post"}
	if decline {
		delete(f.sessions, session)
		e := a.newOAuthError(http.StatusBadRequest, "access_denied", 65004,
			"The user declined to consent to access the app.")
		out.Params.Set("error", "access_denied")
		out.Params.Set("error_description", e.Description)
		if s.state != "" {
			out.Params.Set("state", s.state)
		}
		return out, nil
	}
	u := d.userByName(s.tenantID, user)
	if u == nil {
		return nil, fmt.Errorf("%w: %q in tenant %s", ErrUnknownUser, user, s.tenantID)
	}
	f.pruneDueLocked(now, len(f.codes))
	if len(f.codes) >= maxFlows {
		return nil, errors.New("identity: too many authorization codes pending; try again")
	}
	delete(f.sessions, session)
	code := randomCode(96)
	f.codes[code] = &authCode{
		tenantID: s.tenantID, clientID: s.clientID, redirectURI: s.redirectURI,
		challenge: s.challenge, challengeMethod: s.challengeMethod,
		req: s.req, scopes: s.scopes, userOID: u.ObjectID,
		expires: now.Add(a.toEmu(AuthCodeLifetime)),
	}
	out.Params.Set("code", code)
	if s.state != "" {
		out.Params.Set("state", s.state)
	}
	return out, nil
}

// AuthorizationCode answers the authorization-code grant
// (grant_type=authorization_code, client_id, code, redirect_uri,
// code_verifier, optional client_secret, optional v2.0 scope whose
// offline_access asks for a refresh token). The checks: the tenant,
// client_id, code and redirect_uri (AADSTS900144), the app and its secret
// (delegatedClient), then the code: unknown, or issued to another tenant
// or app → 400 invalid_grant AADSTS70000; already redeemed → 400
// invalid_grant AADSTS54005; expired (10 minutes) → 400 invalid_grant
// AADSTS70008; redirect_uri not the authorization request's → 400
// invalid_grant AADSTS70000; code_verifier missing or not matching the
// code_challenge → 400 invalid_grant AADSTS501481. A code is redeemed
// once, on success.
func (a *Authority) AuthorizationCode(tenant string, form url.Values, v2 bool) (*TokenResponse, *OAuthError) {
	d := a.dir.Load()
	if _, ok := d.tenant(tenant); !ok {
		return nil, a.tenantNotFound(tenant)
	}
	for _, p := range []string{"client_id", "code", "redirect_uri"} {
		if strings.TrimSpace(form.Get(p)) == "" {
			return nil, a.missingParameter(p)
		}
	}
	tid, app, confidential, oerr := a.delegatedClient(d, tenant, form, true)
	if oerr != nil {
		return nil, oerr
	}
	invalid := func(why string) *OAuthError {
		return a.newOAuthError(http.StatusBadRequest, "invalid_grant", 70000,
			"The provided value for the 'code' parameter is not valid: "+why)
	}
	now := a.now()
	f := &a.flows
	f.mu.Lock()
	c := f.codes[strings.TrimSpace(form.Get("code"))]
	switch {
	case c == nil:
		f.mu.Unlock()
		return nil, invalid("the code is unknown.")
	case !strings.EqualFold(c.tenantID, tid) || !strings.EqualFold(c.clientID, app.ClientID):
		f.mu.Unlock()
		return nil, invalid("it was issued to another client.")
	case c.redeemed:
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 54005,
			"OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case now.After(c.expires):
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 70008,
			"The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case form.Get("redirect_uri") != c.redirectURI:
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 70000,
			"The provided value for the 'redirect_uri' is not valid. The value must exactly match the redirect URI used to obtain the authorization code.")
	case c.challenge != "" && !verifierMatches(form.Get("code_verifier"), c.challenge, c.challengeMethod):
		f.mu.Unlock()
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 501481,
			"The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	c.redeemed = true
	req, scopes, oid := c.req, c.scopes, c.userOID
	f.mu.Unlock()
	if v2 && !req.offline && strings.Contains(strings.ToLower(form.Get("scope")), "offline_access") {
		req.offline = true
	}
	// The v1 endpoint answers the authorization-code grant with an ID
	// token always; v2.0 when openid was asked (at /authorize or here).
	req.openid = req.openid || !v2 || asksOpenID(form.Get("scope"))
	user := d.userByID(tid, oid)
	if user == nil {
		return nil, invalid("its user no longer exists in the directory.")
	}
	return a.delegatedResponse(app, user, scopes, req, confidential, v2)
}

// verifierMatches checks a PKCE code_verifier against the challenge
// (RFC 7636 §4.6): S256 is BASE64URL(SHA256(verifier)), plain the verifier
// itself.
func verifierMatches(verifier, challenge, method string) bool {
	if verifier == "" {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = b64(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}
