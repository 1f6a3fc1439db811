package emulator

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/openapi"
)

// TestControlCodesMatchTheSpec checks that the Error.code enum of
// openapi/control-api.yaml lists exactly the control plane's codes.
func TestControlCodesMatchTheSpec(t *testing.T) {
	t.Parallel()
	doc, err := openapi.LoadControl()
	if err != nil {
		t.Fatal(err)
	}
	schema := doc.Components.Schemas["Error"]
	if schema == nil || schema.Value.Properties["error"] == nil || schema.Value.Properties["error"].Value.Properties["code"] == nil {
		t.Fatal("control-api.yaml has no Error.error.code")
	}
	var spec []string
	for _, v := range schema.Value.Properties["error"].Value.Properties["code"].Value.Enum {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("Error.code enum: %v is not a string", v)
		}
		spec = append(spec, s)
	}
	var code []string
	for c := range numControlCodes {
		code = append(code, c.String())
	}
	slices.Sort(spec)
	slices.Sort(code)
	if diff := cmp.Diff(code, spec); diff != "" {
		t.Errorf("Error.code enum of control-api.yaml (-Go codes +spec):\n%s", diff)
	}
}

func TestControlCodes(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for c := range numControlCodes {
		if name := c.String(); name == "" || seen[name] {
			t.Errorf("code %d: name %q empty or taken twice", int(c), name)
		} else {
			seen[name] = true
		}
		if st := c.Status(); (st < 400 || st > 499) && !(c == ctlServiceUnavailable && st == http.StatusServiceUnavailable) {
			t.Errorf("%s: status %d, want a 4xx (503 for ServiceUnavailable alone: the store could not keep a change)", c, st)
		}
	}
	if got := numControlCodes.String(); !strings.HasPrefix(got, "controlCode(") {
		t.Errorf("an unknown code's name: %q", got)
	}
	if got := controlCode(-1).Status(); got != http.StatusInternalServerError {
		t.Errorf("an unknown code's status: %d", got)
	}

	rec := httptest.NewRecorder()
	c := echo.New().NewContext(httptest.NewRequest("GET", "/_emulator/x", nil), rec)
	if err := controlError(c, ctlResourceNotFound, "Machine %s was not found", "m1"); err != nil {
		t.Fatal(err)
	}
	want := `{"error":{"code":"ResourceNotFound","message":"Machine m1 was not found"}}` + "\n"
	if rec.Code != http.StatusNotFound || rec.Body.String() != want {
		t.Errorf("controlError: %d %q, want 404 %q", rec.Code, rec.Body.String(), want)
	}
}
