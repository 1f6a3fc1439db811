package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// ParseRule decodes the JSON of one rule, as the control plane receives it,
// and validates it. Decoding is strict: a field that is not in the shape
// (keys compare exactly, case included), a value of the wrong type, an
// explicit zero where zero is not allowed ("next": 0, "status": 0,
// "probability": 0) and trailing data are all errors, reported as a
// *RuleError naming the field. The output-only fields id, fired and seen
// are refused. The rule returned has its defaults filled in and no ID.
func ParseRule(data []byte) (Rule, error) {
	var p problems
	if len(bytes.TrimSpace(data)) == 0 {
		p.add("body", "is empty: want a JSON object with match, calls and effect")
		return Rule{}, p.err()
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			p.add("body", "is not valid JSON: %v (at byte %d)", se, se.Offset)
		case errors.As(err, &te):
			p.add("body", "must be a JSON object, got %s", te.Value)
		default:
			p.add("body", "is not valid JSON: %v", err)
		}
		return Rule{}, p.err()
	}
	checkKeys(&p, top)
	if err := p.err(); err != nil {
		return Rule{}, err
	}

	var in ruleJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			p.add(te.Field, "want %s, got %s", kindName(te.Type), te.Value)
		} else {
			p.add("body", "%v", err)
		}
		return Rule{}, p.err()
	}

	r := in.rule(&p)
	if err := p.err(); err != nil {
		return Rule{}, err
	}
	return normalize(r)
}

// fields are the keys each object of a rule accepts.
var fields = map[string][]string{
	"":       {"name", "match", "calls", "effect"},
	"match":  {"method", "path", "tenantId", "appId"},
	"calls":  {"next", "every", "probability", "seed"},
	"effect": {"status", "code", "message", "retryAfter", "latency", "latencyMax", "notFoundFor", "drop"},
}

// checkKeys reports the keys of top and of its nested objects that are not
// in the shape. Values of the wrong type are left to the typed decode.
func checkKeys(p *problems, top map[string]json.RawMessage) {
	check := func(prefix string, obj map[string]json.RawMessage) {
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if slices.Contains(fields[prefix], k) {
				continue
			}
			name := k
			if prefix != "" {
				name = prefix + "." + k
			}
			switch {
			case prefix == "" && (k == "id" || k == "fired" || k == "seen"):
				p.add(name, "is set by the emulator and cannot be given")
			default:
				msg := "unknown field"
				for _, f := range fields[prefix] {
					if strings.EqualFold(f, k) {
						msg += fmt.Sprintf(" (did you mean %q?)", f)
					}
				}
				p.add(name, "%s", msg)
			}
		}
	}
	check("", top)
	for _, k := range []string{"match", "calls", "effect"} {
		raw, ok := top[k]
		if !ok {
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil {
			check(k, obj)
		}
	}
}

// kindName describes the JSON value a Go type accepts.
func kindName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// ruleJSON is the control plane's shape of a rule. Pointers tell an
// explicit zero from an omitted field; durations stay strings so that a bad
// one is reported with its field.
type ruleJSON struct {
	Name   string     `json:"name"`
	Match  Match      `json:"match"`
	Calls  callsJSON  `json:"calls"`
	Effect effectJSON `json:"effect"`
}

type callsJSON struct {
	Next        *int     `json:"next"`
	Every       *int     `json:"every"`
	Probability *float64 `json:"probability"`
	Seed        *int64   `json:"seed"`
}

type effectJSON struct {
	Status      *int    `json:"status"`
	Code        string  `json:"code"`
	Message     string  `json:"message"`
	RetryAfter  *string `json:"retryAfter"`
	Latency     *string `json:"latency"`
	LatencyMax  *string `json:"latencyMax"`
	NotFoundFor *string `json:"notFoundFor"`
	Drop        bool    `json:"drop"`
}

// rule converts in to a Rule, reporting explicit zeros that are not allowed
// and durations that do not parse.
func (in ruleJSON) rule(p *problems) Rule {
	r := Rule{Name: in.Name, Match: in.Match}
	c, e := in.Calls, in.Effect
	if c.Next != nil {
		if *c.Next < 1 {
			p.add("calls.next", "must be at least 1, got %d", *c.Next)
		}
		r.Calls.Next = *c.Next
	}
	if c.Every != nil {
		if *c.Every < 1 {
			p.add("calls.every", "must be at least 1, got %d", *c.Every)
		}
		r.Calls.Every = *c.Every
	}
	if c.Probability != nil {
		if !(*c.Probability > 0 && *c.Probability <= 1) {
			p.add("calls.probability", "must be in (0, 1], got %v", *c.Probability)
		}
		r.Calls.Probability = *c.Probability
	}
	if c.Seed != nil {
		r.Calls.Seed = *c.Seed
	}
	if e.Status != nil {
		if *e.Status < 400 || *e.Status > 599 {
			p.add("effect.status", "must be between 400 and 599, got %d", *e.Status)
		}
		r.Effect.Status = *e.Status
	}
	r.Effect.Code, r.Effect.Message, r.Effect.Drop = e.Code, e.Message, e.Drop
	for _, d := range []struct {
		field string
		in    *string
		out   *Duration
	}{
		{"effect.retryAfter", e.RetryAfter, &r.Effect.RetryAfter},
		{"effect.latency", e.Latency, &r.Effect.Latency},
		{"effect.latencyMax", e.LatencyMax, &r.Effect.LatencyMax},
		{"effect.notFoundFor", e.NotFoundFor, &r.Effect.NotFoundFor},
	} {
		if d.in == nil {
			continue
		}
		v, err := parseDuration(*d.in)
		if err != nil {
			p.add(d.field, "%v", err)
			continue
		}
		*d.out = Duration(v)
	}
	return r
}
