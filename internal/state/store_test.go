package state

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/limits"
)

// The test fixture: tenant Contoso with machines of every kind the checks
// of runliveresponse tell apart and a library of scripts with behaviours,
// and tenant Fabrikam with one machine, for isolation between tenants.
const (
	contosoID  = "11111111-1111-1111-1111-111111111111"
	fabrikamID = "22222222-2222-2222-2222-222222222222"

	win1   = "a000000000000000000000000000000000000001" // Windows11, group with a level
	lin1   = "a000000000000000000000000000000000000002" // Linux, no group, pickup 10s
	off1   = "a000000000000000000000000000000000000003" // Windows10, offline
	noauto = "a000000000000000000000000000000000000004" // group without a level
	old1   = "a000000000000000000000000000000000000005" // Windows7: unsupported
	fab1   = "b000000000000000000000000000000000000001" // Fabrikam's machine

	reportPath = `C:\Temp\report.txt`
	reportText = "quarterly numbers\n"
	toolBytes  = "TOOLBYTES"
	winPutPath = `C:\ProgramData\Microsoft\Windows Defender Advanced Threat Protection\Downloads\tool.exe`
	linPutPath = "/var/opt/microsoft/mdatp/response/tool.exe"
)

const contosoYAML = `
tenants:
- id: 11111111-1111-1111-1111-111111111111
  name: Contoso
  deviceGroups:
  - {id: 1, name: Servers, remediationLevel: Full - remediate threats automatically}
  - {id: 2, name: NoAutomation}
  machines:
  - id: A000000000000000000000000000000000000001
    computerDnsName: win1.contoso.local
    osPlatform: Windows11
    rbacGroupId: 1
    files:
    - {path: 'C:\Temp\report.txt', content: "quarterly numbers\n"}
    - {path: 'C:\Temp\huge.bin', size: 3221225473}
    - {path: 'C:\Temp\limit.bin', size: 3221225472}
  - id: a000000000000000000000000000000000000002
    computerDnsName: lin1.contoso.local
    osPlatform: Linux
    pickupDelay: 10s
    files:
    - {path: /var/log/app.log, content: "log line\n"}
  - id: a000000000000000000000000000000000000003
    computerDnsName: off1.contoso.local
    osPlatform: Windows10
    offline: true
  - id: a000000000000000000000000000000000000004
    computerDnsName: noauto.contoso.local
    osPlatform: Windows11
    rbacGroupId: 2
  - id: a000000000000000000000000000000000000005
    computerDnsName: old.contoso.local
    osPlatform: Windows7
  library:
  - fileName: ok.ps1
    content: Write-Output done
    behavior: {duration: 3s, output: done}
  - fileName: fail.ps1
    behavior: {duration: 4s, fail: Access is denied.}
  - fileName: exit3.sh
    behavior: {duration: 3s, exitCode: 3, output: partial, errors: "warning: disk"}
  - fileName: hang.ps1
    behavior: {duration: 30m}
  - fileName: tenmin.ps1
    behavior: {duration: 10m, output: just in time}
  - fileName: args.ps1
    behavior: {duration: 3s, output: default}
    byArgs:
      "-slow": {duration: 20s, output: slow}
      "-fail": {duration: 1s, fail: bad argument}
  - fileName: tool.exe
    contentBase64: VE9PTEJZVEVT
- id: 22222222-2222-2222-2222-222222222222
  name: Fabrikam
  machines:
  - id: b000000000000000000000000000000000000001
    computerDnsName: pc1.fabrikam.local
    osPlatform: Windows11
  library:
  - fileName: ok.ps1
    behavior: {duration: 3s, output: fabrikam}
`

// start is the emulated instant every test store starts at; its fraction
// checks that timestamps keep the service's 100 ns resolution.
var start = time.Date(2025, time.March, 1, 10, 0, 0, 123456700, time.UTC)

var (
	caller    = Caller{TenantID: contosoID, AppID: "app-1", Name: "LR Automation"}
	canceller = Caller{TenantID: contosoID, AppID: "app-2", Name: "SOC Canceller"}
)

// viewOpts compares Timestamps as instants.
var viewOpts = cmp.Options{
	cmp.Comparer(func(a, b Timestamp) bool { return time.Time(a).Equal(time.Time(b)) }),
}

func parseFixture(tb testing.TB, yaml string) *fixture.Set {
	tb.Helper()
	set, err := fixture.Parse("test.yaml", []byte(yaml))
	if err != nil {
		tb.Fatalf("fixture.Parse: %v", err)
	}
	return set
}

