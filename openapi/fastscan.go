package openapi

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
	data []byte
	pos  int
}

// scan reports whether data is one JSON value, surrounded by white space
// only, that n accepts. False means "not judged here", not "invalid".
func (n *schemaNode) scan(data []byte) bool {
	s := scanner{data: data}
	s.space()
	if !s.check(n) {
		return false
	}
	s.space()
	return s.pos == len(s.data)
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// next reports whether the byte at s.pos is c, and steps over it if so.
func (s *scanner) next(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// check scans the value at s.pos against n.
func (s *scanner) check(n *schemaNode) bool {
	if s.pos >= len(s.data) {
		return false
	}
	c := s.data[s.pos]
	if c == 'n' {
		return n.nullable && s.literal("null")
	}
	switch n.typ {
	case "string":
		if c != '"' {
			return false
		}
		if n.enum == nil {
			return s.skipString()
		}
		str, ok := s.plainString()
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
		return c == 't' && s.literal("true") || c == 'f' && s.literal("false")
	case "array":
		return c == '[' && s.array(n)
	case "object":
		return c == '{' && s.object(n)
	}
	return false
}

// array scans an array (at its '[') against n.
func (s *scanner) array(n *schemaNode) bool {
	s.pos++
	s.space()
	var count uint64
	if !s.next(']') {
		for {
			if !s.check(n.items) {
				return false
			}
			count++
			s.space()
			if s.next(']') {
				break
			}
			if !s.next(',') {
				return false
			}
			s.space()
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
	s.pos++
	s.space()
	var seen uint64 // bit i: n.required[i] was given
	if !s.next('}') {
		for {
			key, ok := s.plainString()
			if !ok {
				return false
			}
			s.space()
			if !s.next(':') {
				return false
			}
			s.space()
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
			s.space()
			if s.next('}') {
				break
			}
			if !s.next(',') {
				return false
			}
			s.space()
		}
	}
	return seen == 1<<len(n.required)-1
}

// skipValue scans any JSON value, the grammar checked as decodeJSONValue
// checks it.
func (s *scanner) skipValue(depth int) bool {
	if s.pos >= len(s.data) || depth > maxScanDepth {
		return false
	}
	switch c := s.data[s.pos]; {
	case c == '"':
		return s.skipString()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.skipNumber()
	case c == '[':
		s.pos++
		s.space()
		if s.next(']') {
			return true
		}
		for {
			if !s.skipValue(depth + 1) {
				return false
			}
			s.space()
			if s.next(']') {
				return true
			}
			if !s.next(',') {
				return false
			}
			s.space()
		}
	case c == '{':
		s.pos++
		s.space()
		if s.next('}') {
			return true
		}
		for {
			if s.pos >= len(s.data) || s.data[s.pos] != '"' || !s.skipString() {
				return false
			}
			s.space()
			if !s.next(':') {
				return false
			}
			s.space()
			if !s.skipValue(depth + 1) {
				return false
			}
			s.space()
			if s.next('}') {
				return true
			}
			if !s.next(',') {
				return false
			}
			s.space()
		}
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if len(s.data)-s.pos < len(lit) || string(s.data[s.pos:s.pos+len(lit)]) != lit {
		return false
	}
	s.pos += len(lit)
	return true
}

// plainString scans a string (at its opening quote) written without
// escapes, control characters or non-ASCII bytes, and returns its bytes:
// what it decodes to. Any other string is false.
func (s *scanner) plainString() ([]byte, bool) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, false
	}
	start := s.pos + 1
	for i := start; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '"':
			s.pos = i + 1
			return s.data[start:i], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

// skipString scans a string (at its opening quote), its escapes checked
// as decodeJSONValue checks them; any byte from 0x80 up is accepted, as
// decodeJSONValue accepts it (invalid UTF-8 becomes U+FFFD).
func (s *scanner) skipString() bool {
	for i := s.pos + 1; i < len(s.data); i++ {
		switch c := s.data[i]; {
		case c == '"':
			s.pos = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 >= len(s.data) {
				return false
			}
			switch s.data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if _, ok := hex4(s.data, i+2); !ok {
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
	i := s.pos
	if s.data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s.data) && '0' <= s.data[i] && s.data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s.data) && s.data[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s.data) && s.data[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s.data) && (s.data[i] == 'e' || s.data[i] == 'E') || i-s.pos > maxScanNumber {
		return false
	}
	s.pos = i
	return true
}
