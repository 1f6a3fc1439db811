package identity

import (
	"errors"
	"strings"
	"testing"
)

// The verification page's two steps: the code opens a session that
// lists the tenant's users; the answer with that session approves the
// code as the user picked, once; the poll then gets the user's token.
func TestDeviceLogin(t *testing.T) {
	t.Parallel()
	a, _ := newDelegatedAuthority(t)
	dc, oerr := a.DeviceCodeAt(tenantA, deviceForm(), true, "http://127.0.0.1:8080/devicelogin")
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	if dc.VerificationURI != "http://127.0.0.1:8080/devicelogin" || !strings.Contains(dc.Message, "http://127.0.0.1:8080/devicelogin") {
		t.Errorf("verification_uri %q, message %q", dc.VerificationURI, dc.Message)
	}
	// Entered in lower case with a dash, as a user might.
	typed := strings.ToLower(dc.UserCode[:4] + "-" + dc.UserCode[4:])
	page, err := a.OpenDeviceLogin(typed)
	if err != nil {
		t.Fatal(err)
	}
	if page.UserCode != dc.UserCode || page.ClientID != clientA1 || page.TenantID != tenantA || page.AppName == "" ||
		len(page.Users) != 2 || page.Session == "" {
		t.Fatalf("page %+v", page)
	}
	// A second opening replaces the first session.
	again, err := a.OpenDeviceLogin(dc.UserCode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CompleteDeviceLogin(page.Session, userOID, false); !errors.Is(err, ErrUnknownSession) {
		t.Errorf("the replaced session: %v, want ErrUnknownSession", err)
	}
	if _, err := a.CompleteDeviceLogin("forged", userOID, false); !errors.Is(err, ErrUnknownSession) {
		t.Errorf("a forged session: %v", err)
	}
	if _, oerr := a.Token(tenantA, pollForm(dc.DeviceCode), true); oerr == nil || oerr.Error != "authorization_pending" {
		t.Fatalf("before the answer: %+v", oerr)
	}
	out, err := a.CompleteDeviceLogin(again.Session, userOID, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != "approved" || out.User != userUPN {
		t.Errorf("approval %+v", out)
	}
	if _, err := a.CompleteDeviceLogin(again.Session, userOID, false); !errors.Is(err, ErrUnknownSession) {
		t.Errorf("the session used twice: %v", err)
	}
	if _, err := a.OpenDeviceLogin(dc.UserCode); !errors.Is(err, ErrCodeCompleted) {
		t.Errorf("opening an approved code: %v", err)
	}
	r, oerr := a.Token(tenantA, pollForm(dc.DeviceCode), true)
	if oerr != nil {
		t.Fatal(oerr.Description)
	}
	p, err := a.Verify(r.AccessToken)
	if err != nil || !strings.EqualFold(p.UPN, userUPN) {
		t.Errorf("token of %+v, %v", p, err)
	}
}

// Declining on the page declines the code; unknown, too long and expired
// codes are refused; a user outside the tenant approves nothing.
func TestDeviceLoginRefusals(t *testing.T) {
	t.Parallel()
	a, clk := newDelegatedAuthority(t)
	if _, err := a.OpenDeviceLogin("NOSUCHCODE"); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("unknown code: %v", err)
	}
	if _, err := a.OpenDeviceLogin(strings.Repeat("A", MaxUserCodeInput+1)); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("too long: %v", err)
	}
	dc, _ := a.DeviceCode(tenantA, deviceForm(), true)
	page, err := a.OpenDeviceLogin(dc.UserCode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CompleteDeviceLogin(page.Session, "stranger@elsewhere.example", false); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("a stranger: %v", err)
	}
	page, _ = a.OpenDeviceLogin(dc.UserCode)
	if out, err := a.CompleteDeviceLogin(page.Session, "", true); err != nil || out.Status != "declined" {
		t.Fatalf("decline: %+v %v", out, err)
	}
	_, oerr := a.Token(tenantA, pollForm(dc.DeviceCode), true)
	wantOAuth(t, "after declining", oerr, 400, "authorization_declined", 65004)

	late, _ := a.DeviceCode(tenantA, deviceForm(), true)
	page, _ = a.OpenDeviceLogin(late.UserCode)
	clk.Advance(DeviceCodeLifetime)
	if _, err := a.OpenDeviceLogin(late.UserCode); !errors.Is(err, ErrCodeExpired) {
		t.Errorf("expired code: %v", err)
	}
	if _, err := a.CompleteDeviceLogin(page.Session, userOID, false); !errors.Is(err, ErrCodeExpired) {
		t.Errorf("answer after expiry: %v", err)
	}
}
