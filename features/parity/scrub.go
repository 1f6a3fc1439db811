package parity

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxText is the largest body recorded as text; a larger one is recorded
// by its size and SHA-256.
const maxText = 64 << 10

var (
	jwtPattern      = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	sigPattern      = regexp.MustCompile(`\bsig=[^&"\s]+`)
	secretPattern   = regexp.MustCompile(`\b(client_secret|client_assertion|password|refresh_token|access_token)=[^&"\s]+`)
	requestIDPatten = regexp.MustCompile(`(?i)\bRequestId:[0-9a-f-]{36}`)
	traceIDPattern  = regexp.MustCompile(`(?i)\b(Trace ID|Correlation ID): [0-9a-f-]{36}`)
	isoTime         = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}[T ]\d{2}(:|%3A)\d{2}((:|%3A)\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:|%3A)\d{2})?`)
	httpTime        = regexp.MustCompile(`\b[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} (GMT|UTC)`)
	guidPattern     = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	machinePattern  = regexp.MustCompile(`(?i)\b[0-9a-f]{40}\b`)
	boundaryPattern = regexp.MustCompile(`boundary=\S+`)
	// transcriptPattern is the transcript file a RunScript's output names
	// (its id differs in every run; the service's is not always a GUID).
	transcriptPattern = regexp.MustCompile(`PSScript_Transcript_[^.\s"\\]+\.txt`)
)

// scrubber replaces what differs between runs with placeholders. Ids are
// numbered in order of appearance within a scenario, so that the same id
// gets the same placeholder everywhere in it: <guid-1>, <machine-2>.
type scrubber struct {
	base string
	ids  map[string]string
	n    map[string]int
}

func newScrubber(base string) *scrubber {
	return &scrubber{base: strings.TrimSuffix(base, "/"), ids: map[string]string{}, n: map[string]int{}}
}

func (s *scrubber) number(kind, id string) string {
	id = strings.ToLower(id)
	if p, ok := s.ids[id]; ok {
		return p
	}
	s.n[kind]++
	p := fmt.Sprintf("<%s-%d>", kind, s.n[kind])
	s.ids[id] = p
	return p
}

// text scrubs a string.
func (s *scrubber) text(v string) string {
	if s.base != "" {
		v = strings.ReplaceAll(v, s.base, "<base>")
	}
	v = jwtPattern.ReplaceAllString(v, "<token>")
	v = sigPattern.ReplaceAllString(v, "sig=<sig>")
	v = secretPattern.ReplaceAllString(v, "$1=<secret>")
	v = requestIDPatten.ReplaceAllString(v, "RequestId:<correlation-id>")
	v = traceIDPattern.ReplaceAllString(v, "$1: <correlation-id>")
	v = isoTime.ReplaceAllString(v, "<time>")
	v = httpTime.ReplaceAllString(v, "<time>")
	v = transcriptPattern.ReplaceAllStringFunc(v, func(name string) string {
		id := strings.TrimSuffix(strings.TrimPrefix(name, "PSScript_Transcript_"), ".txt")
		return "PSScript_Transcript_" + s.number("transcript", id) + ".txt"
	})
	v = guidPattern.ReplaceAllStringFunc(v, func(id string) string { return s.number("guid", id) })
	v = machinePattern.ReplaceAllStringFunc(v, func(id string) string { return s.number("machine", id) })
	return v
}

// value scrubs a decoded JSON value. The error body's target is a
// correlation id of its own for every response: it becomes
// <correlation-id>, not a numbered id.
func (s *scrubber) value(v any) any {
	switch x := v.(type) {
	case string:
		return s.text(x)
	case []any:
		for i := range x {
			x[i] = s.value(x[i])
		}
		return x
	case map[string]any:
		// In key order: ids are numbered in order of appearance, which
		// must not depend on the map's random order.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := x[k]
			if str, ok := e.(string); ok && correlationKeys[k] && guidPattern.MatchString(str) {
				x[k] = "<correlation-id>"
				continue
			}
			if str, ok := e.(string); ok && secretKeys[k] && str != "" {
				x[k] = "<secret>"
				continue
			}
			if str, ok := e.(string); ok && tokenKeys[k] && str != "" {
				x[k] = "<token>"
				continue
			}
			if epochKeys[k] {
				x[k] = "<epoch>"
				continue
			}
			x[k] = s.value(e)
		}
		return x
	}
	return v
}

