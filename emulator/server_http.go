package emulator

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// ServerLimits are the connection limits of an HTTP server that serves the
// emulator: how long a client may take to send a request, how long the
// emulator may take to answer, how long an idle keep-alive connection
// stays open, and how large the request headers may be. A zero field takes
// its default (DefaultServerLimits); a negative duration means no limit.
type ServerLimits struct {
	// ReadHeaderTimeout bounds reading a request's headers. Default 10s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, headers and body (a 20 MB
	// library upload included). A body slower than that is cut. Default 60s.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request's headers to
	// the end of its response. POST /_emulator/journal/wait (bounded by its
	// own 5-minute maximum) and calls an injected latency delays get their
	// wait on top of it. Default 60s.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request. Default 120s (longer than Go's and most clients' 90 s, so
	// the client, not the emulator, closes an idle connection first).
	// Negative: as long as ReadTimeout (net/http's rule).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers; larger ones get
	// 431. Default 64 KiB.
	MaxHeaderBytes int
}

// DefaultServerLimits returns the limits the emulator serves with unless
// told otherwise.
func DefaultServerLimits() ServerLimits {
	return ServerLimits{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// withDefaults fills the zero fields of l from DefaultServerLimits.
func (l ServerLimits) withDefaults() ServerLimits {
	d := DefaultServerLimits()
	pick := func(v, def time.Duration) time.Duration {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0 // net/http: no limit
		}
		return v
	}
	l.ReadHeaderTimeout = pick(l.ReadHeaderTimeout, d.ReadHeaderTimeout)
	l.ReadTimeout = pick(l.ReadTimeout, d.ReadTimeout)
	l.WriteTimeout = pick(l.WriteTimeout, d.WriteTimeout)
	l.IdleTimeout = pick(l.IdleTimeout, d.IdleTimeout)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	return l
}

// NewHTTPServer returns the http.Server that serves handler (Handler or
// ControlHandler of a Server) with limits: the one place the emulator's
// connection settings are made, for the emulator command and the tests
// alike. The caller gives it a listener (Serve) and shuts it down.
func NewHTTPServer(handler http.Handler, limits ServerLimits) *http.Server {
	l := limits.withDefaults()
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}

// extendDeadlines gives a request that will knowingly wait d (a long-poll,
// an injected latency) d more than its server's timeouts from now: the
// write deadline, and the read deadline when its body is still to be read.
// Served in memory, or by a server without timeouts, it does nothing.
func extendDeadlines(c echo.Context, d time.Duration, bodyUnread bool) {
	r := c.Request()
	hs, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if hs == nil {
		return
	}
	rc := http.NewResponseController(c.Response())
	now := clock.Wall()
	if hs.WriteTimeout > 0 {
		_ = rc.SetWriteDeadline(now.Add(d + hs.WriteTimeout))
	}
	// Only while the body is unread: once it is, net/http reads the
	// connection in the background with no deadline, and one set now
	// would end that read and cancel the request.
	if hs.ReadTimeout > 0 && bodyUnread {
		_ = rc.SetReadDeadline(now.Add(d + hs.ReadTimeout))
	}
}

// BeginShutdown tells the emulator that its HTTP servers are shutting
// down: long-polls (POST /_emulator/journal/wait) answer at once with what
// they have, so that the requests in flight drain quickly. Call it before
// http.Server.Shutdown; it is safe to call more than once.
func (s *Server) BeginShutdown() { s.stopServing() }

// servingContext returns a context that ends when BeginShutdown is called.
func (s *Server) servingContext() context.Context { return s.serving }
