package emulator

import (
	"math"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/state"
)

// The emulator's Prometheus metrics, served at GET /_emulator/metrics in
// the text exposition format. docs/metrics.md describes each one. They live
// in a registry of the Server's own, never the process's default one, so
// that emulators sharing a process (tests) count apart. What is counted as
// it happens (requests, the clock's lag) is recorded on the way; what is a
// state (sessions, actions, rate-limit windows, the clock) is read from the
// emulator when scraped.

// metricsPrefix starts the name of every metric of the emulator's own.
const metricsPrefix = "mde_emulator_"

// clockLagBuckets are the upper bounds, in wall seconds, of the clock lag
// histogram: from the wall timer's usual wake-up delay (tens of
// microseconds) to a clock stuck behind a callback for seconds.
var clockLagBuckets = []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5}

// metrics is a Server's registry and the metrics recorded on the way.
type metrics struct {
	registry *prometheus.Registry
	requests *requestCounters
	clockLag prometheus.Histogram
	handler  echo.HandlerFunc // serves the registry
}

// newMetrics makes s's registry, with the request and clock lag metrics,
// the state read at scrape time, and the Go runtime and process
// collectors, and starts observing the lag of s's clock.
func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: metricsPrefix + "http_requests_total",
		Help: "Requests answered by the API, the token endpoints and the result downloads, by route template, method and status code (0: the connection was dropped without an answer).",
	}, []string{"route", "method", "code"})
	lag := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    metricsPrefix + "clock_lag_seconds",
		Help:    "How late, in wall seconds, each lifecycle timer fired after emulated time reached its due instant, while time flows by itself (real mode; timers an advance fires are never late and not observed).",
		Buckets: clockLagBuckets,
	})
	reg.MustRegister(
		requests, lag,
		stateCollector{s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	s.clock.OnLateness(func(late time.Duration) { lag.Observe(late.Seconds()) })
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return &metrics{registry: reg, requests: newRequestCounters(requests), clockLag: lag, handler: echo.WrapHandler(h)}
}

// metricsRoutes adds the control plane's metrics routes to g.
func (s *Server) metricsRoutes(g *echo.Group) {
	g.GET("/metrics", s.getMetrics)
}

// getMetrics serves GET /_emulator/metrics: every metric of the emulator
// in the Prometheus text format (gzip when the scraper accepts it).
func (s *Server) getMetrics(c echo.Context) error { return s.metrics.handler(c) }

// MetricsGatherer returns what GET /_emulator/metrics serves, for a caller
// that embeds the emulator and exposes its metrics its own way.
func (s *Server) MetricsGatherer() prometheus.Gatherer { return s.metrics.registry }

// The metrics read from the emulator at scrape time.
var (
	descTenant = prometheus.NewDesc(metricsPrefix+"tenant_info",
		"A tenant of the emulator, with its name (always 1).", []string{"tenant", "name"}, nil)
	descSessions = prometheus.NewDesc(metricsPrefix+"live_response_sessions",
		"Live response sessions a tenant holds now.", []string{"tenant"}, nil)
	descSessionsLimit = prometheus.NewDesc(metricsPrefix+"live_response_sessions_limit",
		"The concurrent live response sessions a tenant may hold (the limits profile's; +Inf: no limit).", nil, nil)
	descActions = prometheus.NewDesc(metricsPrefix+"machine_actions",
		"Machine actions the emulator keeps, by tenant and status (finished ones until retention forgets them).", []string{"tenant", "status"}, nil)
	descRateCalls = prometheus.NewDesc(metricsPrefix+"rate_limit_calls",
		"Accepted calls counted in a rate-limit window now, by tenant, app, endpoint and window (1m, 1h); only keys with calls in the window.", []string{"tenant", "app", "endpoint", "window"}, nil)
	descRateMax = prometheus.NewDesc(metricsPrefix+"rate_limit_max_calls",
		"The calls a rate-limit window allows, for the same keys as rate_limit_calls.", []string{"tenant", "app", "endpoint", "window"}, nil)
	descRateRatio = prometheus.NewDesc(metricsPrefix+"rate_limit_usage_ratio",
		"The most used of a key's rate-limit windows: calls over the limit (1: the next call is refused with 429).", []string{"tenant", "app", "endpoint"}, nil)
	descStorage = prometheus.NewDesc(metricsPrefix+"storage_bytes",
		"Bytes of live response content a tenant holds: its library, the copies PutFile left on its machines or kept GetFile results hold that the library no longer has, and the outcomes queued on its machines. Uploads and outcomes past storage_max_bytes are refused.", []string{"tenant"}, nil)
	descStorageMax = prometheus.NewDesc(metricsPrefix+"storage_max_bytes",
		"The bounds of storage_bytes: a tenant's (bound=\"tenant\") and all tenants' together (bound=\"all\").", []string{"bound"}, nil)
	descClockTime = prometheus.NewDesc(metricsPrefix+"clock_emulated_time_seconds",
		"The emulated time, in seconds since the Unix epoch.", nil, nil)
	descClockScale = prometheus.NewDesc(metricsPrefix+"clock_scale",
		"Emulated seconds per wall second while the clock is in real mode.", nil, nil)
	descClockMode = prometheus.NewDesc(metricsPrefix+"clock_mode",
		"The clock's mode: 1 for the mode in force, 0 for the other.", []string{"mode"}, nil)
	descClockPending = prometheus.NewDesc(metricsPrefix+"clock_pending_timers",
		"Lifecycle timers waiting on the emulated clock.", nil, nil)
)

// stateCollector reads the emulator's state when scraped. It takes no
// lock over the whole state: see state.Store.Stats and
// limits.Limiter.Usage.
type stateCollector struct{ s *Server }

// Describe sends the descriptors of every metric Collect sends.
func (sc stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTenant, descSessions, descSessionsLimit, descActions, descStorage, descStorageMax,
		descRateCalls, descRateMax, descRateRatio, descClockTime, descClockScale, descClockMode, descClockPending} {
		ch <- d
	}
}

