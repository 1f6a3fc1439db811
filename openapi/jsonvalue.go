package openapi

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/mdelive/mde-emulator/internal/jsonscan"
)

// maxJSONDepth bounds the nesting of a decoded body, as encoding/json does.
const maxJSONDepth = 10000

// decodeJSONValue decodes data into the generic values encoding/json gives
// for an any (map[string]any, []any, string, float64, bool, nil), with the
// same acceptance: one JSON value, surrounded by white space only. It is a
// single pass over the bytes without reflection: validation decodes every
// request body, and this takes half the time of json.Unmarshal.
//
// words are strings the caller expects, already boxed (words[s] == s): an
// object key or a string value among them costs no allocation. The fast
// path passes the property names and enum values of the body's schema, read
// from the document; nil is fine.
func decodeJSONValue(data []byte, words map[string]any) (any, error) {
	d := jsonDecoder{Cursor: jsonscan.Cursor{Data: data}, words: words}
	d.Space()
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	d.Space()
	if d.Pos != len(d.Data) {
		return nil, d.errorf("invalid character %q after top-level value", d.Data[d.Pos])
	}
	return v, nil
}

type jsonDecoder struct {
	jsonscan.Cursor
	words map[string]any
}

func (d *jsonDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", d.Pos, fmt.Sprintf(format, args...))
}

var errJSONEnd = errors.New("unexpected end of JSON input")

func (d *jsonDecoder) value(depth int) (any, error) {
	if d.Pos >= len(d.Data) {
		return nil, errJSONEnd
	}
	if depth > maxJSONDepth {
		return nil, d.errorf("exceeded max depth")
	}
	switch c := d.Data[d.Pos]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		return d.string()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		return d.number()
	default:
		return nil, d.errorf("invalid character %q looking for beginning of value", c)
	}
}

func (d *jsonDecoder) literal(lit string) error {
	if d.Literal(lit) {
		return nil
	}
	if len(d.Data)-d.Pos < len(lit) && string(d.Data[d.Pos:]) == lit[:len(d.Data)-d.Pos] {
		return errJSONEnd
	}
	return d.errorf("invalid literal, expected %s", lit)
}

func (d *jsonDecoder) object(depth int) (any, error) {
	d.Pos++ // {
	m := make(map[string]any, 4)
	d.Space()
	if d.Pos < len(d.Data) && d.Data[d.Pos] == '}' {
		d.Pos++
		return m, nil
	}
	for {
		if d.Pos >= len(d.Data) {
			return nil, errJSONEnd
		}
		if d.Data[d.Pos] != '"' {
			return nil, d.errorf("invalid character %q looking for beginning of object key string", d.Data[d.Pos])
		}
		k, err := d.key()
		if err != nil {
			return nil, err
		}
		d.Space()
		if d.Pos >= len(d.Data) {
			return nil, errJSONEnd
		}
		if d.Data[d.Pos] != ':' {
			return nil, d.errorf("invalid character %q after object key", d.Data[d.Pos])
		}
		d.Pos++
		d.Space()
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.Space()
		if d.Pos >= len(d.Data) {
			return nil, errJSONEnd
		}
		switch d.Data[d.Pos] {
		case ',':
			d.Pos++
			d.Space()
		case '}':
			d.Pos++
			return m, nil
		default:
			return nil, d.errorf("invalid character %q after object key:value pair", d.Data[d.Pos])
		}
	}
}

func (d *jsonDecoder) array(depth int) (any, error) {
	d.Pos++ // [
	a := make([]any, 0, 4)
	d.Space()
	if d.Pos < len(d.Data) && d.Data[d.Pos] == ']' {
		d.Pos++
		return a, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.Space()
		if d.Pos >= len(d.Data) {
			return nil, errJSONEnd
		}
		switch d.Data[d.Pos] {
		case ',':
			d.Pos++
			d.Space()
		case ']':
			d.Pos++
			return a, nil
		default:
			return nil, d.errorf("invalid character %q after array element", d.Data[d.Pos])
		}
	}
}

