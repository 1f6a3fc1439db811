package faults

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
)

// Rule is one fault injection rule: which requests it matches, which of
// their calls it fires on, and what it does to them. ID, Fired and Seen are
// set by the Injector; Add ignores the values it is given.
type Rule struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Match  Match  `json:"match"`
	Calls  Calls  `json:"calls"`
	Effect Effect `json:"effect"`
	// Fired is how many calls the rule has fired on.
	Fired int64 `json:"fired"`
	// Seen is how many calls the rule's Match applied to, fired or not.
	Seen int64 `json:"seen"`
}

// Match selects requests. An empty field matches anything. Method, TenantID
// and AppID compare case-insensitively; Path is a glob (package glob, as the
// journal's path filter): '*' stands for any run of characters, '/'
// included, and the rest matches case-insensitively.
type Match struct {
	Method   string `json:"method,omitempty"`
	Path     string `json:"path,omitempty"`
	TenantID string `json:"tenantId,omitempty"`
	AppID    string `json:"appId,omitempty"`
}

// Calls selects which matching calls a rule fires on. At most one of Next,
// Every and Probability is set; none means every matching call.
type Calls struct {
	// Next fires on the next Next matching calls, then never again.
	Next int `json:"next,omitempty"`
	// Every fires on the Every-th, 2×Every-th, ... matching call.
	Every int `json:"every,omitempty"`
	// Probability fires on each matching call with this probability, in (0, 1].
	Probability float64 `json:"probability,omitempty"`
	// Seed seeds the rule's random numbers (Probability and a latency
	// range). Zero means DefaultSeed.
	Seed int64 `json:"seed,omitempty"`
}

