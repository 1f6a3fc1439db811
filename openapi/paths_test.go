package openapi

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

func TestCanonicalPath(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	tests := []struct{ path, want string }{
		{"/api/machines/abc", ""},
		{"/API/Machines/ABC/RunLiveResponse", "/api/machines/ABC/runliveresponse"},
		{"/Api", "/api"},
		{"/api/MachineActions/CANCEL/Cancel", "/api/machineactions/CANCEL/cancel"},
		// Ids and file names keep their spelling, even when they look
		// like a literal segment.
		{"/api/libraryfiles/Cancel", ""},
		{"/API/LIBRARYFILES/MACHINES", "/api/libraryfiles/MACHINES"},
		{"/api/machineactions/x/getliveresponseresultdownloadlink(index=3)", "/api/machineactions/x/GetLiveResponseResultDownloadLink(index=3)"},
		{"/api/machineactions/x/GETLIVERESPONSERESULTDOWNLOADLINK(INDEX=12)", "/api/machineactions/x/GetLiveResponseResultDownloadLink(index=12)"},
		{"/api/machineactions/x/GetLiveResponseResultDownloadLink(index=3)", ""},
		// Only an integer argument makes the function segment.
		{"/api/machineactions/x/getliveresponseresultdownloadlink(index=x)", ""},
		// Outside /api nothing changes.
		{"/apix/Machines", ""},
		{"/_emulator/Clock", ""},
		{"/tenant/oauth2/Token", ""},
	}
	for _, tt := range tests {
		want := tt.want
		if want == "" {
			want = tt.path
		}
		got, changed := v.CanonicalPath(tt.path)
		if got != want || changed != (tt.want != "") {
			t.Errorf("CanonicalPath(%q) = %q, %v; want %q, %v", tt.path, got, changed, want, tt.want != "")
		}
	}
	control, err := NewControlValidator()
	if err != nil {
		t.Fatal(err)
	}
	if got, changed := control.CanonicalPath("/API/Machines"); got != "/API/Machines" || changed {
		t.Errorf("control CanonicalPath(/API/Machines) = %q, %v; want it unchanged", got, changed)
	}
}

// Building and using Validators leaves kin-openapi's process-wide table of
// body decoders as kin-openapi fills it: a program that imports this
// package finds kin-openapi as it was.
func TestKinOpenAPIDecodersUntouched(t *testing.T) {
	types := []string{"application/json", "application/problem+json", "application/x-www-form-urlencoded",
		"multipart/form-data", "text/plain", "application/octet-stream", "*/*"}
	ptr := func(d openapi3filter.BodyDecoder) uintptr {
		if d == nil {
			return 0
		}
		return reflect.ValueOf(d).Pointer()
	}
	if got, want := ptr(openapi3filter.RegisteredBodyDecoder("application/json")), ptr(openapi3filter.JSONBodyDecoder); got != want {
		t.Fatalf("the application/json decoder is not kin-openapi's own JSONBodyDecoder")
	}
	before := map[string]uintptr{}
	for _, ct := range types {
		before[ct] = ptr(openapi3filter.RegisteredBodyDecoder(ct))
	}

	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewControlValidator(); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{submitBody, `{"Commands":[]}`, `{"Commands":[]} trailing`} {
		r := httptest.NewRequest(http.MethodPost, "/api/machines/"+machineID+"/runliveresponse", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		v.ValidateRequest(r)
	}
	r := httptest.NewRequest(http.MethodGet, "/api/machineactions/7f1f1c9b-6f2c-4a53-8f0e-6a5d8e1b2c3d", nil)
	_ = v.ValidateResponse(r, http.StatusOK, http.Header{"Content-Type": {"application/json"}}, []byte(pendingAction))

	for _, ct := range types {
		if got := ptr(openapi3filter.RegisteredBodyDecoder(ct)); got != before[ct] {
			t.Errorf("the body decoder of %s changed", ct)
		}
	}
}
