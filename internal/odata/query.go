package odata

import (
	"net/url"
	"strconv"
	"strings"
)

// DefaultMaxTop is the largest $top the service accepts on /machineactions
// and /machines, and their page size.
const DefaultMaxTop = 10000

// The bounds of $filter and $orderby. A query past one is refused with an
// *Error before anything large is built: the length is checked before
// lexing, depth and terms while parsing. Real queries are far inside them
// (a few hundred bytes, depth under 5, a few dozen terms); the largest
// realistic one, an "id in (…)" of a few hundred GUIDs, fits.
const (
	// MaxFilterLength is the most bytes a $filter or $orderby value may
	// have after URL decoding: 16 KB, what a default HTTP.sys front end
	// allows for a whole request line and its headers.
	MaxFilterLength = 16 << 10
	// MaxFilterDepth is how deeply $filter may nest: every open
	// parenthesis, "not" and any/all lambda is a level. It bounds the
	// parser's recursion.
	MaxFilterDepth = 100
	// MaxFilterNodes is how many terms $filter may have: comparisons,
	// functions, lambdas, values of "in" lists, "and", "or" and "not". It
	// bounds the cost of matching one record.
	MaxFilterNodes = 1000
)

// tooLong is the *Error for a $filter or $orderby over MaxFilterLength.
// It does not quote the value.
func tooLong(option string, n int) *Error {
	return errorf(option, "%s is %d bytes long; the limit is %d bytes", option, n, MaxFilterLength)
}

// Options tune Parse for one endpoint.
type Options struct {
	// MaxTop is the largest $top accepted; a larger one is an error. Zero
	// means DefaultMaxTop.
	MaxTop int
	// PageSize is the server page size: the most records one response
	// holds. A response cut short by it gets an @odata.nextLink. Zero
	// means MaxTop. The real service's page size is 10,000.
	PageSize int
}

// Query is a parsed set of OData query options, made by Parse (the zero
// Query is not usable). It is immutable and safe for concurrent use.
type Query struct {
	filter   node // nil: every record matches
	orderBy  []orderKey
	top      int // -1: no $top
	skip     int
	count    bool
	pageSize int
}

// orderKey is one "field [asc|desc]" of $orderby.
type orderKey struct {
	field Field
	desc  bool
}

// queryOptions are the $-options Parse understands, by lower-case name.
var queryOptions = map[string]string{
	"$filter":  "$filter",
	"$orderby": "$orderby",
	"$top":     "$top",
	"$skip":    "$skip",
	"$count":   "$count",
}

// Parse parses the OData options of a request's query string against
// schema: $filter, $orderby, $top, $skip and $count, whose names match
// case-insensitively. An option with an empty value counts as absent.
// Any other option starting with "$" ($select, $expand, $search …) is an
// error; parameters without "$" are ignored. Every error is an *Error.
func Parse(values url.Values, schema *Schema, opts Options) (*Query, error) {
	maxTop := opts.MaxTop
	if maxTop <= 0 {
		maxTop = DefaultMaxTop
	}
	q := &Query{top: -1, pageSize: opts.PageSize}
	if q.pageSize <= 0 {
		q.pageSize = maxTop
	}
	raw := make(map[string]string, len(queryOptions))
	for key, vals := range values {
		if !strings.HasPrefix(key, "$") {
			continue
		}
		name, ok := queryOptions[strings.ToLower(key)]
		if !ok {
			return nil, errorf(key, "query option '%s' is not supported", key)
		}
		if _, dup := raw[name]; dup || len(vals) > 1 {
			return nil, errorf(name, "query option '%s' was specified more than once", name)
		}
		raw[name] = vals[0]
	}
	for _, name := range []string{"$filter", "$orderby"} {
		if n := len(raw[name]); n > MaxFilterLength {
			return nil, tooLong(name, n)
		}
	}
	var err error
	if v := strings.TrimSpace(raw["$filter"]); v != "" {
		if q.filter, err = parseFilter(v, schema); err != nil {
			return nil, err
		}
	}
	if v := strings.TrimSpace(raw["$orderby"]); v != "" {
		if q.orderBy, err = parseOrderBy(v, schema); err != nil {
			return nil, err
		}
	}
	if v := raw["$top"]; v != "" {
		if q.top, err = parseCount("$top", v); err != nil {
			return nil, err
		}
		if q.top > maxTop {
			return nil, errorf("$top", "the limit of '%d' for $top has been exceeded; the value from the request is '%s'", maxTop, v)
		}
	}
	if v := raw["$skip"]; v != "" {
		if q.skip, err = parseCount("$skip", v); err != nil {
			return nil, err
		}
	}
	if v := raw["$count"]; v != "" {
		switch strings.ToLower(v) {
		case "true":
			q.count = true
		case "false":
		default:
			return nil, errorf("$count", "'%s' is not a valid value for $count; use true or false", v)
		}
	}
	return q, nil
}

