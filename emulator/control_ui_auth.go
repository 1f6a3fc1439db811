package emulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// How an exposed control plane's token reaches the dashboard. A browser
// cannot send Authorization: Bearer, so the dashboard takes the token
// once, in the page's address (GET /_emulator/ui?token=T, the link the
// emulator prints at start), and swaps it for a cookie: HttpOnly (no
// script reads it), SameSite=Strict (no other site's page sends it),
// Path=/_emulator/ui (it opens the dashboard's routes, not the JSON
// control plane), Secure under TLS. The cookie holds an HMAC of the
// token, not the token. The page then drops ?token= from the address bar
// (history.replaceState). The token is never journaled (the control plane
// is not) and the debug log shows token=REDACTED (secretQueryKeys).
// A loopback-only control plane without a token needs none of this.

// dashboardCookie is the name of the dashboard's cookie.
const dashboardCookie = "mde_dashboard"

// dashboardPrefix is the path of the dashboard's routes.
const dashboardPrefix = "/_emulator/ui"

// errNoDashboardCredential is dashboardCredential's answer for a request
// with neither cookie nor token.
var errNoDashboardCredential = errors.New("no dashboard credential")

// dashboardCredential returns the control token a dashboard request
// carries instead of Authorization: the token itself from ?token= (on GET
// /_emulator/ui only, the page that swaps it for the cookie), or the
// control token when the cookie matches it. Any other request gets an
// error.
func (s *Server) dashboardCredential(r *http.Request) (string, error) {
	want := s.opts.ControlToken
	if want == "" || !dashboardPath(r.URL.Path) {
		return "", errNoDashboardCredential
	}
	if r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == dashboardPrefix {
		if t := r.URL.Query().Get("token"); t != "" {
			return t, nil
		}
	}
	ck, err := r.Cookie(dashboardCookie)
	if err != nil {
		return "", errNoDashboardCredential
	}
	if subtle.ConstantTimeCompare([]byte(ck.Value), []byte(dashboardCookieValue(want))) != 1 {
		return "", errNoDashboardCredential
	}
	return want, nil
}

// dashboardPath reports whether path is one of the dashboard's.
func dashboardPath(path string) bool {
	rest, ok := strings.CutPrefix(path, dashboardPrefix)
	return ok && (rest == "" || rest[0] == '/')
}

// dashboardCookieValue is the cookie that stands for the control token:
// an HMAC of it, so the cookie never holds the token itself.
func dashboardCookieValue(token string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("mde-emulator dashboard cookie v1"))
	return hex.EncodeToString(m.Sum(nil))
}

// setDashboardCookie gives the browser the cookie when it came with
// ?token= (already checked by guardControl).
func (s *Server) setDashboardCookie(c echo.Context) {
	r := c.Request()
	if s.opts.ControlToken == "" || r.URL.Query().Get("token") == "" {
		return
	}
	c.SetCookie(&http.Cookie{
		Name:     dashboardCookie,
		Value:    dashboardCookieValue(s.opts.ControlToken),
		Path:     dashboardPrefix,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}

// dashboardCrossOrigin refuses a state-changing dashboard request sent
// from another site's page (a form that posts to 127.0.0.1): the
// loopback-only control plane takes no token, so its peer address alone
// would let any page the trainee opens switch machines or move time.
var dashboardCrossOrigin = http.NewCrossOriginProtection()
