package journal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultCapacity is the number of entries a journal keeps when New is given
// a capacity of zero or less.
const DefaultCapacity = 10_000

// DefaultBodyCap is the number of request body bytes an entry keeps when New
// is given a body cap of zero or less.
const DefaultBodyCap = 16 << 10

// ErrCountOverCapacity is returned by Wait when asked for more entries than
// the journal can hold: such a wait could never succeed.
var ErrCountOverCapacity = errors.New("journal: wait count exceeds the journal capacity")

// Entry is one request as the emulator saw it and answered it.
type Entry struct {
	Seq        uint64    `json:"seq"`      // assigned by Record: 1, 2, 3...
	Time       time.Time `json:"time"`     // emulated time (set by the caller)
	Wall       time.Time `json:"wallTime"` // wall-clock time (set by the caller)
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Query      string    `json:"query,omitempty"`
	TenantID   string    `json:"tenantId,omitempty"`
	AppID      string    `json:"appId,omitempty"`
	Status     int       `json:"status"`
	RetryAfter string    `json:"retryAfter,omitempty"`
	ActionID   string    `json:"actionId,omitempty"` // the machine action it created or read
	// CommandIndex is the command whose result a download link was asked
	// for, or whose result was downloaded; nil for other requests.
	CommandIndex  *int   `json:"commandIndex,omitempty"`
	ErrorCode     string `json:"errorCode,omitempty"` // error.code of an error response
	Fault         string `json:"fault,omitempty"`     // id of the fault rule that fired, if any
	RequestBody   string `json:"requestBody,omitempty"`
	BodyTruncated bool   `json:"bodyTruncated,omitempty"`
	// URLTruncated is true when Record cut Path, Query, TenantID or
	// AppID to FieldCap bytes.
	URLTruncated bool    `json:"urlTruncated,omitempty"`
	DurationMs   float64 `json:"durationMs"`
}

// Stats describes a journal's fill.
type Stats struct {
	Capacity int `json:"capacity"` // the most entries the journal keeps
	Len      int `json:"len"`      // entries held now
	// Recorded counts every Record call since New; it is also the Seq of
	// the most recent entry, so Filter{AfterSeq: Recorded} selects only
	// entries recorded from now on.
	Recorded uint64 `json:"recorded"`
	// Dropped counts entries overwritten because the journal was full;
	// entries removed by Clear are not counted.
	Dropped uint64 `json:"dropped"`
	Waiters int    `json:"waiters"` // Wait calls now asleep
}

// Journal is a bounded, in-memory log of requests. Create it with New; all
// its methods are safe for concurrent use.
type Journal struct {
	capacity int
	bodyCap  int

	mu      sync.Mutex
	buf     []Entry // ring; grows up to capacity, then wraps
	start   int     // index of the oldest entry in buf
	seq     uint64  // Seq of the latest entry (= Record calls so far)
	dropped uint64
	waiters []*waiter
}

// waiter is one sleeping Wait call. have is the number of entries in the
// journal that match f, kept current by Record and Clear; when it reaches
// need, Record closes ready and removes the waiter from the list.
type waiter struct {
	f     Filter
	need  int
	have  int
	ready chan struct{}
}

// New returns an empty journal keeping at most capacity entries (a capacity
// of zero or less means DefaultCapacity) and the first bodyCap bytes of each
// request body (zero or less means DefaultBodyCap).
func New(capacity int, bodyCap int) *Journal {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	if bodyCap <= 0 {
		bodyCap = DefaultBodyCap
	}
	return &Journal{capacity: capacity, bodyCap: bodyCap}
}

// FieldCap is how many bytes of an entry's Path, Query, TenantID and AppID
// the journal keeps. A request line may be as long as the server's header
// bound (64 KiB), and the journal records requests without credentials
// too: 10,000 such entries kept whole would hold 640 MB.
const FieldCap = 2048

