package proxy

import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/servicehosts"
	"github.com/mdelive/mde-emulator/internal/tlsca"
)

// newProxy serves a Proxy in front of a handler that tells what it saw,
// and returns a client that uses it as its proxy and trusts its CA.
func newProxy(t *testing.T) (*http.Client, *httptest.Server) {
	t.Helper()
	now := time.Now()
	ca, _, err := tlsca.LoadOrCreate(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(append(servicehosts.All(), "localhost", "127.0.0.1"), now)
	if err != nil {
		t.Fatal(err)
	}
	seen := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host=%s tls=%v path=%s query=%s", r.Host, r.TLS != nil, r.URL.Path, r.URL.RawQuery)
	})
	var self string
	p := New(seen, Options{
		Certificate: &cert,
		Self:        func(host string) bool { return host == self },
		NewServer:   func(h http.Handler) *http.Server { return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second} },
	})
	srv := httptest.NewServer(p)
	self = srv.Listener.Addr().String()
	t.Cleanup(func() { srv.Close(); p.Close() })
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	pu, _ := url.Parse(srv.URL)
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: tlsConfig(roots)}}, srv
}

func get(t *testing.T, c *http.Client, u string) (int, string, error) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), nil
}

func TestTunnelsToRealHostsAreServedUnderTheirNames(t *testing.T) {
	t.Parallel()
	c, _ := newProxy(t)
	for _, u := range []string{
		"https://api.securitycenter.microsoft.com/api/machines?$top=1",
		"https://eu.api.security.microsoft.com/api/machineactions",
		"https://login.microsoftonline.com/contoso/oauth2/v2.0/token",
		"https://" + servicehosts.BlobHost + "/_blob/x?sig=s",
	} {
		status, body, err := get(t, c, u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		want, _ := url.Parse(u)
		if status != 200 || !strings.Contains(body, "host="+want.Host+" tls=true path="+want.Path) {
			t.Errorf("GET %s: %d %s", u, status, body)
		}
	}
	// Several requests over one tunnel.
	for range 3 {
		if status, _, err := get(t, c, "https://api.security.microsoft.com/api/libraryfiles"); err != nil || status != 200 {
			t.Fatalf("again: %d %v", status, err)
		}
	}
}

func TestPlainProxyRequestsAreServed(t *testing.T) {
	t.Parallel()
	c, _ := newProxy(t)
	status, body, err := get(t, c, "http://login.windows.net/contoso/oauth2/token?x=1")
	if err != nil || status != 200 || body != "host=login.windows.net tls=false path=/contoso/oauth2/token query=x=1" {
		t.Errorf("absolute-form request: %d %q %v", status, body, err)
	}
}

func TestOtherHostsAreRefusedNeverForwarded(t *testing.T) {
	t.Parallel()
	c, _ := newProxy(t)
	if _, _, err := get(t, c, "https://example.com/"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("CONNECT to example.com: %v, want a refusal", err)
	}
	status, body, err := get(t, c, "http://evil.example/api/machines")
	if err != nil || status != 403 || !strings.Contains(body, "evil.example is not a host of the Defender for Endpoint API") {
		t.Errorf("plain request to evil.example: %d %q %v", status, body, err)
	}
	// A look-alike of a real host is refused too.
	if _, _, err := get(t, c, "https://api.securitycenter.microsoft.com.evil.example/"); err == nil {
		t.Errorf("a look-alike host was served")
	}
}

func TestDirectRequestsPassThrough(t *testing.T) {
	t.Parallel()
	_, srv := newProxy(t)
	status, body, err := get(t, srv.Client(), srv.URL+"/api/machines")
	if err != nil || status != 200 || !strings.Contains(body, "tls=false path=/api/machines") {
		t.Errorf("direct request: %d %q %v", status, body, err)
	}
}
