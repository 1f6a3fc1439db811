package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/emulator/identity"
	"github.com/mdelive/mde-emulator/emulator/limits"
	"github.com/mdelive/mde-emulator/emulator/state"
	"github.com/mdelive/mde-emulator/fixtures"
	"github.com/mdelive/mde-emulator/openapi"
)

// Options configures an emulator. The zero value is an emulator with the
// embedded default fixtures, on a real-time clock, with the default limits.
type Options struct {
	// Fixtures is the state to start with. Nil: the embedded default set
	// (fixtures/default.yaml).
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
	// StrictResponses validates every /api response against the OpenAPI
	// document and turns a mismatch into a 500 (for tests).
	StrictResponses bool
	// Logger receives the emulator's logs. Nil: discard.
	Logger *slog.Logger
}

// Server is a running emulator. Its Handler serves the API, the token
// endpoints, result downloads and the control plane.
type Server struct {
	opts      Options
	log       *slog.Logger
	clock     *clock.Clock
	store     *state.Store
	fixtures  *fixture.Set
	authority *identity.Authority
	limiter   *limits.Limiter
	validator *openapi.Validator
	echo      *echo.Echo

	ownAudiences sync.Map // base URLs already accepted as audiences
}

// New builds an emulator from opts. All spec work (loading and checking
// the OpenAPI document, building its router) happens here, once.
func New(opts Options) (*Server, error) {
	set := opts.Fixtures
	if set == nil {
		var err error
		set, err = fixture.Parse(fixtures.DefaultName, fixtures.Default)
		if err != nil {
			return nil, fmt.Errorf("emulator: default fixtures: %w", err)
		}
	}
	profileName := opts.Profile
	if profileName == "" {
		profileName = set.Profile
	}
	if profileName == "" {
		profileName = "default"
	}
	profile, err := limits.Lookup(profileName)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	profile = profile.Override(set.Limits)

	start := opts.Start
	if start.IsZero() {
		start = set.Start
	}
	mode := opts.Clock
	if mode == "" {
		mode = clock.Real
	}
	if mode != clock.Real && mode != clock.Manual {
		return nil, fmt.Errorf("emulator: unknown clock mode %q (real or manual)", mode)
	}
	clk := clock.New(start, mode, opts.TimeScale)

	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{opts: opts, log: log, clock: clk, fixtures: set}
	s.store = state.New(clk, profile, set)
	s.limiter = limits.NewLimiter(profile)
	s.authority, err = identity.New(identity.Options{Now: clk.Now})
	if err != nil {
		clk.Close()
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s.loadIdentity(set)
	s.validator, err = openapi.NewValidator()
	if err != nil {
		clk.Close()
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s.echo = s.routes()
	return s, nil
}

// loadIdentity gives the identity platform the tenants and apps of set.
func (s *Server) loadIdentity(set *fixture.Set) {
	var apps []identity.App
	var tenants []string
	for _, t := range set.Tenants {
		tenants = append(tenants, t.ID)
		for _, a := range t.Apps {
			apps = append(apps, identity.App{
				TenantID: t.ID, ClientID: a.ClientID, ClientSecret: a.ClientSecret,
				DisplayName: a.DisplayName, Roles: a.Roles,
			})
		}
	}
	s.authority.SetTenants(tenants)
	s.authority.SetApps(apps)
}

// Handler returns the emulator's HTTP handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Clock returns the emulator's clock.
func (s *Server) Clock() *clock.Clock { return s.clock }

// Store returns the emulator's state.
func (s *Server) Store() *state.Store { return s.store }

// Authority returns the emulator's identity platform.
func (s *Server) Authority() *identity.Authority { return s.authority }

// DefaultApp returns the first app of the first tenant: the credentials a
// client uses when nothing else is configured.
func (s *Server) DefaultApp() (tenantID string, app fixture.App, ok bool) {
	for _, t := range s.fixtures.Tenants {
		if len(t.Apps) > 0 {
			return t.ID, t.Apps[0], true
		}
	}
	return "", fixture.App{}, false
}

// Close stops the emulator's clock; pending lifecycle steps never run.
func (s *Server) Close() error {
	s.clock.Close()
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

// odataContext returns the @odata.context of a response.
func odataContext(c echo.Context, fragment string) string {
	return baseURL(c) + "/api/$metadata#" + fragment
}

var errBodyTooLarge = errors.New("request body too large")

// readBody reads at most limit bytes of the request body.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
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
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	return c.Blob(status, jsonContentType, b[:len(b)-1])
}

const jsonContentType = "application/json; charset=utf-8"

var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
