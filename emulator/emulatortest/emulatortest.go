// Package emulatortest runs the MDE live response emulator inside Go tests,
// the way net/http/httptest runs a server: NewServer(t) starts one on a
// manual clock, cleans it up with the test, and gives Go methods for what
// the control plane does (advance time, take machines offline, queue
// command outcomes, inject faults, read and wait on the request journal).
//
//	srv := emulatortest.NewServer(t)
//	client := myclient.New(srv.URL, srv.TokenURL(), srv.ClientID, srv.ClientSecret, srv.Client())
//	id := client.RunScript(ctx, machine, "Get-Processes.ps1")
//	srv.Advance(time.Minute)
//	throttled := srv.Requests(emulatortest.Filter{Status: 429})
//	...
//
// Everything a test needs is in this package and emulator/fixture: the
// types of the journal, the fault rules and the outcomes are here under
// names of their own (Filter, Entry, FaultRule, Outcome). The emulator
// underneath is Server.Emulator.
//
// A function that takes a testing.TB fails the test when it cannot do its
// work; the others return an error. None panics.
package emulatortest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/state"
)

// DefaultStart is the instant the manual clock of a test server starts at,
// unless an option says otherwise.
var DefaultStart = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// inMemoryURL is the base URL of a server with no listener.
const inMemoryURL = "http://emulator.test"

// The types a test passes to a Server and gets back, from packages it
// cannot import.
type (
	// Filter selects requests of the journal: method, path glob ('*'
	// matches any run of characters, '/' included), status, tenant, app,
	// action, error code, fault, time range, AfterSeq, Limit.
	Filter = journal.Filter
	// Entry is one request of the journal.
	Entry = journal.Entry
	// FaultRule is a fault injection rule: a FaultMatch, FaultCalls and a
	// FaultEffect. Its durations are fixture.Duration values.
	FaultRule = faults.Rule
	// FaultMatch selects the requests a FaultRule applies to.
	FaultMatch = faults.Match
	// FaultCalls selects which matching calls a FaultRule fires on.
	FaultCalls = faults.Calls
	// FaultEffect is what a FaultRule does to a call.
	FaultEffect = faults.Effect
	// Outcome decides how one coming command on a machine ends.
	Outcome = state.Outcome
)

// ParseFaultRule reads a fault rule in the JSON form of
// POST /_emulator/faults, such as
// {"match":{"path":"/api/machines/*"},"calls":{"next":2},"effect":{"status":429,"retryAfter":"30s"}}.
func ParseFaultRule(rule string) (FaultRule, error) { return faults.ParseRule([]byte(rule)) }

// Server is an emulator running for a test, with Go methods for what the
// control plane does.
type Server struct {
	// URL is the emulator's base URL: the API is at URL+"/api", the token
	// endpoints at URL+"/{tenant}/oauth2/...".
	URL string
	// TenantID, ClientID and ClientSecret are the default app's
	// credentials (the first app of the first tenant).
	TenantID, ClientID, ClientSecret string

	emu      *emulator.Server
	listener *httptest.Server
	client   *http.Client
}

// sharedSigningKey returns the key that signs the tokens of every test
// server of the process whose options and fixtures name none, made on the
// first call. A new 2048-bit RSA key takes 50–150 ms to make, most of
// what starting a test server would otherwise cost. Servers sharing it
// accept each other's tokens for a tenant and app they share, as servers
// of one real tenant would; a test that needs a key of its own sets
// emulator.Options.SigningKey (WithOptions) or the fixtures' signingKey.
var sharedSigningKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

type config struct {
	opts     emulator.Options
	listener bool
	err      error
}

// An Option configures a test server.
type Option func(*config)

// WithFixtures starts the server with set instead of the default fixtures.
func WithFixtures(set *fixture.Set) Option { return func(c *config) { c.opts.Fixtures = set } }

// WithFixturesYAML starts the server with the fixtures in yaml.
func WithFixturesYAML(yaml string) Option {
	return func(c *config) {
		set, err := fixture.Parse("emulatortest.yaml", []byte(yaml))
		if err != nil {
			c.err = err
			return
		}
		c.opts.Fixtures = set
	}
}

// WithProfile selects the limits profile ("default", "current",
// "unlimited").
func WithProfile(name string) Option { return func(c *config) { c.opts.Profile = name } }

// WithStart starts the clock at t.
func WithStart(t time.Time) Option { return func(c *config) { c.opts.Start = t } }

// WithRealClock runs the clock in real time, sped up by scale, instead of
// the default manual clock.
func WithRealClock(scale float64) Option {
	return func(c *config) { c.opts.Clock, c.opts.TimeScale = clock.Real, scale }
}

// WithListener serves the emulator on a loopback port, for clients that
// cannot take an *http.Client. Without it the server has no listener and
// Client serves requests in memory.
func WithListener() Option { return func(c *config) { c.listener = true } }

// WithOptions sets any emulator option not covered by the others.
func WithOptions(f func(*emulator.Options)) Option { return func(c *config) { f(&c.opts) } }

