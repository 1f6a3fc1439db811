package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/servicehosts"
	"github.com/mdelive/mde-emulator/internal/tlsca"
)

// tlsFlags are the flags of HTTPS and of the local CA that the proxy mode
// and --tls share.
type tlsFlags struct {
	on    bool
	caDir string
}

func addTLSFlags(fs *flag.FlagSet) *tlsFlags {
	f := &tlsFlags{}
	fs.BoolVar(&f.on, "tls", false, "serve HTTPS (API, token endpoints, result links) with a certificate of the local CA, valid for localhost, 127.0.0.1 and the real service's host names")
	fs.StringVar(&f.caDir, "ca-dir", "", "the local CA's directory: created once, then kept so clients trust it once (default: mde-emulator/ca in the user's configuration directory)")
	return f
}

// serving is what the local CA gives the emulator: a certificate for its
// own names and the real service's, or why there is none.
type serving struct {
	cert        *tls.Certificate
	caPath      string // the CA certificate clients trust
	created     bool   // the CA was made by this start
	unavailable string // why cert is nil
}

// loadServing loads (or creates) the local CA and issues the serving
// certificate for names plus the real service's host names. Without --tls
// a CA that cannot be loaded is not an error: the proxy mode then refuses
// tunnels, saying why.
func (f *tlsFlags) loadServing(names []string) (serving, error) {
	dir := f.caDir
	if dir == "" {
		d, err := tlsca.DefaultDir()
		if err != nil {
			return f.orNot(err)
		}
		dir = d
	}
	now := clock.Wall() // certificates are judged by clients' wall clocks
	ca, created, err := tlsca.LoadOrCreate(dir, now)
	if err != nil {
		return f.orNot(err)
	}
	cert, err := ca.Issue(append(slices.Clone(names), servicehosts.All()...), now)
	if err != nil {
		return f.orNot(err)
	}
	return serving{cert: &cert, caPath: ca.CertPath, created: created}, nil
}

func (f *tlsFlags) orNot(err error) (serving, error) {
	if f.on {
		return serving{}, fmt.Errorf("--tls: %w", err)
	}
	return serving{unavailable: err.Error()}, nil
}

// servingNames returns the names the emulator's own certificate holds for
// the listener at addr and the public URLs: localhost, the loopback
// addresses, the address listened on and the public URLs' hosts.
func servingNames(addr net.Addr, publicURLs []string) []string {
	names := []string{"localhost", "127.0.0.1", "::1"}
	if host, _, err := net.SplitHostPort(addr.String()); err == nil {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			names = append(names, host)
		}
	}
	for _, u := range publicURLs {
		if p, err := url.Parse(u); err == nil && p.Hostname() != "" {
			names = append(names, p.Hostname())
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// selfHosts returns the test of whether a proxied request's host (with its
// port) is the emulator itself: its listening address under its loopback
// names, and its public URLs' hosts.
func selfHosts(addr net.Addr, publicURLs []string) func(string) bool {
	self := map[string]bool{}
	if _, port, err := net.SplitHostPort(addr.String()); err == nil {
		for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
			self[net.JoinHostPort(h, port)] = true
		}
		self[addr.String()] = true
	}
	for _, u := range publicURLs {
		if p, err := url.Parse(u); err == nil && p.Host != "" {
			port := p.Port()
			if port == "" {
				port = map[string]string{"http": "80", "https": "443"}[p.Scheme]
			}
			self[net.JoinHostPort(p.Hostname(), port)] = true
		}
	}
	return func(host string) bool { return self[host] }
}

// tlsListener returns ln serving TLS with cert (HTTP/1.1).
func tlsListener(ln net.Listener, cert *tls.Certificate) net.Listener {
	return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"http/1.1"}})
}

// scheme returns the scheme of the emulator's own URLs.
func (f *tlsFlags) scheme() string {
	if f.on {
		return "https"
	}
	return "http"
}

// printTLS tells the user where the local CA is and how to use the proxy
// mode.
func printTLS(w io.Writer, base string, tv serving) {
	if tv.cert == nil {
		fmt.Fprintf(w, "  proxy mode:    unavailable, no local CA (%s); --ca-dir names a directory for it\n", tv.unavailable)
		return
	}
	made := ""
	if tv.created {
		made = ", made now"
	}
	fmt.Fprintf(w, "  local CA:      %s  (kept%s; trust it with SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS or curl --cacert)\n", tv.caPath, made)
	fmt.Fprintf(w, "  proxy mode:    HTTPS_PROXY=%s serves the real host names here (login.microsoftonline.com, api.securitycenter.microsoft.com, ...); other hosts are refused\n", base)
}