func profile(tb testing.TB, name string) limits.Profile {
	tb.Helper()
	p, err := limits.Lookup(name)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// env is a store on a manual clock with its first tenant at hand.
type env struct {
	s   *Store
	clk *clock.Clock
	ten *Tenant
}

func newEnvWith(tb testing.TB, set *fixture.Set, p limits.Profile) *env {
	tb.Helper()
	clk := clock.New(start, clock.Manual, 1)
	tb.Cleanup(clk.Close)
	s := New(clk, p, set)
	return &env{s: s, clk: clk, ten: s.Tenants()[0]}
}

// isFinal reports whether status, an action status's name, is final.
func isFinal(status string) bool {
	s, ok := parseActionStatus(status)
	return ok && s.final()
}

// newEnv returns the Contoso fixture under the default profile.
func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvWith(tb, parseFixture(tb, contosoYAML), profile(tb, "default"))
}

// generatedEnv returns one tenant with n generated (online Windows 11, no
// group) machines and the Contoso library.
func generatedEnv(tb testing.TB, n int, p limits.Profile) *env {
	tb.Helper()
	lib := contosoYAML[strings.Index(contosoYAML, "  library:"):strings.Index(contosoYAML, "- id: 2222")]
	yaml := fmt.Sprintf("tenants:\n- id: %s\n  name: Generated\n  generateMachines: %d\n%s", contosoID, n, lib)
	return newEnvWith(tb, parseFixture(tb, yaml), p)
}

// at moves the clock to start+d, firing every step due until then.
func (e *env) at(d time.Duration) { e.clk.AdvanceTo(start.Add(d)) }

func (e *env) submit(tb testing.TB, machine string, cmds ...Command) ActionView {
	tb.Helper()
	v, err := e.ten.Submit(caller, machine, SubmitRequest{Commands: cmds})
	if err != nil {
		tb.Fatalf("Submit(%s): %v", machine, err)
	}
	return v
}

func (e *env) view(tb testing.TB, id string) ActionView {
	tb.Helper()
	a, err := e.ten.Action(id)
	if err != nil {
		tb.Fatalf("Action(%s): %v", id, err)
	}
	return a.View()
}

func (e *env) machine(tb testing.TB, key string) *Machine {
	tb.Helper()
	m, err := e.ten.Machine(key)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func runScript(name string, args ...string) Command {
	c := Command{Type: RunScript, Params: []Param{{Key: "ScriptName", Value: name}}}
	for _, a := range args {
		c.Params = append(c.Params, Param{Key: "Args", Value: a})
	}
	return c
}

func putFile(name string) Command {
	return Command{Type: PutFile, Params: []Param{{Key: "FileName", Value: name}}}
}

func getFile(path string) Command {
	return Command{Type: GetFile, Params: []Param{{Key: "Path", Value: path}}}
}

// stamp is the timestamp of start+d; stampP points to it.
func stamp(d time.Duration) Timestamp { return Stamp(start.Add(d)) }

func stampP(d time.Duration) *Timestamp {
	ts := stamp(d)
	return &ts
}

// pendingView is the view of a just-created action of caller on machine,
// created at start+created.
func pendingView(id, machine, dns string, created time.Duration, comment *string, cmds ...Command) ActionView {
	v := ActionView{
		ID:                    id,
		Type:                  "LiveResponse",
		Requestor:             caller.Name,
		RequestorComment:      comment,
		Status:                StatusPending,
		MachineID:             machine,
		ComputerDNSName:       dns,
		CreationDateTimeUtc:   stamp(created),
		LastUpdateDateTimeUtc: stamp(created),
		RequestSource:         "PublicApi",
		Commands:              make([]CommandView, len(cmds)),
	}
	for i, c := range cmds {
		v.Commands[i] = CommandView{Index: i, CommandStatus: CommandCreated, Errors: []string{}, Command: c}
	}
	return v
}

// running marks a command end that has not come yet.
const running = time.Duration(-1)

// setCmd sets command i of v as run from start+from to start+to.
func setCmd(v *ActionView, i int, status string, from, to time.Duration, errs ...string) {
	c := &v.Commands[i]
	c.CommandStatus = status
	c.StartTime = stampP(from)
	c.EndTime = nil
	if to != running {
		c.EndTime = stampP(to)
	}
	c.Errors = append([]string{}, errs...)
}

// setStatus sets v's status and last update (start+d).
func setStatus(v *ActionView, status string, d time.Duration) {
	v.Status = status
	v.LastUpdateDateTimeUtc = stamp(d)
}

// setCancelled records a cancel by canceller with comment at start+d.
func setCancelled(v *ActionView, comment string, d time.Duration) {
	setStatus(v, StatusCancelled, d)
	by := canceller.Name
	v.CancellationRequestor = &by
	v.CancellationComment = &comment
	v.CancellationDateTimeUtc = stampP(d)
}

func checkView(tb testing.TB, what string, want, got ActionView) {
	tb.Helper()
	if diff := cmp.Diff(want, got, viewOpts); diff != "" {
		tb.Errorf("%s: view mismatch (-want +got):\n%s", what, diff)
	}
}

// checkErr checks that err is an *apierr.Error with code whose message
// holds msg.
func checkErr(tb testing.TB, err error, code apierr.Code, msg string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("got no error, want %s", code)
	}
	if got := apierr.CodeOf(err); got != code {
		tb.Errorf("code = %s, want %s (error: %v)", got, code, err)
	}
	if e := apierr.As(err); e == nil || !strings.Contains(e.Message, msg) {
		tb.Errorf("error %q does not contain %q", err, msg)
	}
}

