package emulator

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
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
	// MaxConnections bounds the connections the server holds open at once:
	// each costs a goroutine and its buffers, and opening them needs no
	// credentials. Past it a new connection takes the place of an idle
	// keep-alive one, which is closed (a client opens another when it
	// needs one, as after the idle timeout); with none idle, the new
	// connection is closed at once, as a server at its limit does.
	// Default 4,096; negative: no bound.
	MaxConnections int
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
		MaxConnections:    4096,
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
	switch {
	case l.MaxConnections == 0:
		l.MaxConnections = d.MaxConnections
	case l.MaxConnections < 0:
		l.MaxConnections = 0 // no bound
	}
	return l
}

// NewHTTPServer returns the http.Server that serves handler (Handler or
// ControlHandler of a Server) with limits: the one place the emulator's
// connection settings are made, for the emulator command and the tests
// alike. The caller gives it a listener (Serve) and shuts it down.
func NewHTTPServer(handler http.Handler, limits ServerLimits) *http.Server {
	l := limits.withDefaults()
	hs := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
	if l.MaxConnections > 0 {
		hs.ConnState = newConnLimit(l.MaxConnections).track
	}
	return hs
}

// connLimit holds an http.Server's connections to at most max open at
// once (ServerLimits.MaxConnections), through the server's ConnState
// hook: net/http calls it with StateNew on the goroutine that accepts,
// before the connection is served, so a connection over the bound is
// dealt with before it costs anything more. A request's own transitions
// (active, then idle) take no lock: each connection's state is an atomic
// in a sync.Map; only a connection over the bound walks them for an idle
// one. The connections are kept in a set, not counted on their states'
// word alone: an HTTP/2 connection reports StateClosed twice.
type connLimit struct {
	max  int64
	n    atomic.Int64 // len(open)
	open sync.Map     // net.Conn → *atomic.Bool: idle (keep-alive, waiting for a request)
}

func newConnLimit(max int) *connLimit { return &connLimit{max: int64(max)} }

// track is the server's ConnState hook.
func (l *connLimit) track(c net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		if _, loaded := l.open.LoadOrStore(c, new(atomic.Bool)); !loaded && l.n.Add(1) > l.max {
			l.makeRoom(c)
		}
	case http.StateIdle, http.StateActive:
		if v, ok := l.open.Load(c); ok {
			v.(*atomic.Bool).Store(st == http.StateIdle)
		}
	case http.StateClosed, http.StateHijacked:
		if _, ok := l.open.LoadAndDelete(c); ok {
			l.n.Add(-1)
		}
	}
}

// makeRoom closes an idle connection for the new one, c, or, with none
// idle, c itself. A closed connection reports StateClosed when its
// serving goroutine sees it, which takes it out of the set.
func (l *connLimit) makeRoom(c net.Conn) {
	var evict net.Conn
	l.open.Range(func(k, v any) bool {
		// CompareAndSwap: a connection two new ones both chose is closed
		// once, and one that turned active meanwhile is left alone.
		if k != c && v.(*atomic.Bool).CompareAndSwap(true, false) {
			evict = k.(net.Conn)
			return false
		}
		return true
	})
	if evict != nil {
		// Not on the accepting goroutine: a TLS connection's Close
		// writes its close_notify, which may wait.
		go evict.Close()
		return
	}
	_ = c.Close() // not served yet: a TLS one has not shaken hands, Close writes nothing
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
