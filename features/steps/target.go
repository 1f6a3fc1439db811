package steps

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/mdelive/mde-emulator/internal/limits"
)

// Target is what the scenarios run against: an emulator (in-process or
// over HTTP) or a real tenant. It plays the part of go-cloud's drivertest
// Harness: each kind of target implements it once and every scenario runs
// on it unchanged.
type Target interface {
	// BaseURL is the API's scheme and host, such as
	// http://127.0.0.1:8080 or https://api.securitycenter.microsoft.com;
	// paths /api/... are appended to it.
	BaseURL() string
	// HTTPClient sends the scenarios' requests.
	HTTPClient() *http.Client
	// Token returns an access token for app. The zero AppRef is the
	// target's default app with all its roles; anything else needs a
	// control plane.
	Token(ctx context.Context, app AppRef) (string, error)
	// Credentials are the default app's client credentials, for the
	// scenarios that exercise the token endpoint itself.
	Credentials() Credentials
	// Control is the emulator's control plane; nil against a real tenant.
	Control() Control
	// Machines names the machines the scenarios use.
	Machines() MachineRefs
	// Users names the users the @delegated scenarios sign in as (with the
	// password grant, through the Credentials' app). A user the target
	// does not offer has an empty Username: the scenarios that need it
	// fail, which is why they are tagged @emulator-fixtures (and all the
	// @delegated ones are left out of a run whose target has no test
	// user).
	Users() UserRefs
}

// UserCredentials are a user's name and password, for the password
// grant (resource owner password credentials).
type UserCredentials struct {
	// Username is the user principal name, which is also the requestor
	// of the actions the user starts.
	Username string
	Password string
}

// UserRefs are the users of the @delegated scenarios.
type UserRefs struct {
	// Test is a user with "View data" and advanced live response over the
	// Windows machines of Machines (a real tenant's --username): the one
	// user a real tenant needs.
	Test UserCredentials
	// Basic has basic live response only (GetFile, no PutFile or
	// RunScript).
	Basic UserCredentials
	// NoLiveResponse has "View data" and no live response.
	NoLiveResponse UserCredentials
	// Workstations has advanced live response over the device group of
	// the Windows machines only.
	Workstations UserCredentials
	// OutsideWorkstations is an online machine outside the device groups
	// of Workstations.
	OutsideWorkstations string
}

// AppRef says which token a scenario wants. Its zero value is the
// target's default app with all its roles.
type AppRef struct {
	// TenantID and ClientID name the tenant and the app; empty: the
	// default ones.
	TenantID, ClientID string
	// Roles, when not nil, are exactly the roles the token carries (nil:
	// the app's roles; empty but not nil: no role at all).
	Roles []string
	// Audience is the token's aud; empty: the API's.
	Audience string
	// ExpiresIn is the token's lifetime; zero: the usual hour.
	ExpiresIn time.Duration
	// User, when set, makes the token a delegated one for that user (a
	// UPN) through the app, with the delegated permissions Scopes (nil:
	// the app's).
	User   string
	Scopes []string
}

// IsDefault reports whether a is the default app with its own roles.
func (a AppRef) IsDefault() bool {
	return a.TenantID == "" && a.ClientID == "" && a.Roles == nil && a.Audience == "" && a.ExpiresIn == 0 &&
		a.User == "" && a.Scopes == nil
}

// Credentials are an app's client credentials and where to use them.
type Credentials struct {
	// TokenURL is the v2.0 token endpoint,
	// https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token for a
	// real tenant.
	TokenURL     string
	TenantID     string
	ClientID     string
	ClientSecret string
	// Scope is the v2.0 scope, https://api.securitycenter.microsoft.com/.default.
	Scope string
}

// MachineRefs are the ids of the machines that the scenarios' "Given an
// online Windows machine" and the like pick. An empty id is a machine the
// target does not offer: a scenario that needs it fails, which is why such
// scenarios are tagged @emulator-only.
type MachineRefs struct {
	// Windows is an online Windows machine in a device group with a
	// remediation level (a real tenant's --machine).
	Windows string
	// Windows2 is a second one.
	Windows2 string
	// Linux is an online Linux machine.
	Linux string
	// Offline is a machine that is switched off.
	Offline string
	// Unsupported is a machine on a platform live response does not
	// support.
	Unsupported string
	// NoRemediation is a machine in a device group without a remediation
	// level.
	NoRemediation string
	// LargeFile is a machine with C:\Windows\MEMORY.DMP over 3 GB.
	LargeFile string
}

// Control is the emulator's control plane (/_emulator).
type Control interface {
	// Reset puts the emulator back to its starting fixtures, its clock to
	// its start (and in manual mode), and empties the limits' windows.
	Reset(ctx context.Context) error
	// Advance moves the clock by d and returns once everything due has
	// happened.
	Advance(ctx context.Context, d time.Duration) error
	// SetOnline switches a machine on or off.
	SetOnline(ctx context.Context, machine string, online bool) error
	// Mint makes a token without the OAuth exchange.
	Mint(ctx context.Context, app AppRef) (string, error)
	// LoadFixtures replaces the emulator's whole state with a fixture
	// (YAML or JSON); the next Reset brings the starting fixtures back.
	LoadFixtures(ctx context.Context, fixture []byte) error
	// Limits returns the limits the emulator applies.
	Limits(ctx context.Context) (Limits, error)
}

// Limits are the limits of the emulator's profile, as /_emulator/health
// shows them: the emulator's own limits.Profile, in its one JSON form.
type Limits = limits.Profile

// ErrNeedsControl is returned by a step that needs the control plane when
// the target has none: the scenario should be tagged @emulator-only.
var ErrNeedsControl = errors.New("this step needs the emulator's control plane; tag the scenario @emulator-only")

// ErrNoUser is returned by a step that signs in as a user the target does
// not offer: the scenario should be tagged @emulator-fixtures (or, for the
// test user, the run should leave out @delegated).
var ErrNoUser = errors.New("the target offers no such user; tag the scenario @emulator-fixtures")
