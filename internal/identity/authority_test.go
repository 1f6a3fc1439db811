package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	tenantA  = "11111111-1111-1111-1111-111111111111"
	tenantB  = "22222222-2222-2222-2222-222222222222"
	clientA1 = "aaaaaaaa-0000-0000-0000-000000000001"
	clientA2 = "aaaaaaaa-0000-0000-0000-000000000002"
	clientB1 = "bbbbbbbb-0000-0000-0000-000000000001"
	secretA1 = "a1-secret~value"
)

var testApps = []App{
	{TenantID: tenantA, ClientID: clientA1, ClientSecret: secretA1, DisplayName: "SOAR connector",
		Roles: []string{"Machine.LiveResponse", "Machine.Read.All"}},
	{TenantID: tenantA, ClientID: clientA2, ClientSecret: "a2", DisplayName: "Reader", Roles: []string{"Machine.Read.All"}},
	{TenantID: tenantB, ClientID: clientB1, ClientSecret: "b1", DisplayName: "Other tenant app", Roles: []string{"Library.Manage"}},
}

// testKeys are generated once: RSA key generation is the slow part.
var testKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	k1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	k2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k1, k2
})

// fakeClock is a settable emulator clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2025, 3, 18, 21, 2, 0, 0, time.UTC)

// newTestAuthority returns an Authority over testApps with a fake clock at t0.
func newTestAuthority(t testing.TB) (*Authority, *fakeClock) {
	t.Helper()
	key, _ := testKeys()
	clk := &fakeClock{t: t0}
	a, err := New(Options{Key: key, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	a.SetApps(testApps)
	return a, clk
}

func TestNewRequiresNow(t *testing.T) {
	t.Parallel()
	key, _ := testKeys()
	if _, err := New(Options{Key: key}); err == nil {
		t.Fatal("New without Now: got no error")
	}
}

func TestNewGeneratesKey(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: t0}
	a, err := New(Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	a.SetApps(testApps)
	raw, _, err := a.Mint(MintRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(raw); err != nil {
		t.Fatalf("Verify of a minted token: %v", err)
	}
}

func TestSetAppsDirectory(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	a.SetApps([]App{
		{TenantID: tenantA, ClientID: clientA1, ClientSecret: "first", Roles: []string{"X"}},
		{TenantID: tenantA, ClientID: "", ClientSecret: "ignored"},
		{TenantID: "", ClientID: clientA2, ClientSecret: "ignored"},
		{TenantID: tenantA, ClientID: "AAAAAAAA-0000-0000-0000-000000000001", ClientSecret: "duplicate"},
		{TenantID: tenantB, ClientID: clientB1, ClientSecret: "b"},
	})
	want := []App{
		{TenantID: tenantA, ClientID: clientA1, ClientSecret: "first", Roles: []string{"X"}},
		{TenantID: tenantB, ClientID: clientB1, ClientSecret: "b"},
	}
	if diff := cmp.Diff(want, a.Apps()); diff != "" {
		t.Errorf("Apps() mismatch (-want +got):\n%s", diff)
	}
}

func TestSetAppsCopiesInput(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	apps := []App{{TenantID: tenantA, ClientID: clientA1, ClientSecret: "s", Roles: []string{"Machine.LiveResponse"}}}
	a.SetApps(apps)
	apps[0].Roles[0] = "changed"
	apps[0].ClientSecret = "changed"
	if diff := cmp.Diff([]string{"Machine.LiveResponse"}, a.Apps()[0].Roles); diff != "" {
		t.Errorf("roles after the caller changed its slice (-want +got):\n%s", diff)
	}
	if got := a.Apps()[0].ClientSecret; got != "s" {
		t.Errorf("secret after the caller changed its slice = %q, want %q", got, "s")
	}
}

func TestSetTenants(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuthority(t)
	const empty = "33333333-3333-3333-3333-333333333333"
	form := clientForm(clientA1, secretA1)
	form.Set("scope", "https://api.securitycenter.microsoft.com/.default")

	_, oerr := a.ClientCredentials(empty, form, true)
	if oerr == nil || oerr.ErrorCodes[0] != 90002 {
		t.Fatalf("before SetTenants: got %+v, want AADSTS90002", oerr)
	}
	a.SetTenants([]string{empty})
	_, oerr = a.ClientCredentials(empty, form, true)
	if oerr == nil || oerr.ErrorCodes[0] != 700016 {
		t.Fatalf("after SetTenants: got %+v, want AADSTS700016", oerr)
	}
	if _, ok := a.OpenIDConfiguration(empty, "http://localhost", false); !ok {
		t.Error("OpenIDConfiguration of a tenant without apps: not found")
	}
	if got := len(a.Apps()); got != len(testApps) {
		t.Errorf("SetTenants changed the apps: %d apps, want %d", got, len(testApps))
	}
}
