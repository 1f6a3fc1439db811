package odata

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// filterRecords cover every Go value form a Record may return.
var filterRecords = []rec{
	{
		"id": "a1", "status": "Succeeded", "machineId": "m1", "type": "LiveResponse",
		"requestor": "alice@contoso.com", "creationDateTimeUtc": date("2024-01-01T00:00:00Z"),
		"cancellationDateTimeUtc": nil, "errorHResult": int64(0), "isAadJoined": true,
		"machineTags": []string{"Prod", "EU"},
	},
	{
		"id": "a2", "status": "Failed", "machineId": "m2", "type": "LiveResponse",
		"requestor": "bob@contoso.com", "creationDateTimeUtc": date("2024-01-02T12:00:00.5Z"),
		"cancellationDateTimeUtc": (*time.Time)(nil), "errorHResult": int64(-5), "isAadJoined": false,
		"machineTags": []string{"test"},
	},
	{
		"id": "a3", "status": "Cancelled", "machineId": "m1", "type": "Isolate",
		"requestor": ptr("O'Brien"), "creationDateTimeUtc": ptr(date("2024-01-03T00:00:00Z")),
		"cancellationDateTimeUtc": ptr(date("2024-01-03T01:00:00Z")), "errorHResult": 7, "isAadJoined": ptr(false),
		"machineTags": nil,
	},
	{
		"id": "a4", "status": "Pending", "machineId": "m3", "type": "LiveResponse",
		"requestor": (*string)(nil), "creationDateTimeUtc": nil,
		"cancellationDateTimeUtc": nil, "errorHResult": (*int64)(nil), "isAadJoined": (*bool)(nil),
		"machineTags": []string{},
	},
}

