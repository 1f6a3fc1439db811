package identity

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultRefreshLifetime is how long a refresh token stays valid: the
// identity platform's documented default for refresh tokens (90 days,
// "Refresh tokens" page), measured like an access token's lifetime.
const DefaultRefreshLifetime = 90 * 24 * time.Hour

// GrantTypes are the grants the token endpoints serve, as the discovery
// documents list them.
var GrantTypes = []string{"authorization_code", "client_credentials", "password", "refresh_token", DeviceCodeGrant}

// refreshMarker is the claim that makes a JWT a refresh token of this
// authority; Verify refuses such a token as an access token.
const refreshMarker = "mde_rt"

// Token answers a token request of either endpoint (v1 when v2 is false):
// the client-credentials grant (ClientCredentials), the resource owner
// password credentials grant (grant_type=password), the refresh-token
// grant (grant_type=refresh_token), the authorization-code grant
// (AuthorizationCode) and the device-code grant (DeviceToken). The tenant is checked first (400
// invalid_request AADSTS90002); grant types it does not serve get 400
// unsupported_grant_type AADSTS70003.
func (a *Authority) Token(tenant string, form url.Values, v2 bool) (*TokenResponse, *OAuthError) {
	switch form.Get("grant_type") {
	case "password":
		return a.Password(tenant, form, v2)
	case "refresh_token":
		return a.Refresh(tenant, form, v2)
	case "authorization_code":
		return a.AuthorizationCode(tenant, form, v2)
	case DeviceCodeGrant:
		return a.DeviceToken(tenant, form, v2)
	}
	return a.ClientCredentials(tenant, form, v2)
}

// delegatedClient runs the checks the delegated grants share: the tenant,
// client_id (400 invalid_request AADSTS900144), the app (400
// unauthorized_client AADSTS700016) and its authentication after its
// ClientType: a public client that sends client_secret or
// client_assertion → 401 invalid_client AADSTS700025; a confidential
// client that sends no client_secret → 401 invalid_client AADSTS7000218;
// a secret sent that is not the app's → 401 invalid_client AADSTS7000215.
// An app of ClientAny goes with or without a secret (the emulator's
// default: the identity platform requires it only of confidential
// clients). The bool reports whether the client sent its secret.
//
// grant false is the device authorization request, which does not
// authenticate the client: a confidential client's missing secret is
// refused when it redeems the code, as the identity platform does (the
// code is issued, the poll answers AADSTS7000218).
func (a *Authority) delegatedClient(d *directory, tenant string, form url.Values, grant bool) (string, *App, bool, *OAuthError) {
	tid, ok := d.tenant(tenant)
	if !ok {
		return "", nil, false, a.tenantNotFound(tenant)
	}
	clientID := strings.TrimSpace(form.Get("client_id"))
	if clientID == "" {
		return "", nil, false, a.missingParameter("client_id")
	}
	app := d.app(tid, clientID)
	if app == nil {
		return "", nil, false, a.appNotFound(clientID, tid)
	}
	secret := form.Get("client_secret")
	switch {
	case app.ClientType == ClientPublic && (secret != "" || form.Get("client_assertion") != ""):
		return "", nil, false, a.newOAuthError(http.StatusUnauthorized, "invalid_client", 700025,
			"Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
	case grant && app.ClientType == ClientConfidential && secret == "":
		return "", nil, false, a.newOAuthError(http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	case secret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(app.ClientSecret)) != 1:
		return "", nil, false, a.newOAuthError(http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "+
				"not the client secret ID, for a secret added to app '%s'.", app.ClientID))
	}
	return tid, app, secret != "", nil
}

func (a *Authority) tenantNotFound(tenant string) *OAuthError {
	return a.newOAuthError(http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. "+
			"Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", tenant))
}

func (a *Authority) appNotFound(clientID, tid string) *OAuthError {
	return a.newOAuthError(http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
		"Application with identifier '%s' was not found in the directory '%s'. "+
			"This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. "+
			"You may have sent your authentication request to the wrong tenant.", clientID, tid))
}

// delegatedRequest is what a delegated grant asks for: the resource (the
// token's aud), the permissions (nil: every one consented for the app) and
// whether a refresh token is wanted.
type delegatedRequest struct {
	resource string
	scopes   []string
	offline  bool
	// openid asks for an ID token (idtoken.go), with nonce when the
	// authorization request had one.
	openid bool
	nonce  string
}

