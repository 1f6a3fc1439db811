package limits

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Key is what a rate limit counts calls for: one application of one tenant
// on one endpoint. Endpoint is any stable name the HTTP layer chooses for a
// route (for example "runliveresponse" or "machineactions").
type Key struct {
	Tenant, App, Endpoint string
}

// Class is the kind of limit an endpoint has.
type Class int

const (
	// LiveResponse is runliveresponse: a per-minute limit only.
	LiveResponse Class = iota
	// Other is every other endpoint: a per-minute and a per-hour limit.
	Other
)

// String returns the class's name.
func (c Class) String() string {
	switch c {
	case LiveResponse:
		return "LiveResponse"
	case Other:
		return "Other"
	}
	return "Class(unknown)"
}

// Limiter enforces the rate limits of a profile with sliding windows (see
// the package documentation). It reads the profile from its source on every
// decision and holds none of its own; a window keeps the limits it was made
// with, so call Reset after the source's profile changes. It is safe for
// concurrent use, and calls for different keys never wait for each other.
type Limiter struct {
	src ProfileSource
	// windows is replaced whole by Reset, which drops every window; Allow
	// only loads it. It holds windowKey → *window.
	windows atomic.Pointer[sync.Map]
}

// windowKey names the windows of one key and class.
type windowKey struct {
	Key
	class Class
}

// window holds the rings of one key; the check and the recording of a call
// happen under its mutex.
type window struct {
	mu    sync.Mutex
	rings []ring
}

// ring holds the instants (Unix nanoseconds) of the last limit accepted
// calls, oldest first from head, sorted by instant.
type ring struct {
	limit int
	width int64 // the window's length in nanoseconds
	buf   []int64
	head  int // index of the oldest instant once buf is full; 0 before
}

// NewLimiter returns a limiter with the limits of src's profile and no
// calls counted.
func NewLimiter(src ProfileSource) *Limiter {
	l := &Limiter{src: src}
	l.windows.Store(&sync.Map{})
	return l
}

// Profile returns the profile the limiter applies: its source's.
func (l *Limiter) Profile() Profile {
	return l.src.Profile()
}

// Reset forgets every counted call; windows made from now on take the
// limits of the source's profile.
func (l *Limiter) Reset() {
	l.windows.Store(&sync.Map{})
}

// ForgetTenant drops the windows of every key of tenant (without case):
// what a removed tenant leaves behind. A call of tenant decided meanwhile
// may make a window again, which counts from that call.
func (l *Limiter) ForgetTenant(tenant string) {
	m := l.windows.Load()
	m.Range(func(k, _ any) bool {
		if strings.EqualFold(k.(windowKey).Tenant, tenant) {
			m.Delete(k)
		}
		return true
	})
}

// Allow reports whether a call for k of class c at instant now is within the
// limits, and counts it if so. On refusal retryAfter is the exact time until
// the call would be allowed (if no other call for k is accepted meanwhile);
// it is always positive. On acceptance retryAfter is 0.
func (l *Limiter) Allow(k Key, c Class, now time.Time) (retryAfter time.Duration, ok bool) {
	p := l.src.Profile()
	if p.Unlimited {
		return 0, true
	}
	w := l.window(l.windows.Load(), p, windowKey{Key: k, class: c})
	t := now.UnixNano()

	w.mu.Lock()
	defer w.mu.Unlock()
	var wait int64
	for i := range w.rings {
		wait = max(wait, w.rings[i].wait(t))
	}
	if wait > 0 {
		return time.Duration(wait), false
	}
	for i := range w.rings {
		w.rings[i].add(t)
	}
	return 0, true
}

