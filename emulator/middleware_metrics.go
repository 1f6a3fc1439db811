package emulator

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// metered counts every request through it in
// mde_emulator_http_requests_total, by route template, method and status,
// once answered (status 0: the connection was dropped without an answer,
// as the journal records it). Put it first, outside journaled, so that it
// sees the status the error handler wrote.
func (s *Server) metered(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		status := 0 // until next returns: a dropped connection panics through
		defer func() { s.metrics.requests.inc(c.Request().Method, c.Path(), status) }()
		if err := next(c); err != nil {
			s.handleHTTPError(err, c)
		}
		status = c.Response().Status
		return nil
	}
}

// requestCounters holds the children of the requests counter already
// used, by method, route and status, so that counting a request is one
// lookup in a map read without a lock, with no allocation. The map is
// copied on write: a (method, route, status) seen for the first time
// takes the mutex once; there are few (routes × statuses seen).
type requestCounters struct {
	vec *prometheus.CounterVec
	mu  sync.Mutex // serializes the copies of seen
	// seen is requestKey → the counter child; replaced whole under mu.
	seen atomic.Pointer[map[requestKey]prometheus.Counter]
}

// requestKey names one child of the requests counter. route is echo's
// route template (c.Path()), never the request's path: label values stay
// bounded by the route table.
type requestKey struct {
	method, route string
	status        int
}

func newRequestCounters(vec *prometheus.CounterVec) *requestCounters {
	rc := &requestCounters{vec: vec}
	rc.seen.Store(&map[requestKey]prometheus.Counter{})
	return rc
}

// inc counts one request.
func (rc *requestCounters) inc(method, route string, status int) {
	k := requestKey{method: methodLabel(method), route: route, status: status}
	if k.route == "" {
		k.route = unmatchedRoute
	}
	if c, ok := (*rc.seen.Load())[k]; ok {
		c.Inc()
		return
	}
	rc.add(k).Inc()
}

// add returns the child of k, making it and publishing a copy of seen
// that holds it.
func (rc *requestCounters) add(k requestKey) prometheus.Counter {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	old := *rc.seen.Load()
	if c, ok := old[k]; ok {
		return c
	}
	c := rc.vec.WithLabelValues(k.route, k.method, strconv.Itoa(k.status))
	m := make(map[requestKey]prometheus.Counter, len(old)+1)
	for kk, v := range old {
		m[kk] = v
	}
	m[k] = c
	rc.seen.Store(&m)
	return c
}

// unmatchedRoute is the route label of a request echo matched to no route
// (metered runs on routes only, so it is not expected).
const unmatchedRoute = "unmatched"

// methodLabel returns the method label of method: the standard methods as
// they are, any other "OTHER" (the method is the client's to choose; the
// label's values stay bounded).
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}
