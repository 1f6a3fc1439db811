package emulator

import (
	"fmt"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/state"
)

// MaxClassroom is the most tenants AddClassroom adds: the bound of
// tenants made on the fly (POST /_emulator/tenants).
const MaxClassroom = state.MaxCreatedTenants

// AddClassroom returns a copy of set with n more tenants, named
// "<prefix>-01" to "<prefix>-NN", each made from set's first tenant as
// POST /_emulator/tenants makes one: fresh tenant, machine, app and user
// ids, fresh client secrets and passwords. Unlike tenants made on the
// fly, they are tenants of the fixtures: Reset keeps them, credentials
// and all, and they cannot be removed. It returns their ids, in order.
// set is not changed; nil means the embedded default fixtures. n is at
// most MaxClassroom.
func AddClassroom(set *fixture.Set, prefix string, n int) (*fixture.Set, []string, error) {
	if n < 1 || n > MaxClassroom {
		return nil, nil, fmt.Errorf("emulator: a classroom has 1 to %d tenants, not %d", MaxClassroom, n)
	}
	if set == nil {
		var err error
		if set, err = fixture.Default(); err != nil {
			return nil, nil, err
		}
	}
	out := set.Clone()
	if len(out.Tenants) == 0 {
		return nil, nil, fmt.Errorf("emulator: a classroom needs a tenant in the fixtures to copy")
	}
	tmpl := out.Tenants[0] // a copy: the tenants appended below may move the slice
	ids := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		t, err := state.FromTemplate(&tmpl, fmt.Sprintf("%s-%02d", prefix, i))
		if err != nil {
			return nil, nil, fmt.Errorf("emulator: classroom: %w", err)
		}
		out.Tenants = append(out.Tenants, *t)
		ids = append(ids, t.ID)
	}
	return out, ids, nil
}

// Credentials renders the credentials of the tenants ids — where to
// reach the emulator, each app's client id and secret, each user's
// password, the machines — as format: "json" ({"value": [...]}), "text",
// or "html" (a printable page per tenant), with base as the emulator's
// base URL. It is what GET /_emulator/tenants/{id}/credentials answers
// for each; an unknown id is an error.
func (s *Server) Credentials(ids []string, base, format string) ([]byte, error) {
	if _, ok := credentialsContentType[format]; !ok {
		return nil, fmt.Errorf("emulator: credentials format must be json, text or html, not %q", format)
	}
	creds := make([]tenantCredentials, 0, len(ids))
	for _, id := range ids {
		t, ok := s.store.Tenant(id)
		if !ok {
			return nil, fmt.Errorf("emulator: no tenant %s", id)
		}
		creds = append(creds, s.credentialsOf(t, base))
	}
	return renderCredentials(format, creds, true)
}
