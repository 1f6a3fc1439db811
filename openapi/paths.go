package openapi

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// pathCanon rewrites request paths under the document's base path (/api)
// into the document's spelling. The real service matches its paths
// case-insensitively (its own documentation writes both /API/machines/...
// and /api/...); routers do not. Everything it knows is read from the
// document when the Validator is built.
type pathCanon struct {
	base string // the server's base path, "/api"
	// literals maps the lower-case form of every literal segment, those
	// of the base path included, to its spelling in the document.
	literals map[string]string
	// slots are the positions that hold a parameter right after a literal
	// (/machines/{id}): a literal-looking id there keeps its spelling.
	slots map[slot]bool
	// functions match the segments with an integer parameter inside, the
	// OData function calls: GetLiveResponseResultDownloadLink(index={index}).
	functions []function
	// mixedCase are the lower-case forms of the spellings that are not
	// all lower case: a path with none of them and no upper-case letter is
	// already canonical.
	mixedCase []string
}

// slot is segment i (the base path's segments counted) after the literal
// prev, in lower case.
type slot struct {
	prev string
	i    int
}

// function is a path segment with an integer parameter inside:
// prefix{param}suffix.
type function struct {
	prefix, suffix string
	match          *regexp.Regexp // the segment, any case; group 1 is the integer
}

// newPathCanon reads the path vocabulary of doc.
func newPathCanon(doc *openapi3.T) (*pathCanon, error) {
	base := "/"
	if len(doc.Servers) > 0 {
		base = doc.Servers[0].URL
	}
	if !strings.HasPrefix(base, "/") {
		return nil, fmt.Errorf("openapi: server %q: want a base path", base)
	}
	c := &pathCanon{base: strings.TrimSuffix(base, "/"), literals: map[string]string{}, slots: map[slot]bool{}}
	baseSegs := strings.Split(strings.Trim(base, "/"), "/")
	for _, seg := range baseSegs {
		c.addLiteral(seg)
	}
	for path, item := range doc.Paths.Map() {
		segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
		for i, seg := range segs {
			open, end := strings.IndexByte(seg, '{'), strings.IndexByte(seg, '}')
			switch {
			case open < 0:
				c.addLiteral(seg)
			case open == 0 && end == len(seg)-1:
				if i > 0 && !strings.Contains(segs[i-1], "{") {
					c.slots[slot{strings.ToLower(segs[i-1]), len(baseSegs) + i}] = true
				}
			default:
				if err := c.addFunction(seg, open, end, item); err != nil {
					return nil, fmt.Errorf("openapi: path %s: %w", path, err)
				}
			}
		}
	}
	return c, nil
}

func (c *pathCanon) addLiteral(seg string) {
	lower := strings.ToLower(seg)
	c.literals[lower] = seg
	if lower != seg {
		c.mixedCase = append(c.mixedCase, lower)
	}
}

// addFunction adds the segment seg, whose parameter is seg[open:end+1].
func (c *pathCanon) addFunction(seg string, open, end int, item *openapi3.PathItem) error {
	name := seg[open+1 : end]
	if strings.Contains(seg[end+1:], "{") {
		return fmt.Errorf("segment %s has more than one parameter", seg)
	}
	var p *openapi3.Parameter
	for _, ref := range item.Parameters {
		if ref.Value != nil && ref.Value.In == openapi3.ParameterInPath && ref.Value.Name == name {
			p = ref.Value
		}
	}
	if p == nil || p.Schema == nil || p.Schema.Value == nil || !p.Schema.Value.Type.Is("integer") {
		return fmt.Errorf("segment %s: parameter %s must be a path-level integer", seg, name)
	}
	prefix, suffix := seg[:open], seg[end+1:]
	for _, f := range c.functions {
		if f.prefix == prefix && f.suffix == suffix {
			return nil
		}
	}
	c.functions = append(c.functions, function{
		prefix: prefix,
		suffix: suffix,
		match:  regexp.MustCompile(`(?i)^` + regexp.QuoteMeta(prefix) + `([0-9]+)` + regexp.QuoteMeta(suffix) + `$`),
	})
	if lower := strings.ToLower(prefix); lower != prefix {
		c.mixedCase = append(c.mixedCase, lower)
	}
	return nil
}

// canonical rewrites every literal segment of p, a path under the base
// path, to the document's spelling, and the literal parts of a function
// segment with an integer argument, and reports whether it changed
// anything. Ids and file names keep their spelling; a path outside the base
// path is left as it is.
func (c *pathCanon) canonical(p string) (string, bool) {
	n := len(c.base)
	if len(p) < n || !strings.EqualFold(p[:n], c.base) || (len(p) > n && p[n] != '/') {
		return p, false
	}
	if c.isCanonical(p) {
		return p, false
	}
	segs := strings.Split(p[1:], "/")
	changed := false
	for i, seg := range segs {
		if canon, ok := c.literals[strings.ToLower(seg)]; ok {
			if canon != seg && !(i > 0 && c.slots[slot{strings.ToLower(segs[i-1]), i}]) {
				segs[i], changed = canon, true
			}
			continue
		}
		for _, f := range c.functions {
			if m := f.match.FindStringSubmatch(seg); m != nil {
				if canon := f.prefix + m[1] + f.suffix; canon != seg {
					segs[i], changed = canon, true
				}
				break
			}
		}
	}
	if !changed {
		return p, false
	}
	return "/" + strings.Join(segs, "/"), true
}

// isCanonical reports, without allocating, that p needs no rewriting: it
// has no upper-case letter, so every literal spelled in lower case is
// already in its spelling, and none of the spellings in mixed case.
func (c *pathCanon) isCanonical(p string) bool {
	for i := 0; i < len(p); i++ {
		if b := p[i]; 'A' <= b && b <= 'Z' {
			return false
		}
	}
	for _, w := range c.mixedCase {
		if strings.Contains(p, w) {
			return false
		}
	}
	return true
}