// correlationKeys are the fields that hold a correlation id made anew for
// every response: the API's error target, the identity platform's trace
// and correlation ids.
var correlationKeys = map[string]bool{"target": true, "trace_id": true, "correlation_id": true}

// secretKeys are the fields whose values are credentials, in JSON and in
// form bodies: never recorded.
var secretKeys = map[string]bool{
	"client_secret": true, "clientSecret": true, "client_assertion": true,
	"password": true, "controlToken": true,
}

// tokenKeys are the fields that hold tokens: a JWT is scrubbed wherever it
// is, and these are scrubbed even when they are not JWTs.
var tokenKeys = map[string]bool{"access_token": true, "refresh_token": true, "id_token": true}

// formSecretKeys are the form fields that are credentials only in a form
// (in JSON, "code" is an error's code).
var formSecretKeys = map[string]bool{"code": true}

// epochKeys are the fields of the identity platform's v1 token response
// that hold instants as Unix seconds.
var epochKeys = map[string]bool{"expires_on": true, "not_before": true}

// url scrubs a request URL: its path and decoded query, without the base.
func (s *scrubber) url(u *url.URL) string {
	out := u.Path
	if u.RawQuery != "" {
		q, err := url.QueryUnescape(u.RawQuery)
		if err != nil {
			q = u.RawQuery
		}
		out += "?" + q
	}
	return s.text(out)
}

// credentialHeaders are the headers that carry credentials.
var credentialHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true}

// headers returns the scrubbed values of the named headers present in h.
func (s *scrubber) headers(h http.Header, names ...string) map[string]string {
	var out map[string]string
	for _, n := range names {
		v := h.Get(n)
		if v == "" {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		if credentialHeaders[http.CanonicalHeaderKey(n)] {
			// Whatever the scheme: a Bearer token, a Basic password, a
			// control token are never recorded; the scheme is.
			out[n] = "<credential>"
			if scheme, _, ok := strings.Cut(strings.TrimSpace(v), " "); ok {
				out[n] = scheme + " <credential>"
			}
			continue
		}
		out[n] = boundaryPattern.ReplaceAllString(s.text(v), "boundary=<boundary>")
	}
	return out
}

// body decodes and scrubs a body: JSON as a value, a form as a map,
// multipart as a list of parts, gzip as its text, other text as a string,
// anything else by its size and hash.
func (s *scrubber) body(contentType string, b []byte) any {
	if len(b) == 0 {
		return nil
	}
	mediaType, params, _ := mime.ParseMediaType(contentType)
	switch {
	case strings.Contains(mediaType, "json") || (mediaType == "" && (b[0] == '{' || b[0] == '[')):
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err == nil {
			return s.value(v)
		}
	case mediaType == "application/x-www-form-urlencoded":
		if q, err := url.ParseQuery(string(b)); err == nil {
			m := map[string]any{}
			for k, vs := range q {
				m[k] = strings.Join(vs, ",")
				if formSecretKeys[k] {
					m[k] = "<secret>"
				}
			}
			return s.value(m)
		}
	case strings.HasPrefix(mediaType, "multipart/"):
		return s.multipart(b, params["boundary"])
	case len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b:
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err == nil {
			content, err := io.ReadAll(io.LimitReader(zr, maxText+1))
			if err == nil {
				return map[string]any{"gzip": s.opaque(content), "name": zr.Name}
			}
		}
	}
	return s.opaque(b)
}

// opaque records text as a scrubbed string and anything else, or anything
// large, by its size and hash.
func (s *scrubber) opaque(b []byte) any {
	if len(b) <= maxText && utf8.Valid(b) {
		return s.text(string(b))
	}
	sum := sha256.Sum256(b)
	return fmt.Sprintf("<%d bytes, sha256 %s>", len(b), hex.EncodeToString(sum[:]))
}

func (s *scrubber) multipart(b []byte, boundary string) any {
	var parts []any
	mr := multipart.NewReader(bytes.NewReader(b), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		content, _ := io.ReadAll(p)
		part := map[string]any{"name": p.FormName()}
		if fn := p.FileName(); fn != "" {
			part["filename"] = s.text(fn)
		}
		part["content"] = s.opaque(content)
		parts = append(parts, part)
	}
	return map[string]any{"multipart": parts}
}