// matching parses filter and returns the ids of filterRecords it matches.
func matching(t *testing.T, filter string) []string {
	t.Helper()
	q, err := Parse(url.Values{"$filter": {filter}}, actionSchema, Options{})
	if err != nil {
		t.Fatalf("Parse(%q) error: %v", filter, err)
	}
	ids := []string{}
	for _, r := range filterRecords {
		if q.Match(r) {
			ids = append(ids, r["id"].(string))
		}
	}
	return ids
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		want   []string
	}{
		// eq and ne on strings, case-insensitive names, keywords and values.
		{"status eq 'Succeeded'", []string{"a1"}},
		{"status eq 'succeeded'", []string{"a1"}},
		{"Status EQ 'SUCCEEDED'", []string{"a1"}},
		{"status ne 'Succeeded'", []string{"a2", "a3", "a4"}},
		{"requestor eq 'O''Brien'", []string{"a3"}},
		{"requestor ne 'alice@contoso.com'", []string{"a2", "a3", "a4"}},
		{"  status   eq\t'Failed'  ", []string{"a2"}},
		// Ordering comparisons on strings.
		{"requestor gt 'b'", []string{"a2", "a3"}},
		{"requestor lt 'B'", []string{"a1"}},
		{"requestor ge 'bob@contoso.com'", []string{"a2", "a3"}},
		{"requestor le 'BOB@contoso.com'", []string{"a1", "a2"}},
		// Null.
		{"requestor eq null", []string{"a4"}},
		{"requestor ne null", []string{"a1", "a2", "a3"}},
		{"requestor gt null", []string{}},
		{"creationDateTimeUtc eq null", []string{"a4"}},
		{"cancellationDateTimeUtc ne null", []string{"a3"}},
		{"errorHResult eq null", []string{"a4"}},
		{"isAadJoined eq NULL", []string{"a4"}},
		// Integers (int64, int and *int64 values).
		{"errorHResult eq 0", []string{"a1"}},
		{"errorHResult ne 0", []string{"a2", "a3", "a4"}},
		{"errorHResult lt 0", []string{"a2"}},
		{"errorHResult gt 0", []string{"a3"}},
		{"errorHResult ge -5", []string{"a1", "a2", "a3"}},
		{"errorHResult le 0", []string{"a1", "a2"}},
		{"errorHResult in (7, -5)", []string{"a2", "a3"}},
		// Booleans (bool and *bool values) and bare boolean fields.
		{"isAadJoined eq true", []string{"a1"}},
		{"isAadJoined eq False", []string{"a2", "a3"}},
		{"isAadJoined ne true", []string{"a2", "a3", "a4"}},
		{"isAadJoined", []string{"a1"}},
		{"not isAadJoined", []string{"a2", "a3", "a4"}},
		{"isAadJoined and status eq 'Succeeded'", []string{"a1"}},
		// Date-times, unquoted and quoted, every literal form.
		{"creationDateTimeUtc ge 2024-01-02T00:00:00Z", []string{"a2", "a3"}},
		{"creationDateTimeUtc gt 2024-01-02T12:00:00.5Z", []string{"a3"}},
		{"creationDateTimeUtc ge 2024-01-02T12:00:00.5000000Z", []string{"a2", "a3"}},
		{"creationDateTimeUtc gt 2024-01-02T12:00:00.4999999Z", []string{"a2", "a3"}},
		{"creationDateTimeUtc eq 2024-01-02T14:00:00.5+02:00", []string{"a2"}},
		{"creationDateTimeUtc eq 2024-01-02T07:00:00.5-05:00", []string{"a2"}},
		{"creationDateTimeUtc lt 2024-01-02Z", []string{"a1"}},
		{"creationDateTimeUtc lt 2024-01-02", []string{"a1"}},
		{"creationDateTimeUtc le 2024-01-01T00:00Z", []string{"a1"}},
		{"creationDateTimeUtc lt 2024-01-02T12:00:00", []string{"a1"}},
		{"creationDateTimeUtc ne 2024-01-01T00:00:00Z", []string{"a2", "a3", "a4"}},
		{"CreationDateTimeUtc ge 2024-01-02t00:00:00z", []string{"a2", "a3"}},
		{"creationDateTimeUtc ge '2024-01-02T00:00:00Z'", []string{"a2", "a3"}},
		{"creationDateTimeUtc lt '2024-01-02'", []string{"a1"}},
		{"creationDateTimeUtc in (2024-01-01T00:00:00Z, '2024-01-03T00:00:00Z')", []string{"a1", "a3"}},
		{"cancellationDateTimeUtc lt 2030-01-01Z", []string{"a3"}},
		// in.
		{"id in ('a1','A3')", []string{"a1", "a3"}},
		{"id in ( 'a2' )", []string{"a2"}},
		{"id in ()", []string{}},
		{"requestor in ('alice@contoso.com', null)", []string{"a1", "a4"}},
		{"ID IN ('a4') or id in ('a1')", []string{"a1", "a4"}},
		// and, or, not, precedence and parentheses.
		{"status eq 'Succeeded' or status eq 'Failed'", []string{"a1", "a2"}},
		{"status eq 'Failed' AND machineId eq 'm2'", []string{"a2"}},
		{"status eq 'Failed' and machineId eq 'm1'", []string{}},
		{"machineId eq 'm1' or machineId eq 'm2' and status eq 'Succeeded'", []string{"a1", "a3"}},
		{"(machineId eq 'm1' or machineId eq 'm2') and status eq 'Succeeded'", []string{"a1"}},
		{"status eq 'Succeeded' and machineId eq 'm1' or type eq 'Isolate'", []string{"a1", "a3"}},
		{"status eq 'Succeeded' and (machineId eq 'm1' or type eq 'Isolate')", []string{"a1"}},
		{"not status eq 'Succeeded' and machineId eq 'm1'", []string{"a3"}},
		{"not (status eq 'Succeeded' and machineId eq 'm1')", []string{"a2", "a3", "a4"}},
		{"not status eq 'Succeeded' or machineId eq 'm1'", []string{"a1", "a2", "a3", "a4"}},
		{"NOT not status eq 'Failed'", []string{"a2"}},
		{"((status eq 'Failed'))", []string{"a2"}},
		{"(status eq 'Failed')or(status eq 'Pending')", []string{"a2", "a4"}},
		// String functions.
		{"startswith(requestor,'ALICE')", []string{"a1"}},
		{"endswith(requestor, '@contoso.com')", []string{"a1", "a2"}},
		{"contains(requestor,'brie')", []string{"a3"}},
		{"contains(requestor,'')", []string{"a1", "a2", "a3"}},
		{"not startswith(requestor,'alice')", []string{"a2", "a3", "a4"}},
		{"StartsWith(MachineId,'m') and endswith(machineId,'1')", []string{"a1", "a3"}},
		// Lambdas on a string collection ([]string, nil and empty values).
		{"machineTags/any(t: t eq 'prod')", []string{"a1"}},
		{"machineTags/any(t:t eq 'x')", []string{}},
		{"MachineTags/ANY(T: T eq 'EU' or t eq 'test')", []string{"a1", "a2"}},
		{"machineTags/any()", []string{"a1", "a2"}},
		{"not machineTags/any()", []string{"a3", "a4"}},
		{"machineTags/all(t: t ne 'test')", []string{"a1", "a3", "a4"}},
		{"machineTags/all(t: t eq 'test')", []string{"a2", "a3", "a4"}},
		{"machineTags/any(t: startswith(t, 'pr'))", []string{"a1"}},
		{"machineTags/any(t: t in ('eu','asia'))", []string{"a1"}},
		{"machineTags/any(t: t gt 'q')", []string{"a2"}},
		{"machineTags/any(t: t eq 'test' and status eq 'Failed')", []string{"a2"}},
		{"machineTags/any(t: t eq 'test') or machineTags/any(t: t eq 'eu')", []string{"a1", "a2"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, matching(t, tt.filter)); diff != "" {
				t.Errorf("$filter=%s matched ids mismatch (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
}

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		want   *Error
	}{
		// Fields not in the schema, and the lambda variable out of scope.
		{"foo eq 'x'", &Error{"$filter", 1, "property 'foo' is not filterable"}},
		{"status eq 'x' and Bar eq 1", &Error{"$filter", 19, "property 'Bar' is not filterable"}},
		{"t eq 'x'", &Error{"$filter", 1, "property 't' is not filterable"}},
		{"foo/any(t: t eq 'x')", &Error{"$filter", 1, "property 'foo' is not filterable"}},
		{"startswith(foo,'x')", &Error{"$filter", 12, "property 'foo' is not filterable"}},
		// Type mismatches.
		{"creationDateTimeUtc eq 'abc'", &Error{"$filter", 24, "'abc' is not a valid Edm.DateTimeOffset value for property 'creationDateTimeUtc'"}},
		{"creationDateTimeUtc eq 5", &Error{"$filter", 24, "incompatible types for 'eq': property 'creationDateTimeUtc' is Edm.DateTimeOffset, but '5' is Edm.Int64"}},
		{"errorHResult eq 'x'", &Error{"$filter", 17, "incompatible types for 'eq': property 'errorHResult' is Edm.Int64, but 'x' is Edm.String"}},
		{"errorHResult eq true", &Error{"$filter", 17, "incompatible types for 'eq': property 'errorHResult' is Edm.Int64, but 'true' is Edm.Boolean"}},
		{"errorHResult eq 99999999999999999999", &Error{"$filter", 17, "integer literal 99999999999999999999 is out of range"}},
		{"status eq 5", &Error{"$filter", 11, "incompatible types for 'eq': property 'status' is Edm.String, but '5' is Edm.Int64"}},
		{"status GT 2024-01-01Z", &Error{"$filter", 11, "incompatible types for 'gt': property 'status' is Edm.String, but '2024-01-01Z' is Edm.DateTimeOffset"}},
		{"isAadJoined eq 'true'", &Error{"$filter", 16, "incompatible types for 'eq': property 'isAadJoined' is Edm.Boolean, but 'true' is Edm.String"}},
		{"id in ('a', 2)", &Error{"$filter", 13, "incompatible types for 'in': property 'id' is Edm.String, but '2' is Edm.Int64"}},
		{"machineTags/any(t: t eq 1)", &Error{"$filter", 25, "incompatible types for 'eq': lambda variable 't' is Edm.String, but '1' is Edm.Int64"}},
		{"startswith(errorHResult,'1')", &Error{"$filter", 12, "startswith() needs an Edm.String argument, but property 'errorHResult' is Edm.Int64"}},
		// Collections and lambdas.
		{"machineTags eq 'x'", &Error{"$filter", 1, "property 'machineTags' is a collection; use machineTags/any(t: t eq 'value')"}},
		{"status/any(t: t eq 'x')", &Error{"$filter", 1, "property 'status' is Edm.String, not a collection; status/any() needs a collection"}},
		{"machineTags/all()", &Error{"$filter", 17, "syntax error at position 17 in $filter 'machineTags/all()': all() needs a lambda expression such as all(t: t eq 'value')"}},
		{"machineTags/any(t: t/any(u: u eq 'x'))", &Error{"$filter", 22, "nested lambda expressions are not supported"}},
		{"machineTags/any(status: status eq 'x')", &Error{"$filter", 17, "lambda variable 'status' has the name of a property"}},
		{"machineTags/some(t: t eq 'x')", &Error{"$filter", 13, "syntax error at position 13 in $filter 'machineTags/some(t: t eq 'x')': expected 'any' or 'all' after 'machineTags/', found 'some'"}},
		{"machineTags/any(t t eq 'x')", &Error{"$filter", 19, "syntax error at position 19 in $filter 'machineTags/any(t t eq 'x')': expected ':', found 't'"}},
		{"machineTags/any(t: t eq 'x'", &Error{"$filter", 28, "syntax error at position 28 in $filter 'machineTags/any(t: t eq 'x'': expected ')', found end of input"}},
		{"machineTags/any('x')", &Error{"$filter", 17, "syntax error at position 17 in $filter 'machineTags/any('x')': expected a lambda variable name, found 'x'"}},
		// Syntax.
		{"status eq", &Error{"$filter", 10, "syntax error at position 10 in $filter 'status eq': expected a literal after 'eq', found end of input"}},
		{"status 'x'", &Error{"$filter", 8, "syntax error at position 8 in $filter 'status 'x'': expected a comparison operator after 'status', found 'x'"}},
		{"status eq 'x' status eq 'y'", &Error{"$filter", 15, "syntax error at position 15 in $filter 'status eq 'x' status eq 'y'': unexpected 'status' after a complete expression"}},
		{"(status eq 'x'", &Error{"$filter", 15, "syntax error at position 15 in $filter '(status eq 'x'': expected ')', found end of input"}},
		{"status eq 'x')", &Error{"$filter", 14, "syntax error at position 14 in $filter 'status eq 'x')': unexpected ')' after a complete expression"}},
		{"status eq 'abc", &Error{"$filter", 11, "syntax error at position 11 in $filter 'status eq 'abc': unterminated string literal"}},
		{"status eq 'x' and", &Error{"$filter", 18, "syntax error at position 18 in $filter 'status eq 'x' and': expected a property name, found end of input"}},
		{"and status eq 'x'", &Error{"$filter", 1, "syntax error at position 1 in $filter 'and status eq 'x'': expected a property name, found 'and'"}},
		{"not", &Error{"$filter", 4, "syntax error at position 4 in $filter 'not': expected a property name, found end of input"}},
		{"status eq 'x' # 1", &Error{"$filter", 15, "syntax error at position 15 in $filter 'status eq 'x' # 1': unexpected character '#'"}},
		{"status eq machineId", &Error{"$filter", 11, "syntax error at position 11 in $filter 'status eq machineId': expected a literal after 'eq', found 'machineId'"}},
		{"'x' eq status", &Error{"$filter", 1, "syntax error at position 1 in $filter ''x' eq status': expected a property name, found 'x'"}},
		{"status like 'x'", &Error{"$filter", 8, "syntax error at position 8 in $filter 'status like 'x'': expected a comparison operator after 'status', found 'like'"}},
		{"creationDateTimeUtc gt 2024-13-01T00:00:00Z", &Error{"$filter", 24, "syntax error at position 24 in $filter 'creationDateTimeUtc gt 2024-13-01T00:00:00Z': invalid literal '2024-13-01T00:00:00Z'"}},
		{"creationDateTimeUtc gt 2024-01-01T00:00:00 02:00", &Error{"$filter", 44, "syntax error at position 44 in $filter 'creationDateTimeUtc gt 2024-01-01T00:00:00 02:00': invalid literal '02:00' (a '+' that is not URL-encoded as %2B reads as a space)"}},
		{"errorHResult eq 12abc", &Error{"$filter", 17, "syntax error at position 17 in $filter 'errorHResult eq 12abc': invalid literal '12abc'"}},
		{"status in 'a'", &Error{"$filter", 11, "syntax error at position 11 in $filter 'status in 'a'': expected '(' after 'in', found 'a'"}},
		{"status in ('a' 'b')", &Error{"$filter", 16, "syntax error at position 16 in $filter 'status in ('a' 'b')': expected ',' or ')', found 'b'"}},
		{"startswith(status, 5)", &Error{"$filter", 20, "syntax error at position 20 in $filter 'startswith(status, 5)': expected a string literal, found '5'"}},
		{"startswith(status 'a')", &Error{"$filter", 19, "syntax error at position 19 in $filter 'startswith(status 'a')': expected ',', found 'a'"}},
		{"()", &Error{"$filter", 2, "syntax error at position 2 in $filter '()': expected a property name, found ')'"}},
		// Positions count characters, not bytes.
		{"requestor eq 'é' and foo eq 1", &Error{"$filter", 22, "property 'foo' is not filterable"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(url.Values{"$filter": {tt.filter}}, actionSchema, Options{})
			got, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse($filter=%s) error = %v (%T), want *Error", tt.filter, err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse($filter=%s) error mismatch (-want +got):\n%s", tt.filter, diff)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := Parse(url.Values{"$filter": {"foo eq 1"}}, actionSchema, Options{})
	want := "Invalid OData URI query: property 'foo' is not filterable"
	if err == nil || err.Error() != want {
		t.Errorf("Parse error = %v, want %q", err, want)
	}
}

func TestMatchWrongRecordTypePanics(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		r      rec
	}{
		{"status eq 'x'", rec{"status": 5}},
		{"errorHResult eq 1", rec{"errorHResult": "1"}},
		{"creationDateTimeUtc eq 2024-01-01Z", rec{"creationDateTimeUtc": "2024-01-01"}},
		{"machineTags/any()", rec{"machineTags": "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			q, err := Parse(url.Values{"$filter": {tt.filter}}, actionSchema, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if recover() == nil {
					t.Errorf("Match(%v) did not panic", tt.r)
				}
			}()
			q.Match(tt.r)
		})
	}
}

