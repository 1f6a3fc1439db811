package odata

import (
	"cmp"
	"iter"
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
	// $top: the value of @odata.count. ApplySeq counts them all only when
	// the query asks for the count ($count=true) or an order ($orderby);
	// otherwise Count is what it read before the page was settled.
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
	return ApplySeq(q, slices.Values(records))
}

// ApplySeq is Apply over records yielded in the endpoint's default order.
// Without $orderby and $count it stops reading them once the page is
// settled: its records are read and the next one that matches (whether
// a next link is due) is found. A list of 100,000 actions paged 50 at a
// time reads 51 of them, not all; the others are never matched, nor
// their snapshots taken.
func ApplySeq[R Record](q *Query, records iter.Seq[R]) Page[R] {
	if len(q.orderBy) > 0 || q.count {
		var items []R
		for r := range records {
			if q.Match(r) {
				items = append(items, r)
			}
		}
		if len(q.orderBy) > 0 {
			items = sorted(q, items)
		}
		return page(q, items[min(q.skip, len(items)):], len(items))
	}
	// The page is items[skip : skip+n] of the matches, and a next link is
	// due when one more matches within $top: so at most skip+n+1 are
	// matched, of which the first skip are not kept.
	n := q.pageSize
	if q.top >= 0 {
		n = min(n, q.top)
	}
	need := q.skip + n
	if q.top < 0 || q.top > n {
		need++ // one more, if there is one, sets More
	}
	var items []R
	matched := 0
	if need > 0 {
		for r := range records {
			if !q.Match(r) {
				continue
			}
			if matched >= q.skip {
				items = append(items, r)
			}
			if matched++; matched == need {
				break
			}
		}
	}
	return page(q, items, matched)
}

// sorted returns items in $orderby's order, equals in their own: each
// record's keys are read once (Query.sortKeys), not at each of the sort's
// comparisons (a Field of a list's record may take its action's lock).
func sorted[R Record](q *Query, items []R) []R {
	n := len(q.orderBy)
	keys := make([]scalar, 0, len(items)*n)
	for _, r := range items {
		keys = q.sortKeys(r, keys)
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	// Ties keep the default order: the places break them, so a sort that
	// is not stable (and faster) will do.
	slices.SortFunc(order, func(x, y int) int {
		if c := q.compareKeys(keys[x*n:(x+1)*n], keys[y*n:(y+1)*n]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	out := make([]R, len(items))
	for i, j := range order {
		out[i] = items[j]
	}
	return out
}

// page cuts the page out of items, the matches from $skip on (all of
// them, or at least one past the page when there are more), count of
// which matched in all.
func page[R Record](q *Query, items []R, count int) Page[R] {
	p := Page[R]{Count: count, nextTop: -1}
	if items == nil {
		items = []R{} // Items is never nil
	}
	want := len(items)
	if q.top >= 0 {
		want = min(want, q.top)
	}
	n := min(want, q.pageSize)
	p.Items = items[:n:n]
	rest := len(items) - n
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
