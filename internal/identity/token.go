package identity

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mdelive/mde-emulator/internal/guid"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token lifetimes as Entra answers them for the client-credentials grant.
const (
	// DefaultExpiresIn is expires_in of a token response: 3599 seconds.
	DefaultExpiresIn = 3599 * time.Second
	// notBeforeSkew backdates nbf and iat like Entra does (5 minutes), so a
	// client whose clock is a little behind can use a fresh token.
	notBeforeSkew = 5 * time.Minute
)

// TokenResponse is the body of a successful answer of the token endpoint.
//
// The v2.0 endpoint sends numbers as JSON numbers:
//
//	{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"…"}
//
// The v1 endpoint (V1 true) sends every value as a string and adds
// expires_on, not_before (unix seconds) and resource:
//
//	{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":"1547440166","not_before":"1547436266","resource":"https://…","access_token":"…"}
type TokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	// ExpiresOn, NotBefore and Resource are sent by the v1 endpoint only.
	ExpiresOn   int64  `json:"expires_on,omitempty"`
	NotBefore   int64  `json:"not_before,omitempty"`
	Resource    string `json:"resource,omitempty"`
	AccessToken string `json:"access_token"`
	// Scope (the delegated permissions granted, space-separated) and
	// RefreshToken are sent for delegated tokens only (password and
	// refresh-token grants).
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// IDToken is the OpenID Connect ID token of a delegated grant that
	// asked for one (idtoken.go).
	IDToken string `json:"id_token,omitempty"`
	// V1 selects the v1 endpoint's shape in MarshalJSON.
	V1 bool `json:"-"`
}

// MarshalJSON writes r in the shape of the endpoint that issued it (see
// TokenResponse).
func (r TokenResponse) MarshalJSON() ([]byte, error) {
	if !r.V1 {
		return json.Marshal(struct {
			TokenType    string `json:"token_type"`
			Scope        string `json:"scope,omitempty"`
			ExpiresIn    int    `json:"expires_in"`
			ExtExpiresIn int    `json:"ext_expires_in"`
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token,omitempty"`
			IDToken      string `json:"id_token,omitempty"`
		}{r.TokenType, r.Scope, r.ExpiresIn, r.ExtExpiresIn, r.AccessToken, r.RefreshToken, r.IDToken})
	}
	return json.Marshal(struct {
		TokenType    string `json:"token_type"`
		Scope        string `json:"scope,omitempty"`
		ExpiresIn    string `json:"expires_in"`
		ExtExpiresIn string `json:"ext_expires_in"`
		ExpiresOn    string `json:"expires_on"`
		NotBefore    string `json:"not_before"`
		Resource     string `json:"resource"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token,omitempty"`
		IDToken      string `json:"id_token,omitempty"`
	}{
		r.TokenType, r.Scope, strconv.Itoa(r.ExpiresIn), strconv.Itoa(r.ExtExpiresIn),
		strconv.FormatInt(r.ExpiresOn, 10), strconv.FormatInt(r.NotBefore, 10),
		r.Resource, r.AccessToken, r.RefreshToken, r.IDToken,
	})
}

// OAuthError is the body of a failed answer of the token endpoint, with the
// HTTP status it travels with. The HTTP handler writes it as JSON with
// status Status and Content-Type application/json.
type OAuthError struct {
	Status      int    `json:"-"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
	// SubError refines Error where the identity platform does
	// (consent_required for a permission not consented).
	SubError      string `json:"suberror,omitempty"`
	ErrorCodes    []int  `json:"error_codes"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
	ErrorURI      string `json:"error_uri"`
}

// newOAuthError builds the error the identity platform sends: the
// description is "AADSTS{code}: {message}" followed by the trace id,
// correlation id and timestamp, each on its own CRLF line.
func (a *Authority) newOAuthError(status int, errCode string, aadsts int, msg string) *OAuthError {
	ts := a.now().UTC().Format("2006-01-02 15:04:05Z")
	trace, corr := guid.New(), guid.New()
	return &OAuthError{
		Status: status,
		Error:  errCode,
		Description: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			aadsts, msg, trace, corr, ts),
		ErrorCodes:    []int{aadsts},
		Timestamp:     ts,
		TraceID:       trace,
		CorrelationID: corr,
		ErrorURI:      "https://login.microsoftonline.com/error?code=" + strconv.Itoa(aadsts),
	}
}

