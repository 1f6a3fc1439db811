package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"
)

// JWKS returns the JSON Web Key Set of the signing key, as served at
// /{tenant}/discovery/keys and /{tenant}/discovery/v2.0/keys: one RSA key
// with use "sig", kid, x5t (the kid, as in Entra), n, e and x5c (a
// self-signed certificate of the key). The caller must not modify it.
func (a *Authority) JWKS() []byte { return a.jwks }

type jwk struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Kid string   `json:"kid"`
	X5t string   `json:"x5t"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5c []string `json:"x5c"`
}

func buildJWKS(key *rsa.PrivateKey, kid string, cert []byte) []byte {
	pub := key.PublicKey
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{{
		Kty: "RSA",
		Use: "sig",
		Kid: kid,
		X5t: kid,
		N:   b64(pub.N.Bytes()),
		E:   b64(big.NewInt(int64(pub.E)).Bytes()),
		X5c: []string{base64.StdEncoding.EncodeToString(cert)},
	}}}
	b, err := json.Marshal(set)
	if err != nil {
		panic(err) // plain strings only
	}
	return b
}

// selfSignedCert returns the DER of a certificate for key, the same for the
// same key: its serial comes from the key and its validity is fixed
// (2020–2099), so no clock is read and the kid is stable across runs. The
// caller must not modify it.
//
// It keeps the last certificate it made: signing one is 1.5 ms, most of
// an emulator.New after the first of a process, and the test servers of
// a process share one key (emulatortest).
func selfSignedCert(key *rsa.PrivateKey) ([]byte, error) {
	if last := lastCert.Load(); last != nil && last.pub.Equal(&key.PublicKey) {
		return last.der, nil
	}
	der, err := makeSelfSignedCert(key)
	if err != nil {
		return nil, err
	}
	pub := rsa.PublicKey{N: new(big.Int).Set(key.N), E: key.E} // a copy: the caller's key may change
	lastCert.Store(&keyCert{pub: &pub, der: der})
	return der, nil
}

// keyCert is a public key and the certificate selfSignedCert made for it.
type keyCert struct {
	pub *rsa.PublicKey
	der []byte
}

// lastCert is the last certificate selfSignedCert made.
var lastCert atomic.Pointer[keyCert]

// makeSelfSignedCert makes selfSignedCert's certificate.
func makeSelfSignedCert(key *rsa.PrivateKey) ([]byte, error) {
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("identity: marshal public key: %w", err)
	}
	sum := sha256.Sum256(pubDER)
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(sum[:16]),
		Subject:               pkix.Name{CommonName: "accounts.accesscontrol.windows.net"},
		NotBefore:             time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	// PKCS #1 v1.5 signatures are deterministic: rand is not read for them.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("identity: create certificate: %w", err)
	}
	return der, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// openIDConfiguration is the OpenID Provider metadata document, fields in
// the order Entra sends them.
type openIDConfiguration struct {
	TokenEndpoint                     string   `json:"token_endpoint"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported,omitempty"`
	Issuer                            string   `json:"issuer"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint,omitempty"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	TenantRegionScope                 string   `json:"tenant_region_scope"`
	CloudInstanceName                 string   `json:"cloud_instance_name"`
	CloudGraphHostName                string   `json:"cloud_graph_host_name"`
	MSGraphHost                       string   `json:"msgraph_host"`
}

// OpenIDConfiguration returns the document served at
// {baseURL}/{tenant}/.well-known/openid-configuration (v2 false) or
// {baseURL}/{tenant}/v2.0/.well-known/openid-configuration (v2 true), and
// false when the tenant is not in the directory. The endpoints use the
// tenant's id whatever tenant names, like Entra's: token_endpoint
// {baseURL}/{tid}/oauth2[/v2.0]/token, jwks_uri
// {baseURL}/{tid}/discovery[/v2.0]/keys. The v1 issuer is the tokens'
// issuer (Options.Issuer); the v2.0 issuer is {baseURL}/{tid}/v2.0, as
// Entra's is https://login.microsoftonline.com/{tid}/v2.0 (the token for the
// Defender API is a v1.0 token either way, with the v1 issuer). Both list
// authorization_endpoint ({baseURL}/{tid}/oauth2[/v2.0]/authorize) and
// device_authorization_endpoint ({baseURL}/{tid}/oauth2[/v2.0]/devicecode),
// which the emulator serves, and GrantTypes.
func (a *Authority) OpenIDConfiguration(tenant, baseURL string, v2 bool) ([]byte, bool) {
	tid, ok := a.dir.Load().tenant(tenant)
	if !ok {
		return nil, false
	}
	base := strings.TrimSuffix(baseURL, "/") + "/" + tid
	doc := openIDConfiguration{
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "client_secret_basic"},
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TenantRegionScope:                 "NA",
		CloudInstanceName:                 "microsoftonline.com",
		CloudGraphHostName:                "graph.windows.net",
		MSGraphHost:                       "graph.microsoft.com",
		GrantTypesSupported:               GrantTypes,
	}
	if v2 {
		doc.TokenEndpoint = base + "/oauth2/v2.0/token"
		doc.JWKSURI = base + "/discovery/v2.0/keys"
		doc.ResponseTypesSupported = []string{"code", "id_token", "code id_token", "id_token token"}
		doc.ScopesSupported = []string{"openid", "profile", "email", "offline_access"}
		doc.Issuer = base + "/v2.0"
		doc.AuthorizationEndpoint = base + "/oauth2/v2.0/authorize"
		doc.DeviceAuthorizationEndpoint = base + "/oauth2/v2.0/devicecode"
		doc.EndSessionEndpoint = base + "/oauth2/v2.0/logout"
	} else {
		doc.TokenEndpoint = base + "/oauth2/token"
		doc.JWKSURI = base + "/discovery/keys"
		doc.ResponseTypesSupported = []string{"code", "id_token", "code id_token", "token id_token", "token"}
		doc.Issuer = a.issuer(tid)
		doc.AuthorizationEndpoint = base + "/oauth2/authorize"
		doc.DeviceAuthorizationEndpoint = base + "/oauth2/devicecode"
		doc.EndSessionEndpoint = base + "/oauth2/logout"
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err) // plain strings only
	}
	return b, true
}
