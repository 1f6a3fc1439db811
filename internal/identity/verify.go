package identity

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Principal is the caller a verified token stands for. Verify may return the
// same *Principal for every call with the same token: treat it as read-only.
type Principal struct {
	TenantID    string
	ClientID    string
	DisplayName string // the app's display name in the directory
	Audience    string // the token's aud
	Roles       []string
	ExpiresAt   time.Time
	NotBefore   time.Time
	// Delegated is true for a user's token (scp, idtyp "user"): UserID,
	// UPN, UserName and Scopes are then set and Roles is empty.
	Delegated bool
	UserID    string   // the user's object id (oid)
	UPN       string   // the user's userPrincipalName (upn)
	UserName  string   // the user's display name (name)
	Scopes    []string // the delegated permissions (scp)
}

// HasAnyScope reports whether p holds at least one of the delegated
// permissions scopes (exact match).
func (p *Principal) HasAnyScope(scopes ...string) bool {
	for _, s := range scopes {
		if slices.Contains(p.Scopes, s) {
			return true
		}
	}
	return false
}

// HasAny reports whether p holds at least one of roles (exact match, as app
// role values are case-sensitive).
func (p *Principal) HasAny(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// Kind classifies a failed verification by the answer the API gives.
type Kind int

const (
	// Unauthorized is a missing, malformed, forged, expired or not yet
	// valid token, or one of an unknown tenant or app: the API answers 401.
	Unauthorized Kind = iota + 1
	// WrongAudience is a token that is valid in every way but is for
	// another API: the service answered 403 for that (contract §5).
	WrongAudience
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Unauthorized:
		return "Unauthorized"
	case WrongAudience:
		return "WrongAudience"
	default:
		return fmt.Sprintf("Kind(%d)", int(k))
	}
}

// AuthError is why a bearer token was refused. Reason is free text for logs
// and messages; act on Kind.
type AuthError struct {
	Kind   Kind
	Reason string
}

// Error returns the kind and the reason.
func (e *AuthError) Error() string { return e.Kind.String() + ": " + e.Reason }

func unauthorized(format string, args ...any) *AuthError {
	return &AuthError{Kind: Unauthorized, Reason: fmt.Sprintf(format, args...)}
}

// ParseAuthorization returns the token of an Authorization header value
// "Bearer {token}" (the scheme compared without case). Any other value is an
// *AuthError of kind Unauthorized.
func ParseAuthorization(header string) (string, error) {
	header = strings.TrimSpace(header)
	if header == "" {
		return "", unauthorized("The request has no Authorization header: send Authorization: Bearer {token}.")
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok && strings.EqualFold(scheme, "Bearer") {
		return "", unauthorized("The Authorization header has the Bearer scheme but no token.")
	}
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", unauthorized("The Authorization header is not a Bearer token: send Authorization: Bearer {token}.")
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", unauthorized("The Authorization header has the Bearer scheme but no token.")
	}
	return raw, nil
}

// accessClaims are the claims Verify reads.
type accessClaims struct {
	jwt.RegisteredClaims
	TenantID string   `json:"tid"`
	AppID    string   `json:"appid"`
	AZP      string   `json:"azp"`
	Roles    []string `json:"roles"`
	Scp      string   `json:"scp"`
	IDTyp    string   `json:"idtyp"`
	OID      string   `json:"oid"`
	Refresh  string   `json:"mde_rt"`
}

