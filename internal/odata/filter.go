package odata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Record is one item an endpoint lists. Field returns the value of the
// schema field called name (always the schema's canonical name), as a
// string, time.Time, int64 (int and int32 too), bool or []string, a pointer
// to one of the scalars, or nil for a null. A value whose Go type does not
// fit the field's schema type makes Match and Compare panic: that is a bug
// in the Record, not in the request.
type Record interface {
	Field(name string) any
}

// cmpOp is a comparison operator of $filter.
type cmpOp int

const (
	opEq cmpOp = iota
	opNe
	opGt
	opGe
	opLt
	opLe
)

var cmpOps = map[string]cmpOp{"eq": opEq, "ne": opNe, "gt": opGt, "ge": opGe, "lt": opLt, "le": opLe}

// reserved are the keywords that cannot start an operand.
var reserved = map[string]bool{
	"and": true, "or": true, "not": true, "in": true,
	"eq": true, "ne": true, "gt": true, "ge": true, "lt": true, "le": true,
	"true": true, "false": true, "null": true,
}

// stringFuncs are the string functions $filter accepts:
// startswith(field,'x'), endswith(field,'x'), contains(field,'x'). Each
// costs time linear in the field's and the argument's length; contains
// has no function here, it is a foldNeedle.
var stringFuncs = map[string]func(s, arg string) bool{
	"startswith": hasPrefixFold,
	"endswith":   hasSuffixFold,
	"contains":   nil,
}

// node is a parsed $filter expression. elem is the current element of the
// innermost lambda (any/all), if any.
type node interface {
	eval(r Record, elem string) bool
}

type orNode struct{ l, r node }

func (n *orNode) eval(r Record, elem string) bool { return n.l.eval(r, elem) || n.r.eval(r, elem) }

type andNode struct{ l, r node }

func (n *andNode) eval(r Record, elem string) bool { return n.l.eval(r, elem) && n.r.eval(r, elem) }

type notNode struct{ x node }

func (n *notNode) eval(r Record, elem string) bool { return !n.x.eval(r, elem) }

// operand is what a comparison reads: a schema field or the lambda variable.
type operand struct {
	name  string // canonical field name, or the lambda variable's name
	typ   Type
	isVar bool
}

// describe names the operand in error messages.
func (o operand) describe() string {
	if o.isVar {
		return fmt.Sprintf("lambda variable '%s'", o.name)
	}
	return fmt.Sprintf("property '%s'", o.name)
}

// scalar is a non-collection value read from a record or the lambda
// variable. Only the member of the operand's type is set.
type scalar struct {
	null bool
	s    string
	i    int64
	b    bool
	t    time.Time
}

// get reads the operand's value.
func (o *operand) get(r Record, elem string) scalar {
	if o.isVar {
		return scalar{s: elem}
	}
	return toScalar(o.name, o.typ, r.Field(o.name))
}

// toScalar converts a record's field value to a scalar of type typ.
func toScalar(name string, typ Type, v any) scalar {
	switch x := v.(type) {
	case nil:
		return scalar{null: true}
	case string:
		if typ == String {
			return scalar{s: x}
		}
	case *string:
		if typ == String {
			if x == nil {
				return scalar{null: true}
			}
			return scalar{s: *x}
		}
	case time.Time:
		if typ == DateTime {
			return scalar{t: x}
		}
	case *time.Time:
		if typ == DateTime {
			if x == nil {
				return scalar{null: true}
			}
			return scalar{t: *x}
		}
	case int64:
		if typ == Int {
			return scalar{i: x}
		}
	case int:
		if typ == Int {
			return scalar{i: int64(x)}
		}
	case int32:
		if typ == Int {
			return scalar{i: int64(x)}
		}
	case *int64:
		if typ == Int {
			if x == nil {
				return scalar{null: true}
			}
			return scalar{i: *x}
		}
	case bool:
		if typ == Bool {
			return scalar{b: x}
		}
	case *bool:
		if typ == Bool {
			if x == nil {
				return scalar{null: true}
			}
			return scalar{b: *x}
		}
	}
	panic(fmt.Sprintf("odata: record field %q holds %T, but the schema says %v", name, v, typ))
}

// compareScalars compares two non-null scalars of type typ. Strings compare
// case-insensitively.
func compareScalars(typ Type, a, b scalar) int {
	switch typ {
	case String:
		return compareFold(a.s, b.s)
	case DateTime:
		return a.t.Compare(b.t)
	case Int:
		return compareInt(a.i, b.i)
	case Bool:
		return compareBool(a.b, b.b)
	}
	panic(fmt.Sprintf("odata: cannot compare values of type %v", typ))
}