// parseDelegatedScope reads a v2.0 scope parameter of a delegated grant:
// "{resource}/.default" or "{resource}/{permission}" values of one
// resource, OpenID scopes aside (offline_access asks for a refresh
// token). A value without a resource, /.default with other permissions of
// the resource, or an empty scope is 400 invalid_scope AADSTS70011; two
// resources 400 invalid_scope AADSTS28000.
func (a *Authority) parseDelegatedScope(scope string) (delegatedRequest, *OAuthError) {
	var req delegatedRequest
	invalid := func(v string) *OAuthError {
		return a.newOAuthError(http.StatusBadRequest, "invalid_scope", 70011, fmt.Sprintf(
			"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", v))
	}
	all := false
	for _, f := range strings.Fields(scope) {
		switch strings.ToLower(f) {
		case "offline_access":
			req.offline = true
			continue
		case "openid":
			req.openid = true
			continue
		case "profile", "email":
			continue
		}
		i := strings.LastIndex(f, "/")
		if i <= 0 || i == len(f)-1 {
			return req, invalid(f)
		}
		res, perm := f[:i], f[i+1:]
		if req.resource != "" && normalizeAudience(res) != normalizeAudience(req.resource) {
			return req, a.newOAuthError(http.StatusBadRequest, "invalid_scope", 28000, fmt.Sprintf(
				"Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", scope))
		}
		req.resource = res
		if perm == ".default" {
			all = true
		} else {
			req.scopes = append(req.scopes, perm)
		}
	}
	switch {
	case req.resource == "":
		return req, invalid(scope)
	case all && len(req.scopes) > 0:
		return req, invalid(scope + " (/.default cannot be combined with other permissions of the resource)")
	}
	return req, nil
}

// grantedScopes returns the permissions a delegated token of app gets for
// req: those asked for, or every consented one for /.default and v1's
// resource. A permission not consented for the app, or any permission of
// a resource that is not the Defender API, is 400 invalid_grant
// AADSTS65001 with suberror consent_required (the password grant cannot
// ask the user for consent).
func (a *Authority) grantedScopes(app *App, req delegatedRequest) ([]string, *OAuthError) {
	notConsented := func() *OAuthError {
		e := a.newOAuthError(http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf(
			"The user or administrator has not consented to use the application with ID '%s' named '%s'. "+
				"Send an interactive authorization request for this user and resource.", app.ClientID, app.DisplayName))
		e.SubError = "consent_required"
		return e
	}
	if !a.audienceAccepted(req.resource) || len(app.DelegatedPermissions) == 0 {
		return nil, notConsented()
	}
	if req.scopes == nil {
		return append([]string(nil), app.DelegatedPermissions...), nil
	}
	var out []string
	for _, s := range req.scopes {
		i := slices.IndexFunc(app.DelegatedPermissions, func(p string) bool { return strings.EqualFold(p, s) })
		if i < 0 {
			return nil, notConsented()
		}
		if !slices.Contains(out, app.DelegatedPermissions[i]) {
			out = append(out, app.DelegatedPermissions[i])
		}
	}
	return out, nil
}

// Password answers the resource owner password credentials grant
// (grant_type=password, username, password, client_id, optional
// client_secret, and v1's resource or v2.0's scope). The checks, in order:
// the tenant, client_id, username and password (400 invalid_request
// AADSTS900144 when missing), the resource (v1: 400 invalid_resource
// AADSTS50001; v2.0: scope missing → AADSTS900144, else
// parseDelegatedScope), the app and its secret (delegatedClient), the user
// (400 invalid_grant AADSTS50034 for a name not in the tenant), the
// password (400 invalid_grant AADSTS50126), consent (grantedScopes). The
// answer carries scope and, from v1 always and from v2.0 when scope holds
// offline_access, a refresh token.
func (a *Authority) Password(tenant string, form url.Values, v2 bool) (*TokenResponse, *OAuthError) {
	d := a.dir.Load()
	if _, ok := d.tenant(tenant); !ok {
		return nil, a.tenantNotFound(tenant)
	}
	for _, p := range []string{"client_id", "username", "password"} {
		if strings.TrimSpace(form.Get(p)) == "" {
			return nil, a.missingParameter(p)
		}
	}
	req, oerr := a.resourceOf(form, v2, true)
	if oerr != nil {
		return nil, oerr
	}
	tid, app, confidential, oerr := a.delegatedClient(d, tenant, form, true)
	if oerr != nil {
		return nil, oerr
	}
	user := d.userByUPN[appKey(tid, strings.TrimSpace(form.Get("username")))]
	if user == nil {
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 50034, fmt.Sprintf(
			"The user account {EUII Hidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.", tid))
	}
	if user.Password == "" || subtle.ConstantTimeCompare([]byte(form.Get("password")), []byte(user.Password)) != 1 {
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 50126,
			"Error validating credentials due to invalid username or password.")
	}
	scopes, oerr := a.grantedScopes(app, req)
	if oerr != nil {
		return nil, oerr
	}
	return a.delegatedResponse(app, user, scopes, req, confidential, v2)
}