// benchRecords returns n records with pre-boxed values, so Field itself
// does not allocate and any allocation measured is the evaluator's.
func benchRecords(n int) []rec {
	t0 := date("2024-01-01T00:00:00Z")
	statuses := []string{"Pending", "InProgress", "Succeeded", "Failed", "TimeOut", "Cancelled"}
	rs := make([]rec, n)
	for i := range rs {
		rs[i] = rec{
			"id":                  fmt.Sprintf("%08d-0000-0000-0000-000000000000", i),
			"status":              statuses[i%len(statuses)],
			"machineId":           fmt.Sprintf("%040x", i%97),
			"type":                "LiveResponse",
			"requestor":           "alice@contoso.com",
			"creationDateTimeUtc": t0.Add(time.Duration(i) * time.Minute),
			"errorHResult":        int64(i % 3),
			"isAadJoined":         i%2 == 0,
			"machineTags":         []string{"prod", fmt.Sprintf("tag%d", i%10)},
		}
	}
	return rs
}

const benchFilter = "(status eq 'succeeded' or status in ('Failed','TimeOut')) and creationDateTimeUtc ge 2024-01-02T00:00:00Z and not machineTags/any(t: t eq 'tag3') and errorHResult lt 2"

func TestMatchDoesNotAllocate(t *testing.T) {
	q, err := Parse(url.Values{"$filter": {benchFilter}}, actionSchema, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs := benchRecords(100)
	allocs := testing.AllocsPerRun(10, func() {
		for _, r := range rs {
			q.Match(r)
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocated %v times per 100 records, want 0", allocs)
	}
}

func BenchmarkMatch(b *testing.B) {
	q, err := Parse(url.Values{"$filter": {benchFilter}}, actionSchema, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rs := benchRecords(10000)
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for _, r := range rs {
			if q.Match(r) {
				n++
			}
		}
		if n == 0 {
			b.Fatal("no record matched")
		}
	}
}
