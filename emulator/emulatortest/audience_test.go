package emulatortest_test

import (
	"net/http"
	"testing"

	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/internal/identity"
)

// A test server accepts a token for its own URL (in memory or on its
// listener) and refuses one for another host, whatever Host a request sent.
func TestOwnURLIsAnAudience(t *testing.T) {
	for _, opts := range [][]emulatortest.Option{nil, {emulatortest.WithListener()}} {
		srv := emulatortest.NewServer(t, opts...)
		get := func(aud, host string) int {
			t.Helper()
			tok, _, err := srv.Emulator().Authority().Mint(identity.MintRequest{Audience: aud})
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest("GET", srv.URL+"/api/machines?$top=1", nil)
			if host != "" {
				req.Host = host
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}
		if got := get(srv.URL, ""); got != 200 {
			t.Errorf("%s: a token for its own URL: %d", srv.URL, got)
		}
		if got := get("http://evil.example", "evil.example"); got != 403 {
			t.Errorf("%s: a token for the Host it was sent: %d", srv.URL, got)
		}
	}
}
