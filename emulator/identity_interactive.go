package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/servicehosts"
)

// The interactive sign-in flows of the identity platform: the device
// authorization grant (POST /{tenant}/oauth2[/v2.0]/devicecode, then the
// token endpoint's device-code grant, the user completing it through
// POST /_emulator/devicecode/{userCode}) and the authorization code flow
// with PKCE (GET /{tenant}/oauth2[/v2.0]/authorize shows the emulator's
// sign-in page, whose answer redirects to the app with a code).

func (s *Server) deviceCodeV1(c echo.Context) error { return s.deviceCode(c, false) }
func (s *Server) deviceCodeV2(c echo.Context) error { return s.deviceCode(c, true) }

// deviceCode serves the device authorization endpoint. verification_uri
// (and the message) name the emulator's own verification page,
// {base URL}/devicelogin, when the client reached the emulator under its
// own address; under an identity platform host name (the proxy mode, a
// hosts-file entry) they keep the platform's
// https://microsoft.com/devicelogin, as a client expecting the real
// service sees it (the tester then approves through the control plane, or
// opens the emulator's /devicelogin).
func (s *Server) deviceCode(c echo.Context, v2 bool) error {
	verify := identity.DeviceLoginURI
	if servicehosts.Of(c.Request().Host) != servicehosts.Identity {
		verify = baseURL(c) + deviceLoginPath
	}
	resp, oerr := s.authority.DeviceCodeAt(c.Param("tenant"), oauthForm(c), v2, verify)
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
			r := &identity.AuthorizeRedirect{RedirectURI: aerr.RedirectURI, Params: p, Fragment: aerr.Mode == "fragment", FormPost: aerr.Mode == "form_post"}
			return s.redirectToApp(c, r)
		}
		return s.renderPage(c, aerr.Status, errorPage(), aerr)
	}
	return s.renderPage(c, http.StatusOK, signInPage(), page)
}

// redirectToApp sends the browser back to the app as r says: a 302 to
// the redirect URI (query or fragment), or, for response_mode=form_post,
// a page whose form POSTs the parameters to it by itself (a button when
// scripts are off).
func (s *Server) redirectToApp(c echo.Context, r *identity.AuthorizeRedirect) error {
	if !r.FormPost {
		return c.Redirect(http.StatusFound, r.URL())
	}
	var buf bytes.Buffer
	if err := formPostPage().Execute(&buf, r); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store, no-cache")
	// The form's target is the app's redirect URI, elsewhere by nature:
	// form-action names it; the one inline script submits the form.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'sha256-"+formPostScriptHash+"'; form-action "+cspSource(r.RedirectURI))
	h.Set("X-Frame-Options", "DENY")
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// cspSource returns the origin of uri for a CSP source list ('none' when
// it has none).
func cspSource(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || u.Host == "" || strings.ContainsAny(u.Host, " ;'") {
		return "'none'"
	}
	return u.Scheme + "://" + u.Host
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
		return s.renderPage(c, http.StatusBadRequest, errorPage(), &identity.AuthorizeError{
			Status: http.StatusBadRequest, Error: "invalid_request",
			Description: "The sign-in session is unknown, expired or was already answered, or the user is not in the tenant. Start the sign-in again.",
		})
	}
	return s.redirectToApp(c, r)
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

// signInPage returns the page that lists the tenant's users: one button each, and Decline. No
// script; html/template escapes every value.
var signInPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("signin").Parse(`<!DOCTYPE html>
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
})

// formPostScript submits the form_post page's form; formPostScriptHash
// is its CSP hash.
const formPostScript = `document.forms[0].submit();`

var formPostScriptHash = func() string {
	sum := sha256.Sum256([]byte(formPostScript))
	return base64.StdEncoding.EncodeToString(sum[:])
}()

// formPostPage returns the answer of response_mode=form_post: a form of hidden
// fields POSTed to the redirect URI as the page loads, as the identity
// platform answers.
var formPostPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("formpost").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Working... - MDE emulator</title></head><body>
<form method="post" action="{{.RedirectURI}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript>
</form>
<script>` + formPostScript + `</script>
</body></html>
`))
})

// errorPage returns the page of a sign-in the emulator refuses.
var errorPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in error - MDE emulator</title></head><body>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p><code>{{.Error}}</code></p>
<pre>{{.Description}}</pre>
</body></html>
`))
})