// resourceOf reads the resource of a delegated grant: v1's resource, v2.0's
// scope. required false (the refresh-token grant) lets both be absent:
// the refresh token's own then apply (the zero delegatedRequest).
func (a *Authority) resourceOf(form url.Values, v2, required bool) (delegatedRequest, *OAuthError) {
	if v2 {
		scope := form.Get("scope")
		if strings.TrimSpace(scope) == "" {
			if required {
				return delegatedRequest{}, a.missingParameter("scope")
			}
			return delegatedRequest{}, nil
		}
		if !required && onlyOIDC(scope) {
			return delegatedRequest{offline: strings.Contains(strings.ToLower(scope), "offline_access"), openid: asksOpenID(scope)}, nil
		}
		return a.parseDelegatedScope(scope)
	}
	res := strings.TrimSpace(form.Get("resource"))
	if res == "" {
		if required {
			return delegatedRequest{}, a.newOAuthError(http.StatusBadRequest, "invalid_resource", 50001,
				"Resource identifier is not provided.")
		}
		return delegatedRequest{offline: true, openid: asksOpenID(form.Get("scope"))}, nil
	}
	return delegatedRequest{resource: res, offline: true, openid: asksOpenID(form.Get("scope"))}, nil
}

// onlyOIDC reports whether scope holds OpenID scopes only.
func onlyOIDC(scope string) bool {
	for _, f := range strings.Fields(scope) {
		if !oidcScopes[strings.ToLower(f)] {
			return false
		}
	}
	return true
}

// refreshClaims are the claims of the emulator's refresh tokens: who
// (tid, oid), through which app (appid), for which resource and
// permissions. They are RS256 JWTs signed with the authority's key,
// opaque to clients; nothing is stored, so any number can be issued.
type refreshClaims struct {
	jwt.RegisteredClaims
	Marker   string `json:"mde_rt"`
	TenantID string `json:"tid"`
	OID      string `json:"oid"`
	AppID    string `json:"appid"`
	Resource string `json:"resource"`
	Scp      string `json:"scp"`
	// OpenID: the sign-in asked for an ID token; a refresh that names no
	// scope gets one again.
	OpenID bool `json:"mde_oidc,omitempty"`
}

// Refresh answers the refresh-token grant (grant_type=refresh_token,
// refresh_token, client_id, optional client_secret, optional v1 resource
// or v2.0 scope: absent, the refresh token's). The checks, in order: the
// tenant, client_id and refresh_token (400 invalid_request AADSTS900144),
// the app and its secret (delegatedClient), the refresh token: not one of
// this authority's (malformed, forged) → 400 invalid_grant AADSTS9002313;
// expired (90 days) → 400 invalid_grant AADSTS700082; of another tenant,
// app, or of a user no longer in the directory → 400 invalid_grant
// AADSTS70000; then consent for a scope or resource it names. The answer
// is a new access token and a new refresh token; the old refresh token
// stays valid until it expires (the emulator keeps no state).
func (a *Authority) Refresh(tenant string, form url.Values, v2 bool) (*TokenResponse, *OAuthError) {
	d := a.dir.Load()
	if _, ok := d.tenant(tenant); !ok {
		return nil, a.tenantNotFound(tenant)
	}
	for _, p := range []string{"client_id", "refresh_token"} {
		if strings.TrimSpace(form.Get(p)) == "" {
			return nil, a.missingParameter(p)
		}
	}
	req, oerr := a.resourceOf(form, v2, false)
	if oerr != nil {
		return nil, oerr
	}
	tid, app, confidential, oerr := a.delegatedClient(d, tenant, form, true)
	if oerr != nil {
		return nil, oerr
	}
	var c refreshClaims
	_, err := a.parser.ParseWithClaims(strings.TrimSpace(form.Get("refresh_token")), &c, a.keyFunc)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		iat := time.Time{}
		if c.IssuedAt != nil {
			iat = c.IssuedAt.Time
		}
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 700082, fmt.Sprintf(
			"The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
			iat.UTC().Format(time.RFC3339), DefaultRefreshLifetime))
	case err != nil || c.Marker != "1":
		return nil, a.newOAuthError(http.StatusBadRequest, "invalid_grant", 9002313,
			"Invalid request. Request is malformed or invalid.")
	}
	invalidGrant := func(why string) *OAuthError {
		return a.newOAuthError(http.StatusBadRequest, "invalid_grant", 70000,
			"The provided value for the input parameter 'refresh_token' or 'assertion' is not valid: "+why)
	}
	switch {
	case !strings.EqualFold(c.TenantID, tid):
		return nil, invalidGrant("it was issued in another tenant.")
	case !strings.EqualFold(c.AppID, app.ClientID):
		return nil, invalidGrant("it was issued to another client.")
	}
	user := d.userByID(tid, c.OID)
	if user == nil {
		return nil, invalidGrant("its user no longer exists in the directory.")
	}
	var scopes []string
	if req.resource == "" {
		req.resource = c.Resource
		scopes = strings.Fields(c.Scp)
		req.openid = req.openid || c.OpenID && strings.TrimSpace(form.Get("scope")) == ""
	} else if scopes, oerr = a.grantedScopes(app, req); oerr != nil {
		return nil, oerr
	}
	req.offline = true // a refresh-token grant answers with a new refresh token
	return a.delegatedResponse(app, user, scopes, req, confidential, v2)
}