// parseCount parses the non-negative integer value of $top or $skip.
func parseCount(option, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errorf(option, "'%s' is not a valid value for %s; use an integer from 0 to %d", v, option, maxInt32)
	}
	if n > maxInt32 {
		return 0, errorf(option, "value '%s' for %s is out of range; use an integer from 0 to %d", v, option, maxInt32)
	}
	return n, nil
}

// maxInt32 bounds $top and $skip, as Edm.Int32 does in the service.
const maxInt32 = 1<<31 - 1

// parseOrderBy parses "field [asc|desc] {, field [asc|desc]}".
func parseOrderBy(src string, schema *Schema) ([]orderKey, error) {
	lx := &lexer{option: "$orderby", src: src}
	var keys []orderKey
	seen := make(map[string]bool)
	for {
		t, err := lx.next()
		if err != nil {
			return nil, err
		}
		if t.kind != tokIdent {
			return nil, lx.errAt(t.pos, "expected a property name, found %s", t.describe())
		}
		f, ok := schema.Lookup(t.text)
		if !ok {
			e := lx.errAt(t.pos, "")
			e.Detail = "property '" + t.text + "' cannot be used in $orderby"
			return nil, e
		}
		if f.Type == StringCollection {
			e := lx.errAt(t.pos, "")
			e.Detail = "property '" + f.Name + "' is a collection and cannot be used in $orderby"
			return nil, e
		}
		if seen[f.Name] {
			e := lx.errAt(t.pos, "")
			e.Detail = "property '" + f.Name + "' appears more than once in $orderby"
			return nil, e
		}
		seen[f.Name] = true
		key := orderKey{field: f}
		if t, err = lx.next(); err != nil {
			return nil, err
		}
		if t.kind == tokIdent && (strings.EqualFold(t.text, "asc") || strings.EqualFold(t.text, "desc")) {
			key.desc = strings.EqualFold(t.text, "desc")
			if t, err = lx.next(); err != nil {
				return nil, err
			}
		}
		keys = append(keys, key)
		switch t.kind {
		case tokEOF:
			return keys, nil
		case tokComma:
		default:
			return nil, lx.errAt(t.pos, "expected ',', 'asc', 'desc' or end of input, found %s", t.describe())
		}
	}
}

// Count reports whether the request asked for @odata.count ($count=true).
func (q *Query) Count() bool { return q.count }

// Top returns $top and whether the request gave one.
func (q *Query) Top() (int, bool) { return q.top, q.top >= 0 }

// Skip returns $skip, 0 when absent.
func (q *Query) Skip() int { return q.skip }

// Match reports whether r passes $filter. Every record passes when there
// is no $filter.
func (q *Query) Match(r Record) bool {
	return q.filter == nil || q.filter.eval(r, "")
}

// Compare orders a and b by $orderby, returning -1, 0 or +1. Nulls sort
// before every value (after, with desc); strings compare case-insensitively.
// Records equal on every key, or every pair without $orderby, compare 0, so
// a stable sort keeps the endpoint's default order among them.
func (q *Query) Compare(a, b Record) int {
	return q.compareKeys(q.sortKeys(a, nil), q.sortKeys(b, nil))
}

// sortKeys appends r's $orderby keys to into: what Compare reads of it,
// read once for a sort that compares r many times.
func (q *Query) sortKeys(r Record, into []scalar) []scalar {
	for _, k := range q.orderBy {
		into = append(into, toScalar(k.field.Name, k.field.Type, r.Field(k.field.Name)))
	}
	return into
}

// compareKeys is Compare over the keys sortKeys read of two records.
func (q *Query) compareKeys(a, b []scalar) int {
	for i, k := range q.orderBy {
		va, vb := a[i], b[i]
		var c int
		switch {
		case va.null && vb.null:
		case va.null:
			c = -1
		case vb.null:
			c = 1
		default:
			c = compareScalars(k.field.Type, va, vb)
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
