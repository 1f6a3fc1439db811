package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks requests (and, in tests, responses) against a
// document: the API's (NewValidator) or the control plane's
// (NewControlValidator). All the work on the document is done once when
// the Validator is built; a request costs one route lookup and one
// openapi3filter.ValidateRequest. A Validator is safe for concurrent use.
type Validator struct {
	// router finds the operation of a request the caller has not routed
	// (ValidateRequest, ValidateResponse). It is built on first use: the
	// emulator routes every request itself (ValidateRouted) and needs it
	// only for --strict, so a start does not compile a regular expression
	// per path of the document for nothing.
	router   func() (routers.Router, error)
	routes   map[string]*routers.Route // "METHOD /document/path" → route
	fast     map[string]*fastOp        // the operations the fast path covers
	params   *openapi3filter.Options   // a request's parameters
	request  *openapi3filter.Options   // a request's body
	response *openapi3filter.Options
	// canon, when set, rewrites a path that matches nothing into the
	// document's spelling (see findRoute).
	canon *pathCanon
}

// NewValidator loads the API's document (Spec) and builds its router.
//
// Security requirements are left out of request validation: the HTTP layer
// checks tokens itself, and openapi3filter would otherwise buffer every
// request body once more only to hand it to a no-op authentication function.
//
// Paths are matched as the real service matches them: the literal segments
// case-insensitively, and "(index=n)" also percent-encoded.
//
// The document is the one Load parses and validates, built by generated
// code (document_gen.go, which TestGeneratedDocument holds equal to it):
// a start does not parse the YAML, the larger part of a first 201.
func NewValidator() (*Validator, error) {
	return buildValidator(apiDocument(), true)
}

// NewControlValidator loads the control plane's document (ControlSpec) and
// builds its router. Its paths are matched exactly, as the control plane
// routes them.
func NewControlValidator() (*Validator, error) {
	doc, err := LoadControl()
	if err != nil {
		return nil, err
	}
	return buildValidator(doc, false)
}

