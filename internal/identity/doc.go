// Package identity is the emulator's identity platform: the part of
// Microsoft Entra ID that clients of the Defender for Endpoint API talk to.
// It is a pure domain package; the emulator's HTTP handlers sit on top.
//
// An Authority holds a directory of tenants, app registrations and users
// (SetApps, SetTenants, SetUsers), answers the grants of the v1 and v2.0
// token endpoints with the identity platform's bodies and AADSTS errors
// (Token: ClientCredentials, Password, Refresh), mints tokens without the grant for the emulator's
// admin API (Mint), serves the discovery documents (JWKS,
// OpenIDConfiguration) and verifies the bearer token of every API call
// (ParseAuthorization, Verify).
//
// Tokens are real RS256 JWTs (github.com/golang-jwt/jwt/v5) shaped like
// the v1.0 app-only tokens Entra issues for the Defender API from either
// endpoint: aud is the resource asked for, iss is
// https://sts.windows.net/{tid}/ by default, and the app's permissions are
// in roles. A user's (delegated) token carries scp, oid, upn and name
// instead of roles; its refresh tokens are signed JWTs too, which Verify
// refuses as bearer tokens.
//
// Every time read goes through Options.Now, the emulator clock: token
// lifetimes, expiry checks (with no leeway) and the cache of verified
// tokens all follow it, so advancing the emulator clock past a token's exp
// makes the API answer 401 for it.
package identity
