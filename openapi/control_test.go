package openapi_test

import (
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/state"
	"github.com/mdelive/mde-emulator/openapi"
)

func loadControl(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi.LoadControl()
	if err != nil {
		t.Fatalf("LoadControl() = %v", err)
	}
	return doc
}

func TestLoadControl(t *testing.T) {
	t.Parallel()
	doc := loadControl(t)
	if got := doc.OpenAPI; got != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", got)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/_emulator" {
		t.Errorf("servers = %v, want one relative server /_emulator", doc.Servers)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.Summary == "" {
				t.Errorf("%s: no summary", name)
			}
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", name)
			}
			success := 0
			for code, resp := range op.Responses.Map() {
				switch code {
				case "200", "201":
					success++
					// JSON, but for what a browser or a scraper reads: the
					// dashboard's page and its event stream, the metrics.
					if resp.Value.Content.Get("application/json") == nil && (method != http.MethodGet ||
						resp.Value.Content.Get("text/html") == nil && resp.Value.Content.Get("text/event-stream") == nil && resp.Value.Content.Get("text/plain") == nil) {
						t.Errorf("%s %s: no application/json content", name, code)
					}
				case "204":
					success++
					if len(resp.Value.Content) != 0 {
						t.Errorf("%s 204: has content", name)
					}
				case "400", "401", "403", "404", "409", "413", "429", "503": // 401, 403: the control token, loopback peers only; 409: a tenant's state; 413: PUT /fixtures over 32 MB; 429: the dashboard's streams; 503: a change --data could not make durable
					mt := resp.Value.Content.Get("application/json")
					if mt == nil || mt.Schema.Ref != "#/components/schemas/Error" {
						t.Errorf("%s %s: content is not the Error schema", name, code)
					}
				default:
					t.Errorf("%s: status %s is not one the control plane answers", name, code)
				}
			}
			if success != 1 {
				t.Errorf("%s: %d success statuses, want 1", name, success)
			}
		}
	}
}

// echoParam is a path parameter as echo writes it (":id"); docParam as the
// document does ("{id}").
var (
	echoParam = regexp.MustCompile(`:[^/]+`)
	docParam  = regexp.MustCompile(`\{[^/}]+\}`)
)

// TestControlRoutesDocumented checks that the document has exactly the
// routes the emulator's control plane serves, read from a running server's
// router: a route added without a document entry fails here.
func TestControlRoutesDocumented(t *testing.T) {
	t.Parallel()
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	router, ok := srv.ControlHandler().(interface{ Routes() []*echo.Route })
	if !ok {
		t.Fatalf("ControlHandler() is a %T, which does not list its routes", srv.ControlHandler())
	}
	var served []string
	for _, r := range router.Routes() {
		path, ok := strings.CutPrefix(r.Path, "/_emulator")
		if !ok {
			t.Errorf("route %s %s is outside /_emulator", r.Method, r.Path)
			continue
		}
		served = append(served, r.Method+" "+echoParam.ReplaceAllString(path, "{}"))
	}
	slices.Sort(served)
	served = slices.Compact(served)

	var documented []string
	for path, item := range loadControl(t).Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+docParam.ReplaceAllString(path, "{}"))
		}
	}
	slices.Sort(documented)
	if len(served) == 0 {
		t.Fatal("the control plane serves no route")
	}
	if diff := cmp.Diff(served, documented); diff != "" {
		t.Errorf("operations (-served +documented):\n%s", diff)
	}
}

// jsonFields returns the JSON property names of struct type typ and those
// of them that are always written (no omitempty).
func jsonFields(typ reflect.Type) (names, always []string) {
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		if !strings.Contains(","+opts+",", ",omitempty,") {
			always = append(always, name)
		}
	}
	slices.Sort(names)
	slices.Sort(always)
	return names, always
}

// TestControlSchemasMatchTypes checks the schemas of the values the
// control plane writes against the Go types it writes them from: the same
// properties, and every property without omitempty required.
func TestControlSchemasMatchTypes(t *testing.T) {
	t.Parallel()
	doc := loadControl(t)
	tests := []struct {
		schema   string
		value    any
		request  bool     // a request schema: nothing is required
		leaveOut []string // properties of the type the control plane never writes
	}{
		{schema: "JournalEntry", value: journal.Entry{}},
		{schema: "JournalStats", value: journal.Stats{}},
		{schema: "FaultRule", value: faults.Rule{}},
		{schema: "FaultMatch", value: faults.Match{}},
		{schema: "FaultCalls", value: faults.Calls{}},
		{schema: "FaultEffect", value: faults.Effect{}},
		{schema: "Outcome", value: state.Outcome{}},
		{schema: "NewOutcome", value: state.Outcome{}, request: true},
		{schema: "Machine", value: state.MachineView{}, leaveOut: []string{"@odata.context"}},
		{schema: "IpAddress", value: state.IPAddress{}},
	}
	for _, tt := range tests {
		t.Run(tt.schema, func(t *testing.T) {
			ref := doc.Components.Schemas[tt.schema]
			if ref == nil {
				t.Fatalf("no schema %s", tt.schema)
			}
			s := ref.Value
			names, always := jsonFields(reflect.TypeOf(tt.value))
			names = slices.DeleteFunc(names, func(n string) bool { return slices.Contains(tt.leaveOut, n) })
			var props []string
			for name := range s.Properties {
				props = append(props, name)
			}
			slices.Sort(props)
			if diff := cmp.Diff(names, props); diff != "" {
				t.Errorf("properties (-%T +schema):\n%s", tt.value, diff)
			}
			if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
				t.Errorf("additionalProperties is not false")
			}
			want := always
			if tt.request {
				want = nil
			}
			if tt.schema == "Outcome" {
				want = []string{"type"} // validated outcomes always have one
			}
			got := slices.Sorted(slices.Values(s.Required))
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("required (-want +got):\n%s", diff)
			}
		})
	}
}

