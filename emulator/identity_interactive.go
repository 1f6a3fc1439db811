package emulator

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/identity"
)

// The interactive sign-in flows of the identity platform: the device
// authorization grant (POST /{tenant}/oauth2[/v2.0]/devicecode, then the
// token endpoint's device-code grant, the user completing it through
// POST /_emulator/devicecode/{userCode}) and the authorization code flow
// with PKCE (GET /{tenant}/oauth2[/v2.0]/authorize shows the emulator's
// sign-in page, whose answer redirects to the app with a code).

func (s *Server) deviceCodeV1(c echo.Context) error { return s.deviceCode(c, false) }
func (s *Server) deviceCodeV2(c echo.Context) error { return s.deviceCode(c, true) }

// deviceCode serves the device authorization endpoint.
func (s *Server) deviceCode(c echo.Context, v2 bool) error {
	resp, oerr := s.authority.DeviceCode(c.Param("tenant"), oauthForm(c), v2)
	return s.writeOAuth(c, resp, oerr)
}

// approveDeviceCode serves POST /_emulator/devicecode/{userCode}
// {"user": "analyst@…", "approve": true}: the user completes the device
// code's sign-in (approve omitted: true), or declines it ("approve":
// false, no user needed).
func (s *Server) approveDeviceCode(c echo.Context) error {
	var req struct {
		User    string `json:"user"`
		Approve *bool  `json:"approve"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	approve := req.Approve == nil || *req.Approve
	if approve && strings.TrimSpace(req.User) == "" {
		return controlError(c, ctlMissingRequiredParameter, "user (a UPN or object id of the device code's tenant) is required to approve")
	}
	out, err := s.authority.ApproveDeviceCode(c.Param("userCode"), req.User, approve)
	switch {
	case errors.Is(err, identity.ErrUnknownUserCode):
		return controlError(c, ctlResourceNotFound, "No device code has the user code %s", c.Param("userCode"))
	case err != nil:
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	return s.writeJSON(c, http.StatusOK, out)
}

func (s *Server) authorizeV1(c echo.Context) error { return s.authorize(c, false) }
func (s *Server) authorizeV2(c echo.Context) error { return s.authorize(c, true) }

// registeredRedirects returns the redirectUris of the fixture's app.
func (s *Server) registeredRedirects(tenantID, clientID string) []string {
	for _, t := range s.fixtures.Load().Tenants {
		if !strings.EqualFold(t.ID, tenantID) {
			continue
		}
		for _, a := range t.Apps {
			if strings.EqualFold(a.ClientID, clientID) {
				return a.RedirectURIs
			}
		}
	}
	return nil
}

// authorize serves GET /{tenant}/oauth2[/v2.0]/authorize: the sign-in
// page, or the request's error (on a page when the redirect URI cannot be
// trusted, else at the redirect URI).
func (s *Server) authorize(c echo.Context, v2 bool) error {
	page, aerr := s.authority.Authorize(c.Param("tenant"), c.QueryParams(), v2, s.registeredRedirects)
	if aerr != nil {
		noteErrorCode(c, aerr.Error)
		if aerr.RedirectURI != "" {
			p := url.Values{"error": {aerr.Error}, "error_description": {aerr.Description}}
			if aerr.State != "" {
				p.Set("state", aerr.State)
			}
			r := &identity.AuthorizeRedirect{RedirectURI: aerr.RedirectURI, Params: p, Fragment: aerr.Mode == "fragment"}
			return c.Redirect(http.StatusFound, r.URL())
		}
		return s.renderPage(c, aerr.Status, errorPage, aerr)
	}
	return s.renderPage(c, http.StatusOK, signInPage, page)
}

// authorizeAnswer serves POST /{tenant}/oauth2[/v2.0]/authorize, the
// sign-in page's form: session and user (an object id) or decline.
func (s *Server) authorizeAnswer(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		form = url.Values{}
	}
	r, err := s.authority.CompleteSignIn(form.Get("session"), form.Get("user"), form.Get("decline") != "")
	if err != nil {
		noteErrorCode(c, "invalid_request")
		return s.renderPage(c, http.StatusBadRequest, errorPage, &identity.AuthorizeError{
			Status: http.StatusBadRequest, Error: "invalid_request",
			Description: "The sign-in session is unknown, expired or was already answered, or the user is not in the tenant. Start the sign-in again.",
		})
	}
	return c.Redirect(http.StatusFound, r.URL())
}

func (s *Server) renderPage(c echo.Context, status int, t *template.Template, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	return c.HTMLBlob(status, buf.Bytes())
}

// signInPage lists the tenant's users: one button each, and Decline. No
// script; html/template escapes every value.
var signInPage = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - MDE emulator</title>
<style>body{font-family:sans-serif;max-width:36em;margin:3em auto}button{display:block;width:100%;margin:.4em 0;padding:.6em;text-align:left}</style>
</head><body>
<h1>Sign in</h1>
<p><strong>{{.AppName}}</strong> ({{.ClientID}}) asks to sign you in to tenant {{.TenantID}}{{if .Scopes}} with {{range $i, $s := .Scopes}}{{if $i}}, {{end}}{{$s}}{{end}}{{end}}.</p>
<p>This is the emulator's sign-in page: pick a user, no password is asked.</p>
<form method="post">
<input type="hidden" name="session" value="{{.Session}}">
{{range .Users}}<button type="submit" name="user" value="{{.ObjectID}}">{{.DisplayName}} &lt;{{.UPN}}&gt;</button>
{{else}}<p>The tenant has no users (fixture <code>users:</code>).</p>
{{end}}<button type="submit" name="decline" value="1">Decline</button>
</form>
</body></html>
`))

var errorPage = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in error - MDE emulator</title></head><body>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p><code>{{.Error}}</code></p>
<pre>{{.Description}}</pre>
</body></html>
`))
