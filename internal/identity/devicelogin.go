package identity

import "strings"

// The device code's verification page (the emulator's stand-in for
// https://microsoft.com/devicelogin): the user enters the user code
// (OpenDeviceLogin), then picks a user of the code's tenant or declines
// (CompleteDeviceLogin). Between the two steps a session, random and
// single-use, names the code: the page's form carries it, so a form
// posted from elsewhere (without having opened the page) approves
// nothing. One session per device code, so they are bounded like the
// codes (maxFlows).

// MaxUserCodeInput bounds the user code the verification page takes (a
// user code is 9 characters; dashes and spaces are allowed around them).
const MaxUserCodeInput = 64

// DeviceLoginPage is what the verification page shows once a user code
// is entered: the app asking, its tenant's users to pick from, and the
// session the answer names.
type DeviceLoginPage struct {
	Session  string
	UserCode string
	TenantID string
	AppName  string
	ClientID string
	Scopes   []string
	Users    []SignInUser
}

// OpenDeviceLogin opens the verification page for the device code with
// this user code (without case, spaces or dashes): a new session for it
// (the previous one of the same code, if any, stops working). It fails
// with ErrUnknownUserCode (also for an input longer than
// MaxUserCodeInput), ErrCodeExpired or ErrCodeCompleted.
func (a *Authority) OpenDeviceLogin(userCode string) (*DeviceLoginPage, error) {
	if len(userCode) > MaxUserCodeInput {
		return nil, ErrUnknownUserCode
	}
	d := a.dir.Load()
	now, wall := a.now(), a.wall()
	f := &a.flows
	f.mu.Lock()
	flow := f.byUser[normalizeUserCode(userCode)]
	if flow != nil {
		flow.autoApproveLocked(d, now, wall)
	}
	switch {
	case flow == nil:
		f.mu.Unlock()
		return nil, ErrUnknownUserCode
	case flow.state != devicePending:
		f.mu.Unlock()
		return nil, ErrCodeCompleted
	case !now.Before(flow.expires):
		f.mu.Unlock()
		return nil, ErrCodeExpired
	}
	delete(f.byLogin, flow.login)
	flow.login = randomCode(32)
	f.byLogin[flow.login] = flow
	page := &DeviceLoginPage{Session: flow.login, UserCode: flow.userCode, TenantID: flow.tenantID, ClientID: flow.clientID,
		Scopes: append([]string(nil), flow.scopes...)}
	tid := flow.tenantID
	f.mu.Unlock()
	if app := d.app(tid, page.ClientID); app != nil {
		page.AppName = app.DisplayName
	}
	for _, u := range d.users {
		if strings.EqualFold(u.TenantID, tid) && u.ObjectID != "" && u.UPN != "" {
			page.Users = append(page.Users, SignInUser{ObjectID: u.ObjectID, UPN: u.UPN, DisplayName: u.DisplayName})
		}
	}
	return page, nil
}

// CompleteDeviceLogin answers the verification page of session: decline
// true, or the user picked (object id or UPN of the code's tenant). The
// session is used once, whatever the outcome. It fails with
// ErrUnknownSession (unknown, used, or replaced by a later opening),
// ErrCodeExpired, ErrCodeCompleted or ErrUnknownUser.
func (a *Authority) CompleteDeviceLogin(session, user string, decline bool) (*DeviceApproval, error) {
	if session == "" {
		return nil, ErrUnknownSession
	}
	d := a.dir.Load()
	f := &a.flows
	f.mu.Lock()
	defer f.mu.Unlock()
	flow := f.byLogin[session]
	if flow == nil {
		return nil, ErrUnknownSession
	}
	delete(f.byLogin, session)
	flow.login = ""
	return a.approveLocked(d, flow, user, !decline)
}
