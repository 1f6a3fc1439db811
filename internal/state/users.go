package state

import (
	"iter"
	"math"
	"slices"
	"strings"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
)

// User is a user of a tenant (fixture users): the Defender role's
// capabilities and the device groups the role reaches.
type User struct {
	ObjectID    string
	UPN         string
	DisplayName string
	Role        fixture.UserRole
	// groups are the device groups the user sees; nil: every machine.
	groups map[int64]bool
}

func newUser(ft *fixture.Tenant, fu *fixture.User) *User {
	u := &User{ObjectID: strings.ToLower(fu.ObjectID), UPN: fu.UserPrincipalName, DisplayName: fu.DisplayName, Role: fu.Role}
	if len(fu.DeviceGroups) > 0 {
		u.groups = make(map[int64]bool, len(fu.DeviceGroups))
		for _, ref := range fu.DeviceGroups {
			if id, ok := ft.DeviceGroupRef(ref); ok {
				u.groups[id] = true
			}
		}
	}
	return u
}

// User returns the tenant's user with the object id oid.
func (t *Tenant) User(oid string) (*User, bool) {
	u, ok := t.users[strings.ToLower(oid)]
	return u, ok
}

// sees reports whether the caller may see machine m: an app sees every
// machine; a user, the machines of the device groups the role reaches
// (every machine when the user lists none; a machine in no group only
// then).
func (c Caller) sees(m *Machine) bool { return c.seesInfo(m.info) }

// seesInfo is sees of a machine whose fixture is info.
func (c Caller) seesInfo(info *fixture.Machine) bool {
	if c.SeesEveryMachine() {
		return true
	}
	return c.User.groups[info.RBACGroupID]
}

// SeesEveryMachine reports whether the caller sees every machine of its
// tenant: an app, or a user whose role is not scoped to device groups.
func (c Caller) SeesEveryMachine() bool { return c.User == nil || c.User.groups == nil }

// MachineFor finds a machine as Machine does, for the caller: a machine
// outside the caller's device groups is not found (404, the same answer
// as an unknown machine: the service answers a user's token only with the
// devices the user has access to).
func (t *Tenant) MachineFor(c Caller, key string) (*Machine, error) {
	m, err := t.Machine(key)
	if err != nil {
		return nil, err
	}
	if !c.sees(m) {
		return nil, apierr.New(apierr.ResourceNotFound, "Machine %s was not found", key)
	}
	return m, nil
}

// machineRefFor finds a machine as MachineFor does, without making a
// generated one: a listed machine (num 0), or the number of a generated
// one, with its *Machine if the fleet has made it (m nil: it has not).
func (t *Tenant) machineRefFor(c Caller, key string) (m *Machine, num int, err error) {
	if m = t.listed(key); m != nil {
		if !c.sees(m) {
			return nil, 0, apierr.New(apierr.ResourceNotFound, "Machine %s was not found", key)
		}
		return m, 0, nil
	}
	if num = t.fleet.idNumber(key); num == 0 {
		num = t.fleet.nameNumber(key)
	}
	if num == 0 || !c.seesInfo(t.fleet.shared) {
		return nil, 0, apierr.New(apierr.ResourceNotFound, "Machine %s was not found", key)
	}
	return t.fleet.madeMachine(num), num, nil
}

// MachinesFor yields the machines the caller sees, in fixture order, for
// reading (Machines).
func (t *Tenant) MachinesFor(c Caller) iter.Seq[*Machine] {
	return func(yield func(*Machine) bool) {
		for m := range t.Machines() {
			if c.sees(m) && !yield(m) {
				return
			}
		}
	}
}

// ActionFor finds an action as Action does, for the caller: an action on
// a machine the caller does not see is not found (404).
func (t *Tenant) ActionFor(c Caller, id string) (*Action, error) {
	a, err := t.Action(id)
	if err != nil {
		return nil, err
	}
	if !c.seesInfo(a.info()) {
		return nil, apierr.New(apierr.ResourceNotFound, "Machine action %s was not found", id)
	}
	return a, nil
}

// ActionsFor returns snapshots of the actions the caller sees, newest
// first.
func (t *Tenant) ActionsFor(c Caller) []ActionView {
	return views(slices.Collect(t.ActionRefsFor(c)))
}

