package identity

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// cacheShards is the number of independently locked parts of the cache.
const cacheShards = 32

// cacheSweepEvery is how often (in emulated time), at most, the cache
// drops its expired tokens when it takes a new one, so that tokens nobody
// presents again do not sit in it until it is full.
const cacheSweepEvery = time.Minute

// principalCache remembers verified tokens: raw token → principal. It is
// bounded: a full shard first drops the tokens that have expired, then
// arbitrary ones, down to 7/8 of its capacity; and a put drops every
// shard's expired tokens when cacheSweepEvery has passed since the last
// sweep (sweepDue). Each entry remembers the generation of the directory
// snapshot it was verified against and only matches that one; it does not
// point at the snapshot, so an entry does not keep an old directory alive.
type principalCache struct {
	seed     maphash.Seed
	perShard int
	sweepAt  atomic.Int64 // Unix nanoseconds (emulated) from which a put sweeps
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[string]cacheEntry
}

type cacheEntry struct {
	p   *Principal
	gen uint64 // the directory's generation
}

func newPrincipalCache(size int) *principalCache {
	per := max(size/cacheShards, 1)
	c := &principalCache{seed: maphash.MakeSeed(), perShard: per}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

func (c *principalCache) shard(raw string) *cacheShard {
	return &c.shards[maphash.String(c.seed, raw)%cacheShards]
}

// get returns the principal cached for raw when it was verified against d.
func (c *principalCache) get(raw string, d *directory) (*Principal, bool) {
	s := c.shard(raw)
	s.mu.RLock()
	e, ok := s.m[raw]
	s.mu.RUnlock()
	if !ok || e.gen != d.gen {
		return nil, false
	}
	return e.p, true
}

// put caches p for raw, verified against d; now is the emulator clock's
// time, used to drop expired tokens (sweepDue, and when the shard is full).
func (c *principalCache) put(raw string, p *Principal, d *directory, now time.Time) {
	c.sweepDue(now)
	s := c.shard(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[raw]; !ok && len(s.m) >= c.perShard {
		s.evict(now, c.perShard-c.perShard/8-1)
	}
	s.m[raw] = cacheEntry{p: p, gen: d.gen}
}

// sweepDue drops every shard's expired tokens when a sweep is due at now,
// or when the clock went back (a reset) to before the last sweep; of
// concurrent callers, one sweeps.
func (c *principalCache) sweepDue(now time.Time) {
	at, t := c.sweepAt.Load(), now.UnixNano()
	if t < at && t >= at-int64(cacheSweepEvery) || !c.sweepAt.CompareAndSwap(at, now.Add(cacheSweepEvery).UnixNano()) {
		return
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.evict(now, c.perShard)
		s.mu.Unlock()
	}
}

// evict drops the entries expired at now,
// then arbitrary entries until at most keep remain. The caller holds s.mu.
func (s *cacheShard) evict(now time.Time, keep int) {
	for k, e := range s.m {
		if !now.Before(e.p.ExpiresAt) {
			delete(s.m, k)
		}
	}
	for k := range s.m {
		if len(s.m) <= keep {
			break
		}
		delete(s.m, k)
	}
}

// clear drops every entry.
func (c *principalCache) clear() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

// len returns the number of cached tokens.
func (c *principalCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
