package emulator

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/state"
)

// exchange is what the emulator learns of one request as it goes through
// the middleware and the handler; the journal records it at the end.
type exchange struct {
	principal       *identity.Principal // set by authenticate
	user            *state.User         // the signed-in user of a delegated token; set by authenticate
	tenantID, appID string
	tenant          *state.Tenant // the token's tenant, as authenticate found it
	actionID        string
	commandIndex    *int
	errorCode       apierr.Code
	fault           string
	body            *bodyRecorder // the request body as read; nil without one
	// rateAt is the instant rateLimit counted the call at (zero: not
	// counted); a change recorded for the request keeps it.
	rateAt time.Time
}

// apiContext is the echo context of a journaled request, carrying its
// exchange (a field rather than echo's store, which makes a map and takes
// a lock per request).
type apiContext struct {
	echo.Context
	x   exchange
	rec bodyRecorder // x.body, when the request has a body (one allocation for both)
}

// exchangeOf returns the request's exchange, or nil outside the journaled
// routes.
func exchangeOf(c echo.Context) *exchange {
	if ac, ok := c.(*apiContext); ok {
		return &ac.x
	}
	return nil
}

// noteAction records the machine action a request created or read.
func noteAction(c echo.Context, id string) {
	if x := exchangeOf(c); x != nil {
		x.actionID = id
	}
}

// noteCommand records the command a request is about (a download link or
// a download): its action and index.
func noteCommand(c echo.Context, actionID string, index int) {
	if x := exchangeOf(c); x != nil {
		x.actionID, x.commandIndex = actionID, &index
	}
}

// noteErrorCode records the code of an error answered without writeError
// (the identity platform's "error" value, such as invalid_client).
func noteErrorCode(c echo.Context, code string) {
	if x := exchangeOf(c); x != nil {
		x.errorCode = apierr.Code(code)
	}
}

// journaled records every request through it in the journal: method, path,
// caller, status, Retry-After, the action it touched, the error code, the
// fault that fired, and the start of the body.
func (s *Server) journaled(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		wall := clock.Wall()
		ac := apiContexts.Get().(*apiContext)
		ac.Context = c
		x := &ac.x
		c = ac
		var rec *bodyRecorder
		if r.Body != nil && r.Body != http.NoBody {
			limit := s.journal.BodyCap()
			size := 512
			if r.ContentLength >= 0 {
				size = int(r.ContentLength)
			}
			ac.rec = bodyRecorder{rc: r.Body, limit: limit, size: r.ContentLength}
			rec = &ac.rec
			rec.grown = min(limit, size)
			rec.head.Grow(rec.grown)
			r.Body = rec
			x.body = rec
		}
		dropped := true // until next returns: a fault rule that drops the connection panics through
		defer func() {
			if dropped {
				s.record(c, x, rec, wall, 0) // journaled as status 0, then the connection is reset
			}
		}()
		if err := next(c); err != nil {
			// Not c.Error: echo would hand its own context, not ac, to the
			// error handler, and the error's code would miss the journal.
			s.handleHTTPError(err, c)
		}
		dropped = false
		s.record(c, x, rec, wall, c.Response().Status)
		// Done with, as echo is with its own context once this returns:
		// the journal's entry holds copies. A request with a body gets
		// its own body back first: net/http, or a client in process,
		// closes the request's body after the handler, and that must not
		// close the recorder of the next request to use ac. Not one
		// dropped (above).
		if rec != nil {
			r.Body = rec.rc
		}
		*ac = apiContext{}
		apiContexts.Put(ac)
		return nil
	}
}

// apiContexts are the apiContexts of requests answered, for the next
// ones: 224 bytes a request less for the collector (a GET of an action
// allocated ~3.1 KB, most of it net/http's; docs/performance.md, "The
// network poller"), 250 with a body's recorder.
var apiContexts = sync.Pool{New: func() any { return new(apiContext) }}

// record writes the journal entry of a request answered with status (0:
// no answer, the connection was dropped).
func (s *Server) record(c echo.Context, x *exchange, rec *bodyRecorder, wall time.Time, status int) {
	r := c.Request()
	if x.appID == "" && r.PostForm != nil {
		x.appID = r.PostForm.Get("client_id") // token endpoints
	}
	if x.appID == "" {
		if id, _, ok := r.BasicAuth(); ok {
			x.appID = id // a token request with client_secret_basic
		}
	}
	if x.tenantID == "" {
		x.tenantID = c.Param("tenant")
	}
	var body string
	var truncated bool
	if rec != nil {
		body, truncated = rec.recorded()
		if isFormBody(r) {
			body = redactForm(body)
		}
	}
	s.journal.Record(journal.Entry{
		Time:          s.clock.Now(),
		Wall:          wall,
		Method:        r.Method,
		Path:          r.URL.Path,
		Query:         redactQuery(r.URL.RawQuery),
		TenantID:      x.tenantID,
		AppID:         x.appID,
		Status:        status,
		RetryAfter:    c.Response().Header().Get(echo.HeaderRetryAfter),
		ActionID:      x.actionID,
		CommandIndex:  x.commandIndex,
		ErrorCode:     string(x.errorCode),
		Fault:         x.fault,
		RequestBody:   body,
		BodyTruncated: truncated,
		DurationMs:    float64(clock.Wall().Sub(wall).Microseconds()) / 1000,
	})
	if s.debug {
		s.logRequest(r, status, x.tenantID, x.appID, string(x.errorCode), x.fault, clock.Wall().Sub(wall))
	}
}