// New starts an emulator for use outside a test; call Close when done.
// Most callers want NewServer. Unless the options or the fixtures give a
// signing key, the server signs with the process's shared one
// (sharedSigningKey).
func New(options ...Option) (*Server, error) {
	c := config{opts: emulator.Options{Clock: clock.Manual, Start: DefaultStart, StrictResponses: true}}
	for _, o := range options {
		o(&c)
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.opts.SigningKey == nil {
		key, err := sharedSigningKey()
		if err != nil {
			return nil, fmt.Errorf("emulatortest: signing key: %w", err)
		}
		c.opts.SigningKey = key
	}
	// The server's own URL is a token audience it accepts, like the
	// emulator's --public-url: known before it starts.
	url := inMemoryURL
	var ts *httptest.Server
	if c.listener {
		ts = httptest.NewUnstartedServer(nil)
		url = "http://" + ts.Listener.Addr().String()
	}
	c.opts.PublicURLs = append(append([]string(nil), c.opts.PublicURLs...), url)
	srv, err := emulator.New(c.opts)
	if err != nil {
		if ts != nil {
			ts.Close()
		}
		return nil, err
	}
	s := &Server{emu: srv, URL: url, client: srv.Client()}
	if ts != nil {
		ts.Config.Handler = srv.Handler()
		ts.Start()
		s.listener, s.URL, s.client = ts, ts.URL, ts.Client()
	}
	if tenant, app, ok := srv.DefaultApp(); ok {
		s.TenantID, s.ClientID, s.ClientSecret = tenant, app.ClientID, app.ClientSecret
	}
	return s, nil
}

// NewServer starts an emulator for t on a manual clock, with the default
// fixtures and no listener, and stops it when t ends.
func NewServer(t testing.TB, options ...Option) *Server {
	t.Helper()
	s, err := New(options...)
	if err != nil {
		t.Fatalf("emulatortest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Emulator returns the emulator underneath, for what the methods of Server
// do not cover: its Handler, Store, Journal, Faults, Clock, Authority.
func (s *Server) Emulator() *emulator.Server { return s.emu }

// Close stops the emulator and its listener.
func (s *Server) Close() {
	if s.listener != nil {
		s.listener.Close()
	}
	_ = s.emu.Close()
}

// Client returns the client to call the emulator at URL with: in memory,
// or to the loopback listener with WithListener.
func (s *Server) Client() *http.Client { return s.client }

// TokenURL returns the v2 token endpoint of the default tenant.
func (s *Server) TokenURL() string { return s.URL + "/" + s.TenantID + "/oauth2/v2.0/token" }

// Token mints a token for the default app with all its roles, or with
// only roles when given. It fails when the fixtures have no app.
func (s *Server) Token(roles ...string) (string, error) {
	tok, _, err := s.emu.Authority().Mint(identity.MintRequest{Roles: roles})
	if err != nil {
		return "", fmt.Errorf("emulatortest: %w", err)
	}
	return tok, nil
}

// Advance moves the clock forward by d; everything due happens, in order,
// before it returns.
func (s *Server) Advance(d time.Duration) { s.emu.Clock().Advance(d) }

// Now returns the emulated time.
func (s *Server) Now() time.Time { return s.emu.Clock().Now() }

// machine finds a machine of any tenant by id or computer name, as the
// control plane does.
func (s *Server) machine(key string) (*state.Machine, error) {
	m, err := s.emu.Store().FindMachine("", key)
	if err != nil {
		return nil, fmt.Errorf("emulatortest: %w", err)
	}
	return m, nil
}

// SetOnline connects or disconnects a machine (by id or computer name).
func (s *Server) SetOnline(machine string, online bool) error {
	m, err := s.machine(machine)
	if err != nil {
		return err
	}
	m.SetOnline(online)
	return nil
}

// NextOutcomes decides how the coming commands on a machine (by id or
// computer name) end.
func (s *Server) NextOutcomes(machine string, outcomes ...Outcome) error {
	m, err := s.machine(machine)
	if err != nil {
		return err
	}
	return m.QueueOutcomes(outcomes)
}

// AddFault adds a fault rule and returns it with its id.
func (s *Server) AddFault(r FaultRule) (FaultRule, error) { return s.emu.AddFault(r) }

// Requests returns the journal's requests that match f.
func (s *Server) Requests(f Filter) []Entry { return s.emu.Journal().Query(f) }

// WaitForRequests waits, up to timeout of wall time, until count requests
// matching f are in the journal, and returns them; it fails t when they do
// not arrive.
func (s *Server) WaitForRequests(t testing.TB, f Filter, count int, timeout time.Duration) []Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	got, err := s.emu.Journal().Wait(ctx, f, count)
	if err != nil {
		t.Fatalf("emulatortest: %d of %d requests matching %+v after %s: %v", len(got), count, f, timeout, err)
	}
	return got
}

// UserToken mints a delegated token for a user of the default tenant (UPN
// or object id) through the default app, as POST /_emulator/tokens
// {"user": …} does: scp holds scopes, or, when none are given, every
// delegated permission consented for the app. It fails for a user not in
// the default tenant or scopes passed with an app that has none.
func (s *Server) UserToken(upn string, scopes ...string) (string, error) {
	tok, _, err := s.emu.Authority().Mint(identity.MintRequest{TenantID: s.TenantID, ClientID: s.ClientID, User: upn, Scopes: scopes})
	if err != nil {
		return "", fmt.Errorf("emulatortest: %w", err)
	}
	return tok, nil
}

// ApproveDeviceCode completes the device code with this user code (as a
// client printed it; case, spaces and dashes do not matter) as the user
// upn (UPN or object id of the code's tenant) would on the verification
// page, as POST /_emulator/devicecode/{userCode} does: the client's next
// poll gets the user's token. It fails for an unknown, expired or already
// completed code, or a user not in the code's tenant.
func (s *Server) ApproveDeviceCode(userCode, upn string) error {
	if _, err := s.emu.Authority().ApproveDeviceCode(userCode, upn, true); err != nil {
		return fmt.Errorf("emulatortest: %w", err)
	}
	return nil
}

// DeclineDeviceCode declines the device code with this user code: the
// client's next poll gets authorization_declined.
func (s *Server) DeclineDeviceCode(userCode string) error {
	if _, err := s.emu.Authority().ApproveDeviceCode(userCode, "", false); err != nil {
		return fmt.Errorf("emulatortest: %w", err)
	}
	return nil
}
