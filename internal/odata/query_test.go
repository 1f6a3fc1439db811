package odata

import (
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseOptions(t *testing.T) {
	t.Parallel()
	type parsed struct {
		Top    int
		HasTop bool
		Skip   int
		Count  bool
	}
	tests := []struct {
		name   string
		values url.Values
		opts   Options
		want   parsed
	}{
		{"nothing", url.Values{}, Options{}, parsed{Top: -1}},
		{"nil values", nil, Options{}, parsed{Top: -1}},
		{"all options", url.Values{"$top": {"5"}, "$skip": {"10"}, "$count": {"true"}}, Options{}, parsed{Top: 5, HasTop: true, Skip: 10, Count: true}},
		{"option names ignore case", url.Values{"$TOP": {"5"}, "$Skip": {"1"}, "$COUNT": {"TRUE"}}, Options{}, parsed{Top: 5, HasTop: true, Skip: 1, Count: true}},
		{"top zero", url.Values{"$top": {"0"}}, Options{}, parsed{Top: 0, HasTop: true}},
		{"top at default max", url.Values{"$top": {"10000"}}, Options{}, parsed{Top: 10000, HasTop: true}},
		{"top at custom max", url.Values{"$top": {"5"}}, Options{MaxTop: 5}, parsed{Top: 5, HasTop: true}},
		{"count false", url.Values{"$count": {"false"}}, Options{}, parsed{Top: -1}},
		{"empty options are absent", url.Values{"$filter": {""}, "$orderby": {" "}, "$top": {""}, "$skip": {""}, "$count": {""}}, Options{}, parsed{Top: -1}},
		{"parameters without $ are ignored", url.Values{"api-version": {"1"}, "select": {"x"}, "filter": {"nonsense"}}, Options{}, parsed{Top: -1}},
		{"filter and orderby", url.Values{"$filter": {"status eq 'x'"}, "$orderby": {"creationDateTimeUtc desc"}}, Options{}, parsed{Top: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := Parse(tt.values, actionSchema, tt.opts)
			if err != nil {
				t.Fatalf("Parse(%v) error: %v", tt.values, err)
			}
			top, hasTop := q.Top()
			got := parsed{Top: top, HasTop: hasTop, Skip: q.Skip(), Count: q.Count()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%v) mismatch (-want +got):\n%s", tt.values, diff)
			}
		})
	}
}

func TestParseOptionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		values url.Values
		opts   Options
		want   *Error
	}{
		{"top not a number", url.Values{"$top": {"abc"}}, Options{}, &Error{"$top", 0, "'abc' is not a valid value for $top; use an integer from 0 to 2147483647"}},
		{"top negative", url.Values{"$top": {"-1"}}, Options{}, &Error{"$top", 0, "'-1' is not a valid value for $top; use an integer from 0 to 2147483647"}},
		{"top with sign", url.Values{"$top": {"1.5"}}, Options{}, &Error{"$top", 0, "'1.5' is not a valid value for $top; use an integer from 0 to 2147483647"}},
		{"top above max", url.Values{"$top": {"10001"}}, Options{}, &Error{"$top", 0, "the limit of '10000' for $top has been exceeded; the value from the request is '10001'"}},
		{"top above custom max", url.Values{"$top": {"6"}}, Options{MaxTop: 5}, &Error{"$top", 0, "the limit of '5' for $top has been exceeded; the value from the request is '6'"}},
		{"top out of range", url.Values{"$top": {"99999999999"}}, Options{}, &Error{"$top", 0, "value '99999999999' for $top is out of range; use an integer from 0 to 2147483647"}},
		{"skip not a number", url.Values{"$skip": {"x"}}, Options{}, &Error{"$skip", 0, "'x' is not a valid value for $skip; use an integer from 0 to 2147483647"}},
		{"skip negative", url.Values{"$skip": {"-3"}}, Options{}, &Error{"$skip", 0, "'-3' is not a valid value for $skip; use an integer from 0 to 2147483647"}},
		{"count not a bool", url.Values{"$count": {"yes"}}, Options{}, &Error{"$count", 0, "'yes' is not a valid value for $count; use true or false"}},
		{"select", url.Values{"$select": {"id"}}, Options{}, &Error{"$select", 0, "query option '$select' is not supported"}},
		{"expand", url.Values{"$expand": {"commands"}}, Options{}, &Error{"$expand", 0, "query option '$expand' is not supported"}},
		{"unknown dollar option", url.Values{"$foo": {"1"}}, Options{}, &Error{"$foo", 0, "query option '$foo' is not supported"}},
		{"misspelt option", url.Values{"$fitler": {"id eq 'x'"}}, Options{}, &Error{"$fitler", 0, "query option '$fitler' is not supported"}},
		{"repeated option", url.Values{"$filter": {"id eq 'a'", "id eq 'b'"}}, Options{}, &Error{"$filter", 0, "query option '$filter' was specified more than once"}},
		{"same option in two cases", url.Values{"$top": {"1"}, "$TOP": {"1"}}, Options{}, &Error{"$top", 0, "query option '$top' was specified more than once"}},
		{"orderby unknown field", url.Values{"$orderby": {"id, foo desc"}}, Options{}, &Error{"$orderby", 5, "property 'foo' cannot be used in $orderby"}},
		{"orderby collection", url.Values{"$orderby": {"machineTags"}}, Options{}, &Error{"$orderby", 1, "property 'machineTags' is a collection and cannot be used in $orderby"}},
		{"orderby duplicate", url.Values{"$orderby": {"id, ID desc"}}, Options{}, &Error{"$orderby", 5, "property 'id' appears more than once in $orderby"}},
		{"orderby two directions", url.Values{"$orderby": {"id desc asc"}}, Options{}, &Error{"$orderby", 9, "syntax error at position 9 in $orderby 'id desc asc': expected ',', 'asc', 'desc' or end of input, found 'asc'"}},
		{"orderby missing comma", url.Values{"$orderby": {"id status"}}, Options{}, &Error{"$orderby", 4, "syntax error at position 4 in $orderby 'id status': expected ',', 'asc', 'desc' or end of input, found 'status'"}},
		{"orderby empty item", url.Values{"$orderby": {"id,,status"}}, Options{}, &Error{"$orderby", 4, "syntax error at position 4 in $orderby 'id,,status': expected a property name, found ','"}},
		{"orderby trailing comma", url.Values{"$orderby": {"id,"}}, Options{}, &Error{"$orderby", 4, "syntax error at position 4 in $orderby 'id,': expected a property name, found end of input"}},
		{"orderby bad character", url.Values{"$orderby": {"id;"}}, Options{}, &Error{"$orderby", 3, "syntax error at position 3 in $orderby 'id;': unexpected character ';'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q, err := Parse(tt.values, actionSchema, tt.opts)
			got, ok := err.(*Error)
			if !ok {
				t.Fatalf("Parse(%v) = %v, %v (%T), want an *Error", tt.values, q, err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%v) error mismatch (-want +got):\n%s", tt.values, diff)
			}
		})
	}
}
