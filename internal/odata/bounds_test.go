package odata

import (
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
)

func BenchmarkParse(b *testing.B) {
	v := url.Values{"$filter": {benchFilter}, "$orderby": {"creationDateTimeUtc desc, id"}, "$top": {"50"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(v, actionSchema, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFilterBounds(t *testing.T) {
	t.Parallel()
	nested := func(depth int) string {
		return strings.Repeat("(", depth) + "status eq 'x'" + strings.Repeat(")", depth)
	}
	ids := func(n int) string {
		var b strings.Builder
		b.WriteString("id in (")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "'%08d-0000-4000-8000-000000000000'", i)
		}
		b.WriteString(")")
		return b.String()
	}
	ors := func(n int) string {
		terms := make([]string, n)
		for i := range terms {
			terms[i] = fmt.Sprintf("id eq '%d'", i)
		}
		return strings.Join(terms, " or ")
	}
	tests := []struct {
		name, filter, orderby string
		wantErr               string // "" for accepted
	}{
		{name: "depth at the limit", filter: nested(MaxFilterDepth)},
		{name: "depth over the limit", filter: nested(MaxFilterDepth + 1), wantErr: "nested more than 100 levels"},
		{name: "not chain over the limit", filter: strings.Repeat("not ", MaxFilterDepth+1) + "status eq 'x'", wantErr: "nested more than 100 levels"},
		{name: "not inside parentheses over the limit", filter: strings.Repeat("not (", 51) + "status eq 'x'" + strings.Repeat(")", 51), wantErr: "nested more than 100 levels"},
		{name: "960 KB of parentheses", filter: strings.Repeat("(", 480_000) + strings.Repeat(")", 480_000), wantErr: "$filter is 960000 bytes long; the limit is 16384 bytes"},
		{name: "length at the limit", filter: "status eq '" + strings.Repeat("a", MaxFilterLength-len("status eq ''")) + "'"},
		{name: "length over the limit", filter: "status eq '" + strings.Repeat("a", MaxFilterLength) + "'", wantErr: "the limit is 16384 bytes"},
		{name: "$orderby over the limit", orderby: "id" + strings.Repeat(" ", MaxFilterLength), wantErr: "$orderby is 16386 bytes long"},
		{name: "in list of 300 GUIDs", filter: ids(300)},
		{name: "in list of 999 values", filter: "id in (" + strings.TrimSuffix(strings.Repeat("'a',", 999), ",") + ")"},
		{name: "in list of 1,000 values", filter: "id in (" + strings.TrimSuffix(strings.Repeat("'a',", 1000), ",") + ")", wantErr: "more than 1000 terms"},
		{name: "200 ors", filter: ors(200)},
		{name: "501 ors", filter: ors(501), wantErr: "more than 1000 terms"},
		{name: "lambda bodies count", filter: "machineTags/any(t: " + ors(600) + ")", wantErr: "more than 1000 terms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := url.Values{}
			if tt.filter != "" {
				v.Set("$filter", tt.filter)
			}
			if tt.orderby != "" {
				v.Set("$orderby", tt.orderby)
			}
			_, err := Parse(v, actionSchema, Options{})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("error %.200v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("accepted, want an error with %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %.300q, want one with %q", err, tt.wantErr)
			}
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error %T, want *Error", err)
				}
				if len(err.Error()) > 2*MaxFilterLength {
					t.Errorf("message is %d bytes long", len(err.Error()))
				}
			}
		})
	}
}

