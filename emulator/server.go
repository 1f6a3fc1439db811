package emulator

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/state"
	"github.com/mdelive/mde-emulator/openapi"
)

// Options configures an emulator. The zero value is an emulator with the
// embedded default fixtures, on a real-time clock, with the default limits.
type Options struct {
	// Fixtures is the state to start with. Nil: the embedded default set
	// (fixtures/default.yaml). New works on a copy (Reset goes back to it,
	// with what the set leaves out filled in: machines' seen times, library
	// creation times): the caller's set is never changed, and may be
	// changed or dropped afterwards. Of a set marked fixture.Set.Frozen,
	// the copy shares the machines instead (a million generated machines
	// load in a fraction of the time and memory): the caller then must not
	// change a machine of it in place, the promise Frozen is.
	Fixtures *fixture.Set
	// Clock selects real time (clock.Real, the default) or time that moves
	// only when advanced (clock.Manual).
	Clock clock.Mode
	// TimeScale speeds real time up: 60 makes a 10-minute RunScript timeout
	// take 10 wall seconds. Zero means 1.
	TimeScale float64
	// Start is the emulated instant the clock starts at. Zero: the
	// fixtures' start, else the wall clock's now.
	Start time.Time
	// Profile names the limits profile: "default" (the API page: 10
	// runliveresponse calls a minute, 25 sessions, 3-day queue),
	// "current" (newer documentation: 50 sessions, 2-hour queue) or
	// "unlimited". Empty: the fixtures' profile, else "default".
	Profile string
	// JournalSize is how many requests the journal keeps (the oldest go
	// first). Zero: 10,000.
	JournalSize int
	// RetainActions is how many finished actions the emulator keeps, over
	// all its tenants; past it the first to have finished are forgotten
	// (a forgotten action is 404 ResourceNotFound, as an unknown one).
	// Live actions are always kept. Zero: 100,000; negative: no bound.
	// The kept actions' heap is bounded too, at state.BytesFor: 4 KiB
	// each on average, at least 64 MiB: a client that sends comments and
	// arguments of a megabyte gets fewer of its actions kept, not a
	// bigger heap.
	RetainActions int
	// RetainFor is how long a finished action is kept after it finished,
	// in emulated time. Zero: 7 days; negative: no bound.
	RetainFor time.Duration
	// JournalBodyCap is how many bytes of each request body the journal
	// keeps. Zero: 16 KiB.
	JournalBodyCap int
	// SeparateControl leaves the control plane (/_emulator) out of Handler;
	// serve ControlHandler on an address of its own.
	SeparateControl bool
	// StrictResponses validates every /api response against the OpenAPI
	// document and turns a mismatch into a 500 (for tests).
	StrictResponses bool
	// Logger receives the emulator's logs. Nil: discard. At slog.LevelDebug
	// it gets one record per request: method, path, query, status, tenant,
	// app; never a header, a body, a token, a secret or a link's signature.
	Logger *slog.Logger
	// PublicURLs are the emulator's own base URLs, such as
	// "http://127.0.0.1:8080": besides the API's audiences
	// (https://api.securitycenter.microsoft.com and the other names of the
	// Defender for Endpoint API), a token whose aud is one of them is
	// accepted, since some clients ask a token for the base URL they call.
	// They are fixed here: the Host a request was sent to never adds an
	// audience. Each must be an absolute http or https URL.
	PublicURLs []string
	// ExposeControl lets the control plane (/_emulator) answer peers that
	// are not on loopback, and makes it require ControlToken. Without it,
	// a control-plane request from a peer that is not on loopback is
	// refused with 403 (a request with no peer address, such as one of
	// Client, is in-process and allowed).
	ExposeControl bool
	// ControlToken, when set, is required of every control-plane request,
	// as "Authorization: Bearer {ControlToken}"; without it the answer is
	// 401. Empty with ExposeControl: New makes a random one (ControlToken
	// returns it).
	ControlToken string
	// SigningKey signs the tokens (their kid is derived from it). A
	// fixture's signingKey wins over it. Nil, and no signingKey in the
	// fixtures: New makes a 2048-bit key, the bulk of New's time (tens of
	// milliseconds); cmd/emulator keeps one in a file to skip that.
	SigningKey *rsa.PrivateKey
	// Data is a directory where the emulator keeps its state
	// (emulator.db): the fixtures it started from, its signing keys and
	// every change made since, each answered once it is durable. A store
	// that holds state wins over Fixtures (logged) unless DataReset.
	// Empty: state lives in memory only (the default). Close closes it.
	Data string
	// DataClock is what the clock does across the time the emulator was
	// down: DataClockResume (the default) or DataClockCatchUp.
	DataClock string
	// DataReset starts the store over from Fixtures, forgetting what it
	// held.
	DataReset bool
	// DataCompactAfter is how many records the store's log may hold
	// before it is compacted: a new generation starts from a snapshot of
	// the state (docs/persistence.md). 0 means DefaultDataCompactAfter;
	// otherwise MinDataCompactAfter to MaxDataCompactAfter.
	DataCompactAfter int
}

