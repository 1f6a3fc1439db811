package state

import "github.com/mdelive/mde-emulator/internal/apierr"

// FindMachine returns the machine whose id or computer name is key (as
// Tenant.Machine looks it up) in the tenant tenantID, or, when tenantID is
// empty, in the first tenant, in fixture order, that has one. tenantID is
// compared as the store writes tenant ids, in lower case. A machine not
// found is an *apierr.Error with code ResourceNotFound. The control plane
// and emulatortest find machines this way.
func (s *Store) FindMachine(tenantID, key string) (*Machine, error) {
	for _, t := range s.Tenants() {
		if tenantID != "" && t.ID != tenantID {
			continue
		}
		if m, err := t.Machine(key); err == nil {
			return m, nil
		}
	}
	return nil, apierr.New(apierr.ResourceNotFound, "Machine %s was not found", key)
}