// cmpNode is "operand op literal".
type cmpNode struct {
	operand
	op  cmpOp
	lit scalar
}

func (n *cmpNode) eval(r Record, elem string) bool {
	v := n.get(r, elem)
	if n.lit.null || v.null {
		// OData: null eq null is true, null ne x is true; every ordering
		// comparison with a null is false.
		switch n.op {
		case opEq:
			return v.null && n.lit.null
		case opNe:
			return v.null != n.lit.null
		default:
			return false
		}
	}
	c := compareScalars(n.typ, v, n.lit)
	switch n.op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opGt:
		return c > 0
	case opGe:
		return c >= 0
	case opLt:
		return c < 0
	default:
		return c <= 0
	}
}

// inNode is "operand in (literal, …)".
type inNode struct {
	operand
	list []scalar
}

func (n *inNode) eval(r Record, elem string) bool {
	v := n.get(r, elem)
	for i := range n.list {
		l := &n.list[i]
		if l.null || v.null {
			if l.null && v.null {
				return true
			}
			continue
		}
		if compareScalars(n.typ, v, *l) == 0 {
			return true
		}
	}
	return false
}

// funcNode is "startswith(operand,'arg')" and its siblings.
type funcNode struct {
	operand
	fn     func(s, arg string) bool // nil for contains
	arg    string
	needle *foldNeedle // contains' argument
}

func (n *funcNode) eval(r Record, elem string) bool {
	v := n.get(r, elem)
	if v.null {
		return false
	}
	if n.needle != nil {
		return n.needle.in(v.s)
	}
	return n.fn(v.s, n.arg)
}

// lambdaNode is "field/any(v: body)", "field/any()" or "field/all(v: body)".
type lambdaNode struct {
	field string
	all   bool
	body  node // nil for any() without arguments
}

func (n *lambdaNode) eval(r Record, _ string) bool {
	var elems []string
	switch x := r.Field(n.field).(type) {
	case nil:
	case []string:
		elems = x
	default:
		panic(fmt.Sprintf("odata: record field %q holds %T, but the schema says %v", n.field, x, StringCollection))
	}
	if n.body == nil {
		return len(elems) > 0
	}
	for _, e := range elems {
		if n.body.eval(r, e) != n.all {
			return !n.all
		}
	}
	return n.all
}

// filterParser parses a $filter value with one token of lookahead.
type filterParser struct {
	lx       lexer
	tok      token
	schema   *Schema
	rangeVar string // the lambda variable in scope, or ""
	depth    int    // current nesting: open parentheses, "not"s and lambdas
	nodes    int    // nodes made so far (and, or, not, comparisons, in-list values, functions, lambdas)
}

// nest enters one level of nesting at t (a "(", "not" or lambda),
// refusing the filter past MaxFilterDepth before the parser recurses.
// The caller calls unnest when the level is parsed.
func (p *filterParser) nest(t token) error {
	p.depth++
	if p.depth > MaxFilterDepth {
		return p.semanticErr(t, "$filter is nested more than %d levels deep (parentheses, 'not' and lambdas count)", MaxFilterDepth)
	}
	return nil
}

func (p *filterParser) unnest() { p.depth-- }

// node counts n more nodes made at t, refusing the filter past
// MaxFilterNodes, so evaluating a record costs at most that many steps.
func (p *filterParser) node(t token, n int) error {
	p.nodes += n
	if p.nodes > MaxFilterNodes {
		return p.semanticErr(t, "$filter has more than %d terms (comparisons, 'in' values, functions, lambdas, 'and', 'or' and 'not' count)", MaxFilterNodes)
	}
	return nil
}

// parseFilter parses src against schema; Parse has checked its length.
func parseFilter(src string, schema *Schema) (node, error) {
	p := &filterParser{lx: lexer{option: "$filter", src: src}, schema: schema}
	if err := p.advance(); err != nil {
		return nil, err
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.lx.errAt(p.tok.pos, "unexpected %s after a complete expression", p.tok.describe())
	}
	return n, nil
}

func (p *filterParser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// isKeyword reports whether the current token is the keyword kw.
func (p *filterParser) isKeyword(kw string) bool {
	return p.tok.kind == tokIdent && strings.EqualFold(p.tok.text, kw)
}

// semanticErr returns an *Error about a well-formed but invalid filter.
func (p *filterParser) semanticErr(t token, format string, args ...any) *Error {
	e := p.lx.errAt(t.pos, "")
	e.Detail = fmt.Sprintf(format, args...)
	return e
}

func (p *filterParser) expect(kind tokenKind, what string) error {
	if p.tok.kind != kind {
		return p.lx.errAt(p.tok.pos, "expected %s, found %s", what, p.tok.describe())
	}
	return p.advance()
}

// expr = and { "or" and }
func (p *filterParser) expr() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		if err := p.node(p.tok, 1); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &orNode{l, r}
	}
	return l, nil
}