// Verify checks a bearer token and returns its principal. A token verifies
// when it is an RS256 JWT signed by this Authority's key (alg none, HS256
// and every other algorithm are refused), its exp is after the emulator
// clock's now and its nbf not after it (exp is required; no leeway: a
// token is invalid from the second of its exp), its iss is the issuer of its
// tid, the tenant and the app (appid, else azp) are in the directory, and
// its aud is an accepted audience. A failure is an *AuthError: WrongAudience
// for the audience, Unauthorized for everything else.
//
// Verified tokens are cached, so a repeated token costs a map lookup and a
// clock read: the cached principal's exp and nbf are checked against the
// clock on every call, and SetApps and SetTenants drop the cache.
func (a *Authority) Verify(raw string) (*Principal, error) {
	if raw == "" {
		return nil, unauthorized("The request has no bearer token.")
	}
	d := a.dir.Load()
	if p, ok := a.cache.get(raw, d); ok {
		now := a.now()
		if !now.Before(p.ExpiresAt) {
			return nil, errExpired
		}
		if now.Before(p.NotBefore) {
			return nil, errNotYetValid
		}
		return p, nil
	}
	var c accessClaims
	if _, err := a.parser.ParseWithClaims(raw, &c, a.keyFunc); err != nil {
		return nil, parseError(err)
	}
	if c.Refresh != "" {
		return nil, unauthorized("The token is a refresh token: redeem it at the token endpoint (grant_type=refresh_token) for an access token.")
	}
	if c.TenantID == "" {
		return nil, unauthorized("The token has no tid (tenant) claim.")
	}
	if want := a.issuer(c.TenantID); c.Issuer != want {
		return nil, unauthorized("The token's issuer %q is not %q, the issuer of its tenant.", c.Issuer, want)
	}
	tid, ok := d.tenant(c.TenantID)
	if !ok {
		return nil, unauthorized("The token's tenant %q does not exist.", c.TenantID)
	}
	clientID := c.AppID
	if clientID == "" {
		clientID = c.AZP
	}
	app := d.app(tid, clientID)
	if app == nil {
		return nil, unauthorized("The token's application %q is not registered in tenant %q.", clientID, tid)
	}
	var user *User
	delegated := c.Scp != "" || c.IDTyp == "user"
	if delegated {
		if user = d.userByID(tid, c.OID); user == nil {
			return nil, unauthorized("The token's user %q does not exist in tenant %q.", c.OID, tid)
		}
	}
	aud, ok := a.acceptedAudience(c.Audience)
	if !ok {
		return nil, &AuthError{Kind: WrongAudience,
			Reason: fmt.Sprintf("The token's audience %q is not this API.", strings.Join(c.Audience, " "))}
	}
	p := &Principal{
		TenantID:    app.TenantID,
		ClientID:    app.ClientID,
		DisplayName: app.DisplayName,
		Audience:    aud,
		Roles:       c.Roles,
		ExpiresAt:   c.ExpiresAt.Time,
	}
	if c.NotBefore != nil {
		p.NotBefore = c.NotBefore.Time
	}
	if delegated {
		p.Roles = nil
		p.Delegated, p.UserID, p.UPN, p.UserName = true, user.ObjectID, user.UPN, user.DisplayName
		p.Scopes = strings.Fields(c.Scp)
	}
	a.cache.put(raw, p, d, a.now())
	return p, nil
}

func (a *Authority) keyFunc(t *jwt.Token) (any, error) {
	if kid, ok := t.Header["kid"]; ok && kid != a.kid {
		return nil, fmt.Errorf("unknown signing key %v", kid)
	}
	return &a.key.PublicKey, nil
}

func (a *Authority) acceptedAudience(auds jwt.ClaimStrings) (string, bool) {
	for _, aud := range auds {
		if a.audienceAccepted(aud) {
			return aud, true
		}
	}
	return "", false
}

// parseError turns an error of the JWT parser into an *AuthError, one
// message per cause.
func parseError(err error) *AuthError {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthorized("The token is malformed: it is not a signed JWT (header.payload.signature).")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return unauthorized("The token's signature is invalid: it was not signed by this identity platform's RS256 key.")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthorized("The token has no exp (expiry) claim.")
	case errors.Is(err, jwt.ErrTokenExpired):
		return errExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return errNotYetValid
	default:
		return unauthorized("The token is invalid: %v.", err)
	}
}

// The refusals that need no detail.
var (
	errExpired     = &AuthError{Kind: Unauthorized, Reason: "The token is expired: get a new one from the token endpoint."}
	errNotYetValid = &AuthError{Kind: Unauthorized, Reason: "The token is not valid yet (its nbf is in the future)."}
)
