package emulator

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/scenario"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/state"
)

// What the dashboard shows, read from the domain at one instant. Every
// list is bounded, so that a tenant of 100,000 machines or a full journal
// renders in a page a laptop shows.
const (
	dashboardMaxMachines = 200 // machines listed; the rest are counted
	dashboardMaxActions  = 40  // the newest actions on the timeline
	dashboardMaxJournal  = 200 // journal rows on the page and in one update
	dashboardMaxPath     = 200 // bytes of the journal's path filter
)

// dashboardFilter is what the dashboard is asked to show: one tenant or
// all, and the journal's filters.
type dashboardFilter struct {
	Tenant string // a tenant id; "": every tenant
	Status string // the journal's status filter: "", "2xx", "4xx", "5xx" or "429"
	Path   string // the journal's path glob; "": any
}

// parseDashboardFilter reads the dashboard's query parameters: tenant,
// status and path. An unknown tenant, status or an over-long path is an
// error naming the parameter.
func (s *Server) parseDashboardFilter(q url.Values) (dashboardFilter, error) {
	f := dashboardFilter{Tenant: strings.ToLower(q.Get("tenant")), Status: q.Get("status"), Path: q.Get("path")}
	if f.Tenant != "" {
		if _, ok := s.store.Tenant(f.Tenant); !ok {
			return f, fmt.Errorf("tenant %q is not a tenant of the emulator", q.Get("tenant"))
		}
	}
	switch f.Status {
	case "", "2xx", "4xx", "5xx", "429":
	default:
		return f, fmt.Errorf("status must be 2xx, 4xx, 5xx or 429, not %q", f.Status)
	}
	if len(f.Path) > dashboardMaxPath {
		return f, fmt.Errorf("path must be at most %d bytes, not %d", dashboardMaxPath, len(f.Path))
	}
	return f, nil
}

// journalFilter is the journal filter f asks for.
func (f dashboardFilter) journalFilter() journal.Filter {
	jf := journal.Filter{TenantID: f.Tenant, Path: f.Path, Limit: dashboardMaxJournal}
	switch f.Status {
	case "429":
		jf.Status = 429
	case "2xx", "4xx", "5xx":
		jf.StatusClass = int(f.Status[0] - '0')
	}
	return jf
}

