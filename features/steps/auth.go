package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// A tenant that exists nowhere, for the identity platform's refusal.
const unknownTenant = "5b1f0e6c-3d2a-4f8b-9c7e-0a1b2c3d4e5f"

// tenantInfo is a tenant of a fixture the steps load.
type tenantInfo struct {
	id, clientID, machine, machineName, script string
}

// The two tenants of the isolation scenarios.
var (
	firstTenant  = tenantInfo{"11111111-1111-4111-8111-111111111111", "21111111-1111-4111-8111-111111111111", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a1.alpha.local", "a.ps1"}
	secondTenant = tenantInfo{"22222222-2222-4222-8222-222222222222", "32222222-2222-4222-8222-222222222222", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "b1.beta.local", "b.ps1"}
)

func twoTenantsFixture() []byte {
	var b strings.Builder
	b.WriteString("tenants:\n")
	for _, t := range []struct {
		tenantInfo
		name string
	}{{firstTenant, "alpha"}, {secondTenant, "beta"}} {
		fmt.Fprintf(&b, `  - id: %s
    name: %s
    apps:
      - {clientId: %s, clientSecret: s, displayName: %s app, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
    machines:
      - {id: %s, computerDnsName: %s, osPlatform: Windows11}
    library:
      - {fileName: %s, content: "Write-Output %s"}
`, t.id, t.name, t.clientID, t.name, t.machine, t.machineName, t.script, t.name)
	}
	return []byte(b.String())
}

func registerAuth(sc *godog.ScenarioContext) {
	sc.Step(`^I request a token with the client credentials of the default app$`, func(ctx context.Context) error {
		return requestToken(ctx, "v2", "", "")
	})
	sc.Step(`^I request a token with the client credentials of the default app from the v1 endpoint$`, func(ctx context.Context) error {
		return requestToken(ctx, "v1", "", "")
	})
	sc.Step(`^I request a token for the default app with a wrong client secret$`, func(ctx context.Context) error {
		return requestToken(ctx, "v2", "", "not-the-secret")
	})
	sc.Step(`^I request a token for a tenant that does not exist$`, func(ctx context.Context) error {
		return requestToken(ctx, "v2", unknownTenant, "")
	})
	sc.Step(`^the token response is a Bearer token valid for about an hour$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		if w.tokenRes == nil {
			return fmt.Errorf("no token was issued: %s", w.last)
		}
		if !strings.EqualFold(w.tokenRes.TokenType, "Bearer") || w.tokenRes.ExpiresIn < 3000 || w.tokenRes.ExpiresIn > 3600 {
			return fmt.Errorf("token_type %q expires_in %d; want Bearer for about 3599 s", w.tokenRes.TokenType, w.tokenRes.ExpiresIn)
		}
		return nil
	})
	sc.Step(`^the API accepts that token$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		if w.tokenRes == nil {
			return fmt.Errorf("no token was issued: %s", w.last)
		}
		r, err := w.do(ctx, request{method: http.MethodGet, target: "/api/machines?$top=1", token: w.tokenRes.AccessToken})
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("the API refused the token: %s", r)
		}
		return nil
	})
	sc.Step(`^the identity platform error is "([^"]*)" with "([^"]*)" in its description$`, func(ctx context.Context, code, part string) error {
		var e struct {
			Error            string `json:"error"`
			ErrorDescription string `json:"error_description"`
		}
		if err := worldFrom(ctx).decode(&e); err != nil {
			return err
		}
		if e.Error != code || !strings.Contains(e.ErrorDescription, part) {
			return fmt.Errorf("error %q (%q), want %q with %q", e.Error, e.ErrorDescription, code, part)
		}
		return nil
	})

	sc.Step(`^I call the API with the Authorization header "([^"]*)"$`, func(ctx context.Context, h string) error {
		w := worldFrom(ctx)
		h, err := w.expand(ctx, h)
		if err != nil {
			return err
		}
		w.auth, w.raw = authRaw, h
		return nil
	})
	sc.Step(`^I call the API with a token that expires in (\d+) minutes$`, func(ctx context.Context, n int) error {
		return callAs(ctx, AppRef{ExpiresIn: time.Duration(n) * time.Minute})
	})
	sc.Step(`^I call the API with a token for the audience "([^"]*)"$`, func(ctx context.Context, aud string) error {
		return callAs(ctx, AppRef{Audience: aud})
	})
	sc.Step(`^I call the API with a token that has only the roles "([^"]*)"$`, func(ctx context.Context, roles string) error {
		r := splitList(roles)
		if r == nil {
			r = []string{}
		}
		return callAs(ctx, AppRef{Roles: r})
	})
	sc.Step(`^I call the API as the second tenant's app$`, func(ctx context.Context) error {
		return callAs(ctx, AppRef{TenantID: secondTenant.id, ClientID: secondTenant.clientID})
	})
	sc.Step(`^an action of the default app on it$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		if err := runScript(ctx, probeScript, "", "", ""); err != nil {
			return err
		}
		if w.last.status != http.StatusCreated {
			return fmt.Errorf("starting the action: %s", w.last)
		}
		return nil
	})
	sc.Step(`^two tenants, each with one machine and one script$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		c, err := w.control()
		if err != nil {
			return err
		}
		if err := c.LoadFixtures(ctx, twoTenantsFixture()); err != nil {
			return err
		}
		w.limits = nil
		return callAs(ctx, AppRef{TenantID: firstTenant.id, ClientID: firstTenant.clientID})
	})
	sc.Step(`^the first tenant's app has run its script on its machine$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		if err := callAs(ctx, AppRef{TenantID: firstTenant.id, ClientID: firstTenant.clientID}); err != nil {
			return err
		}
		w.machine, w.machineName = firstTenant.machine, firstTenant.machineName
		if err := runScript(ctx, firstTenant.script, "", "", ""); err != nil {
			return err
		}
		if w.last.status != http.StatusCreated {
			return fmt.Errorf("the first tenant's action: %s", w.last)
		}
		return nil
	})
}

// callAs makes app the scenario's caller from now on.
func callAs(ctx context.Context, app AppRef) error {
	w := worldFrom(ctx)
	if w.target.Control() == nil && !app.IsDefault() {
		return ErrNeedsControl
	}
	w.auth, w.app, w.token = authApp, app, ""
	return nil
}

// requestToken sends a client-credentials request to the identity
// platform's v1 or v2 endpoint, for tenant and with secret when not
// empty (else the default app's).
func requestToken(ctx context.Context, version, tenant, secret string) error {
	w := worldFrom(ctx)
	c := w.target.Credentials()
	tokenURL := c.TokenURL
	if tenant != "" {
		tokenURL = strings.Replace(tokenURL, c.TenantID, tenant, 1)
	}
	if secret == "" {
		secret = c.ClientSecret
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {secret}}
	if version == "v1" {
		tokenURL = strings.Replace(tokenURL, "/oauth2/v2.0/token", "/oauth2/token", 1)
		form.Set("resource", strings.TrimSuffix(c.Scope, "/.default"))
	} else {
		form.Set("scope", c.Scope)
	}
	r, err := w.do(ctx, request{method: http.MethodPost, target: tokenURL, body: []byte(form.Encode()),
		contentType: "application/x-www-form-urlencoded", form: true})
	if err != nil {
		return err
	}
	w.tokenRes = nil
	if r.status == http.StatusOK {
		var t TokenResponse
		if err := json.Unmarshal(r.body, &t); err != nil || t.AccessToken == "" {
			return fmt.Errorf("the token response has no access_token: %s", r)
		}
		w.tokenRes = &t
	}
	return nil
}
