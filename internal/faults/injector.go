package faults

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdelive/mde-emulator/internal/glob"
)

// Request is what Decide knows of an API call. Path is the URL path without
// the query string.
type Request struct {
	Method   string
	Path     string
	TenantID string
	AppID    string
}

// Decision is what a firing rule does to a call. The HTTP layer applies it
// in this order: Drop resets the connection and nothing else happens;
// otherwise it waits Latency (if any), then answers Status with Code and
// Message in the service's error body (and RetryAfter as Retry-After on a
// 429), or, when NotFoundFor is set, answers 404 ResourceNotFound to
// GET /api/machineactions/{id} while the action is younger than NotFoundFor;
// with neither, the call proceeds normally after the delay.
type Decision struct {
	RuleID      string
	RuleName    string
	Status      int
	Code        string
	Message     string
	RetryAfter  time.Duration
	Latency     time.Duration
	NotFoundFor time.Duration
	Drop        bool
}

// Injector holds the fault rules and decides, call by call, which one
// fires. It is safe for concurrent use. The zero Injector has no rules and
// is ready to use, and a nil *Injector decides nothing.
type Injector struct {
	mu     sync.Mutex // serializes Add, Remove, Clear and Reset
	lastID int
	rules  atomic.Pointer[[]*entry] // copy on write; nil or empty: no rules
}

// entry is a stored rule with its call state.
type entry struct {
	rule Rule // Fired and Seen live below

	mu    sync.Mutex
	seen  int64
	fired int64
	rng   *rand.Rand // nil unless the rule draws random numbers
	src   *rand.PCG  // rng's source, whose state Counts keeps
}

// ErrTooManyRules is what Add's error wraps when MaxRules rules are in
// force already.
var ErrTooManyRules = errors.New("faults: too many rules")

// New returns an Injector without rules.
func New() *Injector { return &Injector{} }

// Add validates r, fills in its defaults, gives it the next ID ("f1",
// "f2", ... in the order of Add; IDs are not reused after Remove or Clear)
// and appends it to the rules. The ID, Fired and Seen of r are ignored. It
// returns the stored rule, a *RuleError, or, with MaxRules rules in
// force, an error wrapping ErrTooManyRules.
func (in *Injector) Add(r Rule) (Rule, error) { return in.add(r, 0) }

// AddAs is Add giving r the ID id ("f<n>", one Add gave), for a rule
// restored from a store: its counts start from zero, and later Adds go
// on past n (and past LastID's). It fails when the ID is malformed; it is
// not refused for MaxRules, since the rule was in force (a store of a
// build with a larger bound comes back whole, and Add refuses new rules
// until enough are removed).
func (in *Injector) AddAs(r Rule, id string) (Rule, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(id, "f"))
	if !strings.HasPrefix(id, "f") || err != nil || n < 1 {
		return Rule{}, fmt.Errorf("faults: %q is not a rule id", id)
	}
	return in.add(r, n)
}

// LastID returns the number of the last ID given (0: none), which the IDs
// of later rules go on from.
func (in *Injector) LastID() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.lastID
}

// Reserve makes the IDs of later rules go on past "f<n>", as after a
// restore of the state in which LastID was n.
func (in *Injector) Reserve(n int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.lastID = max(in.lastID, n)
}

// add is Add with the ID number n; 0: the next one.
func (in *Injector) add(r Rule, n int) (Rule, error) {
	r, err := normalize(r)
	if err != nil {
		return Rule{}, err
	}
	e := &entry{rule: r}
	if usesRandom(r) {
		e.src = rand.NewPCG(uint64(r.Calls.Seed), 0)
		e.rng = rand.New(e.src)
	}

	in.mu.Lock()
	defer in.mu.Unlock()
	if held := len(in.load()); n == 0 && held >= MaxRules {
		return Rule{}, fmt.Errorf("%w: %d rules are in force, the most the emulator keeps; remove rules first", ErrTooManyRules, held)
	}
	if n == 0 {
		n = in.lastID + 1
	}
	in.lastID = max(in.lastID, n)
	e.rule.ID = "f" + strconv.Itoa(n)
	var old []*entry
	if p := in.rules.Load(); p != nil {
		old = *p
	}
	rules := make([]*entry, len(old), len(old)+1)
	copy(rules, old)
	rules = append(rules, e)
	in.rules.Store(&rules)
	return e.rule, nil
}