// Server is a running emulator. Its Handler serves the API, the token
// endpoints, result downloads and the control plane.
type Server struct {
	opts       Options
	log        *slog.Logger
	clock      *clock.Clock
	start      time.Time // where the clock started, for Reset
	startMode  clock.Mode
	startScale float64
	store      *state.Store
	links      *links                      // result download links
	blobs      blobBudget                  // the bytes of the downloads in flight (maxBlobBytes)
	fixtures   atomic.Pointer[fixture.Set] // the last loaded
	initial    *fixture.Set                // the ones the emulator started with
	authority  *identity.Authority
	limiter    *limits.Limiter
	validator  *openapi.Validator
	journal    *journal.Journal
	faults     *faults.Injector
	rec        *recorder // nil without Options.Data: nothing recorded, nothing waits
	echo       *echo.Echo
	control    *echo.Echo

	serving     context.Context // ends at BeginShutdown
	stopServing context.CancelFunc

	// classroom serialises adding and removing tenants on the fly
	// (control_tenants.go) with Reset and fixture loads, which drop them.
	classroom sync.Mutex

	// scenarios holds the loaded scenario pack and its pending events
	// (control_scenarios.go).
	scenarios scenarioRunner

	endpoints sync.Map  // endpointKey → "METHOD /route"
	metrics   *metrics  // the Prometheus registry of GET /_emulator/metrics (control_metrics.go)
	dashboard dashboard // the dashboard's live streams (control_ui_events.go)
	debug     bool      // the logger takes debug records: log every request
}

// apiValidator returns the API document's Validator, built on the first
// call in the process. It depends on nothing but the embedded document and
// never changes once built (it is safe for concurrent use), so every
// Server of the process shares it: a test suite that starts hundreds of
// emulators loads and checks the document once.
var apiValidator = sync.OnceValues(openapi.NewValidator)

