// Package proxy is the emulator's proxy mode: the emulator also answers as
// an HTTP proxy, so an unmodified client reaches it with nothing but its
// runtime's usual settings (HTTPS_PROXY=http://127.0.0.1:8080 and the
// emulator's CA trusted through SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
// NODE_EXTRA_CA_CERTS or curl --cacert).
//
// A CONNECT to one of the real service's hosts (package servicehosts) or to
// the emulator itself opens a TLS tunnel that the emulator terminates with
// a certificate of its local CA, and the requests inside it are served by
// the emulator under the name the client used. A plain request in absolute
// form (http://host/path, what HTTP_PROXY sends) is served the same way. A
// CONNECT or request for any other host is refused with 403 and a message
// that says why: the emulator forwards nothing, since no network is
// assumed.
//
// The standard library does all of it (Hijack, crypto/tls, http.Server on
// the tunnel): a proxy library's work is forwarding, which this proxy never
// does.
package proxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/mdelive/mde-emulator/internal/servicehosts"
)

// Proxy answers as a proxy for the real service's hosts and passes every
// other request to the emulator's handler.
type Proxy struct {
	next  http.Handler
	tls   *tls.Config // nil: no certificate, tunnels are refused
	self  func(host string) bool
	inner *http.Server // serves the requests inside tunnels
	log   *slog.Logger
	// unavailable says why there is no certificate (tls is nil).
	unavailable string

	refusedMu sync.Mutex
	refused   map[string]bool // hosts refused and logged, at most maxLogged
}

// maxLogged bounds the refused hosts logged (once each).
const maxLogged = 256

// Options configure a Proxy.
type Options struct {
	// Certificate serves the tunnels' TLS; nil refuses CONNECT with 503
	// (the CA could not be loaded: Unavailable says why).
	Certificate *tls.Certificate
	// Unavailable is the reason there is no certificate.
	Unavailable string
	// Self reports whether a host (with its port) is the emulator itself,
	// served like the real hosts. Nil: none.
	Self func(host string) bool
	// NewServer returns the HTTP server that serves the requests inside
	// the tunnels (with the emulator's connection limits).
	NewServer func(http.Handler) *http.Server
	// Logger receives one line per refused host.
	Logger *slog.Logger
}

// New returns a Proxy in front of next.
func New(next http.Handler, o Options) *Proxy {
	p := &Proxy{next: next, self: o.Self, log: o.Logger, refused: map[string]bool{}}
	if p.self == nil {
		p.self = func(string) bool { return false }
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if o.Certificate != nil {
		p.tls = &tls.Config{Certificates: []tls.Certificate{*o.Certificate}, NextProtos: []string{"http/1.1"}}
	}
	p.inner = o.NewServer(next)
	p.unavailable = o.Unavailable
	return p
}

// ServeHTTP answers CONNECT and absolute-form requests as a proxy, and
// passes every other request to the emulator.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs():
		if !p.serves(r.URL.Host) {
			p.refuse(w, r.URL.Host)
			return
		}
		// Served as if sent to the host directly: r.Host is already the
		// URL's host; the handlers route on the path.
		r.URL.Scheme, r.URL.Host = "", ""
		r.RequestURI = r.URL.RequestURI()
		p.next.ServeHTTP(w, r)
	default:
		p.next.ServeHTTP(w, r)
	}
}

// serves reports whether the proxy serves host.
func (p *Proxy) serves(host string) bool {
	return servicehosts.Of(host) != servicehosts.Unknown || p.self(host)
}

func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if !p.serves(host) {
		p.refuse(w, host)
		return
	}
	if p.tls == nil {
		http.Error(w, "mde-emulator proxy: no certificate to serve "+host+" with: "+p.unavailable, http.StatusServiceUnavailable)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "mde-emulator proxy: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// The outer server's deadlines are for the CONNECT request; the
	// tunnel's server sets its own.
	_ = conn.SetDeadline(time.Time{})
	if rw.Reader.Buffered() > 0 {
		// The client sent its TLS hello before the 200: keep those bytes.
		conn = &bufferedConn{Conn: conn, r: rw.Reader}
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		conn.Close()
		return
	}
	tc, l := tunnel(conn, p.tls)
	go func() {
		if err := p.inner.Serve(l); errors.Is(err, http.ErrServerClosed) {
			tc.Close() // shut down before it could take the tunnel
		}
	}()
}

// refuse answers a request for a host the proxy does not serve.
func (p *Proxy) refuse(w http.ResponseWriter, host string) {
	p.refusedMu.Lock()
	first := !p.refused[host] && len(p.refused) < maxLogged
	if first {
		p.refused[host] = true
	}
	p.refusedMu.Unlock()
	if first {
		p.log.Warn("proxy refused a host it does not serve", "host", host)
	}
	http.Error(w, fmt.Sprintf("mde-emulator proxy: %s is not a host of the Defender for Endpoint API or the identity platform; the emulator serves those hosts itself and forwards nothing", host), http.StatusForbidden)
}

// Shutdown stops the tunnels' server: open tunnels are closed once idle,
// as http.Server.Shutdown does.
func (p *Proxy) Shutdown(ctx context.Context) error { return p.inner.Shutdown(ctx) }

// Close closes every tunnel at once.
func (p *Proxy) Close() error { return p.inner.Close() }

// bufferedConn is a connection whose first bytes were already read into r.
type bufferedConn struct {
	net.Conn
	r interface{ Read([]byte) (int, error) }
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// oneConnListener hands one connection to http.Server.Serve, then blocks
// until that connection or the listener is closed (Serve then returns; the
// connection, once handed out, is the server's to close).
type oneConnListener struct {
	conn     net.Conn
	handed   sync.Once
	doneOnce sync.Once
	done     chan struct{}
	addr     net.Addr
}

// tunnel returns the TLS side of a tunnel over raw and the listener that
// hands it out. The TLS connection itself goes to the server, so that
// requests see their TLS state.
func tunnel(raw net.Conn, cfg *tls.Config) (*tls.Conn, *oneConnListener) {
	l := &oneConnListener{done: make(chan struct{}), addr: raw.LocalAddr()}
	tc := tls.Server(&notifyConn{Conn: raw, closed: l.close}, cfg)
	l.conn = tc
	return tc, l
}

func (l *oneConnListener) close() { l.doneOnce.Do(func() { close(l.done) }) }

func (l *oneConnListener) Accept() (net.Conn, error) {
	var c net.Conn
	l.handed.Do(func() { c = l.conn })
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.handed.Do(func() {}) // a closed listener hands out nothing more
	l.close()
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.addr }

// notifyConn calls closed when the connection is closed.
type notifyConn struct {
	net.Conn
	closed func()
}

func (c *notifyConn) Close() error {
	err := c.Conn.Close()
	c.closed()
	return err
}
