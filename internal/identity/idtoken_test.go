package identity

import (
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// idClaims verifies raw with the authority's key and returns its claims.
func idClaims(t *testing.T, a *Authority, raw string) jwt.MapClaims {
	t.Helper()
	if raw == "" {
		t.Fatal("no id_token")
	}
	c := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(raw, c, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != a.kid {
			t.Errorf("kid %v, want %s", tok.Header["kid"], a.kid)
		}
		return &a.key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil || !tok.Valid {
		t.Fatalf("id_token does not verify with the authority's key: %v", err)
	}
	return c
}

// The ID token of each delegated grant asked with openid: its claims
// after the ID token claims reference, v2.0 and v1.
func TestIDTokenClaims(t *testing.T) {
	t.Parallel()
	a, clk := newDelegatedAuthority(t)
	now := clk.Now().Unix()
	check := func(name string, r *TokenResponse, oerr *OAuthError, v2 bool, nonce string) {
		t.Helper()
		if oerr != nil {
			t.Fatalf("%s: %s", name, oerr.Description)
		}
		c := idClaims(t, a, r.IDToken)
		want := map[string]any{
			"aud": clientA1, "oid": userOID, "tid": tenantA, "name": "Alex Analyst",
			"iss": "https://sts.windows.net/" + tenantA + "/", "ver": "1.0", "upn": userUPN, "unique_name": userUPN,
		}
		if v2 {
			want["iss"], want["ver"], want["preferred_username"] = "https://login.microsoftonline.com/"+tenantA+"/v2.0", "2.0", userUPN
			delete(want, "upn")
			delete(want, "unique_name")
			if _, ok := c["upn"]; ok {
				t.Errorf("%s: a v2.0 ID token with upn", name)
			}
		} else if _, ok := c["preferred_username"]; ok {
			t.Errorf("%s: a v1 ID token with preferred_username", name)
		}
		for k, v := range want {
			if c[k] != v {
				t.Errorf("%s: %s = %v, want %v", name, k, c[k], v)
			}
		}
		if nonce != "" && c["nonce"] != nonce {
			t.Errorf("%s: nonce %v, want %s", name, c["nonce"], nonce)
		}
		if _, ok := c["nonce"]; nonce == "" && ok {
			t.Errorf("%s: nonce %v without one asked", name, c["nonce"])
		}
		sub, _ := c["sub"].(string)
		access, _, _ := jwt.NewParser().ParseUnverified(r.AccessToken, jwt.MapClaims{})
		if sub == "" || sub != access.Claims.(jwt.MapClaims)["sub"] {
			t.Errorf("%s: sub %q, the access token's %v", name, sub, access.Claims.(jwt.MapClaims)["sub"])
		}
		iat, _ := c["iat"].(float64)
		exp, _ := c["exp"].(float64)
		if int64(iat) > now || int64(exp) <= now || c["nbf"] != c["iat"] {
			t.Errorf("%s: iat %v nbf %v exp %v around %d", name, c["iat"], c["nbf"], c["exp"], now)
		}
	}

	r, oerr := a.Token(tenantA, passwordForm("scope", apiScope+" openid offline_access"), true)
	check("password v2", r, oerr, true, "")
	rt, oerr := a.Token(tenantA, url.Values{"grant_type": {"refresh_token"}, "client_id": {clientA1},
		"refresh_token": {r.RefreshToken}}, true)
	check("refresh v2 without scope (the sign-in's openid)", rt, oerr, true, "")
	rt, oerr = a.Token(tenantA, url.Values{"grant_type": {"refresh_token"}, "client_id": {clientA1},
		"refresh_token": {r.RefreshToken}, "scope": {apiScope + " openid"}}, true)
	check("refresh v2 with openid", rt, oerr, true, "")

	r, oerr = a.Token(tenantA, passwordForm("scope", "", "resource", DefaultAudience, "scope", "openid"), false)
	check("password v1 with scope=openid", r, oerr, false, "")

	code := signIn(t, a, authorizeQuery("nonce", "n-0S6_WzA2Mj"))
	r, oerr = a.Token(tenantA, redeemForm(code), true)
	check("authorization code v2 with a nonce", r, oerr, true, "n-0S6_WzA2Mj")

	// v1: the authorization-code grant answers with an ID token even
	// without openid.
	q := authorizeQuery("scope", "", "resource", DefaultAudience)
	page, aerr := a.Authorize(tenantA, q, false, nil)
	if aerr != nil {
		t.Fatalf("%+v", aerr)
	}
	red, err := a.CompleteSignIn(page.Session, userOID, false)
	if err != nil {
		t.Fatal(err)
	}
	r, oerr = a.Token(tenantA, redeemForm(red.Params.Get("code"), "resource", DefaultAudience), false)
	check("authorization code v1", r, oerr, false, "")

	dc, oerr := a.DeviceCode(tenantA, deviceForm("scope", apiScope+" openid"), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	if _, err := a.ApproveDeviceCode(dc.UserCode, userUPN, true); err != nil {
		t.Fatal(err)
	}
	r, oerr = a.Token(tenantA, pollForm(dc.DeviceCode), true)
	check("device code v2", r, oerr, true, "")
}

// Without openid (v2.0), and on v1 without scope=openid outside the
// authorization-code grant, there is no ID token.
func TestNoIDTokenWithoutOpenID(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	for name, f := range map[string]struct {
		form url.Values
		v2   bool
	}{
		"password v2":     {passwordForm(), true},
		"password v1":     {passwordForm("scope", "", "resource", DefaultAudience), false},
		"client creds v2": {with(clientForm(clientA1, secretA1), "scope", apiScope+" openid"), true},
	} {
		r, oerr := a.Token(tenantA, f.form, f.v2)
		if oerr != nil {
			t.Fatalf("%s: %s", name, oerr.Description)
		}
		if r.IDToken != "" {
			t.Errorf("%s: an id_token", name)
		}
	}
	code := signIn(t, a, authorizeQuery("scope", apiScope+" offline_access"))
	r, oerr := a.Token(tenantA, redeemForm(code), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	if r.IDToken != "" {
		t.Error("authorization code v2 without openid: an id_token")
	}
}

// An ID token is in the JSON of both endpoints' answers.
func TestIDTokenInJSON(t *testing.T) {
	t.Parallel()
	for _, v1 := range []bool{false, true} {
		b, err := TokenResponse{TokenType: "Bearer", AccessToken: "a", IDToken: "header.payload.sig", V1: v1}.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if want := `"id_token":"header.payload.sig"`; !strings.Contains(string(b), want) {
			t.Errorf("v1=%v: %s lacks %s", v1, b, want)
		}
	}
}
