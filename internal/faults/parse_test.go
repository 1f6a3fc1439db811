package faults

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want Rule
	}{
		{
			name: "throttle with all fields",
			json: `{"name": "throttle", "match": {"method": "post", "path": "/api/machines/*/runliveresponse", "tenantId": "t1", "appId": "a1"},
				"calls": {"next": 3}, "effect": {"status": 429, "code": "TooManyRequests", "message": "slow", "retryAfter": "30s"}}`,
			want: Rule{
				Name:   "throttle",
				Match:  Match{Method: "POST", Path: "/api/machines/*/runliveresponse", TenantID: "t1", AppID: "a1"},
				Calls:  Calls{Next: 3},
				Effect: Effect{Status: 429, Code: "TooManyRequests", Message: "slow", RetryAfter: Duration(30 * time.Second)},
			},
		},
		{
			name: "empty calls and match",
			json: `{"match": {}, "calls": {}, "effect": {"status": 500}}`,
			want: Rule{Effect: Effect{Status: 500, Code: "InternalServerError", Message: "An internal error occurred."}},
		},
		{
			name: "only effect",
			json: `{"effect": {"drop": true}}`,
			want: Rule{Effect: Effect{Drop: true}},
		},
		{
			name: "probability and latency range",
			json: `{"calls": {"probability": 0.2, "seed": 42}, "effect": {"latency": "100ms", "latencyMax": "900ms"}}`,
			want: Rule{Calls: Calls{Probability: 0.2, Seed: 42}, Effect: Effect{Latency: ms(100), LatencyMax: ms(900)}},
		},
		{
			name: "explicit zero seed means the default",
			json: `{"calls": {"probability": 0.2, "seed": 0}, "effect": {"status": 503}}`,
			want: Rule{Calls: Calls{Probability: 0.2, Seed: DefaultSeed}, Effect: Effect{Status: 503, Code: "ServiceUnavailable", Message: "The service is temporarily unavailable."}},
		},
		{
			name: "notFoundFor",
			json: `{"calls": {"every": 2}, "effect": {"notFoundFor": "3s"}}`,
			want: Rule{Match: Match{Method: "GET", Path: NotFoundPath}, Calls: Calls{Every: 2}, Effect: Effect{NotFoundFor: ms(3000)}},
		},
		{
			name: "nulls are omitted fields",
			json: `{"match": null, "calls": {"next": null}, "effect": {"status": 503, "latency": null}}`,
			want: Rule{Effect: Effect{Status: 503, Code: "ServiceUnavailable", Message: "The service is temporarily unavailable."}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseRule([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRule (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRuleStrict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		json string
		want []FieldError
	}{
		{"empty body", ``, []FieldError{{"body", "is empty: want a JSON object with match, calls and effect"}}},
		{"blank body", " \n", []FieldError{{"body", "is empty: want a JSON object with match, calls and effect"}}},
		{"array", `[]`, []FieldError{{"body", "must be a JSON object, got array"}}},
		{"syntax", `{"effect": {"status": 429,}}`, []FieldError{{"body", "is not valid JSON: invalid character '}' looking for beginning of object key string (at byte 27)"}}},
		{"trailing data", `{"effect": {"drop": true}} {}`, []FieldError{{"body", "is not valid JSON: invalid character '{' after top-level value (at byte 28)"}}},
		{"unknown top field", `{"effect": {"drop": true}, "when": 1}`, []FieldError{{"when", "unknown field"}}},
		{"unknown nested field", `{"match": {"host": "x"}, "effect": {"drop": true}}`, []FieldError{{"match.host", "unknown field"}}},
		{"wrong case", `{"effect": {"Status": 500}}`, []FieldError{{"effect.Status", `unknown field (did you mean "status"?)`}}},
		{"several unknown", `{"calls": {"times": 2, "nth": 1}, "effect": {"drop": true}}`, []FieldError{{"calls.nth", "unknown field"}, {"calls.times", "unknown field"}}},
		{"id is output only", `{"id": "f9", "effect": {"drop": true}}`, []FieldError{{"id", "is set by the emulator and cannot be given"}}},
		{"counts are output only", `{"fired": 1, "seen": 2, "effect": {"drop": true}}`, []FieldError{{"fired", "is set by the emulator and cannot be given"}, {"seen", "is set by the emulator and cannot be given"}}},
		{"status as string", `{"effect": {"status": "429"}}`, []FieldError{{"effect.status", "want an integer, got string"}}},
		{"next as float", `{"calls": {"next": 1.5}, "effect": {"drop": true}}`, []FieldError{{"calls.next", "want an integer, got number 1.5"}}},
		{"drop as string", `{"effect": {"drop": "yes"}}`, []FieldError{{"effect.drop", "want true or false, got string"}}},
		{"match as string", `{"match": "/api", "effect": {"drop": true}}`, []FieldError{{"match", "want an object, got string"}}},
		{"latency as number", `{"effect": {"latency": 250}}`, []FieldError{{"effect.latency", "want a string, got number"}}},
		{"latency without unit", `{"effect": {"latency": "250"}}`, []FieldError{{"effect.latency", `want a duration string such as "250ms", got "250"`}}},
		{"retryAfter bad", `{"effect": {"status": 429, "retryAfter": "soon"}}`, []FieldError{{"effect.retryAfter", `want a duration string such as "250ms", got "soon"`}}},
		{"explicit next 0", `{"calls": {"next": 0}, "effect": {"drop": true}}`, []FieldError{{"calls.next", "must be at least 1, got 0"}}},
		{"explicit every 0", `{"calls": {"every": 0}, "effect": {"drop": true}}`, []FieldError{{"calls.every", "must be at least 1, got 0"}}},
		{"explicit probability 0", `{"calls": {"probability": 0}, "effect": {"drop": true}}`, []FieldError{{"calls.probability", "must be in (0, 1], got 0"}}},
		{"explicit status 0", `{"effect": {"status": 0, "drop": true}}`, []FieldError{{"effect.status", "must be between 400 and 599, got 0"}}},
		{"validation after decoding", `{"calls": {"next": 1, "every": 2}, "effect": {"drop": true, "status": 503}}`, []FieldError{
			{"calls", "set at most one of next, every and probability"},
			{"effect.drop", "cannot be combined with effect.status"},
		}},
		{"nothing to do", `{"match": {"path": "/api/*"}}`, []FieldError{{"effect", "does nothing: set status, latency, drop or notFoundFor"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := ParseRule([]byte(tt.json))
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("ParseRule = %+v, %v; want a *RuleError", r, err)
			}
			if diff := cmp.Diff(tt.want, re.Problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(err.Error(), "invalid fault rule: "+tt.want[0].Field+": ") {
				t.Errorf("error %q does not start with the first field", err)
			}
		})
	}
}
