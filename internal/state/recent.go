package state

// RecentActions returns snapshots of t's n newest actions, newest first:
// what a view of the latest activity needs, without the snapshots of every
// action kept.
func (t *Tenant) RecentActions(n int) []ActionView {
	if n <= 0 {
		return nil
	}
	t.mu.RLock()
	list := make([]*Action, 0, min(n, t.actions.live))
	for i := len(t.actions.entries) - 1; i >= 0 && len(list) < n; i-- {
		if a := t.actions.action(i); a != nil {
			list = append(list, a)
		}
	}
	t.mu.RUnlock()
	return views(list)
}

// ActiveAction returns a snapshot of the live response action m is busy
// with, Pending or InProgress, if there is one.
func (m *Machine) ActiveAction() (ActionView, bool) {
	m.mu.Lock()
	a := m.activeLocked() // a generated machine's by its number: made, given back or made again alike
	m.mu.Unlock()
	if a == nil {
		return ActionView{}, false
	}
	v := a.View()
	if v.Status != StatusPending && v.Status != StatusInProgress {
		return ActionView{}, false
	}
	return v, true
}
