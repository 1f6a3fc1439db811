package limits

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mdelive/mde-emulator/emulator/fixture"
)

func TestLookup(t *testing.T) {
	t.Parallel()
	def := Profile{
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
	}
	cur := def
	cur.Name = "current"
	cur.Sessions = 50
	cur.QueueTimeout = 2 * time.Hour
	unl := Profile{
		Name:                   "unlimited",
		QueueTimeout:           72 * time.Hour,
		ScriptTimeout:          10 * time.Minute,
		LinkLifetime:           30 * time.Minute,
		PendingCountsAsSession: true,
		Unlimited:              true,
	}
	tests := []struct {
		name string
		want Profile
	}{
		{"default", def},
		{"", def},
		{"current", cur},
		{"unlimited", unl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Lookup(tt.name)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Lookup(%q) (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	t.Parallel()
	_, err := Lookup("fast")
	if err == nil {
		t.Fatal(`Lookup("fast") succeeded, want an error`)
	}
	for _, n := range append(Names(), `"fast"`) {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not name %s", err, n)
		}
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	want := []string{"current", "default", "unlimited"}
	if diff := cmp.Diff(want, Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
}

func TestLookupReturnsCopy(t *testing.T) {
	t.Parallel()
	p, _ := Lookup("default")
	p.Sessions = 1
	q, _ := Lookup("default")
	if q.Sessions != 25 {
		t.Errorf("changing a looked-up profile changed the named one: Sessions = %d", q.Sessions)
	}
}

func TestOverride(t *testing.T) {
	t.Parallel()
	def, err := Lookup("default")
	if err != nil {
		t.Fatal(err)
	}
	unl, err := Lookup("unlimited")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		base Profile
		o    fixture.Limits
		want func(p Profile) Profile
	}{
		{
			name: "zero override keeps everything",
			base: def,
			want: func(p Profile) Profile { return p },
		},
		{
			name: "every field",
			base: def,
			o: fixture.Limits{
				LiveResponsePerMinute: 2,
				OtherPerMinute:        3,
				OtherPerHour:          4,
				Sessions:              5,
				QueueTimeout:          fixture.Duration(time.Hour),
				ScriptTimeout:         fixture.Duration(time.Minute),
				LinkLifetime:          fixture.Duration(time.Second),
				Unlimited:             true,
			},
			want: func(p Profile) Profile {
				p.LiveResponsePerMinute = 2
				p.OtherPerMinute = 3
				p.OtherPerHour = 4
				p.Sessions = 5
				p.QueueTimeout = time.Hour
				p.ScriptTimeout = time.Minute
				p.LinkLifetime = time.Second
				p.Unlimited = true
				return p
			},
		},
		{
			name: "some fields",
			base: def,
			o:    fixture.Limits{Sessions: 50, ScriptTimeout: fixture.Duration(30 * time.Minute)},
			want: func(p Profile) Profile {
				p.Sessions = 50
				p.ScriptTimeout = 30 * time.Minute
				return p
			},
		},
		{
			name: "false Unlimited keeps unlimited",
			base: unl,
			o:    fixture.Limits{Sessions: 3},
			want: func(p Profile) Profile {
				p.Sessions = 3
				return p
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want(tt.base)
			if diff := cmp.Diff(want, tt.base.Override(tt.o)); diff != "" {
				t.Errorf("Override(%+v) (-want +got):\n%s", tt.o, diff)
			}
		})
	}
}

func TestProfileJSON(t *testing.T) {
	t.Parallel()
	def := mustLookup(t, "default")
	b, err := json.Marshal(def)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"default","liveResponsePerMinute":10,"otherPerMinute":100,"otherPerHour":1500,"sessions":25,"sessionsPerUser":10,` +
		`"queueTimeout":"72h0m0s","scriptTimeout":"10m0s","linkLifetime":"30m0s","pendingCountsAsSession":true,"unlimited":false}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
	for _, name := range Names() {
		p := mustLookup(t, name)
		p.ScriptTimeout = 90 * time.Second // not a whole number of minutes
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Profile
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", name, diff)
		}
	}
	var p Profile
	if err := json.Unmarshal([]byte(`{"queueTimeout":72}`), &p); err == nil {
		t.Error("a duration as a number: no error")
	}
	if err := json.Unmarshal([]byte(`{"queueTimeout":"3 days"}`), &p); err == nil {
		t.Error("a bad duration string: no error")
	}
}
