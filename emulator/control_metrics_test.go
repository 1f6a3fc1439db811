package emulator_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/state"
)

// scrape gets GET /_emulator/metrics and parses it as the Prometheus text
// format.
func (e *env) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	r := e.call("GET", "/_emulator/metrics", "", "")
	if r.status != http.StatusOK {
		e.t.Fatalf("GET /_emulator/metrics: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		e.t.Errorf("Content-Type %q, want the text format's", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		e.t.Fatalf("parse the metrics: %v\n%s", err, r.body)
	}
	return fams
}

// metricValue returns the value of the sample of family name whose labels
// include labels (name=value pairs), and whether there is one. A counter's
// value, a gauge's, or a histogram's count.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// wantMetric checks that the sample of name with labels has value want.
func wantMetric(t *testing.T, fams map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := metricValue(fams, name, labels...)
	if !ok {
		t.Errorf("%s%v: no sample", name, labels)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

const requestsMetric = "mde_emulator_http_requests_total"

// processesScript runs a script of the default fixtures' library.
const processesScript = `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`

// TestMetricsAfterTraffic scrapes the metrics after a 201, a 404, a 429
// and a token request, and follows an action through its statuses.
func TestMetricsAfterTraffic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit(winMachine, processesScript)
	if r := e.api("GET", "/api/machines/"+unknownID, ""); r.status != http.StatusNotFound {
		t.Fatalf("unknown machine: %d", r.status)
	}
	// 100 calls a minute on GET /machines/{id}: the 404 was one.
	ok := 0
	for ; ok < 100; ok++ {
		if r := e.api("GET", "/api/machines/"+winMachine, ""); r.status != http.StatusOK {
			if r.status != http.StatusTooManyRequests {
				t.Fatalf("call %d: %d %s", ok, r.status, r.body)
			}
			break
		}
	}
	if ok != 99 {
		t.Fatalf("%d calls answered 200 before the 429, want 99", ok)
	}
	if r := e.form("/"+tenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {soarClientID}, "client_secret": {defaultSecret},
		"scope": {"https://api.securitycenter.microsoft.com/.default"},
	}); r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}

	fams := e.scrape()
	wantMetric(t, fams, 1, requestsMetric, "route", "/api/machines/:id/runliveresponse", "method", "POST", "code", "201")
	wantMetric(t, fams, 99, requestsMetric, "route", "/api/machines/:id", "method", "GET", "code", "200")
	wantMetric(t, fams, 1, requestsMetric, "route", "/api/machines/:id", "method", "GET", "code", "404")
	wantMetric(t, fams, 1, requestsMetric, "route", "/api/machines/:id", "method", "GET", "code", "429")
	wantMetric(t, fams, 1, requestsMetric, "route", "/:tenant/oauth2/v2.0/token", "method", "POST", "code", "200")
	if _, ok := metricValue(fams, requestsMetric, "route", "/_emulator/metrics"); ok {
		t.Errorf("the control plane's requests are counted")
	}

	endpoint := "GET /api/machines/:id"
	wantMetric(t, fams, 100, "mde_emulator_rate_limit_calls", "tenant", tenantID, "app", soarClientID, "endpoint", endpoint, "window", "1m")
	wantMetric(t, fams, 100, "mde_emulator_rate_limit_max_calls", "tenant", tenantID, "app", soarClientID, "endpoint", endpoint, "window", "1m")
	wantMetric(t, fams, 100, "mde_emulator_rate_limit_calls", "tenant", tenantID, "app", soarClientID, "endpoint", endpoint, "window", "1h")
	wantMetric(t, fams, 1500, "mde_emulator_rate_limit_max_calls", "tenant", tenantID, "app", soarClientID, "endpoint", endpoint, "window", "1h")
	wantMetric(t, fams, 1, "mde_emulator_rate_limit_usage_ratio", "tenant", tenantID, "app", soarClientID, "endpoint", endpoint)
	wantMetric(t, fams, 0.1, "mde_emulator_rate_limit_usage_ratio", "tenant", tenantID, "app", soarClientID, "endpoint", "POST /api/machines/:id/runliveresponse")

	wantMetric(t, fams, 1, "mde_emulator_machine_actions", "tenant", tenantID, "status", "Pending")
	wantMetric(t, fams, 0, "mde_emulator_machine_actions", "tenant", tenantID, "status", "Succeeded")
	wantMetric(t, fams, 25, "mde_emulator_live_response_sessions_limit")
	wantMetric(t, fams, float64(start.Unix()), "mde_emulator_clock_emulated_time_seconds")
	wantMetric(t, fams, 1, "mde_emulator_clock_mode", "mode", "manual")
	wantMetric(t, fams, 0, "mde_emulator_clock_mode", "mode", "real")
	wantMetric(t, fams, 1, "mde_emulator_clock_scale")
	wantMetric(t, fams, 1, "mde_emulator_tenant_info", "tenant", tenantID)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "mde_emulator_clock_pending_timers", "mde_emulator_clock_lag_seconds"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	for name, f := range fams {
		if f.GetHelp() == "" {
			t.Errorf("%s has no help text", name)
		}
	}

	// The action runs: InProgress with a session, then Succeeded without.
	for i := 0; e.action(id).Status != "InProgress"; i++ {
		if i == 60 {
			t.Fatalf("the action is still %s after a minute", e.action(id).Status)
		}
		e.advance(time.Second)
	}
	fams = e.scrape()
	wantMetric(t, fams, 1, "mde_emulator_machine_actions", "tenant", tenantID, "status", "InProgress")
	wantMetric(t, fams, 0, "mde_emulator_machine_actions", "tenant", tenantID, "status", "Pending")
	wantMetric(t, fams, 1, "mde_emulator_live_response_sessions", "tenant", tenantID)
	e.advance(2 * time.Hour)
	fams = e.scrape()
	wantMetric(t, fams, 1, "mde_emulator_machine_actions", "tenant", tenantID, "status", "Succeeded")
	wantMetric(t, fams, 0, "mde_emulator_live_response_sessions", "tenant", tenantID)
	wantMetric(t, fams, float64(e.srv.Clock().Now().Unix()), "mde_emulator_clock_emulated_time_seconds")
	if _, ok := metricValue(fams, "mde_emulator_rate_limit_calls", "endpoint", endpoint); ok {
		t.Errorf("windows two hours old still reported")
	}
	// Advance fires timers on time: no lag is observed in manual mode.
	wantMetric(t, fams, 0, "mde_emulator_clock_lag_seconds")
}

