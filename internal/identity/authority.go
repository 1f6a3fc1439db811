package identity

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"errors"
	"fmt"
	"github.com/mdelive/mde-emulator/internal/servicehosts"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// App is an app registration of a tenant: the client that asks for tokens
// with the client-credentials grant, and the application permissions (app
// roles) an admin granted it on the Defender for Endpoint API.
type App struct {
	TenantID     string
	ClientID     string
	ClientSecret string
	DisplayName  string
	Roles        []string
	// DelegatedPermissions are the delegated permissions (scopes) of the
	// Defender API consented for the app: the most a user's token through
	// it carries in scp.
	DelegatedPermissions []string
	// ClientType is whether the delegated grants take a client secret:
	// ClientAny (the zero value) accepts a request with or without one,
	// ClientPublic refuses one (AADSTS700025), ClientConfidential requires
	// one (AADSTS7000218). The client-credentials grant always requires it.
	ClientType ClientType
	// AccessTokenLifetime is the lifetime (expires_in, wall time) of the
	// access tokens issued through the app. Zero: DefaultExpiresIn.
	AccessTokenLifetime time.Duration
	// AutoApproveUser, when set, is the user (UPN or object id of the
	// app's tenant) who approves the app's device codes by themselves,
	// AutoApproveAfter of wall time after each was issued (checked when
	// the client polls: no timer runs). Empty: only ApproveDeviceCode
	// completes a device code.
	AutoApproveUser  string
	AutoApproveAfter time.Duration
}

// ClientType is how an app authenticates on the delegated grants.
type ClientType int

const (
	// ClientAny takes a client secret when one is sent and goes without
	// one: the emulator's lenient default, like an app registration with
	// "Allow public client flows" that also has a secret.
	ClientAny ClientType = iota
	// ClientPublic is a public client: it must not send a secret.
	ClientPublic
	// ClientConfidential is a confidential client: it must send its secret.
	ClientConfidential
)

// lifetime returns the lifetime of the app's access tokens.
func (app *App) lifetime() time.Duration {
	if app.AccessTokenLifetime > 0 {
		return app.AccessTokenLifetime
	}
	return DefaultExpiresIn
}

// User is a user of a tenant, who signs in with the password grant and
// calls the API with a delegated token.
type User struct {
	TenantID    string
	ObjectID    string // oid
	UPN         string // userPrincipalName: the password grant's username, upn
	DisplayName string // name
	// Password is what the password grant checks; empty: the user cannot
	// sign in with a password.
	Password string
}

// Options configures an Authority.
type Options struct {
	// Key signs the tokens. Nil: New generates a 2048-bit RSA key, so the
	// tokens of one emulator run do not verify in the next.
	Key *rsa.PrivateKey
	// Now is the emulator clock; required. Token lifetimes, expiry and the
	// cache's expiry checks all read it.
	Now func() time.Time
	// EmulatedDuration converts a lifetime measured in the client's wall
	// time (expires_in) into emulated time, the time exp is checked
	// against: clock.Clock.EmulatedDuration. Nil: durations are the same in
	// both (a clock that is not sped up).
	EmulatedDuration func(time.Duration) time.Duration
	// Wall reads the wall clock, for the absolute instants a client
	// compares with its own clock (v1 expires_on and not_before):
	// clock.Wall. Nil: Now.
	Wall func() time.Time
	// Issuer returns the iss claim of tokens for a tenant. Nil:
	// "https://sts.windows.net/{tid}/", the issuer of the v1.0 tokens Entra
	// issues for the Defender for Endpoint API.
	Issuer func(tenantID string) string
	// CacheSize bounds the number of verified tokens Verify remembers.
	// Zero: 16384.
	CacheSize int
}

// Authority is the emulator's identity platform: a directory of tenants and
// app registrations, a token endpoint, a signing key and the verification of
// bearer tokens. It is safe for concurrent use.
type Authority struct {
	key    *rsa.PrivateKey
	kid    string
	now    func() time.Time
	wall   func() time.Time
	toEmu  func(time.Duration) time.Duration
	issuer func(string) string
	parser *jwt.Parser
	jwks   []byte

	mu        sync.Mutex // serialises writers of dir and audiences
	dir       atomic.Pointer[directory]
	audiences atomic.Pointer[map[string]struct{}]
	cache     *principalCache
	flows     flowStore // device codes, sign-in sessions, authorization codes
}