// delegatedResponse mints the access token (and refresh token) of a
// delegated grant, in the endpoint's shape.
func (a *Authority) delegatedResponse(app *App, user *User, scopes []string, req delegatedRequest, confidential, v2 bool) (*TokenResponse, *OAuthError) {
	_, resp, err := a.mintUser(app, user, scopes, req.resource, app.lifetime(), confidential)
	if err == nil && req.offline {
		resp.RefreshToken, err = a.mintRefresh(app, user, scopes, req.resource, req.openid)
	}
	if err == nil && req.openid {
		resp.IDToken, err = a.mintIDToken(app, user, req.nonce, v2)
	}
	if err != nil {
		return nil, a.newOAuthError(http.StatusInternalServerError, "temporarily_unavailable", 90033,
			"A transient error has occurred. Please try again.")
	}
	if v2 {
		resp.ExpiresOn, resp.NotBefore = 0, 0
		resp.Scope = scopeString(req.resource, scopes)
	} else {
		resp.V1 = true
		resp.Resource = req.resource
		resp.Scope = strings.Join(scopes, " ")
	}
	return resp, nil
}

// scopeString is v2.0's scope of a response: each permission with its
// resource, as the identity platform answers for resources other than
// Microsoft Graph.
func scopeString(resource string, scopes []string) string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = strings.TrimSuffix(resource, "/") + "/" + s
	}
	return strings.Join(out, " ")
}

// mintRefresh signs a refresh token for user through app.
func (a *Authority) mintRefresh(app *App, user *User, scopes []string, resource string, openid bool) (string, error) {
	now := a.now()
	c := refreshClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-notBeforeSkew)),
			ExpiresAt: jwt.NewNumericDate(now.Add(a.toEmu(DefaultRefreshLifetime))),
			ID:        newUTI(),
		},
		Marker: "1", TenantID: user.TenantID, OID: user.ObjectID, AppID: app.ClientID,
		Resource: resource, Scp: strings.Join(scopes, " "), OpenID: openid,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = a.kid
	return tok.SignedString(a.key)
}

// mintUser signs a delegated access token: the claims of an Entra v1.0
// user token for the Defender API, aud, iss, iat, nbf, exp, acr "1", amr
// ["pwd"], app_displayname, appid, appidacr ("1" when the client sent its
// secret, "0" for a public client), idtyp "user", name, oid (the user's),
// scp (space-separated), sub (pairwise: the user and the app), tid,
// unique_name and upn (the UPN), uti and ver "1.0". No roles.
func (a *Authority) mintUser(app *App, user *User, scopes []string, aud string, lifetime time.Duration, confidential bool) (string, *TokenResponse, error) {
	acr := "0"
	if confidential {
		acr = "1"
	}
	claims := jwt.MapClaims{
		"acr":             "1",
		"amr":             []string{"pwd"},
		"app_displayname": app.DisplayName,
		"appid":           app.ClientID,
		"appidacr":        acr,
		"idtyp":           "user",
		"name":            user.DisplayName,
		"oid":             user.ObjectID,
		"scp":             strings.Join(scopes, " "),
		"sub":             nameGUID("sub/" + user.ObjectID + "/" + app.ClientID),
		"tid":             user.TenantID,
		"unique_name":     user.UPN,
		"upn":             user.UPN,
		"uti":             newUTI(),
		"ver":             "1.0",
	}
	return a.signAccess(user.TenantID, aud, lifetime, claims)
}

// mintDelegated is Mint for a user (MintRequest.User).
func (a *Authority) mintDelegated(d *directory, app *App, req MintRequest) (string, *TokenResponse, error) {
	if req.Roles != nil {
		return "", nil, errors.New("identity: roles are for app tokens; a user's token carries scopes")
	}
	user := d.userByName(app.TenantID, req.User)
	if user == nil {
		return "", nil, fmt.Errorf("identity: user %q not found in tenant %q", req.User, app.TenantID)
	}
	scopes := req.Scopes
	if scopes == nil {
		scopes = app.DelegatedPermissions
	}
	aud := req.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	exp := req.ExpiresIn
	if exp == 0 {
		exp = app.lifetime()
	}
	raw, resp, err := a.mintUser(app, user, scopes, aud, exp, true)
	if err != nil {
		return "", nil, err
	}
	resp.ExpiresOn, resp.NotBefore = 0, 0
	return raw, resp, nil
}