// buildValidator builds the Validator of doc, which it changes; canonical
// says whether it matches paths in any case (CanonicalPath).
func buildValidator(doc *openapi3.T, canonical bool) (*Validator, error) {
	// Authentication is not this package's job. Dropping the requirements
	// from the validator's own copy of the document saves a body copy per
	// request; NoopAuthenticationFunc stays as a safety net.
	doc.Security = nil
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			op.Security = nil
		}
	}
	router := sync.OnceValues(func() (routers.Router, error) {
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			return nil, fmt.Errorf("openapi: build router: %w", err)
		}
		return r, nil
	})
	var canon *pathCanon
	if canonical {
		var err error
		if canon, err = newPathCanon(doc); err != nil {
			return nil, err
		}
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
	request := &openapi3filter.Options{
		MultiError:         false,
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// The request body is handed on unchanged: no defaults are
		// written into it.
		SkipSettingDefaults: true,
		// The decoded body stays on the request (ValidatedBody), so a
		// handler need not decode it a second time.
		KeepValidatedValue: true,
	}
	params := *request
	params.ExcludeRequestBody = true // validateBody does the body
	return &Validator{
		router:  router,
		routes:  routes,
		fast:    fast,
		canon:   canon,
		params:  &params,
		request: request,
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

// CanonicalPath rewrites a request path under the document's base path
// (/api) into the document's spelling, as the real service matches its
// paths case-insensitively: every literal segment (/API/Machines/...
// becomes /api/machines/...) and the literal parts of an OData function
// segment with an integer argument
// (getliveresponseresultdownloadlink(index=0)), while ids and file names
// keep theirs. It reports whether it changed anything. The control plane's
// Validator changes nothing: its paths are matched exactly.
func (v *Validator) CanonicalPath(p string) (string, bool) {
	if v.canon == nil {
		return p, false
	}
	return v.canon.canonical(p)
}

// findRoute finds the operation of r. When the path as sent matches
// nothing, it retries with the path in the document's spelling
// (CanonicalPath) and with a percent-encoded "(index=n)" decoded; r itself
// is never changed. Only requests that miss pay for the retry.
func (v *Validator) findRoute(r *http.Request) (*routers.Route, map[string]string, error) {
	router, err := v.router()
	if err != nil {
		return nil, nil, err
	}
	route, params, err := router.FindRoute(r)
	if err == nil || !errors.Is(err, routers.ErrPathNotFound) || v.canon == nil {
		return route, params, err
	}
	path, changed := v.CanonicalPath(r.URL.Path)
	raw := r.URL.RawPath
	if raw != "" {
		// The router matches the escaped path: decoding the OData
		// characters lets it see "(index=0)" when the client sent
		// "%28index%3D0%29".
		raw, _ = v.CanonicalPath(odataUnescaper.Replace(raw))
		changed = changed || raw != r.URL.RawPath
	}
	if !changed {
		return nil, nil, err
	}
	u := *r.URL
	u.Path, u.RawPath = path, raw
	r2 := *r
	r2.URL = &u
	return router.FindRoute(&r2)
}

// ValidateRequest checks r against the document and returns nil when it is
// valid, or an *Error in the service's vocabulary:
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
func (v *Validator) ValidateRequest(r *http.Request) *Error {
	route, params, err := v.findRoute(r)
	if err != nil {
		return nil
	}
	if f := v.fast[route.Method+" "+route.Path]; f != nil && nonEmpty(params) && f.accept(r) {
		return nil
	}
	return v.validate(r, route, params)
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

// ValidateRouted is ValidateRequest for a request whose operation the
// caller has already routed, which skips the route lookup, the costliest
// part of validation after the body: method and path name the operation
// as the document writes it ("POST", "/machines/{id}/runliveresponse").
// present says whether every path parameter has a value, and params, which
// returns them by the document's names, is called only when kin-openapi
// has to validate the request (the fast path needs no map). An operation
// the document does not have is validated as ValidateRequest does.
func (v *Validator) ValidateRouted(r *http.Request, method, path string, present bool, params func() map[string]string) *Error {
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

// validate checks r against the operation of route with kin-openapi: its
// parameters, then its body.
func (v *Validator) validate(r *http.Request, route *routers.Route, params map[string]string) *Error {
	in := openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options:    v.params,
	}
	if err := openapi3filter.ValidateRequest(r.Context(), &in); err != nil {
		return requestError(r, err)
	}
	if rb := route.Operation.RequestBody; rb != nil {
		in.Options = v.request
		if err := validateBody(&in, rb.Value); err != nil {
			return requestError(r, err)
		}
	}
	return nil
}

// validateBody is openapi3filter.ValidateRequestBody with a JSON body
// decoded by decodeJSONValue rather than by the decoder kin-openapi keeps
// in its process-wide registry (which this package leaves alone): what is
// valid JSON, the error that describes the rest, and the validated value
// (numbers as float64) are this package's, whoever else registers what.
func validateBody(in *openapi3filter.RequestValidationInput, rb *openapi3.RequestBody) error {
	r := in.Request
	if r.Body == nil || r.Body == http.NoBody || !decodesJSON(rb.Content, r.Header.Get("Content-Type")) {
		return openapi3filter.ValidateRequestBody(r.Context(), in, rb)
	}
	data, err := readAll(r.Body, r.ContentLength)
	r.Body.Close()
	if err != nil {
		// kin-openapi reports the reading error (RequestEntityTooLarge
		// for an http.MaxBytesReader limit).
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data), errorReader{err}))
		return openapi3filter.ValidateRequestBody(r.Context(), in, rb)
	}
	vb := &validatedBody{data: data}
	vb.Reset(data)
	r.Body, r.GetBody = vb, vb.getBody
	if len(data) == 0 {
		return openapi3filter.ValidateRequestBody(r.Context(), in, rb)
	}
	value, err := decodeJSONValue(data, nil)
	if err != nil {
		return &openapi3filter.RequestError{
			Input:       in,
			RequestBody: rb,
			Reason:      "failed to decode request body",
			Err:         &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Cause: err},
		}
	}
	// The body is valid JSON: kin-openapi decodes it to the same values,
	// but for numbers (json.Number), and checks them against the schema.
	if err := openapi3filter.ValidateRequestBody(r.Context(), in, rb); err != nil {
		return err
	}
	if in.Options.KeepValidatedValue {
		vb := &validatedBody{data: data, value: value, decoded: true}
		vb.Reset(data)
		r.Body = validated{vb}
	}
	return nil
}

// decodesJSON reports whether kin-openapi decodes a body of content type
// ct, for a request body or response of content, with the decoder it keeps
// for application/json: ct names one of content's media types, with a
// schema, and is application/json, or a +json type with no decoder of its
// own.
func decodesJSON(content openapi3.Content, ct string) bool {
	mt := content.Get(ct)
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || len(mt.Encoding) > 0 {
		return false
	}
	if s := mt.Schema.Value; s.Type.Is("string") && s.Format == "binary" {
		return false
	}
	media, _, _ := strings.Cut(ct, ";")
	media = strings.ToLower(strings.TrimSpace(media))
	return media == "application/json" ||
		strings.HasSuffix(media, "+json") && openapi3filter.RegisteredBodyDecoder(media) == nil
}

