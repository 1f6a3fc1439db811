package faults

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errFields returns the fields named by err, a *RuleError.
func errFields(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var re *RuleError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is a %T, want *RuleError", err, err)
	}
	var out []string
	for _, p := range re.Problems {
		out = append(out, p.Field)
	}
	return out
}

func ms(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }

func TestAddValidation(t *testing.T) {
	t.Parallel()
	e429 := Effect{Status: 429}
	tests := []struct {
		name string
		rule Rule
		want []string // fields named by the error, in order; nil: valid
	}{
		{"status only", Rule{Effect: Effect{Status: 503}}, nil},
		{"status too low", Rule{Effect: Effect{Status: 399}}, []string{"effect.status"}},
		{"status 200", Rule{Effect: Effect{Status: 200}}, []string{"effect.status"}},
		{"status too high", Rule{Effect: Effect{Status: 600}}, []string{"effect.status"}},
		{"status 400 and 599", Rule{Effect: Effect{Status: 599}}, nil},
		{"code without status", Rule{Effect: Effect{Code: "X", Latency: ms(1)}}, []string{"effect.code"}},
		{"message without status", Rule{Effect: Effect{Message: "x", Latency: ms(1)}}, []string{"effect.message"}},
		{"code with spaces", Rule{Effect: Effect{Status: 400, Code: "Bad Request"}}, []string{"effect.code"}},
		{"code starting with digit", Rule{Effect: Effect{Status: 400, Code: "4xx"}}, []string{"effect.code"}},
		{"retryAfter with 429", Rule{Effect: Effect{Status: 429, RetryAfter: ms(30000)}}, nil},
		{"retryAfter with 503", Rule{Effect: Effect{Status: 503, RetryAfter: ms(1000)}}, []string{"effect.retryAfter"}},
		{"retryAfter alone", Rule{Effect: Effect{RetryAfter: ms(1000)}}, []string{"effect.retryAfter", "effect"}},
		{"retryAfter negative", Rule{Effect: Effect{Status: 429, RetryAfter: ms(-1)}}, []string{"effect.retryAfter"}},
		{"latency only", Rule{Effect: Effect{Latency: ms(2000)}}, nil},
		{"latency range", Rule{Effect: Effect{Latency: ms(100), LatencyMax: ms(900)}}, nil},
		{"latency range from zero", Rule{Effect: Effect{LatencyMax: ms(900)}}, nil},
		{"latency negative", Rule{Effect: Effect{Latency: ms(-1)}}, []string{"effect.latency", "effect"}},
		{"latencyMax below latency", Rule{Effect: Effect{Latency: ms(900), LatencyMax: ms(100)}}, []string{"effect.latencyMax"}},
		{"latencyMax negative", Rule{Effect: Effect{Status: 500, LatencyMax: ms(-5)}}, []string{"effect.latencyMax"}},
		{"latency too long", Rule{Effect: Effect{Latency: Duration(25 * time.Hour)}}, []string{"effect.latency"}},
		{"latencyMax too long", Rule{Effect: Effect{LatencyMax: Duration(25 * time.Hour)}}, []string{"effect.latencyMax"}},
		{"latency with status", Rule{Effect: Effect{Status: 500, Latency: ms(100)}}, nil},
		{"drop", Rule{Effect: Effect{Drop: true}}, nil},
		{"drop with status", Rule{Effect: Effect{Drop: true, Status: 500}}, []string{"effect.drop"}},
		{"drop with latency", Rule{Effect: Effect{Drop: true, Latency: ms(1), LatencyMax: ms(2)}}, []string{"effect.drop", "effect.drop"}},
		{"drop with notFoundFor", Rule{Effect: Effect{Drop: true, NotFoundFor: ms(1)}}, []string{"effect.drop"}},
		{"notFoundFor", Rule{Effect: Effect{NotFoundFor: ms(3000)}}, nil},
		{"notFoundFor with latency", Rule{Effect: Effect{NotFoundFor: ms(3000), Latency: ms(10)}}, nil},
		{"notFoundFor with status", Rule{Effect: Effect{NotFoundFor: ms(3000), Status: 404}}, []string{"effect.notFoundFor"}},
		{"notFoundFor with POST", Rule{Match: Match{Method: "POST"}, Effect: Effect{NotFoundFor: ms(3000)}}, []string{"match.method"}},
		{"notFoundFor negative", Rule{Effect: Effect{NotFoundFor: ms(-1)}}, []string{"effect.notFoundFor", "effect"}},
		{"empty effect", Rule{}, []string{"effect"}},
		{"next", Rule{Calls: Calls{Next: 3}, Effect: e429}, nil},
		{"next negative", Rule{Calls: Calls{Next: -1}, Effect: e429}, []string{"calls.next"}},
		{"every", Rule{Calls: Calls{Every: 5}, Effect: e429}, nil},
		{"every negative", Rule{Calls: Calls{Every: -5}, Effect: e429}, []string{"calls.every"}},
		{"probability 1", Rule{Calls: Calls{Probability: 1}, Effect: e429}, nil},
		{"probability above 1", Rule{Calls: Calls{Probability: 1.5}, Effect: e429}, []string{"calls.probability"}},
		{"probability negative", Rule{Calls: Calls{Probability: -0.1}, Effect: e429}, []string{"calls.probability"}},
		{"probability NaN", Rule{Calls: Calls{Probability: math.NaN()}, Effect: e429}, []string{"calls.probability"}},
		{"next and every", Rule{Calls: Calls{Next: 1, Every: 2}, Effect: e429}, []string{"calls"}},
		{"every and probability", Rule{Calls: Calls{Every: 2, Probability: 0.5}, Effect: e429}, []string{"calls"}},
		{"seed without randomness", Rule{Calls: Calls{Seed: 7}, Effect: e429}, nil},
		{"method lower case", Rule{Match: Match{Method: "post"}, Effect: e429}, nil},
		{"method with space", Rule{Match: Match{Method: "PO ST"}, Effect: e429}, []string{"match.method"}},
		{"path without slash", Rule{Match: Match{Path: "api/machines"}, Effect: e429}, []string{"match.path"}},
		{"path starting with star", Rule{Match: Match{Path: "*/runliveresponse"}, Effect: e429}, nil},
		{"several problems", Rule{Calls: Calls{Next: -1}, Effect: Effect{Status: 200, RetryAfter: ms(1)}}, []string{"calls.next", "effect.status", "effect.retryAfter"}},
		{"path of MaxText bytes", Rule{Match: Match{Path: "/" + strings.Repeat("a", MaxText-1)}, Effect: e429}, nil},
		{"path over MaxText", Rule{Match: Match{Path: "/" + strings.Repeat("a", MaxText)}, Effect: e429}, []string{"match.path"}},
		{"texts over MaxText", Rule{
			Name:   strings.Repeat("n", MaxText+1),
			Match:  Match{Method: strings.Repeat("M", MaxText+1), TenantID: strings.Repeat("t", MaxText+1), AppID: strings.Repeat("a", MaxText+1)},
			Effect: Effect{Status: 400, Code: strings.Repeat("C", MaxText+1), Message: strings.Repeat("m", MaxText+1)},
		}, []string{"name", "match.method", "match.tenantId", "match.appId", "effect.code", "effect.message"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New().Add(tt.rule)
			if diff := cmp.Diff(tt.want, errFields(t, err)); diff != "" {
				t.Errorf("Add(%+v) error fields (-want +got):\n%s\nerror: %v", tt.rule, diff, err)
			}
		})
	}
}

func TestRuleErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := New().Add(Rule{Calls: Calls{Every: -2}, Effect: Effect{Status: 200}})
	want := "invalid fault rule: calls.every: must be at least 1, got -2; effect.status: must be between 400 and 599, got 200"
	if err == nil || err.Error() != want {
		t.Errorf("Add error = %v, want %q", err, want)
	}
}

func TestAddDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Rule
		want Rule
	}{
		{
			name: "429 gets code, message and Retry-After",
			in:   Rule{Effect: Effect{Status: 429}},
			want: Rule{ID: "f1", Effect: Effect{Status: 429, Code: "TooManyRequests", Message: "Too many requests.", RetryAfter: Duration(DefaultRetryAfter)}},
		},
		{
			name: "given code and message are kept",
			in:   Rule{Effect: Effect{Status: 429, Code: "Throttled", Message: "slow down", RetryAfter: ms(30000)}},
			want: Rule{ID: "f1", Effect: Effect{Status: 429, Code: "Throttled", Message: "slow down", RetryAfter: ms(30000)}},
		},
		{
			name: "code without a default message",
			in:   Rule{Effect: Effect{Status: 418, Code: "Teapot"}},
			want: Rule{ID: "f1", Effect: Effect{Status: 418, Code: "Teapot", Message: "An error occurred."}},
		},
		{
			name: "other status",
			in:   Rule{Effect: Effect{Status: 502}},
			want: Rule{ID: "f1", Effect: Effect{Status: 502, Code: "Error", Message: "An error occurred."}},
		},
		{
			name: "probability gets the default seed",
			in:   Rule{Calls: Calls{Probability: 0.5}, Effect: Effect{Status: 500}},
			want: Rule{ID: "f1", Calls: Calls{Probability: 0.5, Seed: DefaultSeed}, Effect: Effect{Status: 500, Code: "InternalServerError", Message: "An internal error occurred."}},
		},
		{
			name: "latency range gets the default seed",
			in:   Rule{Effect: Effect{Latency: ms(1), LatencyMax: ms(2)}},
			want: Rule{ID: "f1", Calls: Calls{Seed: DefaultSeed}, Effect: Effect{Latency: ms(1), LatencyMax: ms(2)}},
		},
		{
			name: "a one-point latency range is a fixed latency",
			in:   Rule{Effect: Effect{Latency: ms(5), LatencyMax: ms(5)}},
			want: Rule{ID: "f1", Effect: Effect{Latency: ms(5)}},
		},
		{
			name: "explicit seed is kept, method upper-cased",
			in:   Rule{Match: Match{Method: "post"}, Calls: Calls{Probability: 0.5, Seed: 42}, Effect: Effect{Drop: true}},
			want: Rule{ID: "f1", Match: Match{Method: "POST"}, Calls: Calls{Probability: 0.5, Seed: 42}, Effect: Effect{Drop: true}},
		},
		{
			name: "method star means any",
			in:   Rule{Match: Match{Method: "*"}, Effect: Effect{Drop: true}},
			want: Rule{ID: "f1", Effect: Effect{Drop: true}},
		},
		{
			name: "notFoundFor gets the machine action match",
			in:   Rule{Effect: Effect{NotFoundFor: ms(3000)}},
			want: Rule{ID: "f1", Match: Match{Method: "GET", Path: NotFoundPath}, Effect: Effect{NotFoundFor: ms(3000)}},
		},
		{
			name: "input ID and counts are ignored",
			in:   Rule{ID: "mine", Fired: 3, Seen: 9, Name: "n", Effect: Effect{Status: 404}},
			want: Rule{ID: "f1", Name: "n", Effect: Effect{Status: 404, Code: "ResourceNotFound", Message: "Resource wasn't found."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := New().Add(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Add (-want +got):\n%s", diff)
			}
			// A stored rule is valid and normalizes to itself.
			again, err := normalize(got)
			if err != nil {
				t.Fatalf("normalize(stored rule): %v", err)
			}
			again.ID = got.ID
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("normalize is not idempotent (-first +second):\n%s", diff)
			}
		})
	}
}

