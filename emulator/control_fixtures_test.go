package emulator_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

// putFixturesDirect sends PUT /_emulator/fixtures to srv's control handler
// in-process, from loopback, with body (no Content-Length when chunked).
func putFixturesDirect(ctx context.Context, srv *emulator.Server, body string, chunked bool) *httptest.ResponseRecorder {
	var rd io.Reader = strings.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // hides the length
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPut, "/_emulator/fixtures", rd)
	if chunked {
		req.ContentLength = -1
	}
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Content-Type", "application/yaml")
	w := httptest.NewRecorder()
	srv.ControlHandler().ServeHTTP(w, req)
	return w
}

// machineCount returns how many machines the emulator's tenants have.
func machineCount(srv *emulator.Server) int {
	n := 0
	for _, t := range srv.Store().Tenants() {
		n += t.MachineCount()
	}
	return n
}

// A body over 32 MB sent without a Content-Length is cut at the bound and
// refused with 413; the state stays.
func TestPutFixturesChunkedTooLarge(t *testing.T) {
	t.Parallel()
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	before := machineCount(srv)
	w := putFixturesDirect(t.Context(), srv, "tenants: []\n#"+strings.Repeat("x", 32<<20), true)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), `"code":"RequestEntityTooLarge"`) {
		t.Errorf("got %d %s, want 413 RequestEntityTooLarge", w.Code, w.Body)
	}
	if got := machineCount(srv); got != before {
		t.Errorf("%d machines after the refused fixture, want %d", got, before)
	}
}

// When the client has gone, the parse stops and nothing is loaded.
func TestPutFixturesClientGone(t *testing.T) {
	t.Parallel()
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	before := machineCount(srv)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w := putFixturesDirect(ctx, srv, "tenants:\n  - id: 11111111-1111-4111-8111-111111111111\n    generateMachines: 100000\n", false)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "parsing stopped: context canceled") {
		t.Errorf("got %d %s, want the parse stopped", w.Code, w.Body)
	}
	if got := machineCount(srv); got != before {
		t.Errorf("%d machines after the stopped load, want %d", got, before)
	}
	// A good fixture still loads.
	w = putFixturesDirect(t.Context(), srv, "tenants:\n  - id: 11111111-1111-4111-8111-111111111111\n    generateMachines: 3\n", false)
	if w.Code != http.StatusOK || machineCount(srv) != 3 {
		t.Errorf("good fixture: %d %s, %d machines", w.Code, w.Body, machineCount(srv))
	}
}