func TestControlValidator(t *testing.T) {
	t.Parallel()
	v, err := openapi.NewControlValidator()
	if err != nil {
		t.Fatalf("NewControlValidator() = %v", err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		method string
		path   string
		status int
		header http.Header
		body   string
		ok     bool
	}{
		{"clock", "GET", "/_emulator/clock", 200, json, `{"now":"2026-01-05T10:00:00Z","mode":"manual","scale":1}`, true},
		{"clock with fractions", "GET", "/_emulator/clock", 200, json, `{"now":"2026-01-05T10:00:00.1234567Z","mode":"real","scale":0.5}`, true},
		{"unknown mode", "GET", "/_emulator/clock", 200, json, `{"now":"2026-01-05T10:00:00Z","mode":"fast","scale":1}`, false},
		{"extra property", "GET", "/_emulator/clock", 200, json, `{"now":"2026-01-05T10:00:00Z","mode":"manual","scale":1,"tz":"UTC"}`, false},
		{"missing property", "GET", "/_emulator/clock", 200, json, `{"now":"2026-01-05T10:00:00Z","mode":"manual"}`, false},
		{"local time", "GET", "/_emulator/clock", 200, json, `{"now":"2026-01-05T10:00:00+01:00","mode":"manual","scale":1}`, false},
		{"undocumented status", "GET", "/_emulator/clock", 201, json, `{"now":"2026-01-05T10:00:00Z","mode":"manual","scale":1}`, false},
		{"error", "PUT", "/_emulator/clock", 400, json, `{"error":{"code":"InvalidInput","message":"scale must be positive, not 0"}}`, true},
		{"error with target", "PUT", "/_emulator/clock", 400, json, `{"error":{"code":"InvalidInput","message":"m","target":"x"}}`, false},
		{"no content", "DELETE", "/_emulator/journal", 204, nil, ``, true},
		{"content on 204", "DELETE", "/_emulator/journal", 204, json, `{}`, false},
		{"path parameter", "DELETE", "/_emulator/faults/f1", 404, json, `{"error":{"code":"ResourceNotFound","message":"Fault rule f1 was not found"}}`, true},
		{"fault rule", "POST", "/_emulator/faults", 201, json,
			`{"id":"f1","match":{"method":"GET","path":"/api/machines"},"calls":{"next":2},"effect":{"status":429,"code":"TooManyRequests","message":"Too many requests.","retryAfter":"30s"},"fired":0,"seen":0}`, true},
		{"bad duration", "POST", "/_emulator/faults", 201, json,
			`{"id":"f1","match":{},"calls":{},"effect":{"latency":"soon"},"fired":0,"seen":0}`, false},
		{"journal entry", "GET", "/_emulator/journal", 200, json,
			`{"entries":[{"seq":1,"time":"2026-01-05T10:00:00Z","wallTime":"2026-07-01T12:00:00.123456789+02:00","method":"GET","path":"/api/machines","status":429,"retryAfter":"30","durationMs":0.25}],"stats":{"capacity":10000,"len":1,"recorded":1,"dropped":0,"waiters":0}}`, true},
		{"case is not folded", "GET", "/_emulator/Clock", 200, json, `{"now":"2026-01-05T10:00:00Z","mode":"manual","scale":1}`, false},
		{"api path", "GET", "/api/machines", 200, json, `{"value":[]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, err := http.NewRequest(tt.method, "http://emulator.test"+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = v.ValidateResponse(r, tt.status, tt.header, []byte(tt.body))
			if got := err == nil; got != tt.ok {
				t.Errorf("ValidateResponse() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestValidatorsAreSeparate checks that building the control validator
// leaves the API validator as it was: it still folds the case of its
// literal segments and knows nothing of /_emulator.
func TestValidatorsAreSeparate(t *testing.T) {
	t.Parallel()
	if _, err := openapi.NewControlValidator(); err != nil {
		t.Fatal(err)
	}
	api, err := openapi.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	json := http.Header{"Content-Type": {"application/json"}}
	r, _ := http.NewRequest("GET", "http://emulator.test/API/Machines", nil)
	if err := api.ValidateResponse(r, 200, json, []byte(`{"@odata.context":"x","value":[]}`)); err != nil {
		t.Errorf("API validator, GET /API/Machines: %v", err)
	}
	r, _ = http.NewRequest("GET", "http://emulator.test/_emulator/clock", nil)
	if err := api.ValidateResponse(r, 200, json, []byte(`{"now":"2026-01-05T10:00:00Z","mode":"manual","scale":1}`)); err == nil {
		t.Errorf("API validator, GET /_emulator/clock: no error")
	}
}