// directory is one immutable snapshot of the tenants and apps. A new
// snapshot replaces it whole; cache entries remember the snapshot they were
// verified against.
type directory struct {
	gen        uint64            // this snapshot's generation: directoryGen when it was built
	apps       []*App            // in the order given, duplicates dropped
	byKey      map[string]*App   // appKey(tenant, client) → app
	tenants    map[string]string // lower-case id → id as configured
	tenantList []string          // tenant ids in order of first appearance
	extra      []string          // tenants set by SetTenants
	users      []User            // set by SetUsers, as given
	userByOID  map[string]*User  // userKey(tenant, oid) → user
	userByUPN  map[string]*User  // userKey(tenant, upn) → user
}

// DefaultAudience is the audience Mint uses when the request names none,
// and the resource the Defender for Endpoint documentation asks for.
const DefaultAudience = "https://api.securitycenter.microsoft.com"

// WindowsDefenderATPAppID is the well-known application id of the
// "WindowsDefenderATP" resource app; Entra accepts it as a resource too.
const WindowsDefenderATPAppID = "fc780465-2017-40d4-a0c5-307022471b92"

// defaultAudiences are the audiences of the Defender for Endpoint API: the
// resource's identifier URI (windowsatpservice) and app id, and every API
// host (commercial, geo, legacy regional, US Government) as a resource, the
// way clients ask for them (package servicehosts holds the hosts and their
// sources).
var defaultAudiences = func() []string {
	a := []string{"https://securitycenter.onmicrosoft.com/windowsatpservice", WindowsDefenderATPAppID}
	for _, h := range servicehosts.APIHosts() {
		a = append(a, "https://"+h)
	}
	return a
}()

const defaultCacheSize = 16384

// New returns an Authority with an empty directory; call SetApps to fill it.
func New(opts Options) (*Authority, error) {
	if opts.Now == nil {
		return nil, errors.New("identity: Options.Now is required")
	}
	key := opts.Key
	if key == nil {
		var err error
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("identity: generate signing key: %w", err)
		}
	}
	cert, err := selfSignedCert(key)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(cert)
	a := &Authority{
		key:    key,
		kid:    b64(sum[:]), // Entra's kid is the certificate's x5t
		now:    opts.Now,
		wall:   opts.Wall,
		toEmu:  opts.EmulatedDuration,
		issuer: opts.Issuer,
	}
	if a.wall == nil {
		a.wall = a.now
	}
	if a.toEmu == nil {
		a.toEmu = func(d time.Duration) time.Duration { return d }
	}
	if a.issuer == nil {
		a.issuer = func(tid string) string { return "https://sts.windows.net/" + tid + "/" }
	}
	a.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithTimeFunc(a.now),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(0),
	)
	a.jwks = buildJWKS(key, a.kid, cert)
	size := opts.CacheSize
	if size <= 0 {
		size = defaultCacheSize
	}
	a.cache = newPrincipalCache(size)
	a.flows.init()
	auds := make(map[string]struct{}, len(defaultAudiences))
	for _, aud := range defaultAudiences {
		auds[normalizeAudience(aud)] = struct{}{}
	}
	a.audiences.Store(&auds)
	a.dir.Store(buildDirectory(nil, nil, nil))
	return a, nil
}

// SetApps replaces the whole directory of apps at once (at start and on a
// fixture reload). The tenants are the TenantIDs of the apps plus those of
// SetTenants. Apps without a TenantID or ClientID are ignored; of two apps
// with the same tenant and client id (compared case-insensitively) the first
// wins. Tokens of apps no longer in the directory stop verifying at once,
// cached or not.
func (a *Authority) SetApps(apps []App) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.dir.Load()
	a.dir.Store(buildDirectory(apps, old.extra, old.users))
	a.cache.clear()
}

// SetTenants declares tenants that exist even without apps: the token
// endpoint then answers "application not found" rather than "tenant not
// found" for them, and their discovery documents exist. It replaces the
// previous SetTenants list and keeps the apps.
func (a *Authority) SetTenants(tenantIDs []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.dir.Load()
	apps := make([]App, len(old.apps))
	for i, app := range old.apps {
		apps[i] = *app
	}
	a.dir.Store(buildDirectory(apps, append([]string(nil), tenantIDs...), old.users))
	a.cache.clear()
}

// SetUsers replaces the directory's users (at start and on a fixture
// reload) and keeps its apps and tenants. Users without a TenantID,
// ObjectID or UPN are ignored. Delegated tokens of users no longer in the
// directory stop verifying at once, cached or not.
func (a *Authority) SetUsers(users []User) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.dir.Load()
	apps := make([]App, len(old.apps))
	for i, app := range old.apps {
		apps[i] = *app
	}
	a.dir.Store(buildDirectory(apps, old.extra, append([]User(nil), users...)))
	a.cache.clear()
}

