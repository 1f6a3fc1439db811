package emulator

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"

	"github.com/mdelive/mde-emulator/internal/identity"
)

// Who may use the control plane. It mints tokens, replaces the fixtures
// and shows the journal, and takes no API token: by default it answers
// loopback peers only; exposed (Options.ExposeControl), it answers anyone
// with the control token. The checks are in one place, guardControl.

// ControlToken returns the token the control plane requires
// (Authorization: Bearer {token}), or "" when it requires none.
func (s *Server) ControlToken() string { return s.opts.ControlToken }

// SeparateControl reports whether the control plane (and its dashboard)
// is served by ControlHandler alone, not by Handler (Options.SeparateControl).
func (s *Server) SeparateControl() bool { return s.opts.SeparateControl }

// newControlToken returns a random control token: 32 hex digits.
func newControlToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// checkPublicURL refuses a public URL that could not be a base URL.
func checkPublicURL(u string) error {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("emulator: public URL %q: want an absolute http or https URL such as http://127.0.0.1:8080", u)
	}
	return nil
}

// guardControl checks who calls the control plane: a peer that is not on
// loopback gets 403 unless the control plane is exposed, and a request
// without the control token (when there is one) gets 401. all: every
// request through it is a control-plane request (the control plane's own
// handler); else only those under /_emulator are. With a debug logger it
// also logs the requests the journal does not see.
func (s *Server) guardControl(all bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if !all && (s.opts.SeparateControl || !controlPath(c.Path()) && !controlPath(r.URL.Path)) {
				if !s.debug || journaledRoute(c.Path()) {
					return next(c) // the API: journaled, and logged by record
				}
				return s.logged(c, next)
			}
			if s.debug {
				return s.logged(c, func(c echo.Context) error { return s.checkControl(c, next) })
			}
			return s.checkControl(c, next)
		}
	}
}

// checkControl answers a control-plane request that may not pass, and
// hands the others to next.
func (s *Server) checkControl(c echo.Context, next echo.HandlerFunc) error {
	r := c.Request()
	if !s.opts.ExposeControl && !loopbackPeer(r.RemoteAddr) {
		return controlError(c, ctlForbidden,
			"The control plane answers loopback peers only; start the emulator with --expose-control (and use its control token) to reach it from another host.")
	}
	if want := s.opts.ControlToken; want != "" {
		got, err := identity.ParseAuthorization(r.Header.Get(echo.HeaderAuthorization))
		if err != nil {
			got, err = s.dashboardCredential(r) // the dashboard's cookie or ?token= (control_ui_auth.go)
		}
		if err != nil || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="emulator control plane"`)
			return controlError(c, ctlUnauthorized,
				"The control plane requires the control token the emulator printed at start: send Authorization: Bearer {control token}.")
		}
	}
	return next(c)
}

// controlPath reports whether path is under /_emulator.
func controlPath(path string) bool {
	rest, ok := strings.CutPrefix(path, "/_emulator")
	return ok && (rest == "" || rest[0] == '/')
}

// journaledRoute reports whether route is one of the journaled groups
// (the API, the identity platform, result downloads): record logs those.
func journaledRoute(route string) bool {
	return strings.HasPrefix(route, "/api") || strings.HasPrefix(route, "/:tenant/") || strings.HasPrefix(route, "/_blob/")
}

// loopbackPeer reports whether the peer at remoteAddr is on loopback. A
// request with no peer address was made in-process (Client).
func loopbackPeer(remoteAddr string) bool {
	if remoteAddr == "" {
		return true
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// logged runs next and logs the request (a request outside the journal).
func (s *Server) logged(c echo.Context, next echo.HandlerFunc) error {
	began := clock.Wall()
	err := next(c)
	if err != nil {
		s.handleHTTPError(err, c)
	}
	r := c.Request()
	s.logRequest(r, c.Response().Status, "", "", "", "", clock.Wall().Sub(began))
	return nil
}

// logRequest writes the debug record of one request: what the journal
// keeps of it, credentials redacted, never a header or a body.
func (s *Server) logRequest(r *http.Request, status int, tenant, app, errorCode, fault string, took time.Duration) {
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path))
	if r.URL.RawQuery != "" {
		attrs = append(attrs, slog.String("query", redactQuery(r.URL.RawQuery)))
	}
	attrs = append(attrs, slog.Int("status", status))
	for _, a := range [...]struct{ k, v string }{{"tenant", tenant}, {"app", app}, {"errorCode", errorCode}, {"fault", fault}} {
		if a.v != "" {
			attrs = append(attrs, slog.String(a.k, a.v))
		}
	}
	attrs = append(attrs, slog.String("peer", r.RemoteAddr), slog.Duration("took", took))
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "request", attrs...)
}
