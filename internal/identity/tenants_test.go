package identity

import (
	"net/url"
	"testing"
)

func TestAddRemoveTenant(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	a.SetUsers([]User{{TenantID: tenantA, ObjectID: "0a", UPN: "ann@a", Password: "pa"}})
	old, _, err := a.Mint(MintRequest{TenantID: tenantA, ClientID: clientA1})
	if err != nil {
		t.Fatal(err)
	}
	const tenantC, clientC = "33333333-3333-3333-3333-333333333333", "cccccccc-0000-0000-0000-000000000001"
	a.AddTenant(tenantC, []App{
		{TenantID: tenantC, ClientID: clientC, ClientSecret: "c1", DisplayName: "C", Roles: []string{"Machine.LiveResponse"}},
		{TenantID: tenantB, ClientID: "ignored", ClientSecret: "x"}, // another tenant's: ignored
	}, []User{{TenantID: tenantC, ObjectID: "0c", UPN: "carl@c", Password: "pc"}})

	if _, err := a.Verify(old); err != nil {
		t.Errorf("tenant A's token after AddTenant: %v", err)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientC}, "client_secret": {"c1"}, "scope": {DefaultAudience + "/.default"}}
	tok, oe := a.ClientCredentials(tenantC, form, true)
	if oe != nil {
		t.Fatalf("token of the added tenant: %v", oe)
	}
	p, err := a.Verify(tok.AccessToken)
	if err != nil || p.TenantID != tenantC || p.ClientID != clientC {
		t.Fatalf("Verify = %+v, %v", p, err)
	}
	if _, oe := a.ClientCredentials(tenantA, form, true); oe == nil {
		t.Error("tenant C's app got a token of tenant A")
	}
	if app := a.dir.Load().app(tenantB, "ignored"); app != nil {
		t.Error("AddTenant took an app of another tenant")
	}
	if u := a.dir.Load().userByName(tenantC, "carl@c"); u == nil || u.Password != "pc" {
		t.Errorf("user of the added tenant: %+v", u)
	}
	if u := a.dir.Load().userByName(tenantA, "ann@a"); u == nil {
		t.Error("tenant A's user is gone")
	}

	a.RemoveTenant(tenantC)
	if _, err := a.Verify(tok.AccessToken); err == nil {
		t.Error("the removed tenant's token still verifies (it was cached)")
	}
	if _, oe := a.ClientCredentials(tenantC, form, true); oe == nil {
		t.Error("the removed tenant still issues tokens")
	}
	if _, err := a.Verify(old); err != nil {
		t.Errorf("tenant A's token after RemoveTenant: %v", err)
	}
	if len(a.Apps()) != len(testApps) {
		t.Errorf("apps after RemoveTenant: %d, want %d", len(a.Apps()), len(testApps))
	}
}
