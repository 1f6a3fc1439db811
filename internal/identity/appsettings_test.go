package identity

import (
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"
)

// wallClock is a settable wall clock, apart from the emulated fakeClock.
type wallClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *wallClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *wallClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newScaledAuthority is newDelegatedAuthority with a wall clock of its
// own and emulated time running 60 times faster, with edit applied to
// clientA1.
func newScaledAuthority(t *testing.T, edit func(*App)) (*Authority, *fakeClock, *wallClock) {
	t.Helper()
	key, _ := testKeys()
	clk := &fakeClock{t: t0}
	wall := &wallClock{t: time.Date(2031, 7, 1, 8, 0, 0, 0, time.UTC)}
	a, err := New(Options{Key: key, Now: clk.Now, Wall: wall.Now,
		EmulatedDuration: func(d time.Duration) time.Duration { return 60 * d }})
	if err != nil {
		t.Fatal(err)
	}
	apps := append([]App(nil), testApps...)
	apps[0].DelegatedPermissions = []string{"Machine.LiveResponse", "Machine.Read"}
	if edit != nil {
		edit(&apps[0])
	}
	a.SetApps(apps)
	a.SetUsers([]User{{TenantID: tenantA, ObjectID: userOID, UPN: userUPN, DisplayName: "Alex Analyst", Password: userPwd}})
	return a, clk, wall
}

// The app's automatic approval completes a device code once its delay
// has passed on the wall clock, looked at when the client polls: emulated
// time passing does not approve it, the user is the app's, and the
// control plane finds the code completed.
func TestDeviceCodeAutoApprove(t *testing.T) {
	t.Parallel()
	a, clk, wall := newScaledAuthority(t, func(app *App) {
		app.AutoApproveUser, app.AutoApproveAfter = userUPN, 5*time.Second
	})
	dc, oerr := a.DeviceCode(tenantA, deviceForm(), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	_, e := a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "first poll", e, 400, "authorization_pending", 70016)

	clk.Advance(10 * time.Minute) // emulated time only: 10 wall seconds would be 10 emulated minutes
	wall.Advance(4900 * time.Millisecond)
	_, e = a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "poll 4.9 wall seconds on", e, 400, "authorization_pending", 70016)

	wall.Advance(100 * time.Millisecond) // 5 s after the code was issued (and an interval after the last poll)
	resp, e := a.Token(tenantA, pollForm(dc.DeviceCode), true)
	if e != nil {
		t.Fatalf("poll after 5 wall seconds: %s", e.Description)
	}
	claims := decodeClaims(t, resp.AccessToken)
	if claims["oid"] != userOID || claims["upn"] != userUPN || resp.RefreshToken == "" {
		t.Errorf("token of %v/%v, refresh token %t", claims["oid"], claims["upn"], resp.RefreshToken != "")
	}
	if _, err := a.ApproveDeviceCode(dc.UserCode, userUPN, true); !errors.Is(err, ErrCodeCompleted) {
		t.Errorf("control plane after the automatic approval: %v, want ErrCodeCompleted", err)
	}

	// The control plane, asked after the delay and before any poll, finds
	// the code approved already.
	dc2, oerr := a.DeviceCode(tenantA, deviceForm(), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	wall.Advance(5 * time.Second)
	if _, err := a.ApproveDeviceCode(dc2.UserCode, "", false); !errors.Is(err, ErrCodeCompleted) {
		t.Errorf("decline after the delay: %v, want ErrCodeCompleted", err)
	}
	if _, e := a.Token(tenantA, pollForm(dc2.DeviceCode), true); e != nil {
		t.Errorf("poll of the code approved by itself: %s", e.Description)
	}

	// A code that expired before the delay passed is not approved.
	dc3, oerr := a.DeviceCode(tenantA, deviceForm(), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	clk.Advance(60 * DeviceCodeLifetime)
	wall.Advance(5 * time.Second)
	_, e = a.Token(tenantA, pollForm(dc3.DeviceCode), true)
	wantOAuth(t, "poll of an expired code", e, 400, "expired_token", 70019)
}

// Without the setting, nothing approves a device code by itself.
func TestDeviceCodeNoAutoApprove(t *testing.T) {
	t.Parallel()
	a, _, wall := newScaledAuthority(t, nil)
	dc, oerr := a.DeviceCode(tenantA, deviceForm(), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	wall.Advance(10 * time.Minute)
	_, e := a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "poll", e, 400, "authorization_pending", 70016)
}

// A public client may not send a secret, a confidential one must, on
// every delegated grant; an app of ClientAny goes either way. The device
// authorization request itself does not authenticate the client.
func TestClientType(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		typ        ClientType
		withSecret bool
		status     int
		code       int // 0: success
	}{
		{"any, no secret", ClientAny, false, 200, 0},
		{"any, secret", ClientAny, true, 200, 0},
		{"public, no secret", ClientPublic, false, 200, 0},
		{"public, secret", ClientPublic, true, 401, 700025},
		{"confidential, secret", ClientConfidential, true, 200, 0},
		{"confidential, no secret", ClientConfidential, false, 401, 7000218},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, _, _ := newScaledAuthority(t, func(app *App) { app.ClientType = tc.typ })
			secret := func(f url.Values) url.Values {
				if tc.withSecret {
					f.Set("client_secret", secretA1)
				}
				return f
			}
			check := func(grant string, e *OAuthError) {
				t.Helper()
				if tc.code == 0 {
					if e != nil {
						t.Errorf("%s: %s", grant, e.Description)
					}
					return
				}
				wantOAuth(t, grant, e, tc.status, "invalid_client", tc.code)
			}
			// An app of ClientAny gives the refresh token to redeem.
			lenient, _, _ := newScaledAuthority(t, nil)
			first, oerr := lenient.Token(tenantA, passwordForm(), true)
			if oerr != nil {
				t.Fatal(oerr.Description)
			}
			_, e := a.Token(tenantA, secret(passwordForm()), true)
			check("password", e)
			_, e = a.Token(tenantA, secret(url.Values{"grant_type": {"refresh_token"}, "client_id": {clientA1},
				"refresh_token": {first.RefreshToken}}), true)
			check("refresh_token", e)

			dc, oerr := a.DeviceCode(tenantA, deviceForm(), true)
			if tc.typ == ClientPublic && tc.withSecret {
				// deviceForm sends no secret: the authorization request
				// is not refused; one that sends it is.
				_, e := a.DeviceCode(tenantA, secret(deviceForm()), true)
				wantOAuth(t, "device authorization with a secret", e, 401, "invalid_client", 700025)
			}
			if oerr != nil {
				t.Fatalf("device authorization: %s", oerr.Description)
			}
			if _, err := a.ApproveDeviceCode(dc.UserCode, userUPN, true); err != nil {
				t.Fatal(err)
			}
			_, e = a.Token(tenantA, secret(pollForm(dc.DeviceCode)), true)
			check("device_code", e)

			code := signIn(t, a, authorizeQuery())
			_, e = a.Token(tenantA, secret(redeemForm(code)), true)
			check("authorization_code", e)
		})
	}
}

