package identity

import (
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The OpenID Connect ID token the delegated grants add to their answer
// (id_token) when the client asks for it: the v2.0 endpoint when scope
// holds openid, the v1 endpoint when scope holds openid and always for
// the authorization-code grant, as the identity platform's v1 endpoint
// does. Its claims follow the "ID token claims reference"
// (https://learn.microsoft.com/en-us/entra/identity-platform/id-token-claims-reference):
// aud is the client's application id; iss is
// https://login.microsoftonline.com/{tid}/v2.0 for a v2.0 token and
// https://sts.windows.net/{tid}/ for a v1.0 one; iat, nbf, exp; sub
// (pairwise: the user and the app, as the access token's), oid, tid, name;
// preferred_username (v2.0) or upn and unique_name (v1.0); nonce when the
// authorization request had one; ver "2.0" or "1.0". It is signed with
// the authority's key (the kid of the JWKS), like the access token.

// IDTokenLifetime is an ID token's lifetime: the identity platform's ID
// tokens are valid for an hour.
const IDTokenLifetime = time.Hour

// maxNonce bounds the nonce an authorization request may carry (longer:
// AADSTS90015, as a parameter too long).
const maxNonce = 512

// IDTokenIssuer returns the iss of an ID token of the tenant: the v2.0
// endpoint's or the v1 one's.
func IDTokenIssuer(tenantID string, v2 bool) string {
	if v2 {
		return "https://login.microsoftonline.com/" + tenantID + "/v2.0"
	}
	return "https://sts.windows.net/" + tenantID + "/"
}

// mintIDToken signs the ID token of user signing in to app.
func (a *Authority) mintIDToken(app *App, user *User, nonce string, v2 bool) (string, error) {
	now := a.now()
	iat := now.Add(-notBeforeSkew)
	claims := jwt.MapClaims{
		"aud":  app.ClientID,
		"iss":  IDTokenIssuer(user.TenantID, v2),
		"iat":  iat.Unix(),
		"nbf":  iat.Unix(),
		"exp":  now.Add(a.toEmu(IDTokenLifetime)).Unix(),
		"sub":  nameGUID("sub/" + user.ObjectID + "/" + app.ClientID),
		"oid":  user.ObjectID,
		"tid":  user.TenantID,
		"name": user.DisplayName,
		"uti":  newUTI(),
	}
	if v2 {
		claims["ver"] = "2.0"
		claims["preferred_username"] = user.UPN
	} else {
		claims["ver"] = "1.0"
		claims["upn"] = user.UPN
		claims["unique_name"] = user.UPN
		claims["amr"] = []string{"pwd"}
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = a.kid
	tok.Header["x5t"] = a.kid
	return tok.SignedString(a.key)
}

// asksOpenID reports whether a scope parameter holds openid.
func asksOpenID(scope string) bool {
	for _, f := range strings.Fields(scope) {
		if strings.EqualFold(f, "openid") {
			return true
		}
	}
	return false
}
