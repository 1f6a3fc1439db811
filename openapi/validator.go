package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// Validator checks requests (and, in tests, responses) against a
// document: the API's (NewValidator) or the control plane's
// (NewControlValidator). All the work on the document is done once when
// the Validator is built; a request costs one route lookup and one
// openapi3filter.ValidateRequest. A Validator is safe for concurrent use.
type Validator struct {
	router   routers.Router
	routes   map[string]*routers.Route // "METHOD /document/path" → route
	fast     map[string]*fastOp        // the operations the fast path covers
	request  *openapi3filter.Options
	response *openapi3filter.Options
	// canonical, when set, rewrites a path that matches nothing into the
	// document's spelling and reports whether it changed it (see findRoute).
	canonical func(string) (string, bool)
}

// NewValidator loads the API's document (Spec) and builds its router.
//
// Security requirements are left out of request validation: the HTTP layer
// checks tokens itself, and openapi3filter would otherwise buffer every
// request body once more only to hand it to a no-op authentication function.
//
// Paths are matched as the real service matches them: the literal segments
// case-insensitively, and "(index=n)" also percent-encoded.
func NewValidator() (*Validator, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	return buildValidator(doc, canonicalPath)
}

// NewControlValidator loads the control plane's document (ControlSpec) and
// builds its router. Its paths are matched exactly, as the control plane
// routes them.
func NewControlValidator() (*Validator, error) {
	doc, err := LoadControl()
	if err != nil {
		return nil, err
	}
	return buildValidator(doc, nil)
}

// buildValidator builds the Validator of doc, which it changes. canonical is
// the Validator's path rewriting, nil for none.
func buildValidator(doc *openapi3.T, canonical func(string) (string, bool)) (*Validator, error) {
	// Authentication is not this package's job. Dropping the requirements
	// from the validator's own copy of the document saves a body copy per
	// request; NoopAuthenticationFunc stays as a safety net.
	doc.Security = nil
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			op.Security = nil
		}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: build router: %w", err)
	}
	routes := map[string]*routers.Route{}
	fast := map[string]*fastOp{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			route := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
			routes[method+" "+path] = route
			if f := compileOp(route); f != nil {
				fast[method+" "+path] = f
			}
		}
	}
	return &Validator{
		router:    router,
		routes:    routes,
		fast:      fast,
		canonical: canonical,
		request: &openapi3filter.Options{
			MultiError:         false,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
			// The request body is handed on unchanged: no defaults are
			// written into it.
			SkipSettingDefaults: true,
			// The decoded body stays on the request (ValidatedBody), so a
			// handler need not decode it a second time.
			KeepValidatedValue: true,
		},
		response: &openapi3filter.Options{
			MultiError:            true,
			IncludeResponseStatus: true,
			AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults:   true,
		},
	}, nil
}

// odataUnescaper decodes the characters of an OData key segment such as
// "(index=0)" that some clients percent-encode.
var odataUnescaper = strings.NewReplacer("%28", "(", "%29", ")", "%3D", "=", "%3d", "=")

// literalSegments are the fixed path segments of the document, in its
// spelling. The real service matches paths case-insensitively (its own docs
// write /API/machines/...), the router does not.
var literalSegments = []string{"api", "machines", "machineactions", "runliveresponse", "cancel", "libraryfiles"}

// linkSegment is the fixed part of the download-link segment.
const linkSegment = "GetLiveResponseResultDownloadLink("

// canonicalPath rewrites the literal segments of p to the document's
// spelling, and reports whether it changed anything.
func canonicalPath(p string) (string, bool) {
	changed := false
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		for _, lit := range literalSegments {
			if seg != lit && strings.EqualFold(seg, lit) {
				segs[i], changed = lit, true
			}
		}
		if len(seg) > len(linkSegment) && !strings.HasPrefix(seg, linkSegment) && strings.EqualFold(seg[:len(linkSegment)], linkSegment) {
			segs[i], changed = linkSegment+seg[len(linkSegment):], true
		}
	}
	if !changed {
		return p, false
	}
	return strings.Join(segs, "/"), true
}

// findRoute finds the operation of r. When the path as sent matches
// nothing and v has a canonical rewriting (the API's validator), it retries
// with the literal segments in the document's case and with a
// percent-encoded "(index=n)" decoded; r itself is never changed. Only
// requests that miss pay for the retry.
func (v *Validator) findRoute(r *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := v.router.FindRoute(r)
	if err == nil || !errors.Is(err, routers.ErrPathNotFound) || v.canonical == nil {
		return route, params, err
	}
	path, changed := v.canonical(r.URL.Path)
	raw := r.URL.RawPath
	if raw != "" {
		// The router matches the escaped path: decoding the OData
		// characters lets it see "(index=0)" when the client sent
		// "%28index%3D0%29".
		raw, _ = v.canonical(odataUnescaper.Replace(raw))
		changed = changed || raw != r.URL.RawPath
	}
	if !changed {
		return nil, nil, err
	}
	u := *r.URL
	u.Path, u.RawPath = path, raw
	r2 := *r
	r2.URL = &u
	return v.router.FindRoute(&r2)
}

