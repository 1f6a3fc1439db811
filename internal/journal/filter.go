package journal

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/internal/glob"
)

// Filter selects journal entries. Every set field must match; the zero
// Filter matches every entry.
type Filter struct {
	// Method matches the request method, case-insensitively; empty: any.
	Method string
	// Path matches the request path (without the query) as a glob
	// (package glob, as a fault rule's path): '*' matches any run of
	// characters, '/' included, and every other character matches itself,
	// case-insensitively. "/api/machineactions/*"
	// matches "/api/machineactions/ID" and "/api/machineactions/ID/GetLiveResponseResultDownloadLink".
	// Empty: any.
	Path string
	// Status matches the response status exactly; 0: any.
	Status int
	// StatusClass matches the hundreds digit of the status: 4 selects
	// 4xx; 0: any.
	StatusClass int
	// TenantID, AppID and ActionID match their Entry fields,
	// case-insensitively (they are GUIDs); empty: any.
	TenantID, AppID string
	ActionID        string
	// ErrorCode and Fault match their Entry fields, case-insensitively;
	// empty: any.
	ErrorCode, Fault string
	// Since and Until bound the entry's emulated Time, both inclusive;
	// the zero time leaves that side unbounded.
	Since, Until time.Time
	// AfterSeq selects entries with Seq > AfterSeq.
	AfterSeq uint64
	// Limit, when positive, makes Query return only the last Limit
	// matching entries (the most recent), still in Seq order. Match ignores
	// it.
	Limit int
}

// Match reports whether e passes every condition of f except Limit.
func (f Filter) Match(e Entry) bool { return f.match(&e) }

func (f *Filter) match(e *Entry) bool {
	switch {
	case f.AfterSeq != 0 && e.Seq <= f.AfterSeq,
		f.Status != 0 && e.Status != f.Status,
		f.StatusClass != 0 && e.Status/100 != f.StatusClass,
		f.Method != "" && !strings.EqualFold(e.Method, f.Method),
		f.TenantID != "" && !strings.EqualFold(e.TenantID, f.TenantID),
		f.AppID != "" && !strings.EqualFold(e.AppID, f.AppID),
		f.ActionID != "" && !strings.EqualFold(e.ActionID, f.ActionID),
		f.ErrorCode != "" && !strings.EqualFold(e.ErrorCode, f.ErrorCode),
		f.Fault != "" && !strings.EqualFold(e.Fault, f.Fault),
		!f.Since.IsZero() && e.Time.Before(f.Since),
		!f.Until.IsZero() && e.Time.After(f.Until),
		f.Path != "" && !glob.Match(f.Path, e.Path):
		return false
	}
	return true
}

// ParamError is the error ParseFilter returns for a bad query parameter.
type ParamError struct {
	Param  string // the query parameter's name, e.g. "status"
	Value  string // its value as given
	Reason string // what is wrong with it
}

// Error names the parameter, its value and what is wrong with it.
func (e *ParamError) Error() string {
	return fmt.Sprintf("journal: query parameter %s=%q: %s", e.Param, e.Value, e.Reason)
}

// ParseFilter builds a Filter from query parameters: method, path (a glob),
// status ("429", or a class such as "4xx"), tenantId, appId, actionId,
// errorCode, fault, since and until (RFC 3339 emulated times), afterSeq and limit. An absent
// or empty parameter leaves its field unset; only the first value of a
// repeated parameter is read; other parameters are ignored, so the caller
// may add its own (such as a wait count). The error is a *ParamError naming
// the bad parameter.
func ParseFilter(q url.Values) (Filter, error) {
	f := Filter{
		Method:    q.Get("method"),
		Path:      q.Get("path"),
		TenantID:  q.Get("tenantId"),
		AppID:     q.Get("appId"),
		ActionID:  q.Get("actionId"),
		ErrorCode: q.Get("errorCode"),
		Fault:     q.Get("fault"),
	}
	if v := q.Get("status"); v != "" {
		if len(v) == 3 && strings.EqualFold(v[1:], "xx") {
			if v[0] < '1' || v[0] > '5' {
				return Filter{}, &ParamError{"status", v, "want a status class 1xx to 5xx"}
			}
			f.StatusClass = int(v[0] - '0')
		} else {
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 599 {
				return Filter{}, &ParamError{"status", v, "want a status code 100 to 599 or a class such as 4xx"}
			}
			f.Status = n
		}
	}
	var err error
	if f.Since, err = parseTime(q, "since"); err != nil {
		return Filter{}, err
	}
	if f.Until, err = parseTime(q, "until"); err != nil {
		return Filter{}, err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Until.Before(f.Since) {
		return Filter{}, &ParamError{"until", q.Get("until"), "before since"}
	}
	if v := q.Get("afterSeq"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return Filter{}, &ParamError{"afterSeq", v, "want a non-negative integer"}
		}
		f.AfterSeq = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Filter{}, &ParamError{"limit", v, "want a non-negative integer"}
		}
		f.Limit = n
	}
	return f, nil
}

func parseTime(q url.Values, param string) (time.Time, error) {
	v := q.Get(param)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, &ParamError{param, v, "want an RFC 3339 time such as 2025-03-01T12:00:00Z"}
	}
	return t, nil
}