// newWindow returns the empty window for class c under p. A limit of zero
// or less gets no ring: it never refuses.
func newWindow(p Profile, c Class) *window {
	type limit struct {
		n     int
		width time.Duration
	}
	var ls []limit
	switch c {
	case LiveResponse:
		ls = []limit{{p.LiveResponsePerMinute, time.Minute}}
	default:
		ls = []limit{{p.OtherPerMinute, time.Minute}, {p.OtherPerHour, time.Hour}}
	}
	w := &window{}
	for _, lim := range ls {
		if lim.n > 0 {
			w.rings = append(w.rings, ring{limit: lim.n, width: int64(lim.width)})
		}
	}
	return w
}

// wait returns 0 when a call at t is within r's limit, or else the time
// until the oldest counted call leaves the window (t-width, t].
func (r *ring) wait(t int64) int64 {
	if len(r.buf) < r.limit {
		return 0
	}
	oldest := r.buf[r.head]
	if oldest <= t-r.width {
		return 0
	}
	return oldest + r.width - t
}

// add counts a call at t, dropping the oldest instant when the ring is
// full. The ring stays sorted, so that calls recorded slightly out of order
// by concurrent callers still leave the window in time order.
func (r *ring) add(t int64) {
	n := r.limit
	if len(r.buf) > 0 && r.newest() <= t-r.width {
		// Every counted call has left the window: start over in the
		// space the ring has, so that its size follows the calls in a
		// window, not every call the key ever made.
		r.buf, r.head = r.buf[:0], 0
	}
	if len(r.buf) < n {
		r.buf = append(r.buf, t)
		for i := len(r.buf) - 1; i > 0 && r.buf[i-1] > r.buf[i]; i-- {
			r.buf[i-1], r.buf[i] = r.buf[i], r.buf[i-1]
		}
		return
	}
	i := r.head // the oldest slot becomes the newest
	r.buf[i] = t
	r.head = (r.head + 1) % n
	for range n - 1 {
		j := (i - 1 + n) % n
		if r.buf[j] <= r.buf[i] {
			break
		}
		r.buf[i], r.buf[j] = r.buf[j], r.buf[i]
		i = j
	}
}

// newest returns the latest instant the ring holds; it must hold one.
func (r *ring) newest() int64 {
	if len(r.buf) < r.limit {
		return r.buf[len(r.buf)-1]
	}
	return r.buf[(r.head-1+r.limit)%r.limit]
}

// Usage is how much of one rate limit one key has used at an instant.
type Usage struct {
	Key
	Class Class
	// Window is the limit's window: one minute or one hour.
	Window time.Duration
	// Limit is how many calls the window allows.
	Limit int
	// Used is how many accepted calls are in the window (now-Window, now].
	Used int
	// FreesAt is when the oldest counted call leaves the window, freeing a
	// call; zero when the window counts none.
	FreesAt time.Time
}

// Usage returns how much of each limit every key with calls in a window has
// used at instant now, in no particular order. Keys whose windows count no
// call at now are left out. It locks one window at a time, so it never
// holds up Allow for long, and a snapshot taken while calls go on may mix
// instants a few calls apart.
func (l *Limiter) Usage(now time.Time) []Usage {
	t := now.UnixNano()
	var out []Usage
	l.windows.Load().Range(func(k, v any) bool {
		wk, w := k.(windowKey), v.(*window)
		w.mu.Lock()
		for i := range w.rings {
			r := &w.rings[i]
			used, oldest := r.inWindow(t)
			if used == 0 {
				continue
			}
			out = append(out, Usage{Key: wk.Key, Class: wk.class, Window: time.Duration(r.width), Limit: r.limit,
				Used: used, FreesAt: time.Unix(0, oldest+r.width).In(now.Location())})
		}
		w.mu.Unlock()
		return true
	})
	return out
}

// inWindow returns how many of r's instants are in (t-width, t] and the
// oldest of them.
func (r *ring) inWindow(t int64) (n int, oldest int64) {
	for i := range len(r.buf) {
		v := r.buf[(r.head+i)%len(r.buf)]
		if v > t-r.width && v <= t {
			if n == 0 {
				oldest = v
			}
			n++
		}
	}
	return n, oldest
}
