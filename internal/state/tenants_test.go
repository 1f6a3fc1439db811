package state

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFromTemplate(t *testing.T) {
	set := parseFixture(t, contosoYAML+`
  users:
  - {userPrincipalName: ann@contoso.com, password: pw, role: {liveResponse: advanced}}
  - {userPrincipalName: bob@contoso.com}
  apps:
  - {clientId: 31111111-1111-4111-8111-111111111111, clientSecret: s, displayName: A, roles: [Machine.LiveResponse],
     deviceCodeAutoApprove: {user: ann@contoso.com}}
`)
	tmpl := &set.Tenants[1] // Fabrikam, given the users and apps above
	before := fmt.Sprintf("%+v", *tmpl)
	a, err := FromTemplate(tmpl, "alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromTemplate(tmpl, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if after := fmt.Sprintf("%+v", *tmpl); after != before {
		t.Errorf("the template changed:\n%s\n%s", before, after)
	}
	if a.ID == b.ID || a.ID == tmpl.ID || a.Name != "alice" {
		t.Errorf("ids %s %s, name %q", a.ID, b.ID, a.Name)
	}
	if len(a.Machines) != len(tmpl.Machines) || len(a.Machines) == 0 {
		t.Fatalf("machines: %d of %d", len(a.Machines), len(tmpl.Machines))
	}
	for i, m := range a.Machines {
		old := tmpl.Machines[i]
		if m.ID == old.ID || m.ID == b.Machines[i].ID || len(m.ID) != 40 || m.ID != derivedHex(a.ID, strings.ToLower(old.ID)) {
			t.Errorf("machine %d id %s (template %s, b %s)", i, m.ID, old.ID, b.Machines[i].ID)
		}
		if m.ComputerDNSName != old.ComputerDNSName {
			t.Errorf("machine %d name %s, want %s", i, m.ComputerDNSName, old.ComputerDNSName)
		}
	}
	for i, app := range a.Apps {
		old := tmpl.Apps[i]
		if app.ClientID == old.ClientID || app.ClientSecret == old.ClientSecret || app.ClientSecret == b.Apps[i].ClientSecret || len(app.ClientSecret) != 40 {
			t.Errorf("app %d: %s %s", i, app.ClientID, app.ClientSecret)
		}
		if app.DeviceCodeAutoApprove == nil || app.DeviceCodeAutoApprove.User != "ann@contoso.com" {
			t.Errorf("app %d auto-approve: %+v", i, app.DeviceCodeAutoApprove)
		}
	}
	if u := a.Users[0]; u.Password == "pw" || u.Password == "" || u.ObjectID == tmpl.Users[0].ObjectID || u.UserPrincipalName != "ann@contoso.com" {
		t.Errorf("user 0: %+v", u)
	}
	if u := a.Users[1]; u.Password != "" {
		t.Errorf("a user without a password got %q", u.Password)
	}
}

