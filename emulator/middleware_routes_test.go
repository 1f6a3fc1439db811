package emulator

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/openapi"
)

// The validator's codes are the service's, with the same status.
func TestValidationErrorCodes(t *testing.T) {
	t.Parallel()
	known := []apierr.Code{apierr.BadRequest, apierr.InvalidRequestBody, apierr.MissingRequiredParameter, apierr.RequestEntityTooLarge}
	for _, code := range []string{openapi.CodeBadRequest, openapi.CodeInvalidRequestBody,
		openapi.CodeMissingRequiredParameter, openapi.CodeRequestEntityTooLarge} {
		in := &openapi.Error{Code: code, Message: "m"}
		e := validationError(in)
		if !slices.Contains(known, e.Code) || e.Message != "m" || e.Status() != in.Status() {
			t.Errorf("validationError(%v) = %v, status %d; want the code %s, status %d", in, e, e.Status(), code, in.Status())
		}
	}
}

// Every /api route is an operation of the OpenAPI document, found from
// the route's own path (documentPath), and every operation is served.
func TestAPIRoutesDocumented(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Clock: clock.Manual})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	doc, err := openapi.Load()
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, r := range s.echo.Routes() {
		path, ok := strings.CutPrefix(r.Path, "/api/")
		if !ok || r.Method == echo.RouteNotFound {
			continue
		}
		op := documentPath("/" + path)
		if item := doc.Paths.Value(op); item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("route %s %s: the document has no operation %s %s", r.Method, r.Path, r.Method, op)
		}
		served = append(served, r.Method+" "+op)
	}
	var documented []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented = append(documented, method+" "+path)
		}
	}
	slices.Sort(served)
	slices.Sort(documented)
	if diff := cmp.Diff(documented, served); diff != "" {
		t.Errorf("operations (-documented +served):\n%s", diff)
	}
}