// BodyTooLarge is the answer to a request whose form is over limit
// bytes: 413 invalid_request. The identity platform documents no bound
// nor its answer; AADSTS90013 is its "invalid input received" code.
func (a *Authority) BodyTooLarge(limit int) *OAuthError {
	return a.newOAuthError(http.StatusRequestEntityTooLarge, "invalid_request", 90013,
		fmt.Sprintf("The request body is larger than %d bytes, the most the emulator reads at an identity endpoint.", limit))
}

// oidcScopes may accompany a /.default scope and are ignored.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "email": true, "offline_access": true}

// ClientCredentials answers the client-credentials grant of the token
// endpoint: v1 (POST /{tenant}/oauth2/token, which takes resource) when v2 is
// false, v2.0 (POST /{tenant}/oauth2/v2.0/token, which takes scope
// "{resource}/.default") when v2 is true. tenant is the tenant id from the
// path (case-insensitive). The credentials are read from the form only: the
// HTTP handler merges an "Authorization: Basic" header (client_secret_basic)
// into the form as client_id and client_secret before calling.
//
// The checks run in this order, each with the identity platform's answer:
// tenant (400 invalid_request AADSTS90002), grant_type (400 invalid_request
// AADSTS900144 when missing, 400 unsupported_grant_type AADSTS70003 when not
// client_credentials), client_id (400 invalid_request AADSTS900144), the
// resource (v1: 400 invalid_resource AADSTS50001 when missing; v2: 400
// invalid_request AADSTS900144 when scope is missing, 400 invalid_scope
// AADSTS1002012 when it does not end in /.default, 400 invalid_scope
// AADSTS28000 for two resources), the app (400 unauthorized_client
// AADSTS700016), client_secret (401 invalid_client AADSTS7000218 when
// missing, 401 invalid_client AADSTS7000215 when wrong). A public client
// (ClientPublic) has no credential to present: without one it gets the
// missing secret's AADSTS7000218, with one AADSTS700025, as on the
// delegated grants.
//
// Any resource is accepted: a token for another API verifies with
// WrongAudience, like the real API's 403 for such a token.
func (a *Authority) ClientCredentials(tenant string, form url.Values, v2 bool) (*TokenResponse, *OAuthError) {
	d := a.dir.Load()
	tid, ok := d.tenant(tenant)
	if !ok {
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
			"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. "+
				"Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
	}
	switch gt := form.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		return nil, a.missingParameter("grant_type")
	default:
		return nil, a.newOAuthError(http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt))
	}
	clientID := strings.TrimSpace(form.Get("client_id"))
	if clientID == "" {
		return nil, a.missingParameter("client_id")
	}
	var audience string
	if v2 {
		var oerr *OAuthError
		audience, oerr = a.scopeAudience(form.Get("scope"))
		if oerr != nil {
			return nil, oerr
		}
	} else {
		audience = strings.TrimSpace(form.Get("resource"))
		if audience == "" {
			return nil, a.newOAuthError(http.StatusBadRequest, "invalid_resource", 50001,
				"Resource identifier is not provided.")
		}
	}
	app := d.app(tid, clientID)
	if app == nil {
		return nil, a.newOAuthError(http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
			"Application with identifier '%s' was not found in the directory '%s'. "+
				"This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. "+
				"You may have sent your authentication request to the wrong tenant.", clientID, tid))
	}
	secret := form.Get("client_secret")
	if app.ClientType == ClientPublic && (secret != "" || form.Get("client_assertion") != "") {
		return nil, a.newOAuthError(http.StatusUnauthorized, "invalid_client", 700025,
			"Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
	}
	if secret == "" {
		return nil, a.newOAuthError(http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1 {
		return nil, a.newOAuthError(http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "+
				"not the client secret ID, for a secret added to app '%s'.", app.ClientID))
	}
	_, resp, err := a.mint(app, app.Roles, audience, app.lifetime())
	if err != nil {
		return nil, a.newOAuthError(http.StatusInternalServerError, "temporarily_unavailable", 90033,
			"A transient error has occurred. Please try again.")
	}
	if !v2 {
		resp.V1 = true
		resp.Resource = audience
	} else {
		resp.ExpiresOn, resp.NotBefore = 0, 0
	}
	return resp, nil
}

func (a *Authority) missingParameter(name string) *OAuthError {
	return a.newOAuthError(http.StatusBadRequest, "invalid_request", 900144,
		fmt.Sprintf("The request body must contain the following parameter: '%s'.", name))
}

// scopeAudience returns the resource of a v2.0 scope parameter: the one
// "{resource}/.default" value, OpenID scopes ignored.
func (a *Authority) scopeAudience(scope string) (string, *OAuthError) {
	fields := strings.Fields(scope)
	if len(fields) == 0 {
		return "", a.missingParameter("scope")
	}
	var resources []string
	for _, f := range fields {
		if oidcScopes[strings.ToLower(f)] {
			continue
		}
		r, ok := strings.CutSuffix(f, "/.default")
		if !ok || r == "" {
			return "", a.newOAuthError(http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
				"The provided value for scope %s is not valid. Client credential flows must have a scope value "+
					"with /.default suffixed to the resource identifier (application ID URI).", f))
		}
		resources = append(resources, r)
	}
	switch len(resources) {
	case 1:
		return resources[0], nil
	case 0:
		return "", a.newOAuthError(http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf(
			"The provided value for scope %s is not valid. Client credential flows must have a scope value "+
				"with /.default suffixed to the resource identifier (application ID URI).", scope))
	default:
		return "", a.newOAuthError(http.StatusBadRequest, "invalid_scope", 28000, fmt.Sprintf(
			"Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", scope))
	}
}

