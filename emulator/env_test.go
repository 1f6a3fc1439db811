package emulator_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/openapi"
)

// Ids of the default fixtures (fixtures/default.yaml).
const (
	tenantID      = "8ac829e3-bb83-48d7-8cfb-45ebe834d8e1"
	soarClientID  = "0120a4f9-196a-4f9e-b9f5-23f31f914da7"
	readClientID  = "e1c80488-853d-46ab-9d6d-ecfe30d8930f"
	lrClientID    = "8a9fd7df-da80-4921-bdc4-079f9a528ce8"
	winMachine    = "82fb3b669b460cf8436780882296d90371d68ad6" // ws-finance-01, Windows11, online
	win10Machine  = "f45a8efeefb10869d728d02342d2eb47c912451b" // ws-hr-02
	offMachine    = "7aa93d5bc275bde72983349b54d58e53a3da1827" // ws-travel-03, offline
	win7Machine   = "3dc9735464e734e29a54cc3595e095e2e8d30d0e" // unsupported platform
	kioskMachine  = "365ae2f395cd9cb719f027c161adcfbb3b7d3702" // device group without remediation level
	dcMachine     = "dd38de6352ff2ebe86f2b2c3966d5e6ff67e82e1" // srv-dc-01, has a file over 3 GB
	linuxMachine  = "e24f72fad403d65f806416d37ac095acbe885dc6"
	unknownID     = "0000000000000000000000000000000000000000"
	testBase      = "http://emulator.test"
	defaultSecret = "emulator-secret"
)

// start is where every test's manual clock begins.
var start = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// env is one emulator under test, called in memory. Every /api and
// /_emulator response it sees is validated against its OpenAPI document.
type env struct {
	t      *testing.T
	srv    *emulator.Server
	client *http.Client
	token  string
}

func newEnv(t *testing.T, opts ...func(*emulator.Options)) *env {
	t.Helper()
	o := emulator.Options{Clock: clock.Manual, Start: start, StrictResponses: true, PublicURLs: []string{testBase}, SigningKey: testSigningKey(t)}
	for _, f := range opts {
		f(&o)
	}
	srv, err := emulator.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	e := &env{t: t, srv: srv, client: &http.Client{Transport: &validatingTransport{t: t, next: srv.Client().Transport}}}
	e.token = e.mint(`{}`)
	return e
}

// sharedTestKey is the signing key of every env whose options name none:
// a 2048-bit RSA key takes 50–150 ms to make, and the package starts
// hundreds of emulators.
var sharedTestKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

// testSigningKey returns sharedTestKey's key.
func testSigningKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	key, err := sharedTestKey()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func withFixtures(t *testing.T, yaml string) func(*emulator.Options) {
	set, err := fixture.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return func(o *emulator.Options) { o.Fixtures = set }
}

// mint gets a token from the control plane.
func (e *env) mint(body string) string {
	e.t.Helper()
	r := e.call("POST", "/_emulator/tokens", "", body)
	if r.status != 200 {
		e.t.Fatalf("mint %s: %d %s", body, r.status, r.body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.decode(&tok)
	return tok.AccessToken
}

// resp is a response, read whole.
type resp struct {
	t      *testing.T
	status int
	header http.Header
	body   []byte
}

func (r resp) decode(v any) {
	r.t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		r.t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns error.code of an error body.
func (r resp) errorCode() string {
	var b struct {
		Error struct{ Code, Message, Target string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

func (r resp) errorMessage() string {
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Message
}

// call sends a request with token (none when empty) and a JSON body (none
// when empty).
func (e *env) call(method, path, token, body string, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, testBase+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) resp {
	e.t.Helper()
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{t: e.t, status: res.StatusCode, header: res.Header, body: b}
}

// api calls /api with the default token.
func (e *env) api(method, path, body string) resp {
	e.t.Helper()
	return e.call(method, path, e.token, body)
}

func (e *env) advance(d time.Duration) { e.srv.Clock().Advance(d) }

// submit posts a runliveresponse for machine and returns the action id.
func (e *env) submit(machine, body string) string {
	e.t.Helper()
	r := e.api("POST", "/api/machines/"+machine+"/runliveresponse", body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("submit on %s: %d %s", machine, r.status, r.body)
	}
	var a struct{ ID string }
	r.decode(&a)
	return a.ID
}

// validatingTransport checks every /api response against the API's OpenAPI
// document and every /_emulator response against the control plane's: the
// suite proves the emulator keeps its own contracts.
type validatingTransport struct {
	t    *testing.T
	next http.RoundTripper
}

var (
	apiValidator     = sync.OnceValues(openapi.NewValidator)
	controlValidator = sync.OnceValues(openapi.NewControlValidator)
)

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := v.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	// Both documents name their server (/api, /_emulator), so their
	// routers match the path as sent. /api is matched case-insensitively
	// like the service does; /_emulator exactly, like the control plane.
	var validator func() (*openapi.Validator, error)
	switch {
	case strings.HasPrefix(strings.ToLower(req.URL.Path), "/api/"):
		validator = apiValidator
	case strings.HasPrefix(req.URL.Path, "/_emulator/"):
		validator = controlValidator
	default:
		return res, nil
	}
	body, _ := io.ReadAll(res.Body)
	res.Body = io.NopCloser(bytes.NewReader(body))
	val, err := validator()
	if err != nil {
		v.t.Fatal(err)
	}
	check, _ := http.NewRequest(req.Method, req.URL.String(), bytes.NewReader(reqBody))
	check.Header = req.Header.Clone()
	if err := val.ValidateResponse(check, res.StatusCode, res.Header, body); err != nil {
		v.t.Errorf("response to %s %s does not match the OpenAPI document: %v\nbody: %s", req.Method, req.URL.Path, err, body)
	}
	return res, nil
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func identityDefault() identity.MintRequest { return identity.MintRequest{} }

func newRequest(method, path, token string) (*http.Request, error) {
	req, err := http.NewRequest(method, testBase+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req, nil
}

func mustFixtures(t testing.TB, yaml string) *fixture.Set {
	t.Helper()
	set, err := fixture.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return set
}