// Collect sends the state's metrics as they are now.
func (sc stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := sc.s
	now := s.clock.Now()
	for _, t := range s.store.Tenants() {
		ch <- prometheus.MustNewConstMetric(descTenant, prometheus.GaugeValue, 1, t.ID, t.Name)
		ch <- prometheus.MustNewConstMetric(descStorage, prometheus.GaugeValue, float64(t.StorageUsed()), t.ID)
	}
	ch <- prometheus.MustNewConstMetric(descStorageMax, prometheus.GaugeValue, state.MaxTenantStorage, "tenant")
	ch <- prometheus.MustNewConstMetric(descStorageMax, prometheus.GaugeValue, state.MaxStorage, "all")
	for _, st := range s.store.Stats() {
		ch <- prometheus.MustNewConstMetric(descSessions, prometheus.GaugeValue, float64(st.Sessions), st.TenantID)
		for i, status := range state.ActionStatuses {
			ch <- prometheus.MustNewConstMetric(descActions, prometheus.GaugeValue, float64(st.Actions[i]), st.TenantID, status)
		}
	}
	limit := math.Inf(1)
	if p := s.store.Profile(); !p.Unlimited && p.Sessions > 0 {
		limit = float64(p.Sessions)
	}
	ch <- prometheus.MustNewConstMetric(descSessionsLimit, prometheus.GaugeValue, limit)

	type keyOf struct{ tenant, app, endpoint string }
	ratios := map[keyOf]float64{}
	for _, u := range s.limiter.Usage(now) {
		w := windowLabel(u.Window)
		ch <- prometheus.MustNewConstMetric(descRateCalls, prometheus.GaugeValue, float64(u.Used), u.Tenant, u.App, u.Endpoint, w)
		ch <- prometheus.MustNewConstMetric(descRateMax, prometheus.GaugeValue, float64(u.Limit), u.Tenant, u.App, u.Endpoint, w)
		k := keyOf{u.Tenant, u.App, u.Endpoint}
		ratios[k] = max(ratios[k], float64(u.Used)/float64(u.Limit))
	}
	for k, r := range ratios {
		ch <- prometheus.MustNewConstMetric(descRateRatio, prometheus.GaugeValue, r, k.tenant, k.app, k.endpoint)
	}

	ch <- prometheus.MustNewConstMetric(descClockTime, prometheus.GaugeValue, float64(now.UnixNano())/1e9)
	ch <- prometheus.MustNewConstMetric(descClockScale, prometheus.GaugeValue, s.clock.Scale())
	mode := s.clock.Mode()
	for _, m := range []clock.Mode{clock.Real, clock.Manual} {
		v := 0.0
		if m == mode {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descClockMode, prometheus.GaugeValue, v, string(m))
	}
	ch <- prometheus.MustNewConstMetric(descClockPending, prometheus.GaugeValue, float64(s.clock.Pending()))
}

// windowLabel names a rate-limit window: "1m", "1h", else Go's form.
func windowLabel(d time.Duration) string {
	switch d {
	case time.Minute:
		return "1m"
	case time.Hour:
		return "1h"
	}
	return d.String()
}