// TestFilterBoundsAreCheap proves that refusing hostile filters costs
// little: a 960 KB filter allocates nothing big, and the deepest and
// largest filters under the length limit are refused having allocated a
// few hundred KB at most, with a small stack.
func TestFilterBoundsAreCheap(t *testing.T) {
	for _, tt := range []struct {
		name     string
		filter   string
		maxBytes uint64
	}{
		{"960 KB of parentheses", strings.Repeat("(", 480_000) + "status eq 'x'" + strings.Repeat(")", 480_000), 16 << 10},
		{"16 KB of parentheses", strings.Repeat("(", MaxFilterLength/2-10) + "status eq 'x'" + strings.Repeat(")", MaxFilterLength/2-10), 256 << 10},
		{"16 KB of nots", strings.Repeat("not ", MaxFilterLength/4-4) + "id eq 'x'", 256 << 10},
		{"16 KB of in values", "rbacGroupId in (" + strings.Repeat("1,", MaxFilterLength/2-12) + "1)", 256 << 10},
		{"16 KB of ors", strings.Repeat("x or ", MaxFilterLength/5-1) + "x", 256 << 10},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := url.Values{"$filter": {tt.filter}}
			schema := NewSchema(Field{Name: "id", Type: String}, Field{Name: "status", Type: String},
				Field{Name: "rbacGroupId", Type: Int}, Field{Name: "x", Type: Bool})
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Parse(v, schema, Options{})
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > tt.maxBytes {
				t.Errorf("refusing it allocated %d bytes, want at most %d", got, tt.maxBytes)
			}
			if grew := int64(after.StackInuse) - int64(before.StackInuse); grew > 1<<20 {
				t.Errorf("the stack grew by %d bytes", grew)
			}
			if allocs := testing.AllocsPerRun(5, func() { _, _ = Parse(v, schema, Options{}) }); allocs > 2000 {
				t.Errorf("%v allocations per refusal", allocs)
			}
		})
	}
}

// TestContainsIsLinear: contains() over a long value with a long argument
// that almost matches everywhere costs time linear in both, not their
// product.
func TestContainsIsLinear(t *testing.T) {
	t.Parallel()
	arg := strings.Repeat("a", 8000) + "b"
	q, err := Parse(url.Values{"$filter": {"contains(status,'" + arg + "')"}}, actionSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	long := rec{"status": strings.Repeat("A", 100_000)}
	began := time.Now()
	for range 10 {
		if q.Match(long) {
			t.Fatal("matched")
		}
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("10 matches took %s", took)
	}
	if !q.Match(rec{"status": strings.Repeat("A", 100_000) + "B"}) {
		t.Error("no match at the end")
	}
}

func TestContainsFold(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s, sub string
		want   bool
	}{
		{"", "", true}, {"abc", "", true}, {"", "a", false},
		{"Alice@Contoso.com", "CONTOSO", true}, {"aaab", "aab", true}, {"abab", "abac", false},
		{"ababac", "abac", true}, {"ÉCOLE", "école", true}, {"a\xffb", "\xff", true},
		{"O'Brien", "'b", true}, {"abc", "abcd", false},
	} {
		if got := newFoldNeedle(tt.sub).in(tt.s); got != tt.want {
			t.Errorf("contains(%q, %q) = %v, want %v", tt.s, tt.sub, got, tt.want)
		}
	}
}

// FuzzParse parses arbitrary filters and orderings: never a panic, every
// error an *Error, and a parsed query matches records without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		benchFilter, "status eq 'Succeeded'", "id in ('a','b')", "machineTags/any(t: t eq 'x')",
		"machineTags/all(t: startswith(t,'a'))", "not not (status eq 'x')", "contains(requestor,'''')",
		"creationDateTimeUtc ge 2024-01-01T00:00:00Z", "((((", "))))", "status eq 'a",
		// Deep nesting, at and over the bound.
		strings.Repeat("(", MaxFilterDepth) + "status eq 'x'" + strings.Repeat(")", MaxFilterDepth),
		strings.Repeat("(", MaxFilterDepth+1) + "status eq 'x'" + strings.Repeat(")", MaxFilterDepth+1),
		strings.Repeat("not ", MaxFilterDepth+1) + "isAadJoined",
		strings.Repeat("(", 5000),
		// Long inputs, at and over the bound.
		"status eq '" + strings.Repeat("x", MaxFilterLength-12) + "'",
		strings.Repeat("(", MaxFilterLength/2+1) + strings.Repeat(")", MaxFilterLength/2+1),
		"id in (" + strings.TrimSuffix(strings.Repeat("'a',", MaxFilterNodes+1), ",") + ")",
		strings.Repeat("isAadJoined or ", MaxFilterNodes) + "isAadJoined",
	} {
		f.Add(s, "")
	}
	f.Add("", "creationDateTimeUtc desc, id")
	f.Add("", "id"+strings.Repeat(",id", 1000))
	f.Fuzz(func(t *testing.T, filter, orderby string) {
		q, err := Parse(url.Values{"$filter": {filter}, "$orderby": {orderby}}, actionSchema, Options{})
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		if len(filter) > MaxFilterLength || len(orderby) > MaxFilterLength {
			t.Fatalf("accepted %d and %d bytes", len(filter), len(orderby))
		}
		for _, r := range filterRecords {
			q.Match(r)
			q.Compare(r, filterRecords[0])
		}
	})
}