// ActionRefsFor is ActionsFor's list, the actions themselves, read as
// they are yielded: the tenant's list a chunk of listChunk at a time
// under its lock, so that a reader that stops early (a page of the list)
// reads no more of it, and takes a snapshot (Action.View) of the actions
// it keeps and of no other. An action made while it reads is not
// yielded; one forgotten before its chunk is read is not either.
func (t *Tenant) ActionRefsFor(c Caller) iter.Seq[*Action] {
	everyMachine := c.User == nil || c.User.groups == nil
	return func(yield func(*Action) bool) {
		chunk := make([]*Action, 0, listChunk)
		before := uint64(math.MaxUint64)
		for {
			t.mu.RLock()
			chunk = t.actions.appendOlderThan(chunk[:0], before)
			t.mu.RUnlock()
			for _, a := range chunk {
				if (everyMachine || c.seesInfo(a.info())) && !yield(a) {
					return
				}
			}
			if len(chunk) < listChunk {
				return
			}
			before = chunk[len(chunk)-1].seq // set when the action was made, never written again
		}
	}
}

// listChunk is how many actions ActionRefsFor reads under one hold of
// the tenant's lock.
const listChunk = 256

// RequireViewData refuses a user whose role lacks View data, which every
// read of machines and actions needs (403 Forbidden).
func (c Caller) RequireViewData() error {
	if c.User != nil && !c.User.Role.CanViewData() {
		return apierr.New(apierr.Forbidden,
			"The user %s lacks the role permission View data, which this API needs (Defender for Endpoint roles: View data - Security operations).", c.User.UPN)
	}
	return nil
}

// RequireLibraryView refuses a user who may not see the live response
// library: the role's advanced live response commands include "View a
// script from the files library".
func (c Caller) RequireLibraryView() error {
	if c.User != nil && c.User.Role.LiveResponseLevel() < 2 {
		return apierr.New(apierr.Forbidden,
			"The user %s lacks the advanced live response role permission, which viewing the live response library needs.", c.User.UPN)
	}
	return nil
}

// RequireLibraryManage refuses a user who may not change the live
// response library: advanced live response and "Manage security
// settings" (the live response page: uploading to the library needs it).
func (c Caller) RequireLibraryManage() error {
	if err := c.RequireLibraryView(); err != nil {
		return err
	}
	if c.User != nil && !c.User.Role.ManageSecuritySettings {
		return apierr.New(apierr.Forbidden,
			"The user %s lacks the role permission Manage security settings, which changing the live response library needs.", c.User.UPN)
	}
	return nil
}

// requireCancel refuses a user who may not cancel a live response
// action: the role needs live response (basic or advanced) or active
// remediation actions.
func (c Caller) requireCancel() error {
	if c.User != nil && c.User.Role.LiveResponseLevel() < 1 && !c.User.Role.Remediation {
		return apierr.New(apierr.Forbidden,
			"The user %s lacks the role permissions to cancel a live response action: live response (basic or advanced) or active remediation actions.", c.User.UPN)
	}
	return nil
}

// requireLiveResponse refuses a user whose role has no live response
// capability (403 Forbidden).
func (c Caller) requireLiveResponse() error {
	if c.User != nil && c.User.Role.LiveResponseLevel() < 1 {
		return apierr.New(apierr.Forbidden,
			"The user %s lacks the live response role permission (Live response capabilities: basic or advanced), which runliveresponse needs.", c.User.UPN)
	}
	return nil
}

// requireCommands refuses commands beyond the user's live response level:
// basic allows GetFile (download a file from the device); PutFile (upload
// a file to the device) and RunScript (run a script from the library)
// need advanced.
func (c Caller) requireCommands(cmds []Command) error {
	if c.User == nil || c.User.Role.LiveResponseLevel() >= 2 {
		return nil
	}
	for _, cmd := range cmds {
		if cmd.Type == PutFile || cmd.Type == RunScript {
			return apierr.New(apierr.Forbidden,
				"The user %s has the basic live response role permission, which does not allow %s: it needs advanced live response commands.", c.User.UPN, cmd.Type)
		}
	}
	return nil
}

// Requestor is the requestor of the caller's actions: a user's UPN, an
// app's display name.
func (c Caller) Requestor() string {
	if c.User != nil {
		return c.User.UPN
	}
	return c.Name
}
