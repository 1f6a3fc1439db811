package odata

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokenKind is the kind of a lexical token of $filter or $orderby.
type tokenKind int

const (
	tokEOF    tokenKind = iota
	tokIdent            // a name or keyword: status, eq, and, true, null …
	tokString           // 'text' ('' is an escaped quote); text holds the unescaped value
	tokNumber           // -12
	tokDate             // 2024-01-01T00:00:00Z, 2018-08-01Z (unquoted)
	tokLParen
	tokRParen
	tokComma
	tokColon
	tokSlash
)

// token is one lexical token. pos is its byte offset in the source.
type token struct {
	kind tokenKind
	text string
	pos  int
}

// describe returns the token as an error message shows it.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of input"
	case tokString:
		return "'" + strings.ReplaceAll(t.text, "'", "''") + "'"
	default:
		return "'" + t.text + "'"
	}
}

// lexer splits a $filter or $orderby value into tokens.
type lexer struct {
	option string // "$filter" or "$orderby", for errors
	src    string
	off    int
}

// errAt returns a syntax *Error at byte offset off of the source.
func (l *lexer) errAt(off int, format string, args ...any) *Error {
	pos := utf8.RuneCountInString(l.src[:min(off, len(l.src))]) + 1
	return &Error{
		Option: l.option,
		Pos:    pos,
		Detail: fmt.Sprintf("syntax error at position %d in %s '%s': %s", pos, l.option, l.src, fmt.Sprintf(format, args...)),
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdentStart(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// isLiteralPart reports whether c may continue a number or an unquoted
// date-time literal (2024-01-01T10:00:00.5+02:00).
func isLiteralPart(c byte) bool {
	return isIdentPart(c) || c == '-' || c == '+' || c == ':' || c == '.'
}

// next returns the next token.
func (l *lexer) next() (token, error) {
	for l.off < len(l.src) && isSpace(l.src[l.off]) {
		l.off++
	}
	start := l.off
	if start >= len(l.src) {
		return token{kind: tokEOF, pos: start}, nil
	}
	c := l.src[start]
	switch {
	case c == '(':
		l.off++
		return token{kind: tokLParen, text: "(", pos: start}, nil
	case c == ')':
		l.off++
		return token{kind: tokRParen, text: ")", pos: start}, nil
	case c == ',':
		l.off++
		return token{kind: tokComma, text: ",", pos: start}, nil
	case c == ':':
		l.off++
		return token{kind: tokColon, text: ":", pos: start}, nil
	case c == '/':
		l.off++
		return token{kind: tokSlash, text: "/", pos: start}, nil
	case c == '\'':
		return l.quoted()
	case isIdentStart(c):
		for l.off < len(l.src) && isIdentPart(l.src[l.off]) {
			l.off++
		}
		return token{kind: tokIdent, text: l.src[start:l.off], pos: start}, nil
	case isDigit(c) || c == '-' && start+1 < len(l.src) && isDigit(l.src[start+1]):
		l.off++
		for l.off < len(l.src) && isLiteralPart(l.src[l.off]) {
			l.off++
		}
		text := l.src[start:l.off]
		if isInteger(text) {
			return token{kind: tokNumber, text: text, pos: start}, nil
		}
		if _, ok := parseDateTime(text); ok {
			return token{kind: tokDate, text: text, pos: start}, nil
		}
		if len(text) == 5 && text[2] == ':' && start > 0 && l.src[start-1] == ' ' {
			return token{}, l.errAt(start, "invalid literal '%s' (a '+' that is not URL-encoded as %%2B reads as a space)", text)
		}
		return token{}, l.errAt(start, "invalid literal '%s'", text)
	default:
		r, _ := utf8.DecodeRuneInString(l.src[start:])
		return token{}, l.errAt(start, "unexpected character '%c'", r)
	}
}

// quoted scans a single-quoted string literal starting at l.off.
func (l *lexer) quoted() (token, error) {
	start := l.off
	var b strings.Builder
	i := start + 1
	for {
		j := strings.IndexByte(l.src[i:], '\'')
		if j < 0 {
			return token{}, l.errAt(start, "unterminated string literal")
		}
		b.WriteString(l.src[i : i+j])
		i += j + 1
		if i < len(l.src) && l.src[i] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		break
	}
	l.off = i
	return token{kind: tokString, text: b.String(), pos: start}, nil
}

// isInteger reports whether s is an optional minus followed by digits.
func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
