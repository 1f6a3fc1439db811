package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

// stderr receives the command's own messages (shutdown); tests replace it.
var stderr io.Writer = os.Stderr

// serverFlags are the flags of the HTTP servers' connection limits and of
// the shutdown.
type serverFlags struct {
	limits emulator.ServerLimits
	grace  time.Duration
}

// addServerFlags defines the connection and shutdown flags on fs.
func addServerFlags(fs *flag.FlagSet) *serverFlags {
	d := emulator.DefaultServerLimits()
	f := &serverFlags{}
	fs.DurationVar(&f.limits.ReadHeaderTimeout, "read-header-timeout", d.ReadHeaderTimeout, "how long a client may take to send a request's headers (0: no limit)")
	fs.DurationVar(&f.limits.ReadTimeout, "read-timeout", d.ReadTimeout, "how long a client may take to send a whole request, body included; a slower body is cut (0: no limit)")
	fs.DurationVar(&f.limits.WriteTimeout, "write-timeout", d.WriteTimeout, "how long a response may take, from the end of the request's headers; journal/wait long-polls and injected latency come on top (0: no limit)")
	fs.DurationVar(&f.limits.IdleTimeout, "idle-timeout", d.IdleTimeout, "how long an idle keep-alive connection stays open (0: as --read-timeout)")
	fs.IntVar(&f.limits.MaxHeaderBytes, "max-header-bytes", d.MaxHeaderBytes, "the largest request line and headers accepted; larger ones get 431")
	fs.IntVar(&f.limits.MaxConnections, "max-connections", d.MaxConnections, "the most connections open at once, per listener; past it a new one takes an idle keep-alive connection's place, or is closed when none is idle (0: no limit)")
	fs.DurationVar(&f.grace, "shutdown-grace", 10*time.Second, "on SIGINT or SIGTERM, how long requests in flight may take to finish before they are cut")
	return f
}

// serverLimits returns the limits the flags give: on the command line 0
// means no limit, in emulator.ServerLimits a negative value does.
func (f *serverFlags) serverLimits() emulator.ServerLimits {
	l := f.limits
	for _, d := range []*time.Duration{&l.ReadHeaderTimeout, &l.ReadTimeout, &l.WriteTimeout, &l.IdleTimeout} {
		if *d == 0 {
			*d = -1
		}
	}
	if l.MaxConnections == 0 {
		l.MaxConnections = -1
	}
	return l
}

// inflight knows the requests being served, to say which ones a shutdown
// cut and whether the emulator is idle (releaseWhenIdle).
type inflight struct {
	mu    sync.Mutex
	reqs  map[*http.Request]request
	began atomic.Uint64 // requests begun since the start
}

type request struct {
	method, path string
	began        time.Time
}

func newInflight() *inflight { return &inflight{reqs: map[*http.Request]request{}} }

// wrap returns h, keeping track of the requests it serves.
func (t *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.began.Add(1)
		// The method and path now: handlers may rewrite r.URL.
		t.mu.Lock()
		t.reqs[r] = request{method: r.Method, path: r.URL.Path, began: clock.Wall()}
		t.mu.Unlock()
		defer func() {
			t.mu.Lock()
			delete(t.reqs, r)
			t.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// activity returns how many requests have begun and how many are being
// served now: the emulator's activity for releaseWhenIdle.
func (t *inflight) activity() (began uint64, serving int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.began.Load(), len(t.reqs)
}

// list describes the requests being served, oldest first.
func (t *inflight) list() []string {
	t.mu.Lock()
	reqs := make([]request, 0, len(t.reqs))
	for _, r := range t.reqs {
		reqs = append(reqs, r)
	}
	t.mu.Unlock()
	slices.SortFunc(reqs, func(a, b request) int { return a.began.Compare(b.began) })
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = fmt.Sprintf("%s %s (running %s)", r.method, r.path, clock.Wall().Sub(r.began).Round(time.Millisecond))
	}
	return out
}

// shutdown stops servers: the listeners close at once, long-polls are
// woken (srv.BeginShutdown), requests in flight have grace to finish; those
// still running then are cut (their connections closed) and named on log.
// Either way the shutdown is a normal end: only a server that fails to
// stop otherwise gives an error.
func shutdown(srv *emulator.Server, servers []*http.Server, grace time.Duration, track *inflight, log io.Writer) error {
	fmt.Fprintf(log, "emulator: shutting down (grace %s)\n", grace)
	srv.BeginShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, hs := range servers {
		wg.Go(func() { errs[i] = hs.Shutdown(ctx) })
	}
	wg.Wait()
	if ctx.Err() == nil {
		fmt.Fprintln(log, "emulator: stopped; every request finished")
		return errors.Join(errs...)
	}
	cut := track.list()
	for _, hs := range servers {
		_ = hs.Close() // closes the connections still active
	}
	if len(cut) == 0 {
		fmt.Fprintf(log, "emulator: stopped; the shutdown grace of %s passed, connections closed\n", grace)
	} else {
		fmt.Fprintf(log, "emulator: stopped; the shutdown grace of %s passed, cut %d request(s) still running: %s\n", grace, len(cut), strings.Join(cut, "; "))
	}
	var failed []error
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}