// and = unary { "and" unary }
func (p *filterParser) and() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		if err := p.node(p.tok, 1); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &andNode{l, r}
	}
	return l, nil
}

// unary = "not" unary | primary. "not" applies to a whole comparison:
// "not status eq 'x'" is "not (status eq 'x')".
func (p *filterParser) unary() (node, error) {
	if p.isKeyword("not") {
		if err := p.nest(p.tok); err != nil {
			return nil, err
		}
		defer p.unnest()
		if err := p.node(p.tok, 1); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &notNode{x}, nil
	}
	return p.primary()
}

// primary = "(" expr ")" | func "(" operand "," string ")" |
// field "/" ("any"|"all") "(" [var ":" expr] ")" |
// operand (cmpop literal | "in" "(" literal {"," literal} ")") | boolField
func (p *filterParser) primary() (node, error) {
	switch p.tok.kind {
	case tokLParen:
		if err := p.nest(p.tok); err != nil {
			return nil, err
		}
		defer p.unnest()
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tokRParen, "')'"); err != nil {
			return nil, err
		}
		return n, nil
	case tokIdent:
		if reserved[strings.ToLower(p.tok.text)] {
			return nil, p.lx.errAt(p.tok.pos, "expected a property name, found %s", p.tok.describe())
		}
	default:
		return nil, p.lx.errAt(p.tok.pos, "expected a property name, found %s", p.tok.describe())
	}
	name := p.tok
	if err := p.node(name, 1); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if fn, ok := stringFuncs[strings.ToLower(name.text)]; ok && p.tok.kind == tokLParen {
		return p.function(name, fn)
	}
	if p.tok.kind == tokSlash {
		return p.lambda(name)
	}
	o, err := p.resolve(name)
	if err != nil {
		return nil, err
	}
	if o.typ == StringCollection {
		return nil, p.semanticErr(name, "property '%s' is a collection; use %s/any(t: t eq 'value')", o.name, o.name)
	}
	if p.isKeyword("in") {
		return p.in(o)
	}
	if op, ok := cmpOps[strings.ToLower(p.tok.text)]; ok && p.tok.kind == tokIdent {
		opTok := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		lit, err := p.literal(o, opTok)
		if err != nil {
			return nil, err
		}
		return &cmpNode{operand: o, op: op, lit: lit}, nil
	}
	if o.typ == Bool {
		return &cmpNode{operand: o, op: opEq, lit: scalar{b: true}}, nil
	}
	return nil, p.lx.errAt(p.tok.pos, "expected a comparison operator after '%s', found %s", name.text, p.tok.describe())
}

// resolve turns a name into the lambda variable or a schema field.
func (p *filterParser) resolve(name token) (operand, error) {
	if p.rangeVar != "" && strings.EqualFold(name.text, p.rangeVar) {
		return operand{name: p.rangeVar, typ: String, isVar: true}, nil
	}
	f, ok := p.schema.Lookup(name.text)
	if !ok {
		return operand{}, p.semanticErr(name, "property '%s' is not filterable", name.text)
	}
	return operand{name: f.Name, typ: f.Type}, nil
}