func TestFromTemplateBounds(t *testing.T) {
	tmpl := &parseFixture(t, contosoYAML).Tenants[0]
	for _, name := range []string{"", " lead", "-x", "a/b", "ünïcode", "<b>", strings.Repeat("a", MaxTenantNameLen+1)} {
		if _, err := FromTemplate(tmpl, name); !errors.Is(err, ErrTenantName) {
			t.Errorf("name %q: %v, want ErrTenantName", name, err)
		}
	}
	for _, name := range []string{"a", "Bob Smith", "x.y_z-1@class", strings.Repeat("a", MaxTenantNameLen)} {
		if _, err := FromTemplate(tmpl, name); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
	big := &parseFixture(t, fmt.Sprintf("tenants:\n- id: %s\n  generateMachines: %d\n", contosoID, MaxTemplateMachines+1)).Tenants[0]
	if _, err := FromTemplate(big, "x"); !errors.Is(err, ErrTemplateTooLarge) {
		t.Errorf("a template of %d machines: %v", MaxTemplateMachines+1, err)
	}
}

func TestAddRemoveTenant(t *testing.T) {
	e := newEnv(t)
	tmpl := &parseFixture(t, contosoYAML).Tenants[0]
	ft, _ := FromTemplate(tmpl, "alice")
	if _, err := e.s.AddTenant(ft, "99999999-9999-4999-8999-999999999999"); !errors.Is(err, ErrTenantNotFound) {
		t.Errorf("unknown template: %v", err)
	}
	ten, err := e.s.AddTenant(ft, strings.ToUpper(contosoID))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := e.s.Tenant(strings.ToUpper(ft.ID)); !ok || got != ten || ten.Origin().Template != contosoID || !ten.Origin().Created.Equal(start) {
		t.Errorf("Tenant(%s) = %v %v, origin %+v", ft.ID, got, ok, ten.Origin())
	}
	if n := len(e.s.Tenants()); n != 3 || e.s.Tenants()[2] != ten || e.s.CreatedTenants() != 1 {
		t.Errorf("tenants: %d, created %d", n, e.s.CreatedTenants())
	}
	if _, err := e.s.AddTenant(ft, contosoID); !errors.Is(err, ErrTenantExists) {
		t.Errorf("the same id again: %v", err)
	}
	again, _ := FromTemplate(tmpl, "ALICE")
	if _, err := e.s.AddTenant(again, contosoID); !errors.Is(err, ErrTenantExists) {
		t.Errorf("the same name again: %v", err)
	}
	if _, err := e.s.AddTenant(again, ft.ID); !errors.Is(err, ErrTenantNotFound) {
		t.Errorf("a created tenant as template: %v", err)
	}

	// A live action holds a session; CancelLive frees it.
	if _, err := ten.Submit(Caller{TenantID: ten.ID, Name: "x"}, "win1", SubmitRequest{Commands: []Command{runScript("hang.ps1")}}); err != nil {
		t.Fatal(err)
	}
	if ten.LiveActions() != 1 || ten.Sessions() != 1 || e.ten.Sessions() != 0 {
		t.Fatalf("live %d, sessions %d / template's %d", ten.LiveActions(), ten.Sessions(), e.ten.Sessions())
	}
	if _, err := e.s.RemoveTenant(contosoID); !errors.Is(err, ErrFixtureTenant) {
		t.Errorf("removing a fixture tenant: %v", err)
	}
	if got, err := e.s.RemoveTenant(ten.ID); err != nil || got != ten {
		t.Fatalf("RemoveTenant = %v, %v", got, err)
	}
	if n := ten.CancelLive("Emulator", "gone"); n != 1 || ten.LiveActions() != 0 || ten.Sessions() != 0 {
		t.Errorf("CancelLive = %d; live %d, sessions %d", n, ten.LiveActions(), ten.Sessions())
	}
	if _, ok := e.s.Tenant(ten.ID); ok || len(e.s.Tenants()) != 2 {
		t.Errorf("the tenant is still there")
	}
	if _, err := e.s.RemoveTenant(ten.ID); !errors.Is(err, ErrTenantNotFound) {
		t.Errorf("removing it again: %v", err)
	}
	// A submit by a caller that found the tenant before it was removed
	// (a request already past authentication) makes nothing.
	if _, err := ten.Submit(Caller{TenantID: ten.ID, Name: "x"}, "win1", SubmitRequest{Commands: []Command{runScript("hang.ps1")}}); err == nil || !strings.Contains(err.Error(), "not known") {
		t.Errorf("a submit to the removed tenant: %v", err)
	}
	if ten.LiveActions() != 0 || ten.Sessions() != 0 || len(ten.Actions()) != 1 {
		t.Errorf("after a submit to the removed tenant: live %d, sessions %d, actions %d", ten.LiveActions(), ten.Sessions(), len(ten.Actions()))
	}

	// A Load forgets every created tenant.
	ft2, _ := FromTemplate(tmpl, "bob")
	if _, err := e.s.AddTenant(ft2, contosoID); err != nil {
		t.Fatal(err)
	}
	e.s.Load(parseFixture(t, contosoYAML))
	if _, ok := e.s.Tenant(ft2.ID); ok || e.s.CreatedTenants() != 0 {
		t.Errorf("a created tenant survived Load")
	}
}

func TestAddTenantLimit(t *testing.T) {
	e := newEnv(t)
	tmpl := &parseFixture(t, contosoYAML).Tenants[1]
	for i := range MaxCreatedTenants {
		ft, _ := FromTemplate(tmpl, fmt.Sprint("t", i))
		if _, err := e.s.AddTenant(ft, fabrikamID); err != nil {
			t.Fatalf("tenant %d: %v", i, err)
		}
	}
	ft, _ := FromTemplate(tmpl, "late")
	if _, err := e.s.AddTenant(ft, fabrikamID); !errors.Is(err, ErrTenantLimit) {
		t.Errorf("tenant %d: %v", MaxCreatedTenants+1, err)
	}
}

// TestAddTenantConcurrent adds and removes tenants while others submit
// and read: run it with -race.
func TestAddTenantConcurrent(t *testing.T) {
	e := newEnv(t)
	tmpl := &parseFixture(t, contosoYAML).Tenants[1]
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				ft, _ := FromTemplate(tmpl, fmt.Sprint(g, "-", i))
				ten, err := e.s.AddTenant(ft, fabrikamID)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := ten.Submit(Caller{TenantID: ten.ID}, "pc1", SubmitRequest{Commands: []Command{runScript("ok.ps1")}}); err != nil {
					t.Error(err)
				}
				if i%2 == 1 {
					if _, err := e.s.RemoveTenant(ten.ID); err != nil {
						t.Error(err)
					}
					ten.CancelLive("x", "y")
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			for _, ten := range e.s.Tenants() {
				_ = ten.Actions()
				_, _ = e.s.Tenant(ten.ID)
			}
			e.clk.Advance(time.Second)
		}
	}()
	wg.Wait()
	if n := e.s.CreatedTenants(); n != 30 {
		t.Errorf("created tenants: %d, want 30", n)
	}
}