// Record stores e and returns the stored entry. It sets e.Seq to the next
// sequence number, cuts RequestBody to the journal's body cap (at a UTF-8
// character boundary), setting BodyTruncated, and Path, Query, TenantID
// and AppID to FieldCap bytes, setting URLTruncated. When the journal is full the
// oldest entry is overwritten. Waiters whose wait e completes are woken.
//
// Record is meant for the request hot path: it allocates nothing unless the
// body or a field is cut (what is cut is copied, so the journal never pins a large
// request) or the ring grows towards its capacity.
func (j *Journal) Record(e Entry) Entry {
	if len(e.RequestBody) > j.bodyCap {
		e.RequestBody = truncate(e.RequestBody, j.bodyCap)
		e.BodyTruncated = true
	}
	var cut [4]bool
	e.Path, cut[0] = capField(e.Path)
	e.Query, cut[1] = capField(e.Query)
	e.TenantID, cut[2] = capField(e.TenantID)
	e.AppID, cut[3] = capField(e.AppID)
	e.URLTruncated = e.URLTruncated || cut != [4]bool{}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	e.Seq = j.seq
	var evicted *Entry
	if len(j.buf) == j.capacity {
		evicted = &j.buf[j.start]
	}
	if len(j.waiters) > 0 {
		j.notify(evicted, &e)
	}
	if evicted != nil {
		*evicted = e
		j.start++
		if j.start == len(j.buf) {
			j.start = 0
		}
		j.dropped++
		return e
	}
	if len(j.buf) == cap(j.buf) {
		grown := make([]Entry, len(j.buf), min(j.capacity, max(2*cap(j.buf), 64)))
		copy(grown, j.buf)
		j.buf = grown
	}
	j.buf = append(j.buf, e)
	return e
}

// notify updates the waiters' match counts for an entry leaving the journal
// (evicted, may be nil) and one entering it (added), and wakes the waiters
// that are satisfied. j.mu must be held.
func (j *Journal) notify(evicted, added *Entry) {
	for i := 0; i < len(j.waiters); {
		w := j.waiters[i]
		if evicted != nil && w.f.match(evicted) {
			w.have--
		}
		if w.f.match(added) {
			w.have++
		}
		if w.have >= w.need {
			close(w.ready)
			j.removeWaiterAt(i)
			continue
		}
		i++
	}
}

func (j *Journal) removeWaiterAt(i int) {
	last := len(j.waiters) - 1
	j.waiters[i] = j.waiters[last]
	j.waiters[last] = nil
	j.waiters = j.waiters[:last]
}

// capField returns s cut to FieldCap bytes, and whether it was cut.
func capField(s string) (string, bool) {
	if len(s) <= FieldCap {
		return s, false
	}
	return truncate(s, FieldCap), true
}

// truncate returns a copy of the first n bytes of s, shortened by up to three
// bytes when they would cut a valid UTF-8 character in two. s must be longer
// than n.
func truncate(s string, n int) string {
	cut := n
	for i := n; i > 0 && i > n-utf8.UTFMax; i-- {
		if !utf8.RuneStart(s[i]) {
			continue
		}
		if i < n {
			if r, size := utf8.DecodeRuneInString(s[i:]); (r != utf8.RuneError || size > 1) && i+size > n {
				cut = i // s[i:] starts a valid character that crosses n
			}
		}
		break
	}
	return strings.Clone(s[:cut])
}

// Query returns the entries matching f, oldest first (in Seq order). With
// f.Limit > 0 it returns the last f.Limit matching entries. The result is a
// copy: it is never changed by later calls.
func (j *Journal) Query(f Filter) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.query(f)
}

// query is Query with j.mu held. It counts the matches first so that the
// result is allocated once, at its exact size.
func (j *Journal) query(f Filter) []Entry {
	first := j.firstAfter(f.AfterSeq)
	var n int
	if f.Limit > 0 {
		// Walk back from the newest entry to the Limit-th most recent match.
		i := len(j.buf) - 1
		for ; i >= first && n < f.Limit; i-- {
			if f.match(j.at(i)) {
				n++
			}
		}
		first = i + 1
	} else {
		n = j.countFrom(first, &f)
	}
	if n == 0 {
		return nil
	}
	out := make([]Entry, 0, n)
	for i := first; i < len(j.buf); i++ {
		if e := j.at(i); f.match(e) {
			out = append(out, *e)
		}
	}
	return out
}

