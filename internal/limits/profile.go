package limits

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// Profile is one set of limits. A rate or session number of zero or less
// means "no limit" for that number alone; Unlimited turns every rate and
// session limit off whatever the numbers say. The durations are not used by
// this package: they are here so that one profile names every limit.
type Profile struct {
	// Name is the profile's name, as given to Lookup.
	Name string
	// LiveResponsePerMinute limits runliveresponse calls per application,
	// tenant and endpoint in any sliding minute. Real API: 10.
	LiveResponsePerMinute int
	// OtherPerMinute and OtherPerHour limit calls to any other endpoint per
	// application, tenant and endpoint. Real API: 100 and 1,500.
	OtherPerMinute int
	OtherPerHour   int
	// Sessions caps the concurrent live response sessions of a tenant.
	// Real API: 25 (run-live-response page) or 50 (newer pages).
	Sessions int
	// SessionsPerUser caps the concurrent live response sessions one user
	// (a delegated token) holds, within the tenant's Sessions. Live
	// response page: "A user can initiate up to 10 concurrent sessions".
	SessionsPerUser int
	// QueueTimeout is how long an action waits for an offline machine
	// before it ends. Real API: 3 days (or 2 hours in newer pages).
	QueueTimeout time.Duration
	// ScriptTimeout is how long a RunScript may run. Real API: 10 minutes.
	ScriptTimeout time.Duration
	// LinkLifetime is how long a result download link stays valid. Real
	// API: 30 minutes.
	LinkLifetime time.Duration
	// PendingCountsAsSession makes a Pending (queued) action hold a
	// session, not only an InProgress one.
	PendingCountsAsSession bool
	// Unlimited turns every rate and session limit off (for benchmarks).
	Unlimited bool
}

// A ProfileSource gives the profile in force. The emulator keeps that
// profile in one place, its state (state.Store, whose Profile method makes
// it a ProfileSource); the Limiter and the Sessions read it from there on
// every decision, so that a change of profile reaches them at once.
type ProfileSource interface {
	Profile() Profile
}

// Profile returns p: a Profile is the ProfileSource of a profile that never
// changes.
func (p Profile) Profile() Profile { return p }

// profileJSON is the JSON form of a Profile: its fields in lower camel
// case, the durations as Go duration strings ("72h0m0s"), every field
// present. The control plane shows a profile this way
// (GET /_emulator/health; schema LimitsProfile of control-api.yaml).
type profileJSON struct {
	Name                   string           `json:"name"`
	LiveResponsePerMinute  int              `json:"liveResponsePerMinute"`
	OtherPerMinute         int              `json:"otherPerMinute"`
	OtherPerHour           int              `json:"otherPerHour"`
	Sessions               int              `json:"sessions"`
	SessionsPerUser        int              `json:"sessionsPerUser"`
	QueueTimeout           fixture.Duration `json:"queueTimeout"`
	ScriptTimeout          fixture.Duration `json:"scriptTimeout"`
	LinkLifetime           fixture.Duration `json:"linkLifetime"`
	PendingCountsAsSession bool             `json:"pendingCountsAsSession"`
	Unlimited              bool             `json:"unlimited"`
}

// MarshalJSON writes p in its JSON form:
//
//	{"name":"default","liveResponsePerMinute":10,"otherPerMinute":100,
//	 "otherPerHour":1500,"sessions":25,"sessionsPerUser":10,"queueTimeout":"72h0m0s",
//	 "scriptTimeout":"10m0s","linkLifetime":"30m0s",
//	 "pendingCountsAsSession":true,"unlimited":false}
func (p Profile) MarshalJSON() ([]byte, error) {
	return json.Marshal(profileJSON{
		Name: p.Name, LiveResponsePerMinute: p.LiveResponsePerMinute, OtherPerMinute: p.OtherPerMinute,
		OtherPerHour: p.OtherPerHour, Sessions: p.Sessions, SessionsPerUser: p.SessionsPerUser, QueueTimeout: fixture.Duration(p.QueueTimeout),
		ScriptTimeout: fixture.Duration(p.ScriptTimeout), LinkLifetime: fixture.Duration(p.LinkLifetime),
		PendingCountsAsSession: p.PendingCountsAsSession, Unlimited: p.Unlimited,
	})
}