// TestMetricsCardinalityBounded hammers the emulator with random paths
// and methods: the requests counter gets no new series from them, and
// every route label is a route of the table.
func TestMetricsCardinalityBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Not the validating client: random paths are no operation of the
	// documents.
	client := e.srv.Client()
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string { return fmt.Sprintf("x%08x", rng.Uint32()) }
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW", "PROPFIND"}
	hammer := func(n int) {
		for range n {
			var path string
			method := methods[rng.IntN(len(methods))]
			switch rng.IntN(5) {
			case 0:
				path = "/api/" + word() + "/" + word()
			case 1:
				path = "/api/machines/" + word()
			case 2:
				path = "/" + word() + "/oauth2/v2.0/token"
			case 3:
				path = "/" + word() + "/" + word() + "/" + word()
			default:
				// GET only: the router answers another method's 405
				// before any middleware of the route (not counted).
				method, path = "GET", "/_blob/"+word()+"?sig="+word()
			}
			req, err := http.NewRequest(method, testBase+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+e.token)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
	}
	series := func() (n int, routes map[string]bool, f *dto.MetricFamily) {
		f = e.scrape()[requestsMetric]
		if f == nil {
			t.Fatal("no requests metric")
		}
		routes = map[string]bool{}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "route" {
					routes[l.GetValue()] = true
				}
				if strings.Contains(l.GetValue(), "x") && l.GetName() != "route" || strings.Contains(l.GetValue(), "/x") {
					t.Errorf("label %s=%q comes from a request", l.GetName(), l.GetValue())
				}
			}
		}
		return len(f.Metric), routes, f
	}
	hammer(300)
	first, routes, _ := series()
	hammer(300)
	second, _, f := series()
	if second != first {
		t.Errorf("%d series after 300 random requests, %d after 300 more: the label sets grow", first, second)
	}
	total := 0.0
	for _, m := range f.Metric {
		total += m.Counter.GetValue()
	}
	if total != 600 {
		t.Errorf("the counter counts %v requests, want the 600 sent", total)
	}

	table := map[string]bool{}
	for _, r := range e.srv.Handler().(interface{ Routes() []*echo.Route }).Routes() {
		table[r.Path] = true
	}
	for r := range routes {
		if !table[r] {
			t.Errorf("route label %q is not a route of the table", r)
		}
	}
	if len(routes) > 8 {
		t.Errorf("%d route labels for 5 kinds of random path: %v", len(routes), routes)
	}
}