// ValidateRequest checks r against the document and returns nil when it is
// valid, or an *apierr.Error in the service's vocabulary:
// MissingRequiredParameter for a missing required body property or
// parameter, InvalidRequestBody for a body that is not JSON, has the wrong
// content type, or does not match the schema, BadRequest for a bad path or
// query parameter, and RequestEntityTooLarge when reading the body hits an
// http.MaxBytesReader limit.
//
// A request that matches no path, or no method of its path, is not this
// validator's business: ValidateRequest returns nil and the HTTP layer
// answers 404 or 405 as it routes.
//
// The body of r is read and replaced by an equivalent reader (r.GetBody is
// set too), so handlers can still read it.
func (v *Validator) ValidateRequest(r *http.Request) *apierr.Error {
	route, params, err := v.findRoute(r)
	if err != nil {
		return nil
	}
	return v.validate(r, route, params)
}

// validate checks r against the operation of route.
func (v *Validator) validate(r *http.Request, route *routers.Route, params map[string]string) *apierr.Error {
	in := openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    v.request,
	}
	if err := openapi3filter.ValidateRequest(r.Context(), &in); err != nil {
		return requestError(r, err)
	}
	return nil
}

// ValidateOperation is ValidateRequest for a request whose operation the
// caller has already routed: method and path name the operation as the
// document writes it ("POST", "/machines/{id}/runliveresponse"), params
// are its path parameters. It skips the route lookup, the costliest part
// of validation after the body. An operation the document does not have
// is validated as ValidateRequest does.
func (v *Validator) ValidateOperation(r *http.Request, method, path string, params map[string]string) *apierr.Error {
	return v.ValidateRouted(r, method, path, nonEmpty(params), func() map[string]string { return params })
}

// ValidateRouted is ValidateOperation for a caller that makes the path
// parameters only when needed: present says whether every one has a value,
// and params is called only when kin-openapi has to validate the request
// (the fast path needs no map).
func (v *Validator) ValidateRouted(r *http.Request, method, path string, present bool, params func() map[string]string) *apierr.Error {
	key := method + " " + path
	route, ok := v.routes[key]
	if !ok {
		return v.ValidateRequest(r)
	}
	if f := v.fast[key]; f != nil && present && f.accept(r) {
		return nil
	}
	return v.validate(r, route, params())
}

// requestError maps an openapi3filter failure to the service's error codes.
func requestError(r *http.Request, err error) *apierr.Error {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return apierr.New(apierr.BadRequest, "Invalid request: %v", err)
	}
	if p := re.Parameter; p != nil {
		return parameterError(p, re)
	}
	var tooLarge *http.MaxBytesError
	if errors.As(re.Err, &tooLarge) {
		return apierr.New(apierr.RequestEntityTooLarge, "Request body is larger than %d bytes.", tooLarge.Limit)
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return apierr.New(apierr.InvalidRequestBody, "Invalid request body: the body is empty.")
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return schemaError(se)
	}
	var pe *openapi3filter.ParseError
	if errors.As(re.Err, &pe) {
		if isJSON(r.Header.Get("Content-Type")) {
			return apierr.New(apierr.InvalidRequestBody, "Invalid request body: the body is not valid JSON (%s).", parseCause(pe))
		}
		return apierr.New(apierr.InvalidRequestBody, "Invalid request body: %s.", parseCause(pe))
	}
	if re.Err == nil && strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
		want := strings.Join(mediaTypes(re.RequestBody), " or ")
		if ct := r.Header.Get("Content-Type"); ct != "" {
			return apierr.New(apierr.InvalidRequestBody, "Invalid request body: content type %q is not supported; use %s.", ct, want)
		}
		return apierr.New(apierr.InvalidRequestBody, "Invalid request body: the Content-Type header is missing; use %s.", want)
	}
	return apierr.New(apierr.InvalidRequestBody, "Invalid request body: %v", err)
}

// parameterError describes a bad path or query parameter.
func parameterError(p *openapi3.Parameter, re *openapi3filter.RequestError) *apierr.Error {
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return apierr.New(apierr.MissingRequiredParameter, "Parameter %s is missing.", p.Name)
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return apierr.New(apierr.BadRequest, "Invalid value for parameter %s: %s.", p.Name, expectation(se))
	}
	if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is("integer") {
		return apierr.New(apierr.BadRequest, "Invalid value for parameter %s: must be an integer.", p.Name)
	}
	return apierr.New(apierr.BadRequest, "Invalid value for parameter %s.", p.Name)
}

