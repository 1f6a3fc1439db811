package emulator

import (
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/guid"
)

// errorBody is the service's error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    apierr.Code `json:"code"`
	Message string      `json:"message"`
	Target  string      `json:"target"`
}

// writeError renders err in the service's error body. An error that is not
// an *apierr.Error is an internal error.
func (s *Server) writeError(c echo.Context, err error) error {
	e := apierr.As(err)
	if e == nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			e = httpErrorCode(he)
		} else {
			s.log.Error("internal error", "err", err, "path", c.Request().URL.Path)
			e = apierr.New(apierr.InternalServerError, "An internal error occurred.")
		}
	}
	if x := exchangeOf(c); x != nil {
		x.errorCode = e.Code
	}
	if e.Code == apierr.TooManyRequests {
		// The limiter's wait is emulated time; the client waits wall time.
		setRetryAfter(c, s.clock.WallDuration(e.RetryAfter))
	}
	closeIfBodyUnread(c)
	return s.writeJSON(c, e.Status(), errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Target: newTarget()}})
}

// closeIfBodyUnread makes an error answer at once when the handlers left
// the request's body unread (a refusal before the body mattered: 401, 403,
// 404, 429, an injected fault, a body over its limit). A small body that
// has arrived (drainSmallBody) is read and the connection kept, as a
// client hammering the API with 429s expects; otherwise the response says
// Connection: close, so net/http neither reads up to 256 KiB of the body
// before sending it nor sends an Expect: 100-continue client its 100
// Continue, and the connection ends after the response.
func closeIfBodyUnread(c echo.Context) {
	r := c.Request()
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return
	}
	if x := exchangeOf(c); x != nil && x.body != nil && !x.body.unread() {
		return
	}
	if drainSmallBody(c) {
		return
	}
	// Outside the journaled routes only echo's own 404 and 405 get here,
	// before any handler read the body.
	closeUnread(c)
}

// closeUnread makes the answer to a request whose body is left unread
// end its connection: Connection: close, and, since after the response
// net/http still reads up to 256 KiB of the body before closing, a read
// deadline refusalLinger away, so that a client that sends none (it waits
// for 100 Continue) or sends it slowly holds the connection that long at
// most, not the whole read timeout.
func closeUnread(c echo.Context) {
	c.Response().Header().Set(echo.HeaderConnection, "close")
	_ = http.NewResponseController(c.Response()).SetReadDeadline(clock.Wall().Add(refusalLinger))
}

// Bounds of drainSmallBody.
const (
	// maxDrainedBody is the largest declared body a refusal reads to keep
	// the connection.
	maxDrainedBody = 64 << 10
	// drainWait is how long a refusal waits for the rest of such a body:
	// long enough for one already sent, too short for a slow client to
	// delay the answer.
	drainWait = 20 * time.Millisecond
)

// drainSmallBody reads the rest of a refused request's body when it is
// declared no larger than maxDrainedBody, the client does not wait for
// 100 Continue, and all of it arrives within drainWait, and reports
// whether it did: the connection can then serve the client's next request.
// What it reads reaches the journal like a body the handlers read.
func drainSmallBody(c echo.Context) bool {
	r := c.Request()
	if r.ContentLength < 0 || r.ContentLength > maxDrainedBody || r.Header.Get("Expect") != "" {
		return false
	}
	rc := http.NewResponseController(c.Response())
	if rc.SetReadDeadline(clock.Wall().Add(drainWait)) != nil {
		return false // not on a connection (a recorder in a test)
	}
	_, err := io.Copy(io.Discard, r.Body)
	// No deadline until net/http sets the next one: the background read
	// it starts at the body's end must not time out.
	_ = rc.SetReadDeadline(time.Time{})
	return err == nil
}

// refusalLinger is how long a connection lingers after a refusal for the
// body the client may still send (closing at once could reset the
// connection before the client reads the response).
const refusalLinger = time.Second

// retryAfterSeconds turns a wall-clock wait into whole seconds, rounded up
// and never 0, so that a client that waits exactly that long succeeds.
func retryAfterSeconds(wall time.Duration) int {
	secs := int(math.Ceil(wall.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return secs
}

// httpErrorCode maps echo's own errors (no route, wrong method, body too
// large) to the service's codes.
func httpErrorCode(he *echo.HTTPError) *apierr.Error {
	switch he.Code {
	case http.StatusNotFound:
		return apierr.New(apierr.NotFound, "Resource wasn't found.")
	case http.StatusMethodNotAllowed:
		return apierr.New(apierr.MethodNotAllowed, "The requested resource does not support this HTTP method.")
	case http.StatusRequestEntityTooLarge:
		return apierr.New(apierr.RequestEntityTooLarge, "The request body is too large.")
	case http.StatusUnauthorized:
		return apierr.New(apierr.Unauthorized, "Unauthorized")
	case http.StatusUnsupportedMediaType:
		return apierr.New(apierr.InvalidRequestBody, "Invalid request body: unsupported content type.")
	}
	if he.Code >= 500 {
		return apierr.New(apierr.InternalServerError, "An internal error occurred.")
	}
	return apierr.New(apierr.BadRequest, "General Bad Request error message.")
}

// newTarget returns the correlation id of an error body.
func newTarget() string { return guid.New() }

// setRetryAfter sets the Retry-After header of a 429 to wall, a wall-clock
// wait (docs/time.md): the caller converts an emulated wait with
// clock.WallDuration first.
func setRetryAfter(c echo.Context, wall time.Duration) {
	c.Response().Header().Set(echo.HeaderRetryAfter, strconv.Itoa(retryAfterSeconds(wall)))
}
