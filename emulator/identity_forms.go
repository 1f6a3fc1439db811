package emulator

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// maxIdentityForm bounds the body of a request to an identity endpoint
// (a token, a device code, the sign-in page's answer). Its forms are a
// few KB: a client assertion with its certificate chain, the largest,
// some 10 KB. Without it a request that needs no credentials could send
// net/http's own cap of 10 MB as a form, or, as multipart, a file part of
// any size, which echo's form parsing writes to a temporary file.
const maxIdentityForm = 64 << 10

// boundedForm reads the form of a request to an identity endpoint within
// maxIdentityForm before the handler asks for it, and answers 413 in the
// identity platform's error shape past it, naming the bound; the
// handler's own reading then finds it parsed.
func (s *Server) boundedForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		var tooLarge *http.MaxBytesError
		if r.ContentLength <= maxIdentityForm {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, maxIdentityForm)
			_, err := c.FormParams()
			if !errors.As(err, &tooLarge) {
				return next(c) // parsed, or malformed: the handler answers as before
			}
		}
		// Declared or found over the bound: refused, the rest unread.
		closeUnread(c)
		return s.writeOAuth(c, nil, s.authority.BodyTooLarge(maxIdentityForm))
	}
}