// TestMetricsRegistryPerServer: two emulators in one process count apart.
func TestMetricsRegistryPerServer(t *testing.T) {
	t.Parallel()
	a, b := newEnv(t), newEnv(t)
	for range 3 {
		a.api("GET", "/api/machines", "")
	}
	b.api("GET", "/api/machines", "")
	wantMetric(t, a.scrape(), 3, requestsMetric, "route", "/api/machines", "code", "200")
	wantMetric(t, b.scrape(), 1, requestsMetric, "route", "/api/machines", "code", "200")
	if a.srv.MetricsGatherer() == b.srv.MetricsGatherer() {
		t.Error("the two servers share a registry")
	}
}

// TestMetricsGuarded: the metrics route is the control plane's, with its
// token.
func TestMetricsGuarded(t *testing.T) {
	t.Parallel()
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, ExposeControl: true, ControlToken: "metrics-token"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(auth string) int {
		req, _ := http.NewRequest("GET", testBase+"/_emulator/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get(""); got != http.StatusUnauthorized {
		t.Errorf("without the control token: %d, want 401", got)
	}
	if got := get("Bearer metrics-token"); got != http.StatusOK {
		t.Errorf("with the control token: %d, want 200", got)
	}
}

// TestMetricsUnlimitedSessions: no session cap is +Inf.
func TestMetricsUnlimitedSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Profile = "unlimited" })
	wantMetric(t, e.scrape(), math.Inf(1), "mde_emulator_live_response_sessions_limit")
}

// TestMetricsClockLag: on a real clock the lifecycle timers that fire are
// observed in the lag histogram.
func TestMetricsClockLag(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(o *emulator.Options) { o.Clock, o.TimeScale = clock.Real, 1000 })
	id := e.submit(winMachine, processesScript)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for e.action(id).Status != "Succeeded" {
		if err := clock.SleepWall(ctx, 5*time.Millisecond); err != nil {
			t.Fatalf("the action is still %s", e.action(id).Status)
		}
	}
	fams := e.scrape()
	if n, ok := metricValue(fams, "mde_emulator_clock_lag_seconds"); !ok || n < 2 {
		t.Errorf("clock lag observations: %v, want at least the action's pickup and its end", n)
	}
	wantMetric(t, fams, 1, "mde_emulator_clock_mode", "mode", "real")
	wantMetric(t, fams, 1000, "mde_emulator_clock_scale")
}

// A tenant's storage is reported, and follows an upload and a delete;
// the bounds come with it.
func TestMetricsStorage(t *testing.T) {
	e := newEnv(t)
	before, ok := metricValue(e.scrape(), "mde_emulator_storage_bytes", "tenant", tenantID)
	if !ok || before <= 0 {
		t.Fatalf("storage of the fixtures' library: %v %v", before, ok)
	}
	content := bytes.Repeat([]byte("x"), 5000)
	if r := e.upload("file", "big.ps1", content, nil); r.status != 200 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var list struct {
		Value []struct{ FileName, CreatedBy string }
	}
	e.api("GET", "/api/libraryfiles", "").decode(&list)
	createdBy := ""
	for _, f := range list.Value {
		if f.FileName == "big.ps1" {
			createdBy = f.CreatedBy
		}
	}
	if createdBy == "" {
		t.Fatalf("big.ps1 is not listed with its creator: %+v", list.Value)
	}
	fams := e.scrape()
	// The content and the texts: its name and creator.
	wantMetric(t, fams, before+float64(5000+len("big.ps1")+len(createdBy)), "mde_emulator_storage_bytes", "tenant", tenantID)
	wantMetric(t, fams, state.MaxTenantStorage, "mde_emulator_storage_max_bytes", "bound", "tenant")
	wantMetric(t, fams, state.MaxStorage, "mde_emulator_storage_max_bytes", "bound", "all")
	if r := e.api("DELETE", "/api/libraryfiles/big.ps1", ""); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantMetric(t, e.scrape(), before, "mde_emulator_storage_bytes", "tenant", tenantID)
}

// Every metric of the emulator's own is in docs/metrics.md.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.api("GET", "/api/machines", "") // a request, so that the request counters have a series
	for name := range e.scrape() {
		if strings.HasPrefix(name, "mde_emulator_") && !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("%s is not in docs/metrics.md", name)
		}
	}
}