func TestTenantLookup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []string{contosoID, strings.ToUpper(contosoID)} {
		if ten, ok := e.s.Tenant(id); !ok || ten.ID != contosoID {
			t.Errorf("Tenant(%s) = %v, %v; want Contoso", id, ten, ok)
		}
	}
	if _, ok := e.s.Tenant("33333333-3333-3333-3333-333333333333"); ok {
		t.Error("Tenant(unknown) found a tenant")
	}
}

func TestMachineLookup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		key  string
		want string
	}{
		{win1, win1},
		{strings.ToUpper(win1), win1},
		{"win1.contoso.local", win1},
		{"WIN1.Contoso.Local", win1},
		{"win1", win1},
		{"LIN1", lin1},
	}
	for _, tc := range tests {
		m, err := e.ten.Machine(tc.key)
		if err != nil {
			t.Errorf("Machine(%q): %v", tc.key, err)
			continue
		}
		if m.ID() != tc.want {
			t.Errorf("Machine(%q) = %s, want %s", tc.key, m.ID(), tc.want)
		}
	}
	_, err := e.ten.Machine("nope")
	checkErr(t, err, apierr.ResourceNotFound, "Machine nope was not found")
	// Machines of another tenant are not found.
	_, err = e.ten.Machine(fab1)
	checkErr(t, err, apierr.ResourceNotFound, "was not found")
}

