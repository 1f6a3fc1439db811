package openapi

import "github.com/mdelive/mde-emulator/internal/jsonscan"

// The fast path's first step. Decoding a body into generic values (maps,
// slices, boxed strings) only to check it against its schema and drop the
// values was most of the fast path's cost. scan checks the body against
// the compiled schema in one pass over its bytes and builds nothing; the
// value is decoded only if someone asks for it (ValidatedBody).
//
// scan judges only what it can judge exactly: an object key or an enum
// value written with escapes or non-ASCII bytes, a number with an
// exponent, deep nesting under a property the schema leaves open — all
// rare in a client's body — make it answer false, which sends the body to
// the decoding check (schemaNode.valid), then to kin-openapi. So when scan
// accepts a body, valid accepts it too (a test and a fuzz test hold it);
// the verdicts a client sees are valid's and kin-openapi's, as before.

// maxScanDepth bounds the nesting scan follows under an open property; a
// deeper value is left to the decoding check.
const maxScanDepth = 64

// maxScanNumber bounds the length of a number scan accepts: without an
// exponent, 300 characters are far within float64's range, which
// decodeJSONValue requires.
const maxScanNumber = 300

// scanner is one pass over a JSON body.
type scanner struct {
	jsonscan.Cursor
}

// scan reports whether data is one JSON value, surrounded by white space
// only, that n accepts. False means "not judged here", not "invalid".
func (n *schemaNode) scan(data []byte) bool {
	s := scanner{jsonscan.Cursor{Data: data}}
	s.Space()
	if !s.check(n) {
		return false
	}
	s.Space()
	return s.Pos == len(s.Data)
}

// check scans the value at s.Pos against n.
func (s *scanner) check(n *schemaNode) bool {
	if s.Pos >= len(s.Data) {
		return false
	}
	c := s.Data[s.Pos]
	if c == 'n' {
		return n.nullable && s.Literal("null")
	}
	switch n.typ {
	case "string":
		if c != '"' {
			return false
		}
		if n.enum == nil {
			return s.skipString()
		}
		str, ok := s.PlainString()
		if !ok {
			return false
		}
		for _, e := range n.enum {
			if string(str) == e {
				return true
			}
		}
		return false
	case "boolean":
		return c == 't' && s.Literal("true") || c == 'f' && s.Literal("false")
	case "array":
		return c == '[' && s.array(n)
	case "object":
		return c == '{' && s.object(n)
	}
	return false
}

// array scans an array (at its '[') against n.
func (s *scanner) array(n *schemaNode) bool {
	s.Pos++
	s.Space()
	var count uint64
	if !s.Next(']') {
		for {
			if !s.check(n.items) {
				return false
			}
			count++
			s.Space()
			if s.Next(']') {
				break
			}
			if !s.Next(',') {
				return false
			}
			s.Space()
		}
	}
	return count >= n.minItems && (n.maxItems == nil || count <= *n.maxItems)
}

// object scans an object (at its '{') against n: each known property
// against its schema, the others as any JSON value when n is open, and
// then the required ones present. A property given twice is checked each
// time, which is stricter than the decoded map (the last one wins).
func (s *scanner) object(n *schemaNode) bool {
	if len(n.required) > 64 {
		return false
	}
	s.Pos++
	s.Space()
	var seen uint64 // bit i: n.required[i] was given
	if !s.Next('}') {
		for {
			key, ok := s.PlainString()
			if !ok {
				return false
			}
			s.Space()
			if !s.Next(':') {
				return false
			}
			s.Space()
			if p := n.properties[string(key)]; p != nil {
				if !s.check(p) {
					return false
				}
				for i, r := range n.required {
					if string(key) == r {
						seen |= 1 << i
					}
				}
			} else if n.closed || !s.skipValue(0) {
				return false
			}
			s.Space()
			if s.Next('}') {
				break
			}
			if !s.Next(',') {
				return false
			}
			s.Space()
		}
	}
	return seen == 1<<len(n.required)-1
}

// skipValue scans any JSON value, the grammar checked as decodeJSONValue
// checks it.
func (s *scanner) skipValue(depth int) bool {
	if s.Pos >= len(s.Data) || depth > maxScanDepth {
		return false
	}
	switch c := s.Data[s.Pos]; {
	case c == '"':
		return s.skipString()
	case c == 't':
		return s.Literal("true")
	case c == 'f':
		return s.Literal("false")
	case c == 'n':
		return s.Literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.skipNumber()
	case c == '[':
		s.Pos++
		s.Space()
		if s.Next(']') {
			return true
		}
		for {
			if !s.skipValue(depth + 1) {
				return false
			}
			s.Space()
			if s.Next(']') {
				return true
			}
			if !s.Next(',') {
				return false
			}
			s.Space()
		}
	case c == '{':
		s.Pos++
		s.Space()
		if s.Next('}') {
			return true
		}
		for {
			if s.Pos >= len(s.Data) || s.Data[s.Pos] != '"' || !s.skipString() {
				return false
			}
			s.Space()
			if !s.Next(':') {
				return false
			}
			s.Space()
			if !s.skipValue(depth + 1) {
				return false
			}
			s.Space()
			if s.Next('}') {
				return true
			}
			if !s.Next(',') {
				return false
			}
			s.Space()
		}
	}
	return false
}

// skipString scans a string (at its opening quote), its escapes checked
// as decodeJSONValue checks them; any byte from 0x80 up is accepted, as
// decodeJSONValue accepts it (invalid UTF-8 becomes U+FFFD).
func (s *scanner) skipString() bool {
	for i := s.Pos + 1; i < len(s.Data); i++ {
		switch c := s.Data[i]; {
		case c == '"':
			s.Pos = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 >= len(s.Data) {
				return false
			}
			switch s.Data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if _, ok := hex4(s.Data, i+2); !ok {
					return false
				}
				i += 5
			default:
				return false
			}
		}
	}
	return false
}

// skipNumber scans a number of the JSON grammar without an exponent and
// at most maxScanNumber characters long.
func (s *scanner) skipNumber() bool {
	i := s.Pos
	if s.Data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s.Data) && '0' <= s.Data[i] && s.Data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s.Data) && s.Data[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s.Data) && s.Data[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s.Data) && (s.Data[i] == 'e' || s.Data[i] == 'E') || i-s.Pos > maxScanNumber {
		return false
	}
	s.Pos = i
	return true
}