// function parses the rest of "startswith(operand,'arg')"; the current
// token is "(".
func (p *filterParser) function(name token, fn func(s, arg string) bool) (node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tokIdent || reserved[strings.ToLower(p.tok.text)] {
		return nil, p.lx.errAt(p.tok.pos, "expected a property name, found %s", p.tok.describe())
	}
	o, err := p.resolve(p.tok)
	if err != nil {
		return nil, err
	}
	if o.typ != String {
		return nil, p.semanticErr(p.tok, "%s() needs an Edm.String argument, but %s is %v", strings.ToLower(name.text), o.describe(), o.typ)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expect(tokComma, "','"); err != nil {
		return nil, err
	}
	if p.tok.kind != tokString {
		return nil, p.lx.errAt(p.tok.pos, "expected a string literal, found %s", p.tok.describe())
	}
	arg := p.tok.text
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	n := &funcNode{operand: o, fn: fn, arg: arg}
	if fn == nil {
		n.needle = newFoldNeedle(arg)
	}
	return n, nil
}

// lambda parses the rest of "field/any(v: body)"; the current token is "/".
func (p *filterParser) lambda(name token) (node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	all := p.isKeyword("all")
	if !all && !p.isKeyword("any") {
		return nil, p.lx.errAt(p.tok.pos, "expected 'any' or 'all' after '%s/', found %s", name.text, p.tok.describe())
	}
	kw := p.tok
	if p.rangeVar != "" {
		return nil, p.semanticErr(kw, "nested lambda expressions are not supported")
	}
	if err := p.nest(kw); err != nil {
		return nil, err
	}
	defer p.unnest()
	f, ok := p.schema.Lookup(name.text)
	if !ok {
		return nil, p.semanticErr(name, "property '%s' is not filterable", name.text)
	}
	if f.Type != StringCollection {
		return nil, p.semanticErr(name, "property '%s' is %v, not a collection; %s/%s() needs a collection", f.Name, f.Type, f.Name, strings.ToLower(kw.text))
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expect(tokLParen, "'('"); err != nil {
		return nil, err
	}
	n := &lambdaNode{field: f.Name, all: all}
	if p.tok.kind == tokRParen {
		if all {
			return nil, p.lx.errAt(p.tok.pos, "all() needs a lambda expression such as all(t: t eq 'value')")
		}
		return n, p.advance()
	}
	if p.tok.kind != tokIdent || reserved[strings.ToLower(p.tok.text)] {
		return nil, p.lx.errAt(p.tok.pos, "expected a lambda variable name, found %s", p.tok.describe())
	}
	if _, clash := p.schema.Lookup(p.tok.text); clash {
		return nil, p.semanticErr(p.tok, "lambda variable '%s' has the name of a property", p.tok.text)
	}
	p.rangeVar = p.tok.text
	defer func() { p.rangeVar = "" }()
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expect(tokColon, "':'"); err != nil {
		return nil, err
	}
	body, err := p.expr()
	if err != nil {
		return nil, err
	}
	if err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	n.body = body
	return n, nil
}

// in parses the rest of "operand in ('a','b')"; the current token is "in".
func (p *filterParser) in(o operand) (node, error) {
	inTok := p.tok
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.expect(tokLParen, "'(' after 'in'"); err != nil {
		return nil, err
	}
	n := &inNode{operand: o}
	if p.tok.kind == tokRParen {
		return n, p.advance()
	}
	for {
		if err := p.node(p.tok, 1); err != nil {
			return nil, err
		}
		lit, err := p.literal(o, inTok)
		if err != nil {
			return nil, err
		}
		n.list = append(n.list, lit)
		if p.tok.kind == tokRParen {
			return n, p.advance()
		}
		if err := p.expect(tokComma, "',' or ')'"); err != nil {
			return nil, err
		}
	}
}

// literalType names the EDM type of a literal token.
func literalType(t token) string {
	switch t.kind {
	case tokString:
		return "Edm.String"
	case tokNumber:
		return "Edm.Int64"
	case tokDate:
		return "Edm.DateTimeOffset"
	}
	return "Edm.Boolean"
}

// literal parses the current token as a literal compared with o after the
// operator op, converted to o's type.
func (p *filterParser) literal(o operand, op token) (scalar, error) {
	t := p.tok
	switch {
	case t.kind == tokIdent && strings.EqualFold(t.text, "null"):
		return scalar{null: true}, p.advance()
	case t.kind == tokIdent && (strings.EqualFold(t.text, "true") || strings.EqualFold(t.text, "false")):
	case t.kind == tokString, t.kind == tokNumber, t.kind == tokDate:
	default:
		return scalar{}, p.lx.errAt(t.pos, "expected a literal after '%s', found %s", op.text, t.describe())
	}
	mismatch := func() (scalar, error) {
		return scalar{}, p.semanticErr(t, "incompatible types for '%s': %s is %v, but %s is %s",
			strings.ToLower(op.text), o.describe(), o.typ, t.describe(), literalType(t))
	}
	var v scalar
	switch o.typ {
	case String:
		if t.kind != tokString {
			return mismatch()
		}
		v.s = t.text
	case DateTime:
		switch t.kind {
		case tokDate:
			v.t, _ = parseDateTime(t.text)
		case tokString:
			d, ok := parseDateTime(t.text)
			if !ok {
				return scalar{}, p.semanticErr(t, "%s is not a valid Edm.DateTimeOffset value for %s", t.describe(), o.describe())
			}
			v.t = d
		default:
			return mismatch()
		}
	case Int:
		if t.kind != tokNumber {
			return mismatch()
		}
		i, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return scalar{}, p.semanticErr(t, "integer literal %s is out of range", t.text)
		}
		v.i = i
	case Bool:
		if t.kind != tokIdent {
			return mismatch()
		}
		v.b = strings.EqualFold(t.text, "true")
	}
	return v, p.advance()
}
