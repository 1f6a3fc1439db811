// Package odata parses and evaluates the OData query options of the two
// list endpoints that take them, GET /api/machineactions and
// GET /api/machines: $filter, $orderby, $top, $skip and $count. It knows
// nothing of machines or actions: an endpoint describes its filterable
// fields with a Schema and hands its records over as Records.
//
// A handler parses once per request and then pages its records:
//
//	q, err := odata.Parse(c.QueryParams(), machineActionSchema, odata.Options{})
//	if err != nil {
//		return apierr.New(apierr.ODataError, "%s", err) // err is an *odata.Error
//	}
//	page := odata.Apply(q, actions) // actions in the endpoint's default order
//	// or odata.ApplySeq(q, seq): records read as they are asked for, and
//	// no more of them than the page needs unless $count or $orderby does;
//	// page.Items → "value"; page.Count → "@odata.count" when q.Count();
//	// page.NextQuery(c.QueryParams()) → the query of "@odata.nextLink" when page.More.
//
// # $filter
//
// The grammar is the OData subset the service's clients send:
//
//	expr     = and { "or" and }
//	and      = unary { "and" unary }
//	unary    = "not" unary | primary
//	primary  = "(" expr ")"
//	         | operand cmpop literal                  cmpop: eq ne gt ge lt le
//	         | operand "in" "(" [literal {"," literal}] ")"
//	         | ("startswith"|"endswith"|"contains") "(" operand "," string ")"
//	         | collection "/any(" [var ":" expr] ")" | collection "/all(" var ":" expr ")"
//	         | boolField                              same as boolField eq true
//
// Precedence is not > and > or; "not" negates the whole comparison after it
// ("not status eq 'Failed'"). Keywords, function names and field names are
// case-insensitive (CreationDateTimeUtc is creationDateTimeUtc); operands
// must be schema fields, or the lambda variable inside any/all, which
// stands for one string of the collection. Lambdas do not nest.
//
// Literals: 'text' (a doubled quote stands for one quote), integers, true, false, null, and
// unquoted date-times: 2024-01-01T00:00:00Z, 2024-01-01T02:00:00.1234567+02:00,
// 2018-08-01Z, or the same forms without an offset, taken as UTC. A
// date-time field also accepts a quoted date-time ('2024-01-01T00:00:00Z').
// Each literal is checked against its field's type when parsing, and
// converted then, so evaluation does not allocate.
//
// String comparisons ignore case, as the service's SQL store does: eq, ne,
// in and the string functions match 'succeeded' to "Succeeded", and gt, ge,
// lt, le and $orderby compare lower-cased runes. Nulls follow OData: "x eq
// null" matches null values, "x ne 'a'" matches them too, and every
// ordering comparison and string function with a null is false.
//
// # $orderby, $top, $skip, $count
//
// $orderby takes schema fields other than collections, each optionally
// followed by asc or desc; nulls sort first in ascending order, and the
// endpoint's default order breaks ties. $top and $skip are integers ≥ 0,
// $top at most Options.MaxTop (10,000 by default, as on the service);
// $count is true or false. Option names are case-insensitive and an empty
// option counts as absent. Other $-options ($select, $expand, $search …)
// are errors, and parameters without "$" are ignored.
//
// # Bounds
//
// Hostile input is normal input: a $filter or $orderby over
// MaxFilterLength bytes (16 KB) is refused before it is read, and a
// $filter nested over MaxFilterDepth levels (100: parentheses, "not",
// lambdas) or with over MaxFilterNodes terms (1,000: comparisons, "in"
// values, functions, lambdas, "and", "or", "not") is refused while
// parsing, at the term that crosses the bound. Matching a record so costs
// at most MaxFilterNodes steps, each linear in the length of the value it
// reads (contains() too), times the size of a collection inside any/all.
//
// # Errors
//
// Every rejected query gives an *Error whose Error() is the message of the
// service's 400 ODataError body, "Invalid OData URI query: …", naming the
// option, the field, the type or the syntax position at fault.
package odata
