package odata

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Page is one response's worth of records.
type Page[R Record] struct {
	// Items are the records of this response, never nil.
	Items []R
	// Count is the number of records that pass $filter, before $skip and
	// $top: the value of @odata.count.
	Count int
	// More reports whether records remain beyond this page that the
	// request asked for, so the response carries an @odata.nextLink.
	More bool

	nextSkip int
	nextTop  int // -1: the request had no $top
}

// Apply runs q over records, which must be in the endpoint's default order
// and are not modified: it keeps the records that Match, sorts them stably
// by $orderby, and cuts out the page that $skip, $top and the page size
// select.
//
// Paging follows OData server-driven paging: $top limits the whole result,
// and the page size limits one response. A response cut short by the page
// size has More set, and its next link asks for the rest: $skip advanced by
// the page's length and $top, when given, reduced by it. As $top can't
// exceed the page size with the default options, a request with $top gets
// no next link there; one without $top gets one when more than the page
// size of records match.
func Apply[R Record](q *Query, records []R) Page[R] {
	items := make([]R, 0, len(records))
	for _, r := range records {
		if q.Match(r) {
			items = append(items, r)
		}
	}
	if len(q.orderBy) > 0 {
		slices.SortStableFunc(items, func(a, b R) int { return q.Compare(a, b) })
	}
	p := Page[R]{Count: len(items), nextTop: -1}
	start := min(q.skip, len(items))
	want := len(items) - start
	if q.top >= 0 {
		want = min(want, q.top)
	}
	n := min(want, q.pageSize)
	p.Items = items[start : start+n : start+n]
	rest := len(items) - start - n
	if q.top >= 0 {
		rest = min(rest, q.top-n)
	}
	if rest > 0 {
		p.More = true
		p.nextSkip = q.skip + n
		if q.top >= 0 {
			p.nextTop = q.top - n
		}
	}
	return p
}

// NextQuery returns the encoded query string of the page's
// @odata.nextLink: the request's query, orig, with $skip (and $top, if
// given) set for the next page. It returns "" when p.More is false. Keys
// are sorted; "$" is kept literal and spaces are encoded as %20.
func (p Page[R]) NextQuery(orig url.Values) string {
	if !p.More {
		return ""
	}
	next := make(url.Values, len(orig)+1)
	for k, v := range orig {
		switch strings.ToLower(k) {
		case "$skip", "$top":
			continue
		}
		next[k] = v
	}
	next["$skip"] = []string{strconv.Itoa(p.nextSkip)}
	if p.nextTop >= 0 {
		next["$top"] = []string{strconv.Itoa(p.nextTop)}
	}
	return encodeQuery(next)
}

// encodeQuery is url.Values.Encode with "$" left as is and spaces as %20.
func encodeQuery(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, val := range v[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(escape(k))
			b.WriteByte('=')
			b.WriteString(escape(val))
		}
	}
	return b.String()
}

func escape(s string) string {
	s = url.QueryEscape(s)
	s = strings.ReplaceAll(s, "+", "%20")
	return strings.ReplaceAll(s, "%24", "$")
}