// MintRequest asks Mint for a token without the token endpoint's checks.
type MintRequest struct {
	// TenantID and ClientID name the app. Both empty: the default app (the
	// first app of the first tenant). Only TenantID: the tenant's first
	// app. Only ClientID: the first app with that client id.
	TenantID, ClientID string
	// Roles go in the roles claim. Nil: the app's roles; empty non-nil: none.
	Roles []string
	// Audience is the aud claim. Empty: DefaultAudience.
	Audience string
	// ExpiresIn is the token's lifetime. 0: the app's (3599s unless its
	// AccessTokenLifetime says otherwise). Negative: a token that
	// has already expired, for tests.
	ExpiresIn time.Duration
	// User, when set, makes a delegated token for the user of the app's
	// tenant with this UPN (without case) or object id, through the app.
	User string
	// Scopes go in a delegated token's scp. Nil: the app's delegated
	// permissions; empty non-nil: none. Not checked against the app's
	// consent: the control plane mints what a test asks for.
	Scopes []string
}

// Mint issues a token for an app of the directory, as POST
// /_emulator/tokens does: the raw JWT and the v2.0-shaped token response
// carrying it. It fails when the directory holds no such app.
func (a *Authority) Mint(req MintRequest) (string, *TokenResponse, error) {
	d := a.dir.Load()
	var app *App
	switch {
	case req.TenantID != "" && req.ClientID != "":
		app = d.app(req.TenantID, req.ClientID)
	case req.ClientID != "":
		app = d.appByClient(req.ClientID)
	default:
		app = d.firstApp(req.TenantID)
	}
	if app == nil {
		switch {
		case req.TenantID == "" && req.ClientID == "":
			return "", nil, errors.New("identity: no app in the directory")
		case req.ClientID == "":
			return "", nil, fmt.Errorf("identity: tenant %q has no app", req.TenantID)
		default:
			return "", nil, fmt.Errorf("identity: app %q not found in tenant %q", req.ClientID, req.TenantID)
		}
	}
	if req.User != "" {
		return a.mintDelegated(d, app, req)
	}
	if req.Scopes != nil {
		return "", nil, errors.New("identity: scopes are for a user's token; give a user")
	}
	roles := req.Roles
	if roles == nil {
		roles = app.Roles
	}
	aud := req.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	exp := req.ExpiresIn
	if exp == 0 {
		exp = app.lifetime()
	}
	raw, resp, err := a.mint(app, roles, aud, exp)
	if err != nil {
		return "", nil, err
	}
	resp.ExpiresOn, resp.NotBefore = 0, 0
	return raw, resp, nil
}

