package state

import (
	"testing"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

func TestFindMachine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		tenant, key, want string
	}{
		{"", win1, win1},
		{"", "WIN1.contoso.local", win1},
		{"", fab1, fab1}, // any tenant
		{contosoID, "lin1", lin1},
		{fabrikamID, fab1, fab1},
	}
	for _, tc := range tests {
		m, err := e.s.FindMachine(tc.tenant, tc.key)
		if err != nil {
			t.Errorf("FindMachine(%q, %q): %v", tc.tenant, tc.key, err)
			continue
		}
		if m.ID() != tc.want {
			t.Errorf("FindMachine(%q, %q) = %s, want %s", tc.tenant, tc.key, m.ID(), tc.want)
		}
	}
	for _, tc := range []struct{ tenant, key string }{
		{"", "nope"},
		{contosoID, fab1}, // in another tenant
		{"33333333-3333-3333-3333-333333333333", win1},
	} {
		_, err := e.s.FindMachine(tc.tenant, tc.key)
		checkErr(t, err, apierr.ResourceNotFound, "Machine "+tc.key+" was not found")
	}
}
