package parity

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/google/go-cmp/cmp"
)

// Difference is one place where two recordings disagree.
type Difference struct {
	// Scenario is the scenario the difference is in.
	Scenario Key
	// Exchange is the index of the exchange (from 0), -1 for a scenario
	// that only one recording has.
	Exchange int
	// Request describes the exchange: its method and URL in A (else B).
	Request string
	// Path is where in the exchange the values differ, such as
	// Response.Status or Response.Body["error"]["code"]; empty when a
	// whole exchange or scenario is missing on one side.
	Path string
	// A and B are the values on each side ("(none)" when missing).
	A, B string
}

// String formats d on one line.
func (d Difference) String() string {
	if d.Exchange < 0 {
		return fmt.Sprintf("%s: A %s, B %s", d.Scenario, d.A, d.B)
	}
	if d.Path == "" {
		return fmt.Sprintf("%s: exchange %d (%s): A %s, B %s", d.Scenario, d.Exchange+1, d.Request, d.A, d.B)
	}
	return fmt.Sprintf("%s: exchange %d (%s): %s: A %s, B %s", d.Scenario, d.Exchange+1, d.Request, d.Path, d.A, d.B)
}

// Diff compares two sets of recordings scenario by scenario, exchange by
// exchange, field by field, and returns every difference in scenario
// order.
func Diff(a, b map[Key]Recording) []Difference {
	var out []Difference
	for _, k := range sortedKeys(a, b) {
		ra, okA := a[k]
		rb, okB := b[k]
		switch {
		case !okA:
			out = append(out, Difference{Scenario: k, Exchange: -1, A: "(not run)", B: fmt.Sprintf("%d exchanges", len(rb.Exchanges))})
			continue
		case !okB:
			out = append(out, Difference{Scenario: k, Exchange: -1, A: fmt.Sprintf("%d exchanges", len(ra.Exchanges)), B: "(not run)"})
			continue
		}
		n := max(len(ra.Exchanges), len(rb.Exchanges))
		for i := 0; i < n; i++ {
			switch {
			case i >= len(ra.Exchanges):
				e := rb.Exchanges[i]
				out = append(out, Difference{Scenario: k, Exchange: i, Request: describe(e), A: "(none)", B: fmt.Sprintf("status %d", e.Response.Status)})
			case i >= len(rb.Exchanges):
				e := ra.Exchanges[i]
				out = append(out, Difference{Scenario: k, Exchange: i, Request: describe(e), A: fmt.Sprintf("status %d", e.Response.Status), B: "(none)"})
			default:
				for _, d := range compareExchanges(ra.Exchanges[i], rb.Exchanges[i]) {
					d.Scenario, d.Exchange, d.Request = k, i, describe(ra.Exchanges[i])
					out = append(out, d)
				}
			}
		}
	}
	return out
}

// maxBodyDiffs is how many differences in a body are listed one by one;
// more become one difference showing both bodies.
const maxBodyDiffs = 3

// compareExchanges returns the differences between two exchanges, field
// by field.
func compareExchanges(a, b Exchange) []Difference {
	var r reporter
	cmp.Equal(a, b, cmp.Reporter(&r))
	var body, out []Difference
	for _, d := range r.diffs {
		if strings.HasPrefix(d.Path, ".Response.Body") {
			body = append(body, d)
			continue
		}
		out = append(out, d)
	}
	if len(body) > maxBodyDiffs {
		return append(out, Difference{Path: ".Response.Body", A: show(reflect.ValueOf(a.Response.Body)), B: show(reflect.ValueOf(b.Response.Body))})
	}
	return append(out, body...)
}

func describe(e Exchange) string { return e.Request.Method + " " + e.Request.URL }

// reporter collects the differing leaves of a cmp comparison.
type reporter struct {
	path  cmp.Path
	diffs []Difference
}

func (r *reporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }

func (r *reporter) PopStep() { r.path = r.path[:len(r.path)-1] }

func (r *reporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	r.diffs = append(r.diffs, Difference{Path: strings.TrimPrefix(r.path.GoString(), "{parity.Exchange}"), A: show(vx), B: show(vy)})
}

func show(v reflect.Value) string {
	if !v.IsValid() || (v.Kind() == reflect.Interface && v.IsNil()) {
		return "(none)"
	}
	s := fmt.Sprintf("%#v", v.Interface())
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
