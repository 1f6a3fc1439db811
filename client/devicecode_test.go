package client_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/client"
	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/journal"
)

// deviceSecond is what a second of the device code's interval lasts in
// these tests: the emulator's interval of 5 s is 50 ms.
const deviceSecond = 10 * time.Millisecond

// deviceGrant is the grant_type of a device code poll.
const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// prompts collects what the client showed the user.
type prompts struct {
	mu  sync.Mutex
	got []client.DeviceCodePrompt
}

func (p *prompts) all() []client.DeviceCodePrompt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]client.DeviceCodePrompt(nil), p.got...)
}

// deviceClient returns a client of srv that signs in with a device code
// (on tokenURL, the v2.0 endpoint when empty), records each prompt in p
// and then calls then with it.
func deviceClient(t *testing.T, srv *emulatortest.Server, tokenURL string, p *prompts, then func(client.DeviceCodePrompt)) *client.Client {
	t.Helper()
	c := newClient(t, srv, func(cfg *client.Config) {
		cfg.DeviceCode = true
		if tokenURL != "" {
			cfg.TokenURL = tokenURL
		}
		cfg.ShowDeviceCode = func(dp client.DeviceCodePrompt) {
			p.mu.Lock()
			p.got = append(p.got, dp)
			p.mu.Unlock()
			then(dp)
		}
	})
	client.SpeedDeviceCode(c, deviceSecond)
	return c
}

// devicePolls returns the client's device code polls of the token
// endpoint, in order.
func devicePolls(srv *emulatortest.Server) []journal.Entry {
	var out []journal.Entry
	for _, e := range srv.Requests(journal.Filter{Method: "POST", Path: "/*/oauth2/*token"}) {
		if v, _ := url.ParseQuery(e.RequestBody); v.Get("grant_type") == deviceGrant {
			out = append(out, e)
		}
	}
	return out
}

func TestDeviceCodeSignInRunsAScript(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	var p prompts
	c := deviceClient(t, srv, "", &p, func(dp client.DeviceCodePrompt) {
		if err := srv.ApproveDeviceCode(dp.UserCode, analyst); err != nil {
			t.Error(err)
		}
	})
	res, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("result = %+v", res)
	}
	got := p.all()
	if len(got) != 1 {
		t.Fatalf("%d prompts, want 1", len(got))
	}
	dp := got[0]
	if dp.UserCode == "" || !strings.HasSuffix(dp.VerificationURI, "/devicelogin") ||
		!strings.Contains(dp.Message, dp.UserCode) || !strings.Contains(dp.Message, dp.VerificationURI) || dp.ExpiresIn != 15*time.Minute {
		t.Errorf("prompt %+v: want the platform's code, page, message and 15 minutes", dp)
	}
	asked := srv.Requests(journal.Filter{Method: "POST", Path: "/*/oauth2/v2.0/devicecode", Status: 200})
	if len(asked) != 1 {
		t.Fatalf("%d device code requests answered 200, want 1", len(asked))
	}
	if v, _ := url.ParseQuery(asked[0].RequestBody); !strings.Contains(" "+v.Get("scope")+" ", " offline_access ") {
		t.Errorf("device code request asks for scope %q, want offline_access in it", v.Get("scope"))
	}
	if got := grantTypes(srv); len(got) != 1 || got[0] != deviceGrant {
		t.Errorf("grant types %q, want one device code poll", got)
	}
}

func TestDeviceCodeRefreshTokenRenewsTheAccessToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	if _, err := srv.AddFault(faults.Rule{
		Match:  faults.Match{Method: "GET", Path: actionPath},
		Calls:  faults.Calls{Next: 1},
		Effect: faults.Effect{Status: http.StatusUnauthorized},
	}); err != nil {
		t.Fatal(err)
	}
	var p prompts
	c := deviceClient(t, srv, "", &p, func(dp client.DeviceCodePrompt) {
		if err := srv.ApproveDeviceCode(dp.UserCode, analyst); err != nil {
			t.Error(err)
		}
	})
	if _, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	if got := grantTypes(srv); len(got) != 2 || got[0] != deviceGrant || got[1] != "refresh_token" {
		t.Errorf("grant types %q, want a device code poll then refresh_token", got)
	}
	if n := len(p.all()); n != 1 {
		t.Errorf("the user was shown %d codes, want 1 (the refresh token needs no new sign-in)", n)
	}
}

