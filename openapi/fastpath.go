package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// The fast path. kin-openapi walks a request's body schema with general
// machinery on every call: about a fifth of the emulator's CPU under load.
// At start, the body schema of each operation is compiled, where it uses
// only the few keywords the API's request bodies use, into a checker that
// accepts a subset of what kin-openapi accepts (a differential fuzz test
// holds the two to exactly the same answers). A request the checker
// accepts is valid; anything else — a rejection, an operation or a media
// type the checker does not cover — goes through kin-openapi, which stays
// the authority and writes every error message.

// fastOp is the compiled validation of one operation, or nil when the
// operation is not covered.
type fastOp struct {
	body         *schemaNode // JSON body schema; nil: no body
	bodyRequired bool
	words        map[string]any // the strings of body, for decodeJSONValue
}

// compileOp compiles route's operation when every part of its validation
// is covered: path parameters that are plain strings, and no body or an
// application/json body whose schema compiles.
func compileOp(route *routers.Route) *fastOp {
	params := append(openapi3.Parameters{}, route.PathItem.Parameters...)
	params = append(params, route.Operation.Parameters...)
	for _, p := range params {
		v := p.Value
		if v == nil || v.In != openapi3.ParameterInPath || v.Schema == nil || v.Content != nil {
			return nil
		}
		if n, err := compileSchema(v.Schema); err != nil || !n.plainString() {
			return nil
		}
	}
	op := &fastOp{}
	if rb := route.Operation.RequestBody; rb != nil {
		if rb.Value == nil || len(rb.Value.Content) != 1 || rb.Value.Content["application/json"] == nil {
			return nil
		}
		mt := rb.Value.Content["application/json"]
		if mt.Schema == nil || len(mt.Encoding) > 0 {
			return nil
		}
		n, err := compileSchema(mt.Schema)
		if err != nil {
			return nil
		}
		op.body, op.bodyRequired = n, rb.Value.Required
		op.words = map[string]any{}
		n.addWords(op.words)
	}
	return op
}

// accept reports whether r is valid for the operation, reading its body;
// on true it leaves the body on r with its value (ValidatedBody), as
// KeepValidatedValue does. False means "ask kin-openapi", not "invalid".
//
// A body is scanned first (schemaNode.scan), which builds no value: its
// value is decoded only when asked for. A body the scan does not judge is
// decoded and checked (schemaNode.valid), which gives the same verdicts
// as kin-openapi.
func (op *fastOp) accept(r *http.Request) bool {
	if op.body == nil {
		return r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return false
		}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	data, err := readAll(r.Body, r.ContentLength)
	r.Body.Close()
	if err != nil {
		// Leave the error to kin-openapi after the bytes read: a body over
		// its http.MaxBytesReader limit is RequestEntityTooLarge, not the
		// truncated JSON it would be read as.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data), errorReader{err}))
		return false
	}
	vb := &validatedBody{data: data, words: op.words}
	vb.Reset(data)
	r.Body = vb
	r.GetBody = vb.getBody
	if len(data) == 0 {
		return false
	}
	if op.body.scan(data) {
		r.Body = validated{vb} // decoded when asked for
		return true
	}
	v, err := decodeJSONValue(data, op.words)
	if err != nil || !op.body.valid(v) {
		return false
	}
	vb.value, vb.decoded = v, true
	r.Body = validated{vb}
	return true
}

// readAll reads body whole, in one allocation when its length is known.
func readAll(body io.Reader, length int64) ([]byte, error) {
	if length < 0 || length > 1<<20 {
		return io.ReadAll(body)
	}
	data := make([]byte, length, length+1)
	n, err := io.ReadFull(body, data)
	if err != nil {
		return data[:n], err
	}
	// A body longer than announced: read the rest as io.ReadAll would.
	// The probe reads into data's spare byte (a local array would escape
	// through the interface call: an allocation per request).
	if m, _ := body.Read(data[length : length+1]); m > 0 {
		rest, err := io.ReadAll(body)
		return append(data[:length+1], rest...), err
	}
	return data, nil
}

// errorReader fails every read with err.
type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) { return 0, r.err }

// validatedBody is a request body read whole: a reader over its bytes
// and, once it is validated, its value. A body the fast path scanned is
// decoded the first time its value is asked for. A validatedBody belongs
// to its request: like the request's body, it is not for concurrent use.
type validatedBody struct {
	bytes.Reader
	data    []byte
	words   map[string]any // for decodeJSONValue
	value   any
	decoded bool // value is set
}

// Close does nothing: the bytes are in memory.
func (b *validatedBody) Close() error { return nil }

// getBody returns a new reader over the bytes, for http.Request.GetBody.
func (b *validatedBody) getBody() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(b.data)), nil
}