// Effect is what a firing rule does to the call.
type Effect struct {
	// Status is the HTTP error status to answer with, 400 to 599.
	Status int `json:"status,omitempty"`
	// Code is the service error code of the body; it defaults from Status.
	Code string `json:"code,omitempty"`
	// Message is the error message of the body; it defaults from Code.
	Message string `json:"message,omitempty"`
	// RetryAfter is the Retry-After of a 429; DefaultRetryAfter when omitted.
	// It is wall time, what the client receives: not scaled by a sped-up
	// clock, and rounded up to whole seconds in the header.
	RetryAfter Duration `json:"retryAfter,omitempty"`
	// Latency delays the call; with LatencyMax, the delay is drawn uniformly
	// from [Latency, LatencyMax].
	Latency    Duration `json:"latency,omitempty"`
	LatencyMax Duration `json:"latencyMax,omitempty"`
	// NotFoundFor makes GET /api/machineactions/{id} answer 404
	// ResourceNotFound until the action is this old.
	NotFoundFor Duration `json:"notFoundFor,omitempty"`
	// Drop resets the connection without a response.
	Drop bool `json:"drop,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string such as "250ms" or "2s": the fixtures' type, so that a duration
// is written the same way in a fixture, a fault rule and the control
// plane's answers.
type Duration = fixture.Duration

// parseDuration parses a duration of ParseRule, with its own message.
func parseDuration(s string) (time.Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration string such as \"250ms\", got %q", s)
	}
	return v, nil
}

// Defaults applied by Add and ParseRule.
const (
	// DefaultSeed seeds a rule's random numbers when Calls.Seed is zero.
	DefaultSeed int64 = 1
	// DefaultRetryAfter is the Retry-After of a 429 rule without RetryAfter.
	DefaultRetryAfter = time.Second
	// NotFoundPath is the match path of a NotFoundFor rule without one.
	NotFoundPath = "/api/machineactions/*"
	// MaxLatency bounds Latency and LatencyMax: a longer delay is a mistake.
	MaxLatency = 24 * time.Hour
	// MaxText bounds each text of a rule (its name, the match's method,
	// path, tenant and app, the effect's code and message), in bytes:
	// every API call compares itself with the match, and the journal
	// keeps 2 KiB of a path.
	MaxText = 4096
	// MaxRules is how many rules an Injector holds: every API call walks
	// them, and a suite that adds a rule per test and never removes it
	// would otherwise slow every call down without end.
	MaxRules = 1000
)

// FieldError is one problem with a rule: the JSON path of the field
// ("effect.status") and what is wrong with it.
type FieldError struct {
	Field   string
	Problem string
}

// String returns "field: problem".
func (e FieldError) String() string { return e.Field + ": " + e.Problem }

// RuleError is returned by Add and ParseRule for a rule that is not valid.
// It lists every problem found.
type RuleError struct {
	Problems []FieldError
}

// Error lists every problem of the rule.
func (e *RuleError) Error() string {
	var b strings.Builder
	b.WriteString("invalid fault rule: ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects FieldErrors.
type problems []FieldError

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &RuleError{Problems: p}
}

// DefaultCode is the code an effect with status and no code of its own
// gets (400 BadRequest, 403 Forbidden, ...; "Error" for a status without
// one). A layer that answers in other terms (the blob store's) compares a
// rule's code with it to tell a defaulted code from one the rule named.
func DefaultCode(status int) string { return defaultCode(status) }

// defaultCode is the error code of an effect with a status and no code.
func defaultCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return string(apierr.BadRequest)
	case http.StatusUnauthorized:
		return string(apierr.Unauthorized)
	case http.StatusForbidden:
		return string(apierr.Forbidden)
	case http.StatusNotFound:
		return string(apierr.ResourceNotFound)
	case http.StatusTooManyRequests:
		return string(apierr.TooManyRequests)
	case http.StatusInternalServerError:
		return string(apierr.InternalServerError)
	case http.StatusServiceUnavailable:
		return string(apierr.ServiceUnavailable)
	}
	return "Error"
}

// defaultMessages are the messages of effects without one, by code. They
// follow the texts the emulator uses elsewhere for the same codes.
var defaultMessages = map[string]string{
	string(apierr.BadRequest):                 "General Bad Request error message.",
	string(apierr.Unauthorized):               "Unauthorized (invalid or expired authorization header).",
	string(apierr.Forbidden):                  "Forbidden (insufficient permissions).",
	string(apierr.NotFound):                   "Resource wasn't found.",
	string(apierr.ResourceNotFound):           "Resource wasn't found.",
	string(apierr.ActiveRequestAlreadyExists): "Action is already in progress",
	string(apierr.TooManyRequests):            "Too many requests.",
	string(apierr.InternalServerError):        "An internal error occurred.",
	string(apierr.ServiceUnavailable):         "The service is temporarily unavailable.",
}

func defaultMessage(code string) string {
	if m, ok := defaultMessages[code]; ok {
		return m
	}
	return "An error occurred."
}

// normalize validates r and fills in its defaults. It ignores ID, Fired and
// Seen and is idempotent: a normalized rule normalizes to itself.
func normalize(r Rule) (Rule, error) {
	var p problems
	m, c, e := &r.Match, &r.Calls, &r.Effect

	// Texts, first: the checks below quote them.
	for _, f := range [...]struct{ field, text string }{
		{"name", r.Name}, {"match.method", m.Method}, {"match.path", m.Path}, {"match.tenantId", m.TenantID},
		{"match.appId", m.AppID}, {"effect.code", e.Code}, {"effect.message", e.Message},
	} {
		if len(f.text) > MaxText {
			p.add(f.field, "must be at most %d bytes, got %d", MaxText, len(f.text))
		}
	}
	if len(p) > 0 {
		return r, p.err()
	}

	// Match.
	if m.Method == "*" {
		m.Method = ""
	}
	if m.Method != "" {
		if !isToken(m.Method, false) {
			p.add("match.method", "must be an HTTP method such as GET or POST, got %q", m.Method)
		}
		m.Method = strings.ToUpper(m.Method)
	}
	if m.Path != "" && m.Path[0] != '/' && m.Path[0] != '*' {
		p.add("match.path", "must start with \"/\" or \"*\", got %q", m.Path)
	}

	// Calls.
	set := 0
	if c.Next != 0 {
		set++
		if c.Next < 0 {
			p.add("calls.next", "must be at least 1, got %d", c.Next)
		}
	}
	if c.Every != 0 {
		set++
		if c.Every < 0 {
			p.add("calls.every", "must be at least 1, got %d", c.Every)
		}
	}
	if c.Probability != 0 {
		set++
		if !(c.Probability > 0 && c.Probability <= 1) {
			p.add("calls.probability", "must be in (0, 1], got %v", c.Probability)
		}
	}
	if set > 1 {
		p.add("calls", "set at most one of next, every and probability")
	}

	// Effect.
	if e.Drop {
		for _, f := range []struct {
			name string
			set  bool
		}{
			{"status", e.Status != 0},
			{"code", e.Code != ""},
			{"message", e.Message != ""},
			{"retryAfter", e.RetryAfter != 0},
			{"latency", e.Latency != 0},
			{"latencyMax", e.LatencyMax != 0},
			{"notFoundFor", e.NotFoundFor != 0},
		} {
			if f.set {
				p.add("effect.drop", "cannot be combined with effect.%s", f.name)
			}
		}
	}
	if e.Status != 0 && (e.Status < 400 || e.Status > 599) {
		p.add("effect.status", "must be between 400 and 599, got %d", e.Status)
	}
	if e.Status == 0 {
		if e.Code != "" {
			p.add("effect.code", "requires effect.status")
		}
		if e.Message != "" {
			p.add("effect.message", "requires effect.status")
		}
	}
	if e.Code != "" && !isToken(e.Code, true) {
		p.add("effect.code", "must be letters and digits, starting with a letter, got %q", e.Code)
	}
	if e.RetryAfter < 0 {
		p.add("effect.retryAfter", "must not be negative, got %v", e.RetryAfter)
	} else if e.RetryAfter != 0 && e.Status != http.StatusTooManyRequests {
		p.add("effect.retryAfter", "only allowed with effect.status 429")
	}
	if e.Latency < 0 {
		p.add("effect.latency", "must not be negative, got %v", e.Latency)
	}
	if e.Latency > Duration(MaxLatency) {
		p.add("effect.latency", "must be at most %v, got %v", MaxLatency, e.Latency)
	}
	if e.LatencyMax > Duration(MaxLatency) {
		p.add("effect.latencyMax", "must be at most %v, got %v", MaxLatency, e.LatencyMax)
	} else if e.LatencyMax < 0 {
		p.add("effect.latencyMax", "must not be negative, got %v", e.LatencyMax)
	} else if e.LatencyMax != 0 && e.LatencyMax < e.Latency {
		p.add("effect.latencyMax", "must be at least effect.latency (%v), got %v", e.Latency, e.LatencyMax)
	}
	if e.NotFoundFor < 0 {
		p.add("effect.notFoundFor", "must not be negative, got %v", e.NotFoundFor)
	} else if e.NotFoundFor > 0 {
		if e.Status != 0 {
			p.add("effect.notFoundFor", "cannot be combined with effect.status")
		}
		if m.Method != "" && m.Method != http.MethodGet {
			p.add("match.method", "must be GET for effect.notFoundFor, which applies to GET /api/machineactions/{id}; got %q", m.Method)
		}
	}
	if e.Status == 0 && e.Latency <= 0 && e.LatencyMax <= 0 && !e.Drop && e.NotFoundFor <= 0 {
		p.add("effect", "does nothing: set status, latency, drop or notFoundFor")
	}

	if err := p.err(); err != nil {
		return Rule{}, err
	}

	// Defaults.
	if e.Status != 0 {
		if e.Code == "" {
			e.Code = defaultCode(e.Status)
		}
		if e.Message == "" {
			e.Message = defaultMessage(e.Code)
		}
		if e.Status == http.StatusTooManyRequests && e.RetryAfter == 0 {
			e.RetryAfter = Duration(DefaultRetryAfter)
		}
	}
	if e.LatencyMax == e.Latency {
		e.LatencyMax = 0 // a one-point range is a fixed latency
	}
	if usesRandom(r) && c.Seed == 0 {
		c.Seed = DefaultSeed
	}
	if e.NotFoundFor > 0 {
		if m.Method == "" {
			m.Method = http.MethodGet
		}
		if m.Path == "" {
			m.Path = NotFoundPath
		}
	}
	r.ID, r.Fired, r.Seen = "", 0, 0
	return r, nil
}

// usesRandom reports whether r draws random numbers: a probability or a
// latency range.
func usesRandom(r Rule) bool {
	return r.Calls.Probability != 0 || r.Effect.LatencyMax > r.Effect.Latency
}

// isToken reports whether s is ASCII letters (and digits, when digits is
// set), starting with a letter.
func isToken(s string, digits bool) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z':
		case digits && i > 0 && '0' <= ch && ch <= '9':
		default:
			return false
		}
	}
	return s != ""
}