// key decodes an object key, without allocating for one of d.words.
func (d *jsonDecoder) key() (string, error) {
	v, err := d.string()
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// string decodes a JSON string at d.Pos (on its opening quote). One of
// d.words costs nothing; another without escapes or non-ASCII bytes, two
// allocations (the string and its box).
func (d *jsonDecoder) string() (any, error) {
	start := d.Pos + 1
	for i := start; i < len(d.Data); i++ {
		switch c := d.Data[i]; {
		case c == '"':
			d.Pos = i + 1
			if v, ok := d.words[string(d.Data[start:i])]; ok {
				return v, nil
			}
			return string(d.Data[start:i]), nil
		case c == '\\' || c >= utf8.RuneSelf:
			return d.slowString(start)
		case c < 0x20:
			d.Pos = i
			return nil, d.errorf("invalid character %q in string literal", c)
		}
	}
	d.Pos = len(d.Data)
	return nil, errJSONEnd
}

// slowString decodes a string with escapes or non-ASCII bytes, replacing
// invalid UTF-8 with U+FFFD as encoding/json does.
func (d *jsonDecoder) slowString(start int) (any, error) {
	b := make([]byte, 0, 32)
	i := start
	for i < len(d.Data) {
		c := d.Data[i]
		switch {
		case c == '"':
			d.Pos = i + 1
			return string(b), nil
		case c < 0x20:
			d.Pos = i
			return nil, d.errorf("invalid character %q in string literal", c)
		case c == '\\':
			if i+1 >= len(d.Data) {
				d.Pos = len(d.Data)
				return nil, errJSONEnd
			}
			switch e := d.Data[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
			case 'b':
				b, i = append(b, '\b'), i+2
			case 'f':
				b, i = append(b, '\f'), i+2
			case 'n':
				b, i = append(b, '\n'), i+2
			case 'r':
				b, i = append(b, '\r'), i+2
			case 't':
				b, i = append(b, '\t'), i+2
			case 'u':
				r, ok := hex4(d.Data, i+2)
				if !ok {
					d.Pos = i
					if len(d.Data) < i+6 {
						return nil, errJSONEnd
					}
					return nil, d.errorf("invalid character in \\u hexadecimal character escape")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+1 < len(d.Data) && d.Data[i] == '\\' && d.Data[i+1] == 'u' {
						r2, ok = hex4(d.Data, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.Pos = i + 1
				return nil, d.errorf("invalid character %q in string escape code", e)
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.Data[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, d.Data[i:i+size]...)
			}
			i += size
		}
	}
	d.Pos = len(d.Data)
	return nil, errJSONEnd
}

// hex4 reads four hex digits at data[i:].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number decodes a JSON number (the grammar checked strictly) to float64.
func (d *jsonDecoder) number() (any, error) {
	start := d.Pos
	i := d.Pos
	if d.Data[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(d.Data) && '0' <= d.Data[i] && d.Data[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(d.Data) && d.Data[i] == '0' {
		i++
	} else if digits() == 0 {
		d.Pos = i
		if i >= len(d.Data) {
			return nil, errJSONEnd
		}
		return nil, d.errorf("invalid character %q in numeric literal", d.Data[i])
	}
	if i < len(d.Data) && d.Data[i] == '.' {
		i++
		if digits() == 0 {
			d.Pos = i
			if i >= len(d.Data) {
				return nil, errJSONEnd
			}
			return nil, d.errorf("invalid character %q after decimal point in numeric literal", d.Data[i])
		}
	}
	if i < len(d.Data) && (d.Data[i] == 'e' || d.Data[i] == 'E') {
		i++
		if i < len(d.Data) && (d.Data[i] == '+' || d.Data[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.Pos = i
			if i >= len(d.Data) {
				return nil, errJSONEnd
			}
			return nil, d.errorf("invalid character %q in exponent of numeric literal", d.Data[i])
		}
	}
	d.Pos = i
	f, err := strconv.ParseFloat(string(d.Data[start:i]), 64)
	if err != nil {
		return nil, d.errorf("number %s out of range", d.Data[start:i])
	}
	return f, nil
}