// New builds an emulator from opts. All spec work (loading and checking
// the OpenAPI document) happens in the first New of the process, once.
func New(opts Options) (*Server, error) {
	// The OpenAPI validator (the larger part of a first New without key
	// generation) depends on nothing else here: build it beside the rest.
	type built struct {
		v   *openapi.Validator
		err error
	}
	validatorc := make(chan built, 1)
	go func() {
		v, err := apiValidator()
		validatorc <- built{v, err}
	}()
	set := opts.Fixtures.Clone()         // the emulator's own: it fills in times
	ps, stored, err := openPersist(opts) // nil, nil without opts.Data
	if err != nil {
		return nil, err
	}
	if stored != nil {
		set = stored
	}
	if set == nil {
		var err error
		set, err = fixture.Default()
		if err != nil {
			return nil, fmt.Errorf("emulator: default fixtures: %w", err)
		}
	}
	profile, err := profileFor(opts, set)
	if err != nil {
		ps.close()
		return nil, err
	}
	key, err := set.ParseSigningKey()
	if err != nil {
		ps.close()
		return nil, fmt.Errorf("emulator: fixtures: signingKey: %w", err)
	}
	if key == nil {
		key = opts.SigningKey
	}
	if ps != nil {
		if key, err = ps.signingKey(key); err != nil {
			ps.close()
			return nil, err
		}
	}

	start := opts.Start
	if start.IsZero() {
		start = set.Start
	}
	mode := opts.Clock
	if mode == "" {
		mode = clock.Real
	}
	if mode != clock.Real && mode != clock.Manual {
		ps.close()
		return nil, fmt.Errorf("emulator: unknown clock mode %q (real or manual)", mode)
	}
	if ps != nil {
		start, mode = ps.clockStart(start, mode, opts.TimeScale)
	}
	clk := clock.New(start, mode, opts.TimeScale)

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{opts: opts, log: log, clock: clk, start: clk.Now(), startMode: clk.Mode(), startScale: clk.Scale()}
	s.opts.Fixtures = nil // not the caller's set: the emulator's copy is s.initial
	s.serving, s.stopServing = context.WithCancel(context.Background())
	s.store = state.New(clk, profile, set)
	s.store.SetRetention(retentionFor(opts))
	s.links = newLinks(s.store, clk)
	s.blobs.max = maxBlobBytes
	s.journal = journal.New(opts.JournalSize, opts.JournalBodyCap)
	s.faults = faults.New()
	s.limiter = limits.NewLimiter(s.store) // the store holds the profile
	s.authority, err = identity.New(identity.Options{Now: clk.Now, Wall: clock.Wall, EmulatedDuration: clk.EmulatedDuration, Key: key})
	if err != nil {
		clk.Close()
		ps.close()
		return nil, fmt.Errorf("emulator: %w", err)
	}
	for _, u := range opts.PublicURLs {
		if err := checkPublicURL(u); err != nil {
			clk.Close()
			ps.close()
			return nil, err
		}
		s.authority.AcceptAudience(u)
	}
	if opts.ExposeControl && opts.ControlToken == "" {
		s.opts.ControlToken = newControlToken()
	}
	s.debug = log.Enabled(context.Background(), slog.LevelDebug)
	s.fixtures.Store(set)
	s.initial = set
	s.loadIdentity(set)
	v := <-validatorc
	s.validator, err = v.v, v.err
	if err != nil {
		clk.Close()
		ps.close()
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s.metrics = newMetrics(s)
	s.echo, s.control = s.routes()
	if ps != nil {
		if stored != nil && opts.Fixtures != nil {
			log.Warn("emulator: the store holds state: the fixtures given (--fixtures, --classroom) are ignored; --data-reset starts over from them", "file", ps.store.Path())
		}
		if err := s.beginOrReplay(ps); err != nil {
			s.Close()
			ps.close()
			return nil, err
		}
	}
	return s, nil
}

// retentionFor returns the retention of finished actions opts ask for.
func retentionFor(opts Options) state.Retention {
	r := state.DefaultRetention
	if opts.RetainActions != 0 {
		r.MaxActions = max(opts.RetainActions, 0)
		r.MaxBytes = state.BytesFor(r.MaxActions) // no count bound, no bytes bound
	}
	if opts.RetainFor != 0 {
		r.MaxAge = max(opts.RetainFor, 0)
	}
	return r
}

// profileFor returns the limits of opts' profile, else the fixtures', with
// the fixtures' overrides.
func profileFor(opts Options, set *fixture.Set) (limits.Profile, error) {
	name := opts.Profile
	if name == "" {
		name = set.Profile
	}
	p, err := limits.Lookup(name)
	if err != nil {
		return limits.Profile{}, fmt.Errorf("emulator: %w", err)
	}
	return p.Override(set.Limits), nil
}

// loadIdentity gives the identity platform the tenants and apps of set.
func (s *Server) loadIdentity(set *fixture.Set) {
	var apps []identity.App
	var users []identity.User
	var tenants []string
	for i := range set.Tenants {
		tenants = append(tenants, set.Tenants[i].ID)
		a, u := identityOf(&set.Tenants[i])
		apps, users = append(apps, a...), append(users, u...)
	}
	s.authority.SetTenants(tenants)
	s.authority.SetApps(apps)
	s.authority.SetUsers(users)
}

// identityOf returns the apps and users of t as the identity platform
// knows them.
func identityOf(t *fixture.Tenant) (apps []identity.App, users []identity.User) {
	for _, a := range t.Apps {
		app := identity.App{
			TenantID: t.ID, ClientID: a.ClientID, ClientSecret: a.ClientSecret,
			DisplayName: a.DisplayName, Roles: a.Roles, DelegatedPermissions: a.DelegatedPermissions,
			AccessTokenLifetime: time.Duration(a.AccessTokenLifetime),
		}
		if a.PublicClient != nil {
			app.ClientType = identity.ClientConfidential
			if *a.PublicClient {
				app.ClientType = identity.ClientPublic
			}
		}
		if aa := a.DeviceCodeAutoApprove; aa != nil {
			app.AutoApproveUser, app.AutoApproveAfter = aa.User, time.Duration(aa.After)
		}
		apps = append(apps, app)
	}
	for _, u := range t.Users {
		users = append(users, identity.User{
			TenantID: t.ID, ObjectID: u.ObjectID, UPN: u.UserPrincipalName,
			DisplayName: u.DisplayName, Password: u.Password,
		})
	}
	return apps, users
}

// Reset puts the emulator back where it started: the fixtures it was
// started with (or last given), the clock at its start instant in the mode
// and scale it started with, no pending lifecycle step, rate-limit windows
// empty, the journal and the fault rules cleared, the tenants made by
// POST /_emulator/tenants gone (their credentials with them). With a
// store (Options.Data) it starts a new generation of it; a store that
// cannot keep it is logged (the control plane answers 503).
func (s *Server) Reset() { _ = s.resetRecorded() }

// resetRecorded is Reset, with the error of a store that could not keep it.
func (s *Server) resetRecorded() error {
	return s.inGeneration(func() error {
		s.resetState()
		return nil
	})
}

// resetState is Reset without the store.
func (s *Server) resetState() {
	s.classroom.Lock()
	defer s.classroom.Unlock()
	created := s.store.CreatedTenants() > 0
	s.clock.Reset(s.start, s.startMode, s.startScale)
	s.limiter.Reset()
	s.journal.Clear()
	s.faults.Reset()
	s.cancelScenario() // its pending events went with the clock's timers
	s.store.Load(s.fixtures.Load())
	// Sign-ins and device codes belong to the old state, and the clock
	// went back: they would not expire when they should.
	s.authority.ClearFlows()
	if created { // the tenants made on the fly go with the state
		s.loadIdentity(s.fixtures.Load())
	}
}

// ResetToStart is Reset with the fixtures the emulator was started with,
// even after LoadFixtures replaced them.
func (s *Server) ResetToStart() error {
	return s.inGeneration(func() error {
		if s.fixtures.Load() != s.initial {
			if err := s.replaceFixtures(s.initial); err != nil {
				return err
			}
		}
		s.resetState()
		return nil
	})
}

// LoadFixtures replaces the whole state with set: tenants, apps, machines,
// library, limits; actions are forgotten and their pending steps dropped.
// The clock keeps its time. The signing key stays the one of the start.
// The emulator works on a copy of set: the caller's is never changed.
func (s *Server) LoadFixtures(set *fixture.Set) error {
	return s.loadFixtures(set.Clone())
}

// loadFixtures is LoadFixtures with a set the emulator owns from now on
// (it fills in the times the set leaves out). With a store it starts a
// new generation of it.
func (s *Server) loadFixtures(set *fixture.Set) error {
	return s.inGeneration(func() error { return s.replaceFixtures(set) })
}

// replaceFixtures is loadFixtures without the store.
func (s *Server) replaceFixtures(set *fixture.Set) error {
	profile, err := profileFor(s.opts, set)
	if err != nil {
		return err
	}
	s.classroom.Lock()
	defer s.classroom.Unlock()
	s.clock.Reset(s.clock.Now(), s.clock.Mode(), s.clock.Scale())
	s.cancelScenario() // its pending events went with the clock's timers
	s.fixtures.Store(set)
	s.store.SetProfile(profile)
	s.limiter.Reset() // its windows keep the limits they were made with
	s.store.Load(set)
	s.authority.ClearFlows() // sign-ins and device codes of the old state
	s.loadIdentity(set)
	return nil
}

// Handler returns the emulator's HTTP handler: the API, the token
// endpoints, result downloads and, unless Options.SeparateControl, the
// control plane.
func (s *Server) Handler() http.Handler { return s.echo }

// ControlHandler returns a handler of the control plane (/_emulator) alone.
func (s *Server) ControlHandler() http.Handler { return s.control }

// Journal returns the emulator's request journal.
func (s *Server) Journal() *journal.Journal { return s.journal }

// Faults returns the emulator's fault rules. A change made through it is
// not recorded in the store (Options.Data): add rules with AddFault, or
// through the control plane, to keep them across a restart.
func (s *Server) Faults() *faults.Injector { return s.faults }

// Clock returns the emulator's clock.
func (s *Server) Clock() *clock.Clock { return s.clock }

// Store returns the emulator's state.
func (s *Server) Store() *state.Store { return s.store }

// Authority returns the emulator's identity platform.
func (s *Server) Authority() *identity.Authority { return s.authority }

// DefaultApp returns the first app of the first tenant: the credentials a
// client uses when nothing else is configured.
func (s *Server) DefaultApp() (tenantID string, app fixture.App, ok bool) {
	for _, t := range s.fixtures.Load().Tenants {
		if len(t.Apps) > 0 {
			return t.ID, t.Apps[0], true
		}
	}
	return "", fixture.App{}, false
}

// Close stops the emulator's clock; pending lifecycle steps never run.
func (s *Server) Close() error {
	s.stopServing()
	s.clock.Close()
	s.closePersist()
	return nil
}

// baseURL returns scheme://host of the request, the emulator's own address
// as the client reached it.
func baseURL(c echo.Context) string {
	r := c.Request()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// odataContext returns the @odata.context of a response (baseURL's
// parts and the rest in one concatenation: one allocation).
func odataContext(c echo.Context, fragment string) string {
	r := c.Request()
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/api/$metadata#" + fragment
}

var errBodyTooLarge = errors.New("request body too large")

// readBody reads at most limit bytes of the request body.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	body := c.Request().Body
	if body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errBodyTooLarge
	}
	return b, nil
}

