package identity

import "strings"

// AddTenant adds a tenant with its apps and users to the directory,
// keeping everything else: a tenant made while the emulator runs (a
// classroom's, one per trainee). Apps and users are taken as SetApps and
// SetUsers take them; those of another tenant than tenantID are ignored.
// Tokens of the other tenants keep verifying (each is checked once more
// against the new directory, then cached again).
func (a *Authority) AddTenant(tenantID string, apps []App, users []User) {
	if tenantID == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.dir.Load()
	all := make([]App, 0, len(old.apps)+len(apps))
	for _, app := range old.apps {
		all = append(all, *app)
	}
	for _, app := range apps {
		if strings.EqualFold(app.TenantID, tenantID) {
			all = append(all, app)
		}
	}
	us := append([]User(nil), old.users...)
	for _, u := range users {
		if strings.EqualFold(u.TenantID, tenantID) {
			us = append(us, u)
		}
	}
	extra := append(append([]string(nil), old.extra...), tenantID)
	a.dir.Store(buildDirectory(all, extra, us))
}

// RemoveTenant removes a tenant, its apps and its users from the
// directory: its tokens stop verifying at once, cached or not, and its
// token endpoints answer as for an unknown tenant (a device code or a
// sign-in in progress is no longer redeemed). The other tenants are kept.
func (a *Authority) RemoveTenant(tenantID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.dir.Load()
	var apps []App
	for _, app := range old.apps {
		if !strings.EqualFold(app.TenantID, tenantID) {
			apps = append(apps, *app)
		}
	}
	var users []User
	for _, u := range old.users {
		if !strings.EqualFold(u.TenantID, tenantID) {
			users = append(users, u)
		}
	}
	var extra []string
	for _, id := range old.extra {
		if !strings.EqualFold(id, tenantID) {
			extra = append(extra, id)
		}
	}
	a.dir.Store(buildDirectory(apps, extra, users))
}
