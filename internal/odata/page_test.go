package odata

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var pageSchema = NewSchema(
	Field{Name: "id", Type: String},
	Field{Name: "n", Type: Int},
	Field{Name: "group", Type: String},
	Field{Name: "seen", Type: DateTime},
	Field{Name: "ok", Type: Bool},
)

// pageRecords are r0…r9 in their default order; n is the index.
func pageRecords() []rec {
	rs := make([]rec, 10)
	for i := range rs {
		rs[i] = rec{"id": fmt.Sprintf("r%d", i), "n": int64(i), "group": []string{"b", "A", "c"}[i%3]}
	}
	return rs
}

func ids(rs []rec) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r["id"].(string))
	}
	return out
}

func TestApply(t *testing.T) {
	t.Parallel()
	type result struct {
		IDs       []string
		Count     int
		More      bool
		NextQuery string
	}
	tests := []struct {
		name  string
		query string
		opts  Options
		want  result
	}{
		{"no options", "", Options{},
			result{IDs: []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}, Count: 10}},
		{"top limits the result without a next link", "$top=3", Options{},
			result{IDs: []string{"r0", "r1", "r2"}, Count: 10}},
		{"skip", "$skip=8", Options{},
			result{IDs: []string{"r8", "r9"}, Count: 10}},
		{"skip past the end", "$skip=20", Options{},
			result{IDs: []string{}, Count: 10}},
		{"top zero", "$top=0&$count=true", Options{},
			result{IDs: []string{}, Count: 10}},
		{"skip and top", "$skip=2&$top=3", Options{},
			result{IDs: []string{"r2", "r3", "r4"}, Count: 10}},
		{"filter counts before paging", "$filter=n ge 4&$skip=1&$top=2", Options{},
			result{IDs: []string{"r5", "r6"}, Count: 6}},
		{"page size cuts a response", "", Options{PageSize: 4},
			result{IDs: []string{"r0", "r1", "r2", "r3"}, Count: 10, More: true, NextQuery: "$skip=4"}},
		{"second page", "$skip=4", Options{PageSize: 4},
			result{IDs: []string{"r4", "r5", "r6", "r7"}, Count: 10, More: true, NextQuery: "$skip=8"}},
		{"last page", "$skip=8", Options{PageSize: 4},
			result{IDs: []string{"r8", "r9"}, Count: 10}},
		{"exactly one page left", "$skip=6", Options{PageSize: 4},
			result{IDs: []string{"r6", "r7", "r8", "r9"}, Count: 10}},
		{"top above page size", "$top=6", Options{PageSize: 4},
			result{IDs: []string{"r0", "r1", "r2", "r3"}, Count: 10, More: true, NextQuery: "$skip=4&$top=2"}},
		{"rest of top", "$skip=4&$top=2", Options{PageSize: 4},
			result{IDs: []string{"r4", "r5"}, Count: 10}},
		{"top equal to page size", "$top=4", Options{PageSize: 4},
			result{IDs: []string{"r0", "r1", "r2", "r3"}, Count: 10}},
		{"top above page size but few records", "$filter=n lt 5&$top=9", Options{PageSize: 4},
			result{IDs: []string{"r0", "r1", "r2", "r3"}, Count: 5, More: true, NextQuery: "$filter=n%20lt%205&$skip=4&$top=5"}},
		{"orderby desc", "$orderby=n desc&$top=3", Options{},
			result{IDs: []string{"r9", "r8", "r7"}, Count: 10}},
		{"orderby string ignores case, ties keep default order", "$orderby=group", Options{},
			result{IDs: []string{"r1", "r4", "r7", "r0", "r3", "r6", "r9", "r2", "r5", "r8"}, Count: 10}},
		{"orderby two keys", "$orderby=group desc,n desc", Options{},
			result{IDs: []string{"r8", "r5", "r2", "r9", "r6", "r3", "r0", "r7", "r4", "r1"}, Count: 10}},
		{"filter, orderby and next link together", "$filter=n ge 2&$orderby=N DESC&$count=true&api-version=1", Options{PageSize: 3},
			result{IDs: []string{"r9", "r8", "r7"}, Count: 8, More: true, NextQuery: "$count=true&$filter=n%20ge%202&$orderby=N%20DESC&$skip=3&api-version=1"}},
		{"count with skip and top", "$skip=2&$top=3&$count=true", Options{},
			result{IDs: []string{"r2", "r3", "r4"}, Count: 10}},
		{"count of a filter, second page", "$filter=n ge 3&$skip=4&$count=true", Options{PageSize: 4},
			result{IDs: []string{"r7", "r8", "r9"}, Count: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			values, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := Parse(values, pageSchema, tt.opts)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.query, err)
			}
			records := pageRecords()
			p := Apply(q, records)
			got := result{IDs: ids(p.Items), Count: p.Count, More: p.More, NextQuery: p.NextQuery(values)}
			if !q.Count() && len(q.orderBy) == 0 {
				// Count is exact with $count or $orderby only: without
				// them Apply stops reading once the page is settled.
				got.Count = tt.want.Count
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Apply(%q) mismatch (-want +got):\n%s", tt.query, diff)
			}
			if diff := cmp.Diff(ids(pageRecords()), ids(records)); diff != "" {
				t.Errorf("Apply(%q) changed its input (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

// TestApplyFollowsNextLinks walks every next link, as C-MDEA does, and
// checks that the pages together are the whole ordered result, once each.
func TestApplyFollowsNextLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9"}},
		{"$orderby=n desc&$filter=n ne 4", []string{"r9", "r8", "r7", "r6", "r5", "r3", "r2", "r1", "r0"}},
		{"$skip=1&$top=7", []string{"r1", "r2", "r3", "r4", "r5", "r6", "r7"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			records := pageRecords()
			got := []string{}
			query := tt.query
			for range 20 {
				values, err := url.ParseQuery(query)
				if err != nil {
					t.Fatal(err)
				}
				q, err := Parse(values, pageSchema, Options{PageSize: 3})
				if err != nil {
					t.Fatalf("Parse(%q) error: %v", query, err)
				}
				p := Apply(q, records)
				got = append(got, ids(p.Items)...)
				if !p.More {
					break
				}
				query = p.NextQuery(values)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pages of %q mismatch (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

func TestNextQueryWithoutMore(t *testing.T) {
	t.Parallel()
	q, err := Parse(url.Values{}, pageSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := Apply(q, pageRecords()).NextQuery(url.Values{"a": {"b"}}); got != "" {
		t.Errorf("NextQuery of the only page = %q, want \"\"", got)
	}
}

func TestNextQueryEncoding(t *testing.T) {
	t.Parallel()
	p := Page[rec]{More: true, nextSkip: 20, nextTop: -1}
	orig := url.Values{"$filter": {"requestor eq 'a+b@x.com' and id in ('1','2')"}, "$Skip": {"10"}, "$TOP": {"5"}, "x y": {"1", "2"}}
	want := "$filter=requestor%20eq%20%27a%2Bb%40x.com%27%20and%20id%20in%20%28%271%27%2C%272%27%29&$skip=20&x%20y=1&x%20y=2"
	got := p.NextQuery(orig)
	if got != want {
		t.Errorf("NextQuery = %q, want %q", got, want)
	}
	back, err := url.ParseQuery(got)
	if err != nil {
		t.Fatal(err)
	}
	wantBack := url.Values{"$filter": orig["$filter"], "$skip": {"20"}, "x y": {"1", "2"}}
	if diff := cmp.Diff(wantBack, back); diff != "" {
		t.Errorf("NextQuery does not decode back (-want +got):\n%s", diff)
	}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	t1, t2 := date("2024-01-01T00:00:00Z"), date("2024-01-02T00:00:00Z")
	tests := []struct {
		orderBy string
		a, b    rec
		want    int
	}{
		{"n", rec{"n": int64(1)}, rec{"n": int64(2)}, -1},
		{"n desc", rec{"n": int64(1)}, rec{"n": int64(2)}, 1},
		{"n", rec{"n": 3}, rec{"n": int64(3)}, 0},
		{"n", rec{"n": nil}, rec{"n": int64(-100)}, -1},
		{"n desc", rec{"n": nil}, rec{"n": int64(-100)}, 1},
		{"n", rec{"n": nil}, rec{"n": (*int64)(nil)}, 0},
		{"group", rec{"group": "abc"}, rec{"group": "ABD"}, -1},
		{"group", rec{"group": "ÉTÉ"}, rec{"group": "été"}, 0},
		{"group", rec{"group": "ab"}, rec{"group": "abc"}, -1},
		{"seen", rec{"seen": t2}, rec{"seen": ptr(t1)}, 1},
		{"seen asc", rec{"seen": t1}, rec{"seen": t1}, 0},
		{"ok", rec{"ok": false}, rec{"ok": true}, -1},
		{"ok desc", rec{"ok": false}, rec{"ok": true}, 1},
		{"group, n desc", rec{"group": "a", "n": int64(1)}, rec{"group": "A", "n": int64(2)}, 1},
		{"", rec{"n": int64(1)}, rec{"n": int64(2)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.orderBy, func(t *testing.T) {
			t.Parallel()
			q, err := Parse(url.Values{"$orderby": {tt.orderBy}}, pageSchema, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := q.Compare(tt.a, tt.b); got != tt.want {
				t.Errorf("$orderby=%s: Compare(%v, %v) = %d, want %d", tt.orderBy, tt.a, tt.b, got, tt.want)
			}
			if got := q.Compare(tt.b, tt.a); got != -tt.want {
				t.Errorf("$orderby=%s: Compare(%v, %v) = %d, want %d", tt.orderBy, tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

// ApplySeq reads the records only until the page is settled: its own and
// the next match, which says whether a next link is due; with $count or
// $orderby it reads them all.
func TestApplySeqStopsEarly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		opts  Options
		read  int
		ids   []string
		more  bool
	}{
		{"$top=3", Options{}, 3, []string{"r0", "r1", "r2"}, false},
		{"", Options{PageSize: 4}, 5, []string{"r0", "r1", "r2", "r3"}, true},
		{"$skip=4", Options{PageSize: 4}, 9, []string{"r4", "r5", "r6", "r7"}, true},
		{"$skip=6", Options{PageSize: 4}, 10, []string{"r6", "r7", "r8", "r9"}, false},
		{"$top=6", Options{PageSize: 4}, 5, []string{"r0", "r1", "r2", "r3"}, true},
		{"$filter=n ge 5&$top=2", Options{}, 7, []string{"r5", "r6"}, false},
		{"$top=3&$count=true", Options{}, 10, []string{"r0", "r1", "r2"}, false},
		{"$top=0", Options{}, 0, []string{}, false},
		{"$orderby=n desc&$top=1", Options{}, 10, []string{"r9"}, false},
	}
	for _, tt := range tests {
		values, _ := url.ParseQuery(tt.query)
		q, err := Parse(values, pageSchema, tt.opts)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.query, err)
		}
		read := 0
		p := ApplySeq(q, func(yield func(rec) bool) {
			for _, r := range pageRecords() {
				read++
				if !yield(r) {
					return
				}
			}
		})
		if read != tt.read || p.Items == nil || !slices.Equal(ids(p.Items), tt.ids) || p.More != tt.more {
			t.Errorf("ApplySeq(%q): read %d, page %v, more %v; want %d, %v, %v", tt.query, read, ids(p.Items), p.More, tt.read, tt.ids, tt.more)
		}
	}
}

// ApplySeq keeps only the matches a page needs, and stops reading early
// when it may: it agrees with keeping every match, sorting them and
// cutting the page out of them, on random records (ties, case, nulls)
// and random queries, with and without $orderby and $count.
func TestApplySeqMatchesReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	groups := []any{"a", "A", "b", "c", nil}
	orders := []string{"n", "n desc", "group", "group desc,n", "group,n desc", "seen desc"}
	for i := range 2000 {
		recs := make([]rec, rng.IntN(40))
		for j := range recs {
			recs[j] = rec{"id": fmt.Sprintf("r%d", j), "n": int64(rng.IntN(6)), "group": groups[rng.IntN(len(groups))]}
			if rng.IntN(4) > 0 {
				recs[j]["seen"] = time.Date(2026, 1, 1, 0, rng.IntN(5), 0, 0, time.UTC)
			}
		}
		v := url.Values{}
		if rng.IntN(4) > 0 {
			v.Set("$orderby", orders[rng.IntN(len(orders))])
		}
		if rng.IntN(3) == 0 {
			v.Set("$count", "true")
		}
		if rng.IntN(2) == 0 {
			v.Set("$top", fmt.Sprint(rng.IntN(12)))
		}
		if rng.IntN(2) == 0 {
			v.Set("$skip", fmt.Sprint(rng.IntN(12)))
		}
		if rng.IntN(3) == 0 {
			v.Set("$filter", fmt.Sprintf("n ge %d", rng.IntN(4)))
		}
		q, err := Parse(v, pageSchema, Options{PageSize: 1 + rng.IntN(6)})
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		got := ApplySeq(q, slices.Values(recs))

		// The reference: every match, sorted stably, the page cut out.
		var all []rec
		for _, r := range recs {
			if q.Match(r) {
				all = append(all, r)
			}
		}
		slices.SortStableFunc(all, func(a, b rec) int { return q.Compare(a, b) })
		start := min(q.skip, len(all))
		want := len(all) - start
		if q.top >= 0 {
			want = min(want, q.top)
		}
		n := min(want, q.pageSize)
		rest := len(all) - start - n
		if q.top >= 0 {
			rest = min(rest, q.top-n)
		}
		exactCount := q.count || len(q.orderBy) > 0
		if !slices.Equal(ids(got.Items), ids(all[start:start+n])) || (exactCount && got.Count != len(all)) || got.More != (rest > 0) {
			t.Fatalf("case %d, %v (page size %d): got %v count %d more %v; want %v count %d more %v",
				i, v, q.pageSize, ids(got.Items), got.Count, got.More, ids(all[start:start+n]), len(all), rest > 0)
		}
	}
}