// UnmarshalJSON reads the JSON form MarshalJSON writes. A field left out
// is zero; a duration must be a Go duration string.
func (p *Profile) UnmarshalJSON(b []byte) error {
	var j profileJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("limits: profile: %w", err)
	}
	*p = Profile{
		Name: j.Name, LiveResponsePerMinute: j.LiveResponsePerMinute, OtherPerMinute: j.OtherPerMinute,
		OtherPerHour: j.OtherPerHour, Sessions: j.Sessions, SessionsPerUser: j.SessionsPerUser, QueueTimeout: time.Duration(j.QueueTimeout),
		ScriptTimeout: time.Duration(j.ScriptTimeout), LinkLifetime: time.Duration(j.LinkLifetime),
		PendingCountsAsSession: j.PendingCountsAsSession, Unlimited: j.Unlimited,
	}
	return nil
}

// DefaultProfile is the name of the profile that follows the
// run-live-response API page.
const DefaultProfile = "default"

// profiles holds the named profiles.
var profiles = map[string]Profile{
	"default": {
		Name:                   "default",
		LiveResponsePerMinute:  10,
		OtherPerMinute:         100,
		OtherPerHour:           1500,
		Sessions:               25,
		SessionsPerUser:        10,
		QueueTimeout:           72 * time.Hour,
		ScriptTimeout:          10 * time.Minute,
		LinkLifetime:           30 * time.Minute,
		PendingCountsAsSession: true,
	},
	"current": {
		Name:                   "current",
		LiveResponsePerMinute:  10,
		OtherPerMinute:         100,
		OtherPerHour:           1500,
		Sessions:               50,
		SessionsPerUser:        10,
		QueueTimeout:           2 * time.Hour,
		ScriptTimeout:          10 * time.Minute,
		LinkLifetime:           30 * time.Minute,
		PendingCountsAsSession: true,
	},
	"unlimited": {
		Name:                   "unlimited",
		QueueTimeout:           72 * time.Hour,
		ScriptTimeout:          10 * time.Minute,
		LinkLifetime:           30 * time.Minute,
		PendingCountsAsSession: true,
		Unlimited:              true,
	},
}

// Names returns the names of the named profiles, sorted.
func Names() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Lookup returns the named profile. The empty name means DefaultProfile, as
// in fixtures. An unknown name is an error that lists the valid names.
func Lookup(name string) (Profile, error) {
	if name == "" {
		name = DefaultProfile
	}
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("limits: unknown profile %q (valid: %s)", name, strings.Join(Names(), ", "))
	}
	return p, nil
}

// Override returns p with the non-zero fields of o in place of its own. A
// true o.Unlimited makes the result unlimited; a false one keeps
// p.Unlimited. The name is kept.
func (p Profile) Override(o fixture.Limits) Profile {
	setInt := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	setDur := func(dst *time.Duration, v fixture.Duration) {
		if v != 0 {
			*dst = time.Duration(v)
		}
	}
	setInt(&p.LiveResponsePerMinute, o.LiveResponsePerMinute)
	setInt(&p.OtherPerMinute, o.OtherPerMinute)
	setInt(&p.OtherPerHour, o.OtherPerHour)
	setInt(&p.Sessions, o.Sessions)
	setInt(&p.SessionsPerUser, o.SessionsPerUser)
	setDur(&p.QueueTimeout, o.QueueTimeout)
	setDur(&p.ScriptTimeout, o.ScriptTimeout)
	setDur(&p.LinkLifetime, o.LinkLifetime)
	if o.PendingCountsAsSession != nil {
		p.PendingCountsAsSession = *o.PendingCountsAsSession
	}
	if o.Unlimited {
		p.Unlimited = true
	}
	return p
}