// Query returns f as the dashboard's query string (without ?).
func (f dashboardFilter) Query() string {
	q := url.Values{}
	for k, v := range map[string]string{"tenant": f.Tenant, "status": f.Status, "path": f.Path} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

// dashboardView is the whole dashboard at one instant.
type dashboardView struct {
	Filter   dashboardFilter
	Tenants  []tenantChoice
	Clock    clockPanel
	Machines machinesPanel
	Actions  []actionRow
	Limits   limitsPanel
	Faults   []faults.Rule
	Journal  []journalRow
	Scenario scenarioPanel
	After    uint64 // the last journal entry the page shows: its stream starts after it
}

// scenarioPanel is the scenario picker: the shipped scenarios and the
// one loaded.
type scenarioPanel struct {
	List   []scenario.Entry
	Loaded string // its title, or ""
}

// tenantChoice is a tenant in the dashboard's tenant picker.
type tenantChoice struct{ ID, Name string }

// clockPanel is the clock section.
type clockPanel struct {
	Now    string
	Mode   clock.Mode
	Scale  float64
	Paused bool // manual mode: time moves only when advanced
}

// machinesPanel is the machines section.
type machinesPanel struct {
	Rows []machineRow
	More int // machines not listed (past dashboardMaxMachines)
}

// machineRow is one machine.
type machineRow struct {
	Tenant, TenantName string
	ID, Name, Platform string
	Health             string
	Online             bool
	Busy               string // the id of its Pending or InProgress action, or ""
	BusyStatus         string
}

// actionRow is one action on the timeline.
type actionRow struct {
	ID, Machine, Status, Requestor string
	Created, Updated               string
	Segments                       []segment
	Span                           string // the timeline's length, as a duration
}

// segment is one stretch of an action's timeline: its wait in the queue,
// or one command, placed in percent of the action's span.
type segment struct {
	Label, Status string
	Left, Width   float64
	From, To      string
}

// limitsPanel is the limits section.
type limitsPanel struct {
	Profile  limits.Profile
	Rates    []rateRow
	Sessions []sessionRow
	Storage  []storageRow
}

// rateRow is how much of one rate limit one app of one tenant has used.
type rateRow struct {
	Tenant, App, Endpoint, Window string
	Used, Limit                   int
	Percent                       float64
	FreesAt, FreesIn              string
	Full                          bool
}

// sessionRow is the live response sessions of a tenant or a user against
// the profile's cap.
type sessionRow struct {
	Tenant, Who string
	Used, Cap   int
	Percent     float64
	Full        bool
}

// storageRow is how much live response content a tenant holds (its
// library, files PutFile left, queued outcomes) against the emulator's
// bound for a tenant (state.MaxTenantStorage): past it uploads and
// outcomes are refused.
type storageRow struct {
	Tenant, Name string
	Used, Cap    string // in MiB
	Percent      float64
	Full         bool
}

// storageUse is t's storage row. Full: the tenant's room is below the
// largest library file, so a large upload no longer fits.
func storageUse(t *state.Tenant) storageRow {
	used := t.StorageUsed()
	mib := func(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB" }
	return storageRow{Tenant: t.ID, Name: t.Name, Used: mib(used), Cap: mib(state.MaxTenantStorage),
		Percent: min(float64(used)/state.MaxTenantStorage*100, 100), Full: state.MaxTenantStorage-used < state.MaxLibraryFileSize}
}

// journalRow is one journal entry.
type journalRow struct {
	Seq                                  uint64
	Time, Method, Path, Tenant, App      string
	Status                               int
	ErrorCode, RetryAfter, Fault, Action string
	Class                                string // the row's highlight: "s429", "s4xx", "s5xx" or ""
}

// dashboardTime is how the dashboard writes an emulated instant.
const dashboardTime = "2006-01-02 15:04:05"

// dashboardSnapshot reads what the dashboard shows under f; the journal's
// rows only withJournal (the event stream sends the journal's new rows on
// their own).
func (s *Server) dashboardSnapshot(f dashboardFilter, withJournal bool) dashboardView {
	now := s.clock.Now()
	v := dashboardView{Filter: f}
	v.Clock = clockPanel{Now: now.UTC().Format(dashboardTime), Mode: s.clock.Mode(), Scale: s.clock.Scale()}
	v.Clock.Paused = v.Clock.Mode == clock.Manual
	for _, t := range s.store.Tenants() {
		v.Tenants = append(v.Tenants, tenantChoice{ID: t.ID, Name: t.Name})
	}
	apps := s.appNames()
	for _, t := range s.dashboardTenants(f) {
		views := t.RecentActions(dashboardMaxActions) // newest first
		if n := t.MachineCount(); len(v.Machines.Rows)+n > dashboardMaxMachines {
			v.Machines.More += len(v.Machines.Rows) + n - max(dashboardMaxMachines, len(v.Machines.Rows))
		}
		for m := range t.Machines() {
			if len(v.Machines.Rows) >= dashboardMaxMachines {
				break
			}
			mv := m.View(now)
			row := machineRow{Tenant: t.ID, TenantName: t.Name, ID: mv.ID, Name: mv.ComputerDNSName,
				Platform: mv.OSPlatform, Health: mv.HealthStatus, Online: m.Online()}
			if a, ok := m.ActiveAction(); ok {
				row.Busy, row.BusyStatus = a.ID, a.Status
			}
			v.Machines.Rows = append(v.Machines.Rows, row)
		}
		for _, a := range views {
			v.Actions = append(v.Actions, actionTimeline(a, now))
		}
		p := s.store.Profile()
		v.Limits.Sessions = append(v.Limits.Sessions, sessionUse(t.ID, "tenant "+t.Name, t.Sessions(), p.Sessions))
		v.Limits.Storage = append(v.Limits.Storage, storageUse(t))
		for _, ft := range s.fixtures.Load().Tenants {
			if !strings.EqualFold(ft.ID, t.ID) {
				continue
			}
			for _, u := range ft.Users {
				if n := t.UserSessions(u.ObjectID); n > 0 {
					v.Limits.Sessions = append(v.Limits.Sessions, sessionUse(t.ID, "user "+u.UserPrincipalName, n, p.SessionsPerUser))
				}
			}
		}
	}
	// Actions of several tenants: newest first across them.
	slices.SortStableFunc(v.Actions, func(a, b actionRow) int { return cmp.Compare(b.Created, a.Created) })
	v.Actions = v.Actions[:min(len(v.Actions), dashboardMaxActions)]

	v.Limits.Profile = s.store.Profile()
	for _, u := range s.limiter.Usage(now) {
		if f.Tenant != "" && !strings.EqualFold(u.Tenant, f.Tenant) {
			continue
		}
		row := rateRow{Tenant: u.Tenant, App: cmp.Or(apps[strings.ToLower(u.App)], u.App), Endpoint: u.Endpoint,
			Window: windowName(u.Window), Used: u.Used, Limit: u.Limit, Full: u.Used >= u.Limit}
		row.Percent = percent(u.Used, u.Limit)
		if !u.FreesAt.IsZero() {
			row.FreesAt = u.FreesAt.UTC().Format(dashboardTime)
			row.FreesIn = u.FreesAt.Sub(now).Round(time.Second).String()
		}
		v.Limits.Rates = append(v.Limits.Rates, row)
	}
	slices.SortFunc(v.Limits.Rates, func(a, b rateRow) int {
		return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.App, b.App), cmp.Compare(a.Endpoint, b.Endpoint), cmp.Compare(a.Window, b.Window))
	})

	v.Faults = s.faults.List()
	v.Scenario.List, _ = scenario.List() // the package's tests hold every shipped scenario parsing
	if st, ok := s.ScenarioStatus(); ok {
		v.Scenario.Loaded = st.Title
	}
	if withJournal {
		v.After = s.journal.Stats().Recorded
		v.Journal = s.journalRows(s.journal.Query(f.journalFilter()), apps)
		if len(v.Journal) > 0 {
			v.After = max(v.After, v.Journal[0].Seq)
		}
	}
	return v
}