// validated is b as a body whose value was validated; validatedBody alone
// is a body that was read, not (yet) validated: it has no value.
type validated struct{ *validatedBody }

// ValidatedValue returns the validated body value, decoding it the first
// time.
func (b validated) ValidatedValue() any {
	if !b.decoded {
		b.value, _ = decodeJSONValue(b.data, b.words) // scanned: it decodes
		b.decoded = true
	}
	return b.value
}

// ValidatedJSON returns the bytes of the validated body.
func (b validated) ValidatedJSON() []byte { return b.data }

// schemaNode is a compiled schema.
type schemaNode struct {
	typ        string // object, array, string, boolean
	nullable   bool
	enum       []string
	required   []string
	properties map[string]*schemaNode
	closed     bool // additionalProperties: false
	items      *schemaNode
	minItems   uint64
	maxItems   *uint64
}

// addWords adds to words the property names and enum values of n and of
// the schemas under it: the strings a valid body is made of.
func (n *schemaNode) addWords(words map[string]any) {
	for _, e := range n.enum {
		words[e] = e
	}
	for name, p := range n.properties {
		words[name] = name
		p.addWords(words)
	}
	if n.items != nil {
		n.items.addWords(words)
	}
}

func (n *schemaNode) plainString() bool {
	return n.typ == "string" && !n.nullable && n.enum == nil
}

var errUncovered = errors.New("schema uses a keyword the fast path does not cover")

// coveredFields are the Schema fields compileSchema understands (or may
// ignore, being annotations); a schema with any other field set is not
// compiled.
var coveredFields = map[string]bool{
	"Type": true, "Nullable": true, "Enum": true, "Required": true, "Properties": true,
	"AdditionalProperties": true, "Items": true, "MinItems": true, "MaxItems": true,
	"Title": true, "Description": true, "Example": true, "Extensions": true, "Origin": true,
}

// compileSchema compiles ref, or fails with errUncovered.
func compileSchema(ref *openapi3.SchemaRef) (*schemaNode, error) {
	if ref == nil || ref.Value == nil {
		return nil, errUncovered
	}
	s := ref.Value
	sv := reflect.ValueOf(s).Elem()
	for i := 0; i < sv.NumField(); i++ {
		if f := sv.Type().Field(i); !coveredFields[f.Name] && !sv.Field(i).IsZero() {
			return nil, fmt.Errorf("%w: %s", errUncovered, f.Name)
		}
	}
	if s.Type == nil || len(*s.Type) != 1 {
		return nil, errUncovered
	}
	n := &schemaNode{typ: (*s.Type)[0], nullable: s.Nullable, required: s.Required, minItems: s.MinItems, maxItems: s.MaxItems}
	switch n.typ {
	case "object", "array", "string", "boolean":
	default:
		return nil, errUncovered
	}
	for _, e := range s.Enum {
		str, ok := e.(string)
		if !ok || n.typ != "string" {
			return nil, errUncovered
		}
		n.enum = append(n.enum, str)
	}
	if n.typ != "array" && (s.Items != nil || s.MinItems != 0 || s.MaxItems != nil) {
		return nil, errUncovered
	}
	if n.typ != "object" && (len(s.Properties) > 0 || len(s.Required) > 0 || s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil) {
		return nil, errUncovered
	}
	switch n.typ {
	case "array":
		items, err := compileSchema(s.Items)
		if err != nil {
			return nil, err
		}
		n.items = items
	case "object":
		if s.AdditionalProperties.Schema != nil {
			return nil, errUncovered
		}
		n.closed = s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
		n.properties = make(map[string]*schemaNode, len(s.Properties))
		for name, p := range s.Properties {
			c, err := compileSchema(p)
			if err != nil {
				return nil, err
			}
			n.properties[name] = c
		}
	}
	return n, nil
}

// valid reports whether v matches n.
func (n *schemaNode) valid(v any) bool {
	if v == nil {
		return n.nullable
	}
	switch n.typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			return false
		}
		if n.enum != nil {
			for _, e := range n.enum {
				if s == e {
					return true
				}
			}
			return false
		}
		return true
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "array":
		a, ok := v.([]any)
		if !ok || uint64(len(a)) < n.minItems || (n.maxItems != nil && uint64(len(a)) > *n.maxItems) {
			return false
		}
		for _, x := range a {
			if !n.items.valid(x) {
				return false
			}
		}
		return true
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for _, k := range n.required {
			if _, ok := m[k]; !ok {
				return false
			}
		}
		for k, x := range m {
			p, ok := n.properties[k]
			if !ok {
				if n.closed {
					return false
				}
				continue
			}
			if !p.valid(x) {
				return false
			}
		}
		return true
	}
	return false
}
