package emulator_test

import (
	"slices"
	"testing"
	"time"
)

// hostileCase is one hostile input and what the emulator must do with it:
// answer a clear 4xx, quickly, and stay up. Hostile input is normal input
// (the README's "Security" section): every size, depth, count and time the
// emulator accepts has a bound, and past it the answer is a 4xx in the
// service's error shape, never a 500 or a crash.
type hostileCase struct {
	name string
	// do sends the hostile input to a fresh emulator and returns the answer.
	do func(e *env) resp
	// status is the answer wanted; code, when set, its error.code.
	status int
	code   string
	// within bounds the wall time do may take; zero: defaultWithin.
	within time.Duration
	// after, when set, checks the emulator afterwards (nothing leaked,
	// nothing changed).
	after func(e *env)
}

// defaultWithin is how long a hostile request may take to be refused; a
// case's within, or this, stretches raceSlowdown times under the race
// detector.
const defaultWithin = 5 * time.Second

// hostileCases returns every case, by area.
func hostileCases() []hostileCase {
	return slices.Concat(
		hostileHoldingCases(),    // what already held: forgeries, tenant crossing, tampered links
		hostileFixtureCases(),    // fixture size, aliases, generated machines
		hostileAuthCases(),       // audiences, exposure, secrets
		hostileODataCases(),      // OData depth and size, library names
		hostileConnectionCases(), // bodies, timeouts, Expect: 100-continue
	)
}

// TestHostileInput sends every hostile input of the table to a fresh
// emulator: each is answered as its case says, within its bound, with no
// 500, and the emulator answers a health check afterwards.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, c := range hostileCases() {
		if names[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			within := c.within
			if within == 0 {
				within = defaultWithin
			}
			within *= raceSlowdown
			began := time.Now()
			r := c.do(e)
			took := time.Since(began)
			if r.status >= 500 {
				t.Fatalf("answered %d: %s", r.status, r.body)
			}
			if r.status != c.status {
				t.Errorf("status = %d, want %d: %.300s", r.status, c.status, r.body)
			}
			if c.code != "" && r.errorCode() != c.code {
				t.Errorf("error code = %q, want %q: %.300s", r.errorCode(), c.code, r.body)
			}
			if took > within {
				t.Errorf("took %s, want at most %s", took.Round(time.Millisecond), within)
			}
			if c.after != nil {
				c.after(e)
			}
			if h := e.call("GET", "/_emulator/health", "", ""); h.status != 200 {
				t.Errorf("health after the case: %d %s", h.status, h.body)
			}
		})
	}
}