// A public client sending client_assertion is refused like one sending a
// secret.
func TestPublicClientAssertion(t *testing.T) {
	t.Parallel()
	a, _, _ := newScaledAuthority(t, func(app *App) { app.ClientType = ClientPublic })
	_, e := a.Token(tenantA, with(passwordForm(), "client_assertion", "eyJ.x.y"), true)
	wantOAuth(t, "assertion", e, 401, "invalid_client", 700025)
}

// An app's AccessTokenLifetime is the expires_in of every token issued
// through it (wall seconds), and the token stops verifying once that much
// wall time has passed (lifetime × scale emulated).
func TestAccessTokenLifetime(t *testing.T) {
	t.Parallel()
	a, clk, _ := newScaledAuthority(t, func(app *App) { app.AccessTokenLifetime = 3 * time.Second })
	cc, oerr := a.ClientCredentials(tenantA, with(clientForm(clientA1, secretA1), "resource", DefaultAudience), false)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	pw, oerr := a.Token(tenantA, passwordForm(), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	rt, oerr := a.Token(tenantA, url.Values{"grant_type": {"refresh_token"}, "client_id": {clientA1},
		"refresh_token": {pw.RefreshToken}}, true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	_, minted, err := a.Mint(MintRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, mintedUser, err := a.Mint(MintRequest{User: userUPN})
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*TokenResponse{"client credentials": cc, "password": pw, "refresh": rt, "mint": minted, "mint user": mintedUser} {
		if r.ExpiresIn != 3 || r.ExtExpiresIn != 3 {
			t.Errorf("%s: expires_in %d, ext_expires_in %d, want 3", name, r.ExpiresIn, r.ExtExpiresIn)
		}
	}
	clk.Advance(3*time.Minute - time.Second) // 2 wall seconds and more at 60×
	if _, err := a.Verify(pw.AccessToken); err != nil {
		t.Errorf("before 3 wall seconds: %v", err)
	}
	clk.Advance(time.Second)
	if _, err := a.Verify(pw.AccessToken); err == nil {
		t.Error("the user's token verified after 3 wall seconds")
	}
	if _, err := a.Verify(cc.AccessToken); err == nil {
		t.Error("the app's token verified after 3 wall seconds")
	}

	// Other apps keep the default.
	other, oerr := a.ClientCredentials(tenantA, with(clientForm(clientA2, "a2"), "resource", DefaultAudience), false)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	if other.ExpiresIn != 3599 {
		t.Errorf("another app's expires_in %d, want 3599", other.ExpiresIn)
	}
}

// A public client asking the client-credentials grant has no credential:
// without a secret it gets the missing secret's AADSTS7000218, with one
// AADSTS700025, as on the delegated grants (a ClientAny app is unchanged).
func TestPublicClientCredentials(t *testing.T) {
	t.Parallel()
	a, _, _ := newScaledAuthority(t, func(app *App) { app.ClientType = ClientPublic })
	form := with(clientForm(clientA1, ""), "resource", DefaultAudience)
	_, e := a.ClientCredentials(tenantA, form, false)
	wantOAuth(t, "public, no secret", e, 401, "invalid_client", 7000218)
	_, e = a.Token(tenantA, with(clientForm(clientA1, secretA1), "scope", apiScope), true)
	wantOAuth(t, "public, its fixture secret", e, 401, "invalid_client", 700025)
	lenient, _, _ := newScaledAuthority(t, nil)
	if _, e := lenient.Token(tenantA, with(clientForm(clientA1, secretA1), "scope", apiScope), true); e != nil {
		t.Errorf("an app of ClientAny: %s", e.Description)
	}
}
