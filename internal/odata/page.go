package odata

import (
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
// their snapshots taken. With $count or $orderby it reads them all, and
// keeps those the page needs.
func ApplySeq[R Record](q *Query, records iter.Seq[R]) Page[R] {
	if len(q.orderBy) > 0 {
		return orderedPage(q, records)
	}
	// The matches the page needs are kept; with $count the others are
	// counted, else the reading stops at the last needed.
	need := pageNeeds(q)
	var items []R
	matched := 0
	if need > 0 || q.count {
		for r := range records {
			if !q.Match(r) {
				continue
			}
			if matched >= q.skip && matched < need {
				items = append(items, r)
			}
			if matched++; matched == need && !q.count {
				break
			}
		}
	}
	return page(q, items, matched)
}

// pageNeeds is how many matches, in order, a page needs: its own from
// $skip on, and one more when a next link may be due (within $top), whose
// presence says it is.
func pageNeeds(q *Query) int {
	n := q.pageSize
	if q.top >= 0 {
		n = min(n, q.top)
	}
	need := q.skip + n
	if q.top < 0 || q.top > n {
		need++ // one more, if there is one, sets More
	}
	return need
}

// ranked is a match of an ordered list: the record, its $orderby keys
// (read once, Query.sortKeys, not at each comparison: a Field of a list's
// record may take its action's lock) and its place in the default order,
// which breaks ties.
type ranked[R Record] struct {
	r     R
	keys  []scalar
	place int
}

// orderedPage is ApplySeq with $orderby: every record is matched and
// counted, but only the first of them in the order that the page needs
// are kept (pageNeeds; a heap whose root is the last kept), so a page of
// 50 of 200,000 matches keeps 51, not 200,000.
func orderedPage[R Record](q *Query, records iter.Seq[R]) Page[R] {
	keep := pageNeeds(q)
	before := func(a, b *ranked[R]) bool { // a comes before b
		if c := q.compareKeys(a.keys, b.keys); c != 0 {
			return c < 0
		}
		return a.place < b.place
	}
	var kept []ranked[R] // a heap: kept[0] is the last of them in the order
	scratch := make([]scalar, 0, len(q.orderBy))
	count := 0
	for r := range records {
		if !q.Match(r) {
			continue
		}
		m := ranked[R]{r: r, place: count}
		count++
		if len(kept) == keep {
			if keep == 0 {
				continue
			}
			m.keys = q.sortKeys(r, scratch[:0]) // a copy only if kept
			if !before(&m, &kept[0]) {
				continue
			}
			m.keys = slices.Clone(m.keys)
			kept[0] = m
			siftDown(kept, 0, before)
			continue
		}
		m.keys = q.sortKeys(r, make([]scalar, 0, len(q.orderBy)))
		kept = append(kept, m)
		for i := len(kept) - 1; i > 0; { // sift up
			parent := (i - 1) / 2
			if !before(&kept[parent], &kept[i]) {
				break
			}
			kept[i], kept[parent] = kept[parent], kept[i]
			i = parent
		}
	}
	slices.SortFunc(kept, func(a, b ranked[R]) int {
		if before(&a, &b) {
			return -1
		}
		return 1 // places differ: never equal
	})
	items := make([]R, 0, len(kept))
	for _, m := range kept[min(q.skip, len(kept)):] {
		items = append(items, m.r)
	}
	return page(q, items, count)
}

// siftDown restores the heap of kept below i, the last in the order at
// the root.
func siftDown[R Record](kept []ranked[R], i int, before func(a, b *ranked[R]) bool) {
	for {
		last, l, r := i, 2*i+1, 2*i+2
		if l < len(kept) && before(&kept[last], &kept[l]) {
			last = l
		}
		if r < len(kept) && before(&kept[last], &kept[r]) {
			last = r
		}
		if last == i {
			return
		}
		kept[i], kept[last] = kept[last], kept[i]
		i = last
	}
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