// newError returns an *Error with the message formatted from format and args.
func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// requestError maps an openapi3filter failure to the service's error codes.
func requestError(r *http.Request, err error) *Error {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return newError(CodeBadRequest, "Invalid request: %v", err)
	}
	if p := re.Parameter; p != nil {
		return parameterError(p, re)
	}
	var tooLarge *http.MaxBytesError
	if errors.As(re.Err, &tooLarge) {
		return newError(CodeRequestEntityTooLarge, "Request body is larger than %d bytes.", tooLarge.Limit)
	}
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return newError(CodeInvalidRequestBody, "Invalid request body: the body is empty.")
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return schemaError(se)
	}
	var pe *openapi3filter.ParseError
	if errors.As(re.Err, &pe) {
		if isJSON(r.Header.Get("Content-Type")) {
			return newError(CodeInvalidRequestBody, "Invalid request body: the body is not valid JSON (%s).", parseCause(pe))
		}
		return newError(CodeInvalidRequestBody, "Invalid request body: %s.", parseCause(pe))
	}
	if re.Err == nil && strings.HasPrefix(re.Reason, "header Content-Type has unexpected value") {
		want := strings.Join(mediaTypes(re.RequestBody), " or ")
		if ct := r.Header.Get("Content-Type"); ct != "" {
			return newError(CodeInvalidRequestBody, "Invalid request body: content type %q is not supported; use %s.", ct, want)
		}
		return newError(CodeInvalidRequestBody, "Invalid request body: the Content-Type header is missing; use %s.", want)
	}
	return newError(CodeInvalidRequestBody, "Invalid request body: %v", err)
}

// parameterError describes a bad path or query parameter.
func parameterError(p *openapi3.Parameter, re *openapi3filter.RequestError) *Error {
	if errors.Is(re.Err, openapi3filter.ErrInvalidRequired) {
		return newError(CodeMissingRequiredParameter, "Parameter %s is missing.", p.Name)
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return newError(CodeBadRequest, "Invalid value for parameter %s: %s.", p.Name, expectation(se))
	}
	if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is("integer") {
		return newError(CodeBadRequest, "Invalid value for parameter %s: must be an integer.", p.Name)
	}
	return newError(CodeBadRequest, "Invalid value for parameter %s.", p.Name)
}

// schemaError describes a body that does not match its schema, naming the
// field the way a client wrote it: Commands[0].type.
func schemaError(se *openapi3.SchemaError) *Error {
	field := fieldName(se.JSONPointer())
	if se.SchemaField == "required" {
		return newError(CodeMissingRequiredParameter, "Parameter %s is missing.", field)
	}
	if field == "" {
		return newError(CodeInvalidRequestBody, "Invalid request body: the body %s.", expectation(se))
	}
	return newError(CodeInvalidRequestBody, "Invalid request body: %s %s.", field, expectation(se))
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
	// kin-openapi decoded the body with the JSON decoder of its registry;
	// the body must be JSON as this package reads it too.
	if resp := decodedResponse(r, route, status); resp != nil && decodesJSON(resp.Content, header.Get("Content-Type")) {
		if _, err := decodeJSONValue(body, nil); err != nil {
			return fmt.Errorf("openapi: response %d to %s %s: body is not valid JSON: %w", status, r.Method, r.URL.Path, err)
		}
	}
	return nil
}

// decodedResponse is the response of route whose body
// openapi3filter.ValidateResponse decodes for status, or nil when it
// decodes none.
func decodedResponse(r *http.Request, route *routers.Route, status int) *openapi3.Response {
	switch status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return nil
	}
	if r.Method == http.MethodHead {
		return nil
	}
	ref := route.Operation.Responses.Status(status)
	if ref == nil {
		ref = route.Operation.Responses.Default()
	}
	if ref == nil {
		return nil
	}
	return ref.Value
}

// ValidatedBody returns the request body as ValidateRequest decoded and
// validated it (a JSON body as map[string]any, []any, string, float64,
// bool or nil), and false when r's body was not validated. A body the
// fast path scanned without decoding is decoded on the first call.
func ValidatedBody(r *http.Request) (any, bool) {
	vb, ok := r.Body.(interface{ ValidatedValue() any })
	if !ok {
		return nil, false
	}
	return vb.ValidatedValue(), true
}

// ValidatedJSON returns the bytes of the JSON request body that
// ValidateRequest validated (whose value ValidatedBody returns), and false
// when r's body was not validated. The bytes are the request's: the
// caller must not change them.
func ValidatedJSON(r *http.Request) ([]byte, bool) {
	vb, ok := r.Body.(interface{ ValidatedJSON() []byte })
	if !ok {
		return nil, false
	}
	return vb.ValidatedJSON(), true
}
