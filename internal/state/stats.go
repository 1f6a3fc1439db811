package state

// ActionStatuses are the statuses a machine action can have, in the order
// an action goes through them (the three final ones last, with Cancelled).
var ActionStatuses = [...]string{StatusPending, StatusInProgress, StatusSucceeded, StatusFailed, StatusTimeOut, StatusCancelled}

// ActionCounts is how many of a tenant's kept actions are in each status,
// in the order of ActionStatuses.
type ActionCounts [len(ActionStatuses)]int

// Count returns how many actions are in status; 0 for a status not in
// ActionStatuses.
func (c *ActionCounts) Count(status string) int {
	for i, s := range ActionStatuses {
		if s == status {
			return c[i]
		}
	}
	return 0
}

// TenantStats is a snapshot of one tenant's live response activity.
type TenantStats struct {
	TenantID string
	// Actions counts the tenant's kept actions (live ones and the
	// finished ones Retention has not forgotten) by status.
	Actions ActionCounts
	// Sessions is how many live response sessions the tenant holds.
	Sessions int
}

// Stats returns a snapshot of every tenant's activity, in fixture order.
// It takes no lock over the whole store: each tenant's action index is
// held only while its action pointers are copied, and each action's own
// lock only while its status is read, so submissions and lifecycle steps
// never wait for a whole count. Actions that change status meanwhile are
// counted in one of their statuses, never twice.
func (s *Store) Stats() []TenantStats {
	tenants := s.Tenants()
	out := make([]TenantStats, len(tenants))
	var buf []*Action
	for i, t := range tenants {
		buf = t.keptActions(buf[:0])
		out[i] = TenantStats{TenantID: t.ID, Actions: countStatuses(buf), Sessions: t.Sessions()}
		clear(buf) // the pointers only: let forgotten actions go
	}
	return out
}

// keptActions appends t's kept actions to out, newest first, holding t's
// index lock only for the copy.
func (t *Tenant) keptActions(out []*Action) []*Action {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.actions.appendNewestFirst(out)
}

// countStatuses counts actions by status, reading each under its own lock.
func countStatuses(actions []*Action) ActionCounts {
	var c ActionCounts
	for _, a := range actions {
		a.mu.Lock()
		st := a.status
		a.mu.Unlock()
		c[st]++
	}
	return c
}