// TestOneSessionPerMachine: a second action on a machine with a Pending
// or InProgress one is refused; once it is final, a new one is accepted.
func TestOneSessionPerMachine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.submit(t, win1, runScript("ok.ps1"))
	check := func(when string) {
		t.Helper()
		for _, key := range []string{win1, "win1", "WIN1.contoso.local"} {
			_, err := e.ten.Submit(caller, key, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
			checkErr(t, err, apierr.ActiveRequestAlreadyExists, "Action is already in progress")
			if e := apierr.As(err); e != nil && e.Message != "Action is already in progress" {
				t.Errorf("%s: message %q, want exactly %q", when, e.Message, "Action is already in progress")
			}
		}
		if n := e.ten.Sessions(); n != 1 {
			t.Errorf("%s: Sessions() = %d after refused submits, want 1", when, n)
		}
	}
	check("Pending")
	e.at(6 * time.Second)
	if got := e.view(t, first.ID).Status; got != StatusInProgress {
		t.Fatalf("status at 6s = %s, want InProgress", got)
	}
	check("InProgress")
	e.at(10 * time.Second) // completed at 8s, settled at 10s
	if got := e.view(t, first.ID).Status; got != StatusSucceeded {
		t.Fatalf("status at 10s = %s, want Succeeded", got)
	}
	second := e.submit(t, win1, runScript("ok.ps1"))
	if second.ID == first.ID {
		t.Error("second action reuses the first one's id")
	}
	// Other machines are not affected.
	e.submit(t, lin1, runScript("ok.ps1"))
	if n := e.ten.Sessions(); n != 2 {
		t.Errorf("Sessions() = %d, want 2", n)
	}
	if _, err := e.ten.Cancel(canceller, second.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.submit(t, win1, runScript("ok.ps1")) // allowed after a cancel
}

// TestSessionCap: with the default profile the 26th concurrent session
// (Pending ones count) is refused with 429 until one ends.
func TestSessionCap(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 30, profile(t, "default"))
	ms := machinesOf(e.ten)
	var ids []string
	for i := range 25 {
		ids = append(ids, e.submit(t, ms[i].ID(), runScript("ok.ps1")).ID)
	}
	if n := e.ten.Sessions(); n != 25 {
		t.Fatalf("Sessions() = %d, want 25", n)
	}
	_, err := e.ten.Submit(caller, ms[25].ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
	checkErr(t, err, apierr.TooManyRequests, "25 concurrent live response sessions")
	if ae := apierr.As(err); ae == nil || ae.RetryAfter <= 0 {
		t.Errorf("429 error %v has no positive RetryAfter", err)
	}
	if got := len(e.ten.Actions()); got != 25 {
		t.Errorf("refused submit created an action: %d actions, want 25", got)
	}
	// A refused request on a busy machine does not count either.
	_, err = e.ten.Submit(caller, ms[0].ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
	checkErr(t, err, apierr.ActiveRequestAlreadyExists, "Action is already in progress")

	// One ends (cancelled): one more is allowed, then the cap holds again.
	if _, err := e.ten.Cancel(canceller, ids[3], "free one"); err != nil {
		t.Fatal(err)
	}
	e.submit(t, ms[25].ID(), runScript("ok.ps1"))
	_, err = e.ten.Submit(caller, ms[26].ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
	checkErr(t, err, apierr.TooManyRequests, "concurrent live response sessions")

	// All end on their own: every session is free again.
	e.at(time.Minute)
	if n := e.ten.Sessions(); n != 0 {
		t.Errorf("Sessions() after every action ended = %d, want 0", n)
	}
	for i := 26; i < 30; i++ {
		e.submit(t, ms[i].ID(), runScript("ok.ps1"))
	}
}

// TestConcurrentSubmitDistinctMachines: 100 submits at once on 100
// machines: exactly the 25 of the cap are accepted.
func TestConcurrentSubmitDistinctMachines(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 100, profile(t, "default"))
	errs := make([]error, 100)
	var wg sync.WaitGroup
	for i, m := range machinesOf(e.ten) {
		wg.Go(func() {
			_, errs[i] = e.ten.Submit(caller, m.ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
		})
	}
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		switch code := apierr.CodeOf(err); {
		case err == nil:
			accepted++
		case code != apierr.TooManyRequests:
			t.Errorf("unexpected error %v", err)
		}
	}
	if accepted != 25 {
		t.Errorf("accepted %d submits, want 25", accepted)
	}
	if n := e.ten.Sessions(); n != 25 {
		t.Errorf("Sessions() = %d, want 25", n)
	}
	if n := len(e.ten.Actions()); n != 25 {
		t.Errorf("%d actions, want 25", n)
	}
}

// TestConcurrentSubmitOneMachine: 50 submits at once on one machine:
// exactly one is accepted.
func TestConcurrentSubmitOneMachine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	errs := make([]error, 50)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = e.ten.Submit(caller, win1, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
		})
	}
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		switch {
		case err == nil:
			accepted++
		case apierr.CodeOf(err) != apierr.ActiveRequestAlreadyExists:
			t.Errorf("unexpected error %v", err)
		}
	}
	if accepted != 1 {
		t.Errorf("accepted %d submits, want 1", accepted)
	}
	if n := e.ten.Sessions(); n != 1 {
		t.Errorf("Sessions() = %d, want 1", n)
	}
}

// TestConcurrentSubmitCancelAdvance runs submits and cancels while the
// clock advances (for the race detector) and then checks that sessions
// match the actions still running and all are freed in the end.
func TestConcurrentSubmitCancelAdvance(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 40, profile(t, "default"))
	ms := machinesOf(e.ten)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for round := range 20 {
				m := ms[(w*5+round)%len(ms)]
				v, err := e.ten.Submit(caller, m.ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1"), getFile(reportPath)}})
				if err != nil {
					if c := apierr.CodeOf(err); c != apierr.ActiveRequestAlreadyExists && c != apierr.TooManyRequests {
						t.Errorf("Submit: %v", err)
					}
					continue
				}
				if round%3 == 0 {
					_, err := e.ten.Cancel(canceller, v.ID, "stop")
					if err != nil && apierr.CodeOf(err) != apierr.BadRequest {
						t.Errorf("Cancel: %v", err)
					}
				}
			}
		})
	}
	for range 200 {
		e.clk.Advance(time.Second)
	}
	wg.Wait()
	nonFinal := 0
	for _, v := range e.ten.Actions() {
		if !isFinal(v.Status) {
			nonFinal++
		}
	}
	if n := e.ten.Sessions(); n != nonFinal {
		t.Errorf("Sessions() = %d, want %d (the actions not final)", n, nonFinal)
	}
	e.clk.Advance(time.Hour)
	for _, v := range e.ten.Actions() {
		if !isFinal(v.Status) {
			t.Errorf("action %s still %s after an hour", v.ID, v.Status)
		}
	}
	if n := e.ten.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d after every action ended, want 0", n)
	}
}