// The client waits the interval before each poll, keeps polling on
// authorization_pending, and adds 5 s to its interval on each slow_down.
func TestDeviceCodeHonoursPendingAndSlowDown(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	ctx := testContext(t)
	var p prompts
	approved := make(chan error, 1)
	c := deviceClient(t, srv, "", &p, func(dp client.DeviceCodePrompt) {
		go func() {
			// The emulator answers slow_down to polls closer than 4 s
			// (its interval less a second of slack): the fast-forwarded
			// client gets two before the user signs in.
			_, err := srv.Emulator().Journal().Wait(ctx, journal.Filter{Path: tokenPath, ErrorCode: "slow_down"}, 2)
			if err == nil {
				err = srv.ApproveDeviceCode(dp.UserCode, analyst)
			}
			approved <- err
		}()
	})
	if _, err := c.RunScript(ctx, win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	polls := devicePolls(srv)
	if len(polls) < 4 {
		t.Fatalf("%d polls, want at least 4 (pending, 2 slow_down, the token)", len(polls))
	}
	if polls[0].ErrorCode != "authorization_pending" || polls[len(polls)-1].Status != 200 {
		t.Errorf("first poll %q, last %d: want authorization_pending first and the token last", polls[0].ErrorCode, polls[len(polls)-1].Status)
	}
	slowDowns := 0
	for i := 1; i < len(polls); i++ {
		if polls[i-1].ErrorCode == "slow_down" {
			slowDowns++
		}
		gap := polls[i].Wall.Sub(polls[i-1].Wall)
		if want := time.Duration(5+5*slowDowns) * deviceSecond; gap < want {
			t.Errorf("poll %d came %v after the previous one, after %d slow_down: want at least %v", i, gap, slowDowns, want)
		}
	}
	if slowDowns < 2 {
		t.Errorf("%d slow_down answers, want 2", slowDowns)
	}
}

func TestDeviceCodeDeclinedIsAnError(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	var p prompts
	c := deviceClient(t, srv, "", &p, func(dp client.DeviceCodePrompt) {
		if err := srv.DeclineDeviceCode(dp.UserCode); err != nil {
			t.Error(err)
		}
	})
	_, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	var ae *client.APIError
	if !errors.Is(err, client.ErrSignInDeclined) || !errors.As(err, &ae) || ae.Code != "authorization_declined" {
		t.Fatalf("err = %v, want ErrSignInDeclined with the platform's authorization_declined", err)
	}
	if n := len(devicePolls(srv)); n != 1 {
		t.Errorf("%d polls, want 1: a declined sign-in is final", n)
	}
	if n := count(srv, "POST", submitPath); n != 0 {
		t.Errorf("%d submissions without a token", n)
	}
}

func TestDeviceCodeExpiredIsAnError(t *testing.T) {
	t.Parallel()
	yaml, err := os.ReadFile("../features/client/fixtures.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := emulatortest.NewServer(t, emulatortest.WithFixturesYAML(string(yaml))) // a manual clock
	var p prompts
	c := deviceClient(t, srv, "", &p, func(client.DeviceCodePrompt) {
		srv.Advance(16 * time.Minute) // nobody signs in within the code's 15 minutes
	})
	_, err = c.RunScript(testContext(t), win01, "Get-Processes.ps1", "")
	if !errors.Is(err, client.ErrDeviceCodeExpired) {
		t.Fatalf("err = %v, want ErrDeviceCodeExpired", err)
	}
	if n := len(devicePolls(srv)); n != 1 {
		t.Errorf("%d polls, want 1: an expired code is final", n)
	}
}

// On the v1 token endpoint the device code endpoint is v1's too, asked
// for the resource.
func TestDeviceCodeOnV1Endpoint(t *testing.T) {
	t.Parallel()
	srv := newServer(t, 60)
	var p prompts
	c := deviceClient(t, srv, srv.URL+"/"+srv.TenantID+"/oauth2/token", &p, func(dp client.DeviceCodePrompt) {
		if err := srv.ApproveDeviceCode(dp.UserCode, analyst); err != nil {
			t.Error(err)
		}
	})
	if _, err := c.RunScript(testContext(t), win01, "Get-Processes.ps1", ""); err != nil {
		t.Fatal(err)
	}
	asked := srv.Requests(journal.Filter{Method: "POST", Path: "/*/oauth2/devicecode", Status: 200})
	if len(asked) != 1 {
		t.Fatalf("%d v1 device code requests answered 200, want 1", len(asked))
	}
	if v, _ := url.ParseQuery(asked[0].RequestBody); v.Get("resource") != "https://api.securitycenter.microsoft.com" {
		t.Errorf("v1 device code request asks for resource %q", v.Get("resource"))
	}
}

func TestNewValidatesDeviceCodeConfig(t *testing.T) {
	t.Parallel()
	base := client.Config{TenantID: "t", ClientID: "c", DeviceCode: true}
	for _, tc := range []struct {
		name string
		mod  func(*client.Config)
		want string
	}{
		{"with a username", func(c *client.Config) { c.Username, c.Password = "u", "p" }, "must be empty with DeviceCode"},
		{"a token URL not ending in /token", func(c *client.Config) { c.TokenURL = "http://127.0.0.1/t/oauth2/v2.0/other" }, "DeviceCodeURL is required"},
		{"a relative device code URL", func(c *client.Config) { c.DeviceCodeURL = "/devicecode" }, "DeviceCodeURL"},
	} {
		cfg := base
		tc.mod(&cfg)
		if _, err := client.New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want %q", tc.name, err, tc.want)
		}
	}
	if _, err := client.New(base); err != nil {
		t.Errorf("a device code sign-in without a client secret: %v", err)
	}
}