// Count returns the number of entries Query(f) would return.
func (j *Journal) Count(f Filter) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.countFrom(j.firstAfter(f.AfterSeq), &f)
	if f.Limit > 0 {
		n = min(n, f.Limit)
	}
	return n
}

// countFrom returns the number of entries from position first on (0 =
// oldest) that match f, ignoring f.Limit. j.mu must be held.
func (j *Journal) countFrom(first int, f *Filter) int {
	n := 0
	for i := first; i < len(j.buf); i++ {
		if f.match(j.at(i)) {
			n++
		}
	}
	return n
}

// at returns the i-th oldest entry. j.mu must be held.
func (j *Journal) at(i int) *Entry {
	i += j.start
	if i >= len(j.buf) {
		i -= len(j.buf)
	}
	return &j.buf[i]
}

// firstAfter returns the position (0 = oldest) of the first entry with a Seq
// greater than seq. Entries in the ring have consecutive Seqs, so this needs
// no search. j.mu must be held.
func (j *Journal) firstAfter(seq uint64) int {
	oldest := j.seq - uint64(len(j.buf)) + 1
	if seq < oldest {
		return 0
	}
	return int(min(seq-oldest+1, uint64(len(j.buf))))
}

// Clear drops every entry. Sequence numbers are not reset: the next entry
// gets the Seq it would have had without Clear, so a client holding an
// AfterSeq cursor never sees a Seq twice. Sleeping waiters stay asleep and
// count only entries recorded after Clear.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.buf) // release the bodies
	j.buf = j.buf[:0]
	j.start = 0
	for _, w := range j.waiters {
		w.have = 0
	}
}

// Wait returns as soon as at least count entries matching f are in the
// journal, with the entries Query(f) returns at that moment. Entries recorded
// before the call count too: to wait for new entries only, set f.AfterSeq
// (e.g. to Stats().Recorded taken before the action) or f.Since. The count
// ignores f.Limit, which only bounds the returned slice. Entries overwritten
// in a full journal or removed by Clear no longer count.
//
// When ctx is done first, Wait returns the matching entries so far and
// ctx.Err(). A count of zero or less is satisfied at once; a count above the
// journal's capacity fails at once with ErrCountOverCapacity.
func (j *Journal) Wait(ctx context.Context, f Filter, count int) ([]Entry, error) {
	if count > j.capacity {
		return j.Query(f), fmt.Errorf("%w (%d > %d)", ErrCountOverCapacity, count, j.capacity)
	}
	for {
		j.mu.Lock()
		have := j.countFrom(j.firstAfter(f.AfterSeq), &f)
		if have >= count {
			out := j.query(f)
			j.mu.Unlock()
			return out, nil
		}
		if err := ctx.Err(); err != nil {
			out := j.query(f)
			j.mu.Unlock()
			return out, err
		}
		// Registering under the same lock as the count means no entry
		// recorded after the count can be missed.
		w := &waiter{f: f, need: count, have: have, ready: make(chan struct{})}
		j.waiters = append(j.waiters, w)
		j.mu.Unlock()

		select {
		case <-w.ready:
			// Loop to collect the entries; a Clear since the wake-up may
			// have made the wait unsatisfied again.
		case <-ctx.Done():
			j.mu.Lock()
			for i, o := range j.waiters {
				if o == w {
					j.removeWaiterAt(i)
					break
				}
			}
			j.mu.Unlock()
		}
	}
}

// BodyCap returns the number of request body bytes an entry keeps. The HTTP
// layer needs to read at most BodyCap()+1 bytes of a body to record it (the
// extra byte lets Record see that it was cut).
func (j *Journal) BodyCap() int { return j.bodyCap }

// Stats returns the journal's counters.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	return Stats{
		Capacity: j.capacity,
		Len:      len(j.buf),
		Recorded: j.seq,
		Dropped:  j.dropped,
		Waiters:  len(j.waiters),
	}
}
