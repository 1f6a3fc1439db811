// Package jsonscan reads JSON text in place, for the hand-written readers
// of the request path: the request validator's one-pass scan and its
// generic decoder (openapi), and the runliveresponse body reader
// (emulator). Each step reads a few bytes at the cursor and allocates
// nothing: white space, one expected byte, a literal, and a string
// written plainly, the one kind these readers take without decoding.
// A step checks only what it reads; the grammar around it is the
// reader's.
package jsonscan

// Cursor is a place in a JSON text: Data[Pos] is the next byte to read.
type Cursor struct {
	Data []byte
	Pos  int
}

// Space steps over JSON white space (space, tab, line feed, carriage
// return).
func (c *Cursor) Space() {
	for c.Pos < len(c.Data) {
		switch c.Data[c.Pos] {
		case ' ', '\t', '\n', '\r':
			c.Pos++
		default:
			return
		}
	}
}

// Next reports whether the byte at the cursor is b, and steps over it if
// so.
func (c *Cursor) Next(b byte) bool {
	if c.Pos < len(c.Data) && c.Data[c.Pos] == b {
		c.Pos++
		return true
	}
	return false
}

// Literal reports whether lit (true, false, null) is at the cursor, and
// steps over it if so.
func (c *Cursor) Literal(lit string) bool {
	if len(c.Data)-c.Pos < len(lit) || string(c.Data[c.Pos:c.Pos+len(lit)]) != lit {
		return false
	}
	c.Pos += len(lit)
	return true
}

// PlainString reads the string at the cursor (on its opening quote) when
// it is written without escapes, control characters or bytes from 0x80
// up, and returns its bytes, which are then what it decodes to, and
// steps over it. Any other string, or none, is false, and the cursor
// stays.
func (c *Cursor) PlainString() ([]byte, bool) {
	if c.Pos >= len(c.Data) || c.Data[c.Pos] != '"' {
		return nil, false
	}
	start := c.Pos + 1
	for i := start; i < len(c.Data); i++ {
		switch b := c.Data[i]; {
		case b == '"':
			c.Pos = i + 1
			return c.Data[start:i], true
		case b == '\\' || b < 0x20 || b >= 0x80:
			return nil, false
		}
	}
	return nil, false
}
