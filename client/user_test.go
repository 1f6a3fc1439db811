package client_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/client"
	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/journal"
)

// Users of the kit's fixture.
const (
	analyst      = "analyst@contoso.onmicrosoft.com" // advanced live response
	tier1        = "tier1@contoso.onmicrosoft.com"   // basic: GetFile only
	userPassword = "client-kit-password"
)

func asUser(upn string) func(*client.Config) {
	return func(c *client.Config) {
		c.Username, c.Password, c.ClientSecret = upn, userPassword, ""
	}
}

// grantTypes returns the grant_type of each token request, in order.
func grantTypes(srv *emulatortest.Server) []string {
	var out []string
	for _, e := range srv.Requests(journal.Filter{Method: "POST", Path: tokenPath}) {
		v, _ := url.ParseQuery(e.RequestBody)
		out = append(out, v.Get("grant_type"))
	}
	return out
}

func TestUserSignInRunsAScript(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	res, err := newClient(t, srv, asUser(analyst)).RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("result = %+v", res)
	}
	if got := grantTypes(srv); len(got) != 1 || got[0] != "password" {
		t.Errorf("grant types %q, want one password grant", got)
	}
}

func TestUserRefreshTokenRenewsTheAccessToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: actionPath},
		Calls:  faults.Calls{Next: 1},
		Effect: faults.Effect{Status: http.StatusUnauthorized},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := newClient(t, srv, asUser(analyst)).RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	if got := grantTypes(srv); len(got) != 2 || got[0] != "password" || got[1] != "refresh_token" {
		t.Errorf("grant types %q, want password then refresh_token", got)
	}
}

func TestUserWithoutAdvancedLiveResponseIsForbidden(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	_, err := newClient(t, srv, asUser(tier1)).RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
		t.Fatalf("err = %v, want a 403 APIError", err)
	}
	if n := count(srv, "POST", submitPath); n != 1 {
		t.Errorf("%d submissions, want 1 (a 403 is not retried)", n)
	}
}

func TestNewValidatesUserConfig(t *testing.T) {
	t.Parallel()
	base := client.Config{TenantID: "t", ClientID: "c"}
	for _, tc := range []struct {
		user, password, want string
	}{
		{"u", "", "Password is required"},
		{"", "p", "Username is required"},
	} {
		cfg := base
		cfg.Username, cfg.Password = tc.user, tc.password
		if _, err := client.New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %q) = %v, want %q", tc.user, tc.password, err, tc.want)
		}
	}
	cfg := base
	cfg.Username, cfg.Password = "u", "p"
	if _, err := client.New(cfg); err != nil {
		t.Errorf("a user without a client secret: %v", err)
	}
}
