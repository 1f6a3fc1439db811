package state

import (
	"time"
)

// TimestampLayout is how the service writes instants: UTC, up to seven
// fractional digits with trailing zeros trimmed, and a Z.
const TimestampLayout = "2006-01-02T15:04:05.9999999Z"

// Tick is the resolution of the service's timestamps (.NET ticks).
const Tick = 100 * time.Nanosecond

// Timestamp is an instant written in the service's format.
type Timestamp time.Time

// Stamp returns t in UTC at the service's resolution.
func Stamp(t time.Time) Timestamp { return Timestamp(t.UTC().Truncate(Tick)) }

// Time returns ts as a time.Time.
func (ts Timestamp) Time() time.Time { return time.Time(ts) }

// String formats ts in the service's format.
func (ts Timestamp) String() string { return time.Time(ts).UTC().Format(TimestampLayout) }

// MarshalJSON writes ts as a JSON string in the service's format.
func (ts Timestamp) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimestampLayout)+2)
	b = append(b, '"')
	b = time.Time(ts).UTC().AppendFormat(b, TimestampLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON reads an RFC 3339 instant.
func (ts *Timestamp) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*ts = Stamp(t)
	return nil
}

// stampPtr returns a pointer to Stamp(t), or nil for the zero time.
func stampPtr(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	ts := Stamp(t)
	return &ts
}