// List returns the rules in the order they were added, with their Fired
// and Seen counts.
func (in *Injector) List() []Rule {
	rules := in.load()
	out := make([]Rule, 0, len(rules))
	for _, e := range rules {
		out = append(out, e.snapshot())
	}
	return out
}

// Get returns the rule with the given ID, with its counts.
func (in *Injector) Get(id string) (Rule, bool) {
	for _, e := range in.load() {
		if e.rule.ID == id {
			return e.snapshot(), true
		}
	}
	return Rule{}, false
}

// Remove deletes the rule with the given ID and reports whether there was
// one.
func (in *Injector) Remove(id string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	old := in.load()
	for i, e := range old {
		if e.rule.ID == id {
			rules := make([]*entry, 0, len(old)-1)
			rules = append(rules, old[:i]...)
			rules = append(rules, old[i+1:]...)
			in.rules.Store(&rules)
			return true
		}
	}
	return false
}

// Clear deletes every rule. The IDs of later rules keep counting up, so an
// ID held by a client never names a different rule.
func (in *Injector) Clear() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules.Store(nil)
}

// Reset deletes every rule and restarts the IDs at "f1", for a full reset
// of the emulator.
func (in *Injector) Reset() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules.Store(nil)
	in.lastID = 0
}

// Decide returns the decision for one call, and false when no rule fires.
//
// Every rule whose Match applies to r sees the call: its Seen count, its
// "every" counter and its random numbers advance, whether or not it fires
// and whether or not an earlier rule already fired. The first rule in
// insertion order whose call selector fires wins; its Fired count goes up
// and it makes the decision. A later rule that would also have fired is
// shadowed: its Fired count does not move, and a "next N" rule keeps its
// remaining firings. So each rule's sequence of fire/no-fire and drawn
// latencies depends only on the sequence of calls it matches, never on
// the other rules.
//
// With no rules, Decide costs one atomic load.
func (in *Injector) Decide(r Request) (Decision, bool) {
	if in == nil {
		return Decision{}, false
	}
	p := in.rules.Load()
	if p == nil || len(*p) == 0 {
		return Decision{}, false
	}
	var d Decision
	won := false
	for _, e := range *p {
		if !e.matches(r) {
			continue
		}
		if e.call(&d, !won) {
			won = true
		}
	}
	return d, won
}

// load returns the current rules; the slice must not be modified.
func (in *Injector) load() []*entry {
	if p := in.rules.Load(); p != nil {
		return *p
	}
	return nil
}

// snapshot returns the stored rule with its current counts.
func (e *entry) snapshot() Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.rule
	r.Seen, r.Fired = e.seen, e.fired
	return r
}

// matches reports whether e's Match applies to r.
func (e *entry) matches(r Request) bool {
	m := &e.rule.Match
	return (m.Method == "" || strings.EqualFold(m.Method, r.Method)) &&
		(m.TenantID == "" || strings.EqualFold(m.TenantID, r.TenantID)) &&
		(m.AppID == "" || strings.EqualFold(m.AppID, r.AppID)) &&
		(m.Path == "" || glob.Match(m.Path, r.Path))
}

// call counts one matching call. When may is set and the rule's selector
// fires, it fills d, counts the firing and returns true.
func (e *entry) call(d *Decision, may bool) bool {
	c, ef := &e.rule.Calls, &e.rule.Effect
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen++
	fires := true
	switch {
	case c.Next > 0:
		fires = e.fired < int64(c.Next)
	case c.Every > 0:
		fires = e.seen%int64(c.Every) == 0
	case c.Probability > 0:
		fires = e.rng.Float64() < c.Probability
	}
	latency := time.Duration(ef.Latency)
	if ef.LatencyMax > ef.Latency {
		latency += time.Duration(e.rng.Int64N(int64(ef.LatencyMax-ef.Latency) + 1))
	}
	if !fires || !may {
		return false
	}
	e.fired++
	*d = Decision{
		RuleID:      e.rule.ID,
		RuleName:    e.rule.Name,
		Status:      ef.Status,
		Code:        ef.Code,
		Message:     ef.Message,
		RetryAfter:  time.Duration(ef.RetryAfter),
		Latency:     latency,
		NotFoundFor: time.Duration(ef.NotFoundFor),
		Drop:        ef.Drop,
	}
	return true
}
