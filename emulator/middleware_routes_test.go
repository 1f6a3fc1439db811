package emulator

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/identity"
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

// A path under /api that no route matches, or a method no route of the
// path has, goes through the /api middleware to its 404: refused 401
// without a token, 404 with one, and journaled either way.
func TestUnroutedAPIPathsGoThroughTheMiddleware(t *testing.T) {
	t.Parallel()
	s, err := New(Options{Clock: clock.Manual})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, tok, err := s.Authority().Mint(identity.MintRequest{})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"GET /api/nope", "GET /api", "PUT /api/machines", "DELETE /api/machineactions/x"}
	for _, p := range paths {
		method, path, _ := strings.Cut(p, " ")
		for _, auth := range []string{"", "Bearer " + tok.AccessToken} {
			req := httptest.NewRequest(method, path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, req)
			want := http.StatusUnauthorized
			if auth != "" {
				want = http.StatusNotFound
			}
			if w.Code != want {
				t.Errorf("%s (auth %v): %d, want %d: %s", p, auth != "", w.Code, want, w.Body)
			}
		}
	}
	if n := s.Journal().Stats().Recorded; n != uint64(2*len(paths)) {
		t.Errorf("the journal recorded %d calls, want %d", n, 2*len(paths))
	}
}
