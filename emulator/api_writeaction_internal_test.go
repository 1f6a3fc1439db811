package emulator

import (
	cryptotls "crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/state"
)

// writeAction writes the body, status and Content-Type writeJSON writes
// for the actionEntity, whatever the request's Host and scheme.
func TestWriteActionMatchesWriteJSON(t *testing.T) {
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	comment := "a <comment> & \"quotes\""
	ts := state.Stamp(time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC))
	v := state.ActionView{
		ID: "7f1f1c9b-6f2c-4a53-8f0e-6a5d8e1b2c3d", Type: "LiveResponse", Requestor: "SOAR", RequestorComment: &comment,
		Status: state.StatusPending, MachineID: "a0", ComputerDNSName: "win1", CreationDateTimeUtc: ts, LastUpdateDateTimeUtc: ts,
		RequestSource: "PublicApi", Commands: []state.CommandView{},
	}
	for _, host := range []string{"127.0.0.1:8080", "localhost", `quote"host`, "back\\slash", "é.example", "\x01", ""} {
		for _, tls := range []bool{false, true} {
			write := func(f func(c echo.Context) error) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, "/api/machineactions/x", nil)
				r.Host = host
				if tls {
					r.TLS = &cryptotls.ConnectionState{}
				}
				w := httptest.NewRecorder()
				if err := f(srv.echo.NewContext(r, w)); err != nil {
					t.Fatal(err)
				}
				return w
			}
			want := write(func(c echo.Context) error {
				return srv.writeJSON(c, http.StatusCreated, actionEntity{odataContext(c, "MachineActions/$entity"), &v})
			})
			got := write(func(c echo.Context) error { return srv.writeAction(c, http.StatusCreated, &v) })
			if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || got.Body.String() != want.Body.String() {
				t.Errorf("host %q, TLS %v:\nwriteJSON:   %d %q %s\nwriteAction: %d %q %s", host, tls,
					want.Code, want.Header().Get("Content-Type"), want.Body, got.Code, got.Header().Get("Content-Type"), got.Body)
			}
		}
	}
}