// bodyRecorder keeps the first limit bytes of a request body as the
// handlers read it, for the journal, without reading it ahead of them.
type bodyRecorder struct {
	rc    io.ReadCloser
	limit int
	head  strings.Builder // the journal's string, made without a copy
	grown int             // the room made in head at first
	more  bool            // more than limit bytes were read
	done  bool            // the body was read to its end
	read  int64           // bytes read
	size  int64           // the request's Content-Length; -1: unknown
}

func (b *bodyRecorder) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.read += int64(n)
	b.keep(p[:n])
	if err == io.EOF {
		b.done = true
	}
	return n, err
}

func (b *bodyRecorder) keep(p []byte) {
	if room := b.limit - b.head.Len(); room > 0 {
		if len(p) > room {
			p, b.more = p[:room], true
		}
		b.head.Write(p)
	} else if len(p) > 0 {
		b.more = true
	}
}

func (b *bodyRecorder) Close() error { return b.rc.Close() }

// recorded returns the start of the body, as the handlers read it, and
// whether it was cut. What the handlers left unread (a request refused
// before its body mattered: 401, 403, 404, 429) is not read for the
// journal: that would make the refusal wait for the client's body and ask
// an Expect: 100-continue client for it. It counts as cut, unless the
// refusal read a small body that had arrived (drainSmallBody).
func (b *bodyRecorder) recorded() (string, bool) {
	head := b.head.String() // no copy when the room made is filled, as by a body read whole
	if b.head.Len() != b.grown {
		head = strings.Clone(head) // a buffer part empty or grown: the journal keeps the bytes only
	}
	return head, b.more || b.unread()
}

// unread reports whether part of the body is still to be read.
func (b *bodyRecorder) unread() bool {
	return !b.done && (b.size < 0 || b.read < b.size)
}

// injectFaults applies the first fault rule that fires for the request:
// added latency, an error status in the service's body, a dropped
// connection, or (for GET /api/machineactions/{id}) a 404 while the action
// is younger than the rule says.
func (s *Server) injectFaults(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		req := faults.Request{Method: r.Method, Path: r.URL.Path}
		if p := principal(c); p != nil {
			req.TenantID, req.AppID = p.TenantID, p.ClientID
		} else {
			req.TenantID = c.Param("tenant")
		}
		d, ok := s.faults.Decide(req)
		if !ok {
			return next(c)
		}
		if x := exchangeOf(c); x != nil {
			x.fault = d.RuleID
		}
		if d.Drop {
			panic(http.ErrAbortHandler) // net/http closes the connection without a response
		}
		if d.Latency > 0 {
			x := exchangeOf(c)
			extendDeadlines(c, d.Latency, x != nil && x.body != nil && x.body.unread())
			if err := clock.SleepWall(r.Context(), d.Latency); err != nil {
				// The client left, or a shutdown cut the request: no
				// one to answer (journaled as status 0).
				panic(http.ErrAbortHandler)
			}
		}
		if d.Status != 0 {
			return s.writeFault(c, d)
		}
		if d.NotFoundFor > 0 {
			c.Set(notFoundForKey, d.NotFoundFor) // for the route that honours it (hideYoungActions)
		}
		return next(c)
	}
}

// notFoundForKey holds a fault's notFoundFor in the request's context.
const notFoundForKey = "emulator.notFoundFor"

// hideYoungActions is the poll route's part of a notFoundFor fault: an
// action younger than the rule's duration answers 404, as a freshly
// created action may on the service's read replicas.
func (s *Server) hideYoungActions(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if d, ok := c.Get(notFoundForKey).(time.Duration); ok {
			if a, err := s.tenant(c).Action(c.Param("id")); err == nil && s.clock.Now().Sub(a.Created()) < d {
				return apierr.New(apierr.ResourceNotFound, "Machine action %s was not found", c.Param("id"))
			}
		}
		return next(c)
	}
}

// writeFault answers with an injected error: the rule's status and code in
// the service's error body (the blob store's XML one under /_blob), with
// Retry-After on a 429. The rule's retryAfter is wall time, sent as is.
func (s *Server) writeFault(c echo.Context, d faults.Decision) error {
	closeIfBodyUnread(c)
	if d.Status == http.StatusTooManyRequests {
		setRetryAfter(c, d.RetryAfter)
	}
	r := c.Request()
	if strings.HasPrefix(r.URL.Path, "/_blob/") {
		custom := d.Code != faults.DefaultCode(d.Status)
		return s.writeBlobError(c, blobFault(d.Status, d.Code, d.Message, custom, r.URL.Query()))
	}
	if x := exchangeOf(c); x != nil {
		x.errorCode = apierr.Code(d.Code)
	}
	if strings.HasPrefix(r.URL.Path, "/api/") {
		return s.writeJSON(c, d.Status, errorBody{Error: errorDetail{Code: apierr.Code(d.Code), Message: d.Message, Target: newTarget()}})
	}
	// The token endpoints answer in the identity platform's terms.
	return s.writeJSON(c, d.Status, map[string]any{"error": strings.ToLower(d.Code), "error_description": d.Message})
}