// Apps returns a copy of the directory's apps, in the order SetApps got them.
func (a *Authority) Apps() []App {
	d := a.dir.Load()
	out := make([]App, len(d.apps))
	for i, app := range d.apps {
		out[i] = *app
		out[i].Roles = append([]string(nil), app.Roles...)
		out[i].DelegatedPermissions = append([]string(nil), app.DelegatedPermissions...)
	}
	return out
}

// AcceptAudience adds aud to the audiences Verify accepts (compared without
// case and without a trailing slash). The emulator adds its public URLs
// once, at start (some clients ask a token for the base URL they call);
// never call it with what a request says, such as its Host.
func (a *Authority) AcceptAudience(aud string) {
	n := normalizeAudience(aud)
	if n == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	old := *a.audiences.Load()
	if _, ok := old[n]; ok {
		return
	}
	next := make(map[string]struct{}, len(old)+1)
	for k := range old {
		next[k] = struct{}{}
	}
	next[n] = struct{}{}
	a.audiences.Store(&next)
}

func (a *Authority) audienceAccepted(aud string) bool {
	_, ok := (*a.audiences.Load())[normalizeAudience(aud)]
	return ok
}

func normalizeAudience(aud string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(aud), "/"))
}

// directoryGen numbers the directory snapshots of the process, so that
// the principal cache can tell them apart without holding on to them.
var directoryGen atomic.Uint64

func buildDirectory(apps []App, extra []string, users []User) *directory {
	d := &directory{
		gen:       directoryGen.Add(1),
		byKey:     make(map[string]*App, len(apps)),
		tenants:   make(map[string]string),
		extra:     extra,
		users:     users,
		userByOID: make(map[string]*User, len(users)),
		userByUPN: make(map[string]*User, len(users)),
	}
	addTenant := func(id string) {
		l := strings.ToLower(id)
		if _, ok := d.tenants[l]; !ok {
			d.tenants[l] = id
			d.tenantList = append(d.tenantList, id)
		}
	}
	for _, app := range apps {
		if app.TenantID == "" || app.ClientID == "" {
			continue
		}
		k := appKey(app.TenantID, app.ClientID)
		if _, dup := d.byKey[k]; dup {
			continue
		}
		c := app
		c.Roles = append([]string(nil), app.Roles...)
		c.DelegatedPermissions = append([]string(nil), app.DelegatedPermissions...)
		d.apps = append(d.apps, &c)
		d.byKey[k] = &c
		addTenant(app.TenantID)
	}
	for _, id := range extra {
		if id != "" {
			addTenant(id)
		}
	}
	for i := range users {
		u := &users[i]
		if u.TenantID == "" || u.ObjectID == "" || u.UPN == "" {
			continue
		}
		if _, dup := d.userByOID[appKey(u.TenantID, u.ObjectID)]; !dup {
			d.userByOID[appKey(u.TenantID, u.ObjectID)] = u
		}
		if _, dup := d.userByUPN[appKey(u.TenantID, u.UPN)]; !dup {
			d.userByUPN[appKey(u.TenantID, u.UPN)] = u
		}
	}
	return d
}

// userByID returns the user of the tenant with object id oid.
func (d *directory) userByID(tenantID, oid string) *User {
	return d.userByOID[appKey(tenantID, oid)]
}

// userByName returns the user of the tenant named upn (without case), or
// with that object id.
func (d *directory) userByName(tenantID, upn string) *User {
	if u := d.userByUPN[appKey(tenantID, strings.TrimSpace(upn))]; u != nil {
		return u
	}
	return d.userByID(tenantID, strings.TrimSpace(upn))
}

func appKey(tenantID, clientID string) string {
	return strings.ToLower(tenantID) + "/" + strings.ToLower(clientID)
}

// tenant returns the configured id of the tenant named by id.
func (d *directory) tenant(id string) (string, bool) {
	t, ok := d.tenants[strings.ToLower(id)]
	return t, ok
}

func (d *directory) app(tenantID, clientID string) *App {
	return d.byKey[appKey(tenantID, clientID)]
}

// firstApp returns the first app of the tenant, or of the first tenant when
// tenantID is empty.
func (d *directory) firstApp(tenantID string) *App {
	for _, app := range d.apps {
		if tenantID == "" || strings.EqualFold(app.TenantID, tenantID) {
			return app
		}
	}
	return nil
}

// appByClient returns the first app with the client id, in any tenant.
func (d *directory) appByClient(clientID string) *App {
	for _, app := range d.apps {
		if strings.EqualFold(app.ClientID, clientID) {
			return app
		}
	}
	return nil
}