// dashboardTenants returns the tenants f shows.
func (s *Server) dashboardTenants(f dashboardFilter) []*state.Tenant {
	if f.Tenant == "" {
		return s.store.Tenants()
	}
	if t, ok := s.store.Tenant(f.Tenant); ok {
		return []*state.Tenant{t}
	}
	return nil
}

// appNames returns the display name of every app, by lower-case client id.
func (s *Server) appNames() map[string]string {
	names := map[string]string{}
	for _, t := range s.fixtures.Load().Tenants {
		for _, a := range t.Apps {
			names[strings.ToLower(a.ClientID)] = a.DisplayName
		}
	}
	return names
}

// journalRows returns the rows of entries, newest first.
func (s *Server) journalRows(entries []journal.Entry, apps map[string]string) []journalRow {
	rows := make([]journalRow, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		row := journalRow{Seq: e.Seq, Time: e.Time.UTC().Format(dashboardTime), Method: e.Method, Path: e.Path,
			Tenant: e.TenantID, App: cmp.Or(apps[strings.ToLower(e.AppID)], e.AppID), Status: e.Status,
			ErrorCode: e.ErrorCode, RetryAfter: e.RetryAfter, Fault: e.Fault, Action: e.ActionID}
		switch {
		case e.Status == 429:
			row.Class = "s429"
		case e.Status >= 500:
			row.Class = "s5xx"
		case e.Status >= 400:
			row.Class = "s4xx"
		}
		rows = append(rows, row)
	}
	return rows
}

// actionTimeline places a's wait and commands on a timeline from its
// creation to its end (or now, while it runs).
func actionTimeline(a state.ActionView, now time.Time) actionRow {
	created := time.Time(a.CreationDateTimeUtc)
	end := time.Time(a.LastUpdateDateTimeUtc)
	final := a.Status != state.StatusPending && a.Status != state.StatusInProgress
	if !final && now.After(end) {
		end = now
	}
	for _, c := range a.Commands {
		if c.EndTime != nil && time.Time(*c.EndTime).After(end) {
			end = time.Time(*c.EndTime)
		}
	}
	span := end.Sub(created)
	pos := func(t time.Time) float64 {
		if span <= 0 {
			return 0
		}
		return float64(t.Sub(created)) / float64(span) * 100
	}
	row := actionRow{ID: a.ID, Machine: a.ComputerDNSName, Status: a.Status, Requestor: a.Requestor,
		Created: created.UTC().Format(dashboardTime), Updated: time.Time(a.LastUpdateDateTimeUtc).UTC().Format(dashboardTime),
		Span: span.Round(time.Second).String()}
	// The wait in the queue: until the first command starts, or till the
	// end when none did.
	firstStart := end
	if len(a.Commands) > 0 && a.Commands[0].StartTime != nil {
		firstStart = time.Time(*a.Commands[0].StartTime)
	}
	if firstStart.After(created) || len(a.Commands) == 0 || a.Commands[0].StartTime == nil {
		status := "Queued"
		if a.Status == state.StatusTimeOut || a.Status == state.StatusCancelled {
			if len(a.Commands) == 0 || a.Commands[0].StartTime == nil {
				status = a.Status
			}
		}
		row.Segments = append(row.Segments, segment{Label: "queue", Status: status, Left: 0, Width: pos(firstStart),
			From: created.UTC().Format(dashboardTime), To: firstStart.UTC().Format(dashboardTime)})
	}
	for _, c := range a.Commands {
		if c.StartTime == nil {
			continue
		}
		from, to := time.Time(*c.StartTime), end
		if c.EndTime != nil {
			to = time.Time(*c.EndTime)
		}
		row.Segments = append(row.Segments, segment{Label: fmt.Sprintf("%d %s", c.Index, c.Command.Type), Status: c.CommandStatus,
			Left: pos(from), Width: max(pos(to)-pos(from), 0.5),
			From: from.UTC().Format(dashboardTime), To: to.UTC().Format(dashboardTime)})
	}
	return row
}

// sessionUse is a row of sessions: used of limit (0 or less: no cap).
func sessionUse(tenant, who string, used, limit int) sessionRow {
	return sessionRow{Tenant: tenant, Who: who, Used: used, Cap: limit, Percent: percent(used, limit), Full: limit > 0 && used >= limit}
}

// percent is used of limit in percent, at most 100 (0 for no limit).
func percent(used, limit int) float64 {
	if limit <= 0 {
		return 0
	}
	return min(float64(used)/float64(limit)*100, 100)
}

// windowName is a rate limit's window as the dashboard names it.
func windowName(d time.Duration) string {
	switch d {
	case time.Minute:
		return "minute"
	case time.Hour:
		return "hour"
	}
	return d.String()
}
