package limits

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// Calls is what the windows of one key and class count at an instant: the
// instants of the accepted calls still inside the widest of its windows,
// oldest first. The calls of one limiter, given to another with
// [Limiter.Restore], make it refuse and allow as the first would: the
// emulator keeps them across a restart.
type Calls struct {
	Key
	Class Class `json:"class"`
	// At holds the instants, Unix nanoseconds, ascending.
	At []int64 `json:"at"`
}

// Calls returns the calls every key's windows count at instant now, sorted
// by key and class, so that two readings of the same windows are equal.
// Keys whose windows count no call at now are left out. It locks one
// window at a time, as Usage does.
func (l *Limiter) Calls(now time.Time) []Calls {
	t := now.UnixNano()
	var out []Calls
	l.windows.Load().Range(func(k, v any) bool {
		wk, w := k.(windowKey), v.(*window)
		w.mu.Lock()
		var widest *ring
		for i := range w.rings {
			if widest == nil || w.rings[i].width > widest.width {
				widest = &w.rings[i]
			}
		}
		var at []int64
		if widest != nil {
			at = widest.appendInWindow(nil, t)
		}
		w.mu.Unlock()
		if len(at) > 0 {
			out = append(out, Calls{Key: wk.Key, Class: wk.class, At: at})
		}
		return true
	})
	slices.SortFunc(out, func(a, b Calls) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.App, b.App),
			cmp.Compare(a.Endpoint, b.Endpoint), cmp.Compare(a.Class, b.Class))
	})
	return out
}

// appendInWindow appends r's instants in (t-width, t] to dst, oldest first.
func (r *ring) appendInWindow(dst []int64, t int64) []int64 {
	for i := range len(r.buf) {
		v := r.buf[(r.head+i)%len(r.buf)]
		if v > t-r.width && v <= t {
			dst = append(dst, v)
		}
	}
	return dst
}

// Restore counts the calls cs (what Calls returned, perhaps of another
// limiter) as accepted at their instants, whatever the limits would say
// of them now; windows are made with the limits of the profile in force.
// Under an unlimited profile it counts nothing, as Allow does.
func (l *Limiter) Restore(cs []Calls) {
	p := l.src.Profile()
	if p.Unlimited {
		return
	}
	windows := l.windows.Load()
	for _, c := range cs {
		w := l.window(windows, p, windowKey{Key: c.Key, class: c.Class})
		w.mu.Lock()
		for _, t := range c.At {
			for i := range w.rings {
				w.rings[i].add(t)
			}
		}
		w.mu.Unlock()
	}
}

// Count counts a call for k of class c at instant now as accepted,
// whatever the limits would say of it: a call another run of the emulator
// accepted, replayed. Under an unlimited profile it counts nothing.
func (l *Limiter) Count(k Key, c Class, now time.Time) {
	l.Restore([]Calls{{Key: k, Class: c, At: []int64{now.UnixNano()}}})
}

// window returns the window of wk in windows, made under p if it has none.
func (l *Limiter) window(windows *sync.Map, p Profile, wk windowKey) *window {
	v, found := windows.Load(wk)
	if !found {
		v, _ = windows.LoadOrStore(wk, newWindow(p, wk.class))
	}
	return v.(*window)
}
