package journal_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/internal/journal"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query     string
		want      journal.Filter
		wantParam string // non-empty: ParseFilter must fail naming this parameter
	}{
		{query: "", want: journal.Filter{}},
		{query: "method=post&path=/api/machineactions/*", want: journal.Filter{Method: "post", Path: "/api/machineactions/*"}},
		{query: "status=429", want: journal.Filter{Status: 429}},
		{query: "status=4xx", want: journal.Filter{StatusClass: 4}},
		{query: "status=5XX", want: journal.Filter{StatusClass: 5}},
		{query: "status=", want: journal.Filter{}},
		{query: "tenantId=t1&appId=a1&actionId=x1&errorCode=TooManyRequests&fault=f1",
			want: journal.Filter{TenantID: "t1", AppID: "a1", ActionID: "x1", ErrorCode: "TooManyRequests", Fault: "f1"}},
		{query: "since=2025-03-01T12:00:00Z&until=2025-03-01T13:00:00.5%2B01:00",
			want: journal.Filter{Since: t0, Until: time.Date(2025, 3, 1, 13, 0, 0, 5e8, time.FixedZone("", 3600))}},
		{query: "since=2025-03-01T12:00:00Z&until=2025-03-01T12:00:00Z", want: journal.Filter{Since: t0, Until: t0}},
		{query: "afterSeq=17&limit=5", want: journal.Filter{AfterSeq: 17, Limit: 5}},
		{query: "limit=0", want: journal.Filter{}},
		{query: "status=429&status=500", want: journal.Filter{Status: 429}},
		{query: "count=3&timeout=5s", want: journal.Filter{}}, // other parameters are the caller's

		{query: "status=abc", wantParam: "status"},
		{query: "status=42", wantParam: "status"},
		{query: "status=600", wantParam: "status"},
		{query: "status=0xx", wantParam: "status"},
		{query: "status=6xx", wantParam: "status"},
		{query: "status=4x", wantParam: "status"},
		{query: "since=yesterday", wantParam: "since"},
		{query: "until=2025-03-01", wantParam: "until"},
		{query: "since=2025-03-01T12:00:01Z&until=2025-03-01T12:00:00Z", wantParam: "until"},
		{query: "afterSeq=-1", wantParam: "afterSeq"},
		{query: "afterSeq=x", wantParam: "afterSeq"},
		{query: "limit=-1", wantParam: "limit"},
		{query: "limit=ten", wantParam: "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := journal.ParseFilter(q)
			if tt.wantParam != "" {
				var pe *journal.ParamError
				if !errors.As(err, &pe) || pe.Param != tt.wantParam {
					t.Fatalf("ParseFilter(%q) error = %v, want a *ParamError for %q", tt.query, err, tt.wantParam)
				}
				if pe.Value != q.Get(tt.wantParam) {
					t.Errorf("ParamError.Value = %q, want %q", pe.Value, q.Get(tt.wantParam))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tt.query, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFilter(%q) (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

func TestParamErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := journal.ParseFilter(url.Values{"limit": {"ten"}})
	want := `journal: query parameter limit="ten": want a non-negative integer`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}
