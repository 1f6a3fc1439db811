package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
)

// urlList is a flag that may be repeated and takes comma-separated values.
type urlList []string

func (l *urlList) String() string { return strings.Join(*l, ",") }

func (l *urlList) Set(v string) error {
	for _, u := range strings.Split(v, ",") {
		if u = strings.TrimSuffix(strings.TrimSpace(u), "/"); u != "" {
			*l = append(*l, u)
		}
	}
	return nil
}

// exposure is what the banner says about who can reach the emulator.
type exposure struct {
	local       string // a base URL a person on this host can use
	allIfaces   bool   // the API listens on every interface
	remoteAPI   bool   // the API listens on an address other hosts can reach
	exposed     bool   // the control plane answers other hosts (with the token)
	token       string // the control token, when one is required
	publicURLs  []string
	givenPublic bool // --public-url was given
}

// localBase returns a base URL for the listener at addr that works from
// this host, and whether addr is every interface (0.0.0.0, [::]).
func localBase(scheme string, addr net.Addr) (base string, all bool) {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String(), false
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return scheme + "://127.0.0.1:" + port, true
	}
	return scheme + "://" + net.JoinHostPort(host, port), false
}

// defaultPublicURLs returns the base URLs a client on this host may call
// the listener at addr by, as token audiences: the address itself, and
// 127.0.0.1 and localhost for a loopback or every-interface address.
func defaultPublicURLs(scheme string, addr net.Addr) []string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return []string{scheme + "://" + addr.String()}
	}
	ip := net.ParseIP(host)
	switch {
	case ip != nil && ip.IsUnspecified():
		urls := []string{scheme + "://127.0.0.1:" + port, scheme + "://localhost:" + port}
		if ip.To4() == nil {
			urls = append(urls, scheme+"://[::1]:"+port)
		}
		return urls
	case ip != nil && ip.IsLoopback():
		return []string{scheme + "://" + net.JoinHostPort(host, port), scheme + "://localhost:" + port}
	}
	return []string{scheme + "://" + net.JoinHostPort(host, port)}
}

// loopbackAddr reports whether a listen address (host:port) is on loopback
// only: "localhost" or a loopback IP. An empty host (every interface), a
// name or any other IP is not.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// printExposure tells the user who can reach what, and warns when more
// than this host can.
func printExposure(w io.Writer, x exposure) {
	if x.allIfaces {
		fmt.Fprintf(w, "  listening on all interfaces: use %s from this host\n", x.local)
	}
	if x.remoteAPI {
		fmt.Fprintln(w, "  WARNING: other hosts can reach the API and the token endpoints; the fixtures' credentials are test credentials, not secrets")
	}
	if len(x.publicURLs) > 0 && (x.givenPublic || x.remoteAPI) {
		fmt.Fprintf(w, "  own URLs:      %s  (tokens for these audiences are accepted; --public-url)\n", strings.Join(x.publicURLs, ", "))
	}
	switch {
	case x.exposed:
		fmt.Fprintln(w, "  WARNING: the control plane (/_emulator: tokens, fixtures, journal) is exposed to other hosts; it requires the control token")
	case x.remoteAPI:
		fmt.Fprintln(w, "  control plane: loopback peers only (--expose-control opens it to other hosts, with a control token)")
	}
	if x.token != "" {
		fmt.Fprintf(w, "  control token: %s  (send Authorization: Bearer <token> to /_emulator; MDE_CONTROL_TOKEN for conformance api)\n", x.token)
	}
}

// controlCurl returns the curl arguments that authenticate to the control
// plane ("" when it needs no token).
func controlCurl(token string) string {
	if token == "" {
		return ""
	}
	return " -H " + strconv.Quote("Authorization: Bearer "+token)
}