// writeJSON writes v as the body of a response with status.
// It writes JSON the way the service does: no HTML escaping of &, < and >
// (result links carry & in their query), UTF-8.
func (s *Server) writeJSON(c echo.Context, status int, v any) error {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 {
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	setJSONContentType(c)
	if a, ok := v.(jsonAppender); ok {
		buf.Grow(2048)
		b := a.AppendJSON(buf.AvailableBuffer())
		return c.Blob(status, jsonContentType, b)
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	return c.Blob(status, jsonContentType, b[:len(b)-1])
}

// jsonAppender is a value that writes its own JSON, the same bytes
// encoding/json would, faster.
type jsonAppender interface {
	AppendJSON(b []byte) []byte
}

const jsonContentType = "application/json; charset=utf-8"

// jsonContentTypeValues is the Content-Type header's value of a JSON
// response, shared by every response (net/http only reads it; a Set
// replaces it, an Add makes a new slice: len and cap are 1).
var jsonContentTypeValues = []string{jsonContentType}

// setJSONContentType sets the response's Content-Type to jsonContentType
// unless it is set already (echo's Blob then leaves it alone, as it would
// have), without the slice Header.Set makes.
func setJSONContentType(c echo.Context) {
	h := c.Response().Header()
	if h.Get(echo.HeaderContentType) == "" {
		h[echo.HeaderContentType] = jsonContentTypeValues[:1:1]
	}
}

// appendJSONString appends s as a JSON string, as encoding/json writes it
// with HTML escaping off.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			// Escapes or UTF-8 to check: leave them to encoding/json.
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			_ = enc.Encode(s)
			return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}