// schemaError describes a body that does not match its schema, naming the
// field the way a client wrote it: Commands[0].type.
func schemaError(se *openapi3.SchemaError) *apierr.Error {
	field := fieldName(se.JSONPointer())
	if se.SchemaField == "required" {
		return apierr.New(apierr.MissingRequiredParameter, "Parameter %s is missing.", field)
	}
	if field == "" {
		return apierr.New(apierr.InvalidRequestBody, "Invalid request body: the body %s.", expectation(se))
	}
	return apierr.New(apierr.InvalidRequestBody, "Invalid request body: %s %s.", field, expectation(se))
}

// expectation says what the schema wanted, as "must …".
func expectation(se *openapi3.SchemaError) string {
	s := se.Schema
	switch se.SchemaField {
	case "enum":
		vals := make([]string, 0, len(s.Enum))
		for _, e := range s.Enum {
			if e != nil {
				vals = append(vals, fmt.Sprint(e))
			}
		}
		return "must be one of " + strings.Join(vals, ", ")
	case "type", "nullable":
		if s != nil && s.Type != nil && len(s.Type.Slice()) > 0 {
			t := s.Type.Slice()[0]
			return "must be " + article(t) + " " + t
		}
	case "minItems":
		if s.MinItems == 1 {
			return "must contain at least 1 item"
		}
		return "must contain at least " + strconv.FormatUint(s.MinItems, 10) + " items"
	case "maxItems":
		if s.MaxItems != nil {
			return "must contain at most " + strconv.FormatUint(*s.MaxItems, 10) + " items"
		}
	case "minLength":
		return "must be at least " + strconv.FormatUint(s.MinLength, 10) + " characters long"
	case "pattern":
		return "has an invalid format"
	case "properties", "additionalProperties":
		return "has an unknown property"
	case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
		return "is out of range"
	}
	if se.Reason != "" {
		return "is invalid: " + se.Reason
	}
	return "is invalid"
}

func article(t string) string {
	switch t[0] {
	case 'a', 'e', 'i', 'o', 'u':
		return "an"
	}
	return "a"
}

// fieldName turns a JSON pointer ["Commands","0","type"] into
// "Commands[0].type".
func fieldName(ptr []string) string {
	var b strings.Builder
	for _, p := range ptr {
		if _, err := strconv.Atoi(p); err == nil && b.Len() > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// parseCause is the innermost message of a body parse error.
func parseCause(pe *openapi3filter.ParseError) string {
	for {
		var inner *openapi3filter.ParseError
		if pe.Cause == nil {
			if pe.Reason != "" {
				return pe.Reason
			}
			return "unreadable body"
		}
		if errors.As(pe.Cause, &inner) && inner != pe {
			pe = inner
			continue
		}
		return pe.Cause.Error()
	}
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

func mediaTypes(rb *openapi3.RequestBody) []string {
	if rb == nil {
		return nil
	}
	keys := make([]string, 0, len(rb.Content))
	for k := range rb.Content {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ValidateResponse checks a response to r against the document, strictly:
// the status must be documented for the operation, the body must match its
// schema (additionalProperties: false catches extra properties), the
// documented headers (Retry-After on 429) must be present, and a response
// documented without content must have an empty body. It returns nil when
// the response is valid and an error listing every problem otherwise. It is
// meant for tests.
func (v *Validator) ValidateResponse(r *http.Request, status int, header http.Header, body []byte) error {
	route, params, err := v.findRoute(r)
	if err != nil {
		return fmt.Errorf("openapi: %s %s: %w", r.Method, r.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    r,
			PathParams: params,
			Route:      route,
			Options:    v.response,
		},
		Status:  status,
		Header:  header,
		Options: v.response,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
		return fmt.Errorf("openapi: response %d to %s %s: %w", status, r.Method, r.URL.Path, err)
	}
	if resp := route.Operation.Responses.Status(status); resp != nil && resp.Value != nil &&
		len(resp.Value.Content) == 0 && len(bytes.TrimSpace(body)) > 0 {
		return fmt.Errorf("openapi: response %d to %s %s: body must be empty, got %d bytes", status, r.Method, r.URL.Path, len(body))
	}
	return nil
}

// ValidatedBody returns the request body as ValidateRequest decoded and
// validated it (a JSON body as map[string]any, []any, string, float64,
// bool or nil), and false when r's body was not validated.
func ValidatedBody(r *http.Request) (any, bool) {
	vb, ok := r.Body.(interface{ ValidatedValue() any })
	if !ok {
		return nil, false
	}
	return vb.ValidatedValue(), true
}

// nonEmpty reports whether every path parameter has a value.
func nonEmpty(params map[string]string) bool {
	for _, p := range params {
		if p == "" {
			return false
		}
	}
	return true
}
