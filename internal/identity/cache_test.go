package identity

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// Tokens nobody presents again leave the cache once they have expired
// and a sweep is due, in every shard, without waiting for it to fill.
func TestVerifyCacheSweepsExpiredTokens(t *testing.T) {
	t.Parallel()
	a, clk := newTestAuthority(t)
	verify := func() string { return mintVerified(t, a) }
	for range 200 {
		verify()
	}
	if n := a.cache.len(); n != 200 {
		t.Fatalf("cache holds %d tokens, want 200", n)
	}
	// Within a sweep's interval, nothing is dropped even once expired.
	clk.Advance(cacheSweepEvery / 2)
	verify()
	if n := a.cache.len(); n != 201 {
		t.Fatalf("cache holds %d tokens half a sweep later, want 201", n)
	}
	clk.Advance(24 * time.Hour) // every token has expired
	last := verify()
	if n := a.cache.len(); n != 1 {
		t.Errorf("cache holds %d tokens after a day, want 1 (the new one)", n)
	}
	if _, err := a.Verify(last); err != nil {
		t.Errorf("the new token: %v", err)
	}
}

// mintVerified mints a token of a's default app and verifies it, which
// caches it, and returns it.
func mintVerified(t *testing.T, a *Authority) string {
	t.Helper()
	raw, _, err := a.Mint(MintRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

// A cached token remembers which directory it was verified against
// without keeping that directory alive: a classroom that adds tenants
// one by one, each verifying a token in between, holds one directory,
// not one per tenant added (which grows as the square of the tenants).
// Not parallel: it reads the heap.
func TestVerifyCacheKeepsNoOldDirectory(t *testing.T) {
	a, _ := newTestAuthority(t)
	const tenants, users = 150, 20
	for i := range tenants {
		tenant := fmt.Sprintf("%08x-0000-4000-8000-000000000000", i+1)
		client := fmt.Sprintf("%08x-0000-4000-8000-00000000000c", i+1)
		us := make([]User, users)
		for j := range us {
			us[j] = User{TenantID: tenant, ObjectID: fmt.Sprintf("%08x-%04x-4000-8000-000000000000", i+1, j),
				UPN: fmt.Sprintf("user%d@tenant%d.example", j, i), DisplayName: "A user", Password: "password"}
		}
		a.AddTenant(tenant, []App{{TenantID: tenant, ClientID: client, ClientSecret: "s", Roles: []string{"Machine.LiveResponse"}}}, us)
		raw, _, err := a.Mint(MintRequest{TenantID: tenant, ClientID: client})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Verify(raw); err != nil {
			t.Fatal(err)
		}
	}
	withCache := heapInUse()
	a.cache.clear()
	cached := int64(withCache) - int64(heapInUse())
	// The tokens and principals themselves: about 2 KB each.
	const bound = tenants * 8 << 10
	t.Logf("the cache of %d tokens holds %d KiB", tenants, cached>>10)
	if cached > bound {
		t.Errorf("the cache of %d tokens holds %d KiB (bound %d KiB): it keeps old directories alive", tenants, cached>>10, bound>>10)
	}
	runtime.KeepAlive(a)
}

// heapInUse returns the bytes of live heap objects after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Device codes, sign-in pages and authorization codes nobody finishes
// leave the store once expired, when a new flow comes after a prune is
// due, without waiting for the store to fill.
func TestFlowsPruneExpired(t *testing.T) {
	t.Parallel()
	a, clk := newDelegatedAuthority(t)
	for range 20 {
		if _, oerr := a.DeviceCode(tenantA, deviceForm(), true); oerr != nil {
			t.Fatal(oerr.Description)
		}
		if _, aerr := a.Authorize(tenantA, authorizeQuery(), true, nil); aerr != nil {
			t.Fatalf("%+v", aerr)
		}
		signIn(t, a, authorizeQuery()) // a code nobody redeems
	}
	count := func() (devices, users, sessions, codes int) {
		a.flows.mu.Lock()
		defer a.flows.mu.Unlock()
		return len(a.flows.devices), len(a.flows.byUser), len(a.flows.sessions), len(a.flows.codes)
	}
	if d, u, s, c := count(); d != 20 || u != 20 || s < 20 || c != 20 {
		t.Fatalf("store: %d device codes, %d user codes, %d sessions, %d codes; want 20 of each (sessions: at least)", d, u, s, c)
	}
	clk.Advance(2*DeviceCodeLifetime + flowPruneEvery)
	if _, oerr := a.DeviceCode(tenantA, deviceForm(), true); oerr != nil {
		t.Fatal(oerr.Description)
	}
	if d, u, s, c := count(); d != 1 || u != 1 || s != 0 || c != 0 {
		t.Errorf("store after the flows expired: %d device codes, %d user codes, %d sessions, %d codes; want 1, 1, 0, 0", d, u, s, c)
	}
}

// After the clock went back (an emulator reset), the next new token sweeps
// at once instead of waiting for the instant the last sweep set, which
// may be days ahead of the clock now.
func TestVerifyCacheSweepsAfterTheClockWentBack(t *testing.T) {
	t.Parallel()
	a, clk := newTestAuthority(t)
	mintVerify := func() { mintVerified(t, a) }
	clk.Advance(30 * 24 * time.Hour)
	mintVerify() // sweeps; the next sweep is due 30 days and a minute after t0
	a.cache.clear()
	clk.mu.Lock()
	clk.t = t0 // the reset
	clk.mu.Unlock()
	mintVerify()
	clk.Advance(24 * time.Hour) // that token has expired
	mintVerify()
	if n := a.cache.len(); n != 1 {
		t.Errorf("cache holds %d tokens, want 1 (the new one): no sweep after the clock went back", n)
	}
}