func TestRuleJSON(t *testing.T) {
	t.Parallel()
	in := New()
	r, err := in.Add(Rule{
		Name:   "slow 503",
		Match:  Match{Method: "POST", Path: "/api/machines/*/runliveresponse"},
		Calls:  Calls{Every: 5},
		Effect: Effect{Status: 503, Latency: ms(250)},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"f1","name":"slow 503","match":{"method":"POST","path":"/api/machines/*/runliveresponse"},` +
		`"calls":{"every":5},"effect":{"status":503,"code":"ServiceUnavailable",` +
		`"message":"The service is temporarily unavailable.","latency":"250ms"},"fired":0,"seen":0}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("json.Marshal (-want +got):\n%s", diff)
	}
	var back Rule
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// An Injector holds at most MaxRules rules; a removal makes room.
func TestAddPastMaxRules(t *testing.T) {
	t.Parallel()
	in := New()
	r := Rule{Calls: Calls{Next: 1}, Effect: Effect{Status: 503}}
	var first Rule
	for i := range MaxRules {
		got, err := in.Add(r)
		if err != nil {
			t.Fatalf("rule %d: %v", i+1, err)
		}
		if i == 0 {
			first = got
		}
	}
	if _, err := in.Add(r); !errors.Is(err, ErrTooManyRules) {
		t.Fatalf("rule %d: %v, want ErrTooManyRules", MaxRules+1, err)
	}
	if n := len(in.List()); n != MaxRules {
		t.Fatalf("%d rules after the refusal, want %d", n, MaxRules)
	}
	if !in.Remove(first.ID) {
		t.Fatal("Remove of the first rule")
	}
	if _, err := in.Add(r); err != nil {
		t.Errorf("after a removal: %v", err)
	}
	// A restored rule was in force: it comes back past the bound, and Add
	// refuses new ones until enough are removed.
	if _, err := in.AddAs(r, "f5000"); err != nil {
		t.Fatalf("AddAs past the bound: %v", err)
	}
	if !in.Remove(first.ID) && !in.Remove("f2") {
		t.Fatal("Remove of a rule")
	}
	if _, err := in.Add(r); !errors.Is(err, ErrTooManyRules) {
		t.Errorf("Add with %d rules in force: %v, want ErrTooManyRules", len(in.List()), err)
	}
}
