package emulator

import (
	"errors"
	"html/template"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/identity"
)

// The device code's verification page, the emulator's stand-in for
// https://microsoft.com/devicelogin: GET /devicelogin asks for the user
// code; GET /devicelogin?code=… shows the app and the tenant's users
// (one button each) and Decline; POST /devicelogin (session, user or
// decline) completes the code as POST /_emulator/devicecode/{userCode}
// does. The form carries the session the GET opened (single-use, one per
// device code), so a form posted without opening the page approves
// nothing; the POST body is bounded (maxDeviceLoginBody). Both are
// journaled, the POST with its session redacted (secretFormKeys), as the
// sign-in page's answer is.

// deviceLoginPath is the verification page's path, under the emulator's
// base URL.
const deviceLoginPath = "/devicelogin"

// maxDeviceLoginBody bounds the verification page's POST body: a
// session, a user's object id and a flag fit in far less.
const maxDeviceLoginBody = 4 << 10

// deviceLoginView is what the page's template shows.
type deviceLoginView struct {
	Code    string                    // the code entered, to show it again
	Problem string                    // why the code was not accepted
	Page    *identity.DeviceLoginPage // nil: the code entry step
	Done    *identity.DeviceApproval  // the answer's outcome
}

// deviceLogin serves GET /devicelogin[?code=USER_CODE].
func (s *Server) deviceLogin(c echo.Context) error {
	code := strings.TrimSpace(c.QueryParam("code"))
	if code == "" {
		return s.renderPage(c, http.StatusOK, deviceLoginPage(), &deviceLoginView{})
	}
	page, err := s.authority.OpenDeviceLogin(code)
	if err != nil {
		status, problem := deviceLoginProblem(err)
		if len(code) > identity.MaxUserCodeInput {
			code = ""
		}
		noteErrorCode(c, "invalid_request")
		return s.renderPage(c, status, deviceLoginPage(), &deviceLoginView{Code: code, Problem: problem})
	}
	return s.renderPage(c, http.StatusOK, deviceLoginPage(), &deviceLoginView{Code: page.UserCode, Page: page})
}

// deviceLoginAnswer serves POST /devicelogin: it completes the code as the
// page's form says. It is journaled, its single-use session redacted.
func (s *Server) deviceLoginAnswer(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(c.Response(), r.Body, maxDeviceLoginBody)
	if err := r.ParseForm(); err != nil {
		noteErrorCode(c, "invalid_request")
		return s.renderPage(c, http.StatusRequestEntityTooLarge, deviceLoginPage(), &deviceLoginView{
			Problem: "The form is too large or malformed. Enter the code again."})
	}
	out, err := s.authority.CompleteDeviceLogin(r.PostForm.Get("session"), r.PostForm.Get("user"), r.PostForm.Get("decline") != "")
	if err != nil {
		status, problem := deviceLoginProblem(err)
		noteErrorCode(c, "invalid_request")
		return s.renderPage(c, status, deviceLoginPage(), &deviceLoginView{Problem: problem})
	}
	return s.renderPage(c, http.StatusOK, deviceLoginPage(), &deviceLoginView{Done: out})
}

// deviceLoginProblem returns the status and the words of a refused code
// or answer.
func deviceLoginProblem(err error) (int, string) {
	switch {
	case errors.Is(err, identity.ErrUnknownUserCode):
		return http.StatusNotFound, "That code is not valid. Check it and try again: no pending device code has it."
	case errors.Is(err, identity.ErrCodeExpired):
		return http.StatusBadRequest, "That code has expired. Start the sign-in on your device again."
	case errors.Is(err, identity.ErrCodeCompleted):
		return http.StatusBadRequest, "That code was already used: its sign-in was approved or declined."
	case errors.Is(err, identity.ErrUnknownUser):
		return http.StatusBadRequest, "That user is not in the code's tenant. Enter the code again."
	}
	return http.StatusBadRequest, "This sign-in page is no longer valid (it was answered, or opened again elsewhere). Enter the code again."
}

// deviceLoginPage returns the verification page, in the look of the sign-in
// page. No script; html/template escapes every value.
var deviceLoginPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("devicelogin").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Enter code - MDE emulator</title>
<style>body{font-family:sans-serif;max-width:36em;margin:3em auto}button{display:block;width:100%;margin:.4em 0;padding:.6em;text-align:left}input{font-size:1.2em;padding:.3em}.problem{color:#a00}</style>
</head><body>
{{if .Done}}<h1>{{if eq .Done.Status "approved"}}You're signed in{{else}}Sign-in declined{{end}}</h1>
<p>{{if eq .Done.Status "approved"}}{{.Done.User}} signed in to {{.Done.ClientID}} with code {{.Done.UserCode}}. You can close this window and return to your device.{{else}}The sign-in with code {{.Done.UserCode}} was declined.{{end}}</p>
{{else if .Page}}<h1>Sign in</h1>
<p><strong>{{.Page.AppName}}</strong> ({{.Page.ClientID}}) asks to sign you in to tenant {{.Page.TenantID}}{{if .Page.Scopes}} with {{range $i, $s := .Page.Scopes}}{{if $i}}, {{end}}{{$s}}{{end}}{{end}}, with code {{.Page.UserCode}}.</p>
<p>This is the emulator's device sign-in page: pick a user, no password is asked.</p>
<form method="post">
<input type="hidden" name="session" value="{{.Page.Session}}">
{{range .Page.Users}}<button type="submit" name="user" value="{{.ObjectID}}">{{.DisplayName}} &lt;{{.UPN}}&gt;</button>
{{else}}<p>The tenant has no users (fixture <code>users:</code>).</p>
{{end}}<button type="submit" name="decline" value="1">Decline</button>
</form>
{{else}}<h1>Enter code</h1>
{{if .Problem}}<p class="problem">{{.Problem}}</p>
{{end}}<p>Enter the code displayed on your app or device.</p>
<form method="get">
<input name="code" value="{{.Code}}" maxlength="64" autocomplete="off" autofocus placeholder="Code">
<button type="submit">Next</button>
</form>
{{end}}</body></html>
`))
})