func TestSetRemediationLevel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cmd := SubmitRequest{Commands: []Command{runScript("ok.ps1")}}
	_, err := e.ten.Submit(caller, noauto, cmd)
	checkErr(t, err, apierr.DisallowedOperation, "no automation level")
	if err := e.machine(t, noauto).SetRemediationLevel("Semi"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ten.Submit(caller, noauto, cmd); err != nil {
		t.Errorf("Submit after a level was set: %v", err)
	}
	if err := e.machine(t, lin1).SetRemediationLevel("Semi"); apierr.CodeOf(err) != apierr.BadRequest {
		t.Errorf("SetRemediationLevel on a machine in no group: %v, want BadRequest", err)
	}
}

func TestTimestampFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Time
		want string
	}{
		{start, "2025-03-01T10:00:00.1234567Z"},
		{time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC), "2025-03-01T10:00:00.1234567Z"},
		{time.Date(2025, 3, 1, 10, 0, 0, 0, time.FixedZone("x", 3600)), "2025-03-01T09:00:00Z"},
		{time.Date(2025, 3, 1, 10, 0, 0, 500000000, time.UTC), "2025-03-01T10:00:00.5Z"},
	}
	for _, tc := range tests {
		if got := Stamp(tc.in).String(); got != tc.want {
			t.Errorf("Stamp(%v) = %s, want %s", tc.in, got, tc.want)
		}
		b, _ := Stamp(tc.in).MarshalJSON()
		if got := string(b); got != `"`+tc.want+`"` {
			t.Errorf("MarshalJSON(%v) = %s", tc.in, got)
		}
		var back Timestamp
		if err := back.UnmarshalJSON(b); err != nil || !back.Time().Equal(Stamp(tc.in).Time()) {
			t.Errorf("UnmarshalJSON(%s) = %v, %v", b, back, err)
		}
	}
}

// With pendingCountsAsSession false, queued actions do not hold sessions:
// the 26th submit is accepted and waits for a session at pickup.
func TestPendingDoesNotCountWhenConfigured(t *testing.T) {
	st := newSessionStore(t, false)
	tn := st.Tenants()[0]
	var ids []string
	for _, m := range machinesOf(tn)[:26] {
		v, err := tn.Submit(Caller{Name: "t"}, m.ID(), SubmitRequest{Commands: []Command{{Type: RunScript, Params: []Param{{Key: "ScriptName", Value: "long.ps1"}}}}})
		if err != nil {
			t.Fatalf("submit on %s: %v", m.ID(), err)
		}
		ids = append(ids, v.ID)
	}
	st.Clock().Advance(10 * time.Second)
	running, waiting := 0, 0
	for _, id := range ids {
		a, _ := tn.Action(id)
		switch a.View().Status {
		case StatusInProgress:
			running++
		case StatusPending:
			waiting++
		}
	}
	if running != 25 || waiting != 1 || tn.Sessions() != 25 {
		t.Fatalf("running %d, waiting %d, sessions %d; want 25, 1, 25", running, waiting, tn.Sessions())
	}
	// The long scripts end after 9 minutes; the waiting one then runs.
	st.Clock().Advance(10 * time.Minute)
	a, _ := tn.Action(ids[25])
	if s := a.View().Status; s != StatusInProgress && s != StatusSucceeded {
		t.Errorf("the waiting action: %s", s)
	}
}

func newSessionStore(t *testing.T, pendingCounts bool) *Store {
	t.Helper()
	set, err := fixture.Parse("sessions.yaml", []byte(fmt.Sprintf(`
limits: {pendingCountsAsSession: %v}
tenants:
  - id: 11111111-1111-4111-8111-111111111111
    generateMachines: 30
    library:
      - {fileName: long.ps1, content: x, behavior: {duration: 9m}}
`, pendingCounts)))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := limits.Lookup("default")
	p = p.Override(set.Limits)
	return New(clock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), clock.Manual, 1), p, set)
}

// machinesOf returns every machine of t, in fixture order, each made
// (Tenant.Machine finds it): the ones tests change.
func machinesOf(t *Tenant) []*Machine {
	var ms []*Machine
	for m := range t.Machines() {
		made, err := t.Machine(m.ID())
		if err != nil {
			panic(err)
		}
		ms = append(ms, made)
	}
	return ms
}
