package identity

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

func TestJWKSVerifiesTokens(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(a.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	for field, want := range map[string]string{"kty": "RSA", "use": "sig", "e": "AQAB", "kid": a.kid, "x5t": a.kid} {
		if k[field] != want {
			t.Errorf("%s = %v, want %q", field, k[field], want)
		}
	}
	n, err := base64.RawURLEncoding.DecodeString(k["n"].(string))
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}

	raw, _, err := a.Mint(MintRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// A client verifying with the published key, by kid, as a JWKS client does.
	tok, err := jwt.Parse(raw, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != k["kid"] {
			t.Errorf("token kid %v, JWKS kid %v", tok.Header["kid"], k["kid"])
		}
		return pub, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil || !tok.Valid {
		t.Fatalf("token does not verify with the JWKS key: %v", err)
	}

	x5c := k["x5c"].([]any)
	der, err := base64.StdEncoding.DecodeString(x5c[0].(string))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(cert.PublicKey) {
		t.Error("x5c certificate holds another key than n/e")
	}
}

func TestJWKSStablePerKey(t *testing.T) {
	t.Parallel()
	a1, _ := newTestAuthority(t)
	a2, _ := newTestAuthority(t)
	if !bytes.Equal(a1.JWKS(), a2.JWKS()) {
		t.Error("two authorities with the same key publish different JWKS")
	}
	_, other := testKeys()
	clk := &fakeClock{t: t0}
	a3, err := New(Options{Key: other, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if a3.kid == a1.kid {
		t.Error("two keys share a kid")
	}
}

func TestOpenIDConfiguration(t *testing.T) {
	t.Parallel()
	const base = "http://localhost:8080"
	tests := []struct {
		name   string
		tenant string
		v2     bool
		want   map[string]any
	}{
		{
			name: "v1", tenant: tenantA,
			want: map[string]any{
				"issuer":                                "https://sts.windows.net/" + tenantA + "/",
				"token_endpoint":                        base + "/" + tenantA + "/oauth2/token",
				"jwks_uri":                              base + "/" + tenantA + "/discovery/keys",
				"authorization_endpoint":                base + "/" + tenantA + "/oauth2/authorize",
				"id_token_signing_alg_values_supported": []any{"RS256"},
				"token_endpoint_auth_methods_supported": []any{"client_secret_post", "client_secret_basic"},
				"subject_types_supported":               []any{"pairwise"},
				"response_types_supported":              []any{"code", "id_token", "code id_token", "token id_token", "token"},
			},
		},
		{
			name: "v2, tenant named in upper case", tenant: strings.ToUpper(tenantB), v2: true,
			want: map[string]any{
				"issuer":                                base + "/" + tenantB + "/v2.0",
				"token_endpoint":                        base + "/" + tenantB + "/oauth2/v2.0/token",
				"jwks_uri":                              base + "/" + tenantB + "/discovery/v2.0/keys",
				"authorization_endpoint":                base + "/" + tenantB + "/oauth2/v2.0/authorize",
				"id_token_signing_alg_values_supported": []any{"RS256"},
				"token_endpoint_auth_methods_supported": []any{"client_secret_post", "client_secret_basic"},
				"subject_types_supported":               []any{"pairwise"},
				"response_types_supported":              []any{"code", "id_token", "code id_token", "id_token token"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, _ := newTestAuthority(t)
			b, ok := a.OpenIDConfiguration(tt.tenant, base+"/", tt.v2)
			if !ok {
				t.Fatal("tenant not found")
			}
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for k := range tt.want {
				got[k] = doc[k]
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("document mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenIDConfigurationUnknownTenant(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	for _, v2 := range []bool{false, true} {
		if b, ok := a.OpenIDConfiguration("99999999-9999-9999-9999-999999999999", "http://x", v2); ok || b != nil {
			t.Errorf("v2=%v: got %s, true; want nil, false", v2, b)
		}
	}
}

// TestSelfSignedCertPerKey: the certificate kept from the last call is
// given only for its own key, and is the one a fresh signing makes.
func TestSelfSignedCertPerKey(t *testing.T) {
	t.Parallel()
	k1, k2 := testKeys()
	for i, key := range []*rsa.PrivateKey{k1, k1, k2, k1, k2, k2} {
		der, err := selfSignedCert(key)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if !key.PublicKey.Equal(cert.PublicKey) {
			t.Fatalf("call %d: the certificate holds another key", i)
		}
		fresh, err := makeSelfSignedCert(key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(der, fresh) {
			t.Fatalf("call %d: the certificate differs from a fresh one", i)
		}
	}
}
