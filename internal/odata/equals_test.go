package odata

import (
	"net/url"
	"slices"
	"testing"
)

func TestEquals(t *testing.T) {
	schema := NewSchema(Field{Name: "machineId", Type: String}, Field{Name: "status", Type: String}, Field{Name: "tags", Type: StringCollection})
	cases := []struct {
		filter string
		want   []string
		ok     bool
	}{
		{"", nil, false},
		{"machineId eq 'a'", []string{"a"}, true},
		{"MachineId eq 'A'", []string{"A"}, true},
		{"machineId in ('a','b')", []string{"a", "b"}, true},
		{"machineId in ()", []string{}, true},
		{"status eq 'x' and (machineId eq 'a' and status ne 'y')", []string{"a"}, true},
		{"machineId eq 'a' or status eq 'x'", nil, false},
		{"not machineId eq 'a'", nil, false},
		{"not (machineId ne 'a')", nil, false},
		{"machineId ne 'a'", nil, false},
		{"machineId eq null", nil, false},
		{"machineId in ('a', null)", nil, false},
		{"status eq 'a'", nil, false},
		{"machineId ge 'a'", nil, false},
		{"tags/any(t: t eq 'a')", nil, false},
		{"startswith(machineId,'a')", nil, false},
	}
	for _, c := range cases {
		v := url.Values{}
		if c.filter != "" {
			v.Set("$filter", c.filter)
		}
		q, err := Parse(v, schema, Options{})
		if err != nil {
			t.Fatalf("%q: %v", c.filter, err)
		}
		got, ok := q.Equals("machineId")
		if ok != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("%q: Equals = %q, %v; want %q, %v", c.filter, got, ok, c.want, c.ok)
		}
	}
}
