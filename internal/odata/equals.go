package odata

// Equals returns the values that a record's field must equal for the
// record to pass $filter, when the filter says so: it is "field eq 'v'"
// or "field in ('v', …)", or an "and" with one of these among its terms
// (at any depth of "and"s and parentheses). Every record that Match
// accepts then has field equal to one of values, compared as $filter
// compares strings (ignoring case); an empty list matches nothing. ok is
// false when the filter pins no values (no $filter; the field only under
// "or" or "not", in a lambda, or compared with null). field is the
// schema's name of a String field.
//
// An endpoint uses it to read only the records an index holds for the
// values; Match still decides which of them pass.
func (q *Query) Equals(field string) (values []string, ok bool) {
	return equalsIn(q.filter, field)
}

func equalsIn(n node, field string) ([]string, bool) {
	switch n := n.(type) {
	case *andNode:
		if v, ok := equalsIn(n.l, field); ok {
			return v, true
		}
		return equalsIn(n.r, field)
	case *cmpNode:
		if n.isVar || n.name != field || n.typ != String || n.op != opEq || n.lit.null {
			return nil, false
		}
		return []string{n.lit.s}, true
	case *inNode:
		if n.isVar || n.name != field || n.typ != String {
			return nil, false
		}
		values := make([]string, 0, len(n.list))
		for _, l := range n.list {
			if l.null {
				return nil, false
			}
			values = append(values, l.s)
		}
		return values, true
	}
	return nil, false
}
