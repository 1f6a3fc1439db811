package emulator

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestCounters() (*requestCounters, *prometheus.CounterVec) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "requests_total", Help: "test"}, []string{"route", "method", "code"})
	return newRequestCounters(vec), vec
}

// TestRequestCountersCountByLabels: each (route, method, status) has its
// child, methods outside the standard ones share "OTHER", and an empty
// route is "unmatched".
func TestRequestCountersCountByLabels(t *testing.T) {
	rc, vec := newTestCounters()
	rc.inc("GET", "/api/machines", 200)
	rc.inc("GET", "/api/machines", 200)
	rc.inc("GET", "/api/machines", 429)
	rc.inc("BREW", "/api/*", 404)
	rc.inc("PROPFIND", "/api/*", 404)
	rc.inc("POST", "", 0)
	for _, tc := range []struct {
		route, method, code string
		want                float64
	}{
		{"/api/machines", "GET", "200", 2},
		{"/api/machines", "GET", "429", 1},
		{"/api/*", "OTHER", "404", 2},
		{unmatchedRoute, "POST", "0", 1},
	} {
		if got := testutil.ToFloat64(vec.WithLabelValues(tc.route, tc.method, tc.code)); got != tc.want {
			t.Errorf("%s %s %s = %v, want %v", tc.method, tc.route, tc.code, got, tc.want)
		}
	}
	if n := testutil.CollectAndCount(vec); n != 4 {
		t.Errorf("%d series, want 4", n)
	}
}

// TestRequestCountersAllocateNothing: counting a request of a route and
// status already seen allocates nothing.
func TestRequestCountersAllocateNothing(t *testing.T) {
	rc, vec := newTestCounters()
	route, method := "/api/machines/:id/runliveresponse", string([]byte("POST")) // not a constant, as a request's
	rc.inc(method, route, 201)
	if n := testing.AllocsPerRun(1000, func() { rc.inc(method, route, 201) }); n != 0 {
		t.Errorf("inc allocates %v times per request, want 0", n)
	}
	if got := testutil.ToFloat64(vec.WithLabelValues(route, "POST", "201")); got != 1002 { // AllocsPerRun runs it once more to warm up
		t.Errorf("counted %v, want 1002", got)
	}
}

// BenchmarkRequestCounters is the metrics' share of a request's cost.
func BenchmarkRequestCounters(b *testing.B) {
	rc, _ := newTestCounters()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rc.inc("POST", "/api/machines/:id/runliveresponse", 201)
		}
	})
}