// mint signs a token. Its claims are those of an Entra v1.0 app-only access
// token, which is what Entra issues for the Defender for Endpoint API from
// both the v1 and the v2.0 endpoint (the resource app asks for v1.0 tokens):
// aud, iss, iat, nbf, exp, the app's identity (appid, appidacr, azp, azpacr,
// idp, idtyp "app", oid, sub, tid), a random uti, roles when there are any,
// app_displayname and ver "1.0". iat and nbf are backdated 5 minutes.
//
// lifetime is measured in the client's wall time (docs/time.md): expires_in
// is lifetime, and the token stops verifying once lifetime of wall time has
// passed, so exp (emulated, what Verify checks) is now plus lifetime
// converted to emulated time, in whole seconds (cut, like every NumericDate:
// the token is refused once its lifetime has passed, never after). The
// claims iat, nbf and exp are emulated instants; the v1
// response's expires_on and not_before are wall-clock instants, which a
// client can compare with its own clock.
func (a *Authority) mint(app *App, roles []string, aud string, lifetime time.Duration) (string, *TokenResponse, error) {
	oid := nameGUID(app.TenantID + "/" + app.ClientID)
	claims := jwt.MapClaims{
		"app_displayname": app.DisplayName,
		"appid":           app.ClientID,
		"appidacr":        "1",
		"azp":             app.ClientID,
		"azpacr":          "1",
		"idp":             a.issuer(app.TenantID),
		"idtyp":           "app",
		"oid":             oid,
		"sub":             oid,
		"tid":             app.TenantID,
		"uti":             newUTI(),
		"ver":             "1.0",
	}
	if len(roles) > 0 {
		claims["roles"] = append([]string(nil), roles...)
	}
	return a.signAccess(app.TenantID, aud, lifetime, claims)
}

// signAccess adds to claims what every access token carries (aud, iss of
// tenantID, iat and nbf backdated 5 minutes, exp lifetime of wall time
// later, as mint's doc says), signs the token and returns it with its token
// response.
func (a *Authority) signAccess(tenantID, aud string, lifetime time.Duration, claims jwt.MapClaims) (string, *TokenResponse, error) {
	now := a.now()
	iat := now.Add(-notBeforeSkew)
	exp := now.Add(a.toEmu(lifetime))
	wall := a.wall()
	claims["aud"] = aud
	claims["iss"] = a.issuer(tenantID)
	claims["iat"] = iat.Unix()
	claims["nbf"] = iat.Unix()
	claims["exp"] = exp.Unix()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = a.kid
	tok.Header["x5t"] = a.kid
	raw, err := tok.SignedString(a.key)
	if err != nil {
		return "", nil, fmt.Errorf("identity: sign token: %w", err)
	}
	secs := int(lifetime / time.Second)
	return raw, &TokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    secs,
		ExtExpiresIn: secs,
		ExpiresOn:    wall.Add(time.Duration(secs) * time.Second).Unix(),
		NotBefore:    wall.Add(-notBeforeSkew).Unix(),
		AccessToken:  raw,
	}, nil
}

// nameGUID returns a name-based (version-5 style) GUID: the same name gives
// the same GUID, so an app's object id is stable across runs.
func nameGUID(name string) string {
	sum := sha1.Sum([]byte(strings.ToLower(name)))
	var b [16]byte
	copy(b[:], sum[:16])
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return guid.Format(b)
}

// newUTI returns a random unique token id like Entra's uti claim.
func newUTI() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return b64(b[:])
}
