package emulatortest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// This file imports no internal package: what a test outside the module
// can write.

func mustRule(t *testing.T, s string) emulatortest.FaultRule {
	t.Helper()
	r, err := emulatortest.ParseFaultRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func token(t *testing.T, srv *emulatortest.Server) string {
	t.Helper()
	tok, err := srv.Token()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func submit(t *testing.T, srv *emulatortest.Server, machine string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/api/machines/"+machine+"/runliveresponse",
		strings.NewReader(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`))
	req.Header.Set("Authorization", "Bearer "+token(t, srv))
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestNewServerInMemoryAndListener(t *testing.T) {
	for _, opts := range [][]emulatortest.Option{nil, {emulatortest.WithListener()}} {
		srv := emulatortest.NewServer(t, opts...)
		if got := submit(t, srv, "ws-finance-01.contoso.local"); got != 201 {
			t.Errorf("%s: submit %d", srv.URL, got)
		}
		if !srv.Now().Equal(emulatortest.DefaultStart) {
			t.Errorf("clock %v, want the default start", srv.Now())
		}
	}
}

func TestServerControls(t *testing.T) {
	srv := emulatortest.NewServer(t)
	if err := srv.SetOnline("ws-finance-01.contoso.local", false); err != nil {
		t.Fatal(err)
	}
	if err := srv.NextOutcomes("ws-hr-02.contoso.local", emulatortest.Outcome{Fail: "boom"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddFault(mustRule(t, `{"match":{"path":"/api/machines/srv-dc-01*"},"calls":{"next":1},"effect":{"status":503}}`)); err != nil {
		t.Fatal(err)
	}
	if got := submit(t, srv, "srv-dc-01.contoso.local"); got != 503 {
		t.Errorf("faulted submit: %d", got)
	}
	submit(t, srv, "ws-finance-01.contoso.local")
	submit(t, srv, "ws-hr-02.contoso.local")
	srv.Advance(time.Hour)
	got := srv.WaitForRequests(t, emulatortest.Filter{Method: "POST", Status: 201}, 2, time.Second)
	if len(got) != 2 {
		t.Fatalf("journal: %+v", got)
	}
	views := srv.Emulator().Store().Tenants()[0].Actions()
	status := map[string]string{}
	for _, v := range views {
		status[v.ComputerDNSName] = v.Status
	}
	if status["ws-finance-01.contoso.local"] != "Pending" || status["ws-hr-02.contoso.local"] != "Failed" {
		t.Errorf("statuses: %v", status)
	}
}

// The methods that cannot do their work return an error; none panics.
func TestErrorsNotPanics(t *testing.T) {
	srv := emulatortest.NewServer(t)
	if err := srv.SetOnline("no-such-machine", false); err == nil || !strings.Contains(err.Error(), "no-such-machine") {
		t.Errorf("SetOnline of an unknown machine: %v", err)
	}
	if err := srv.NextOutcomes("no-such-machine", emulatortest.Outcome{}); err == nil {
		t.Error("NextOutcomes of an unknown machine: no error")
	}
	noApp := emulatortest.NewServer(t, emulatortest.WithFixturesYAML("tenants:\n  - id: 11111111-1111-4111-8111-111111111111\n    generateMachines: 1\n"))
	if _, err := noApp.Token(); err == nil {
		t.Error("Token without an app: no error")
	}
	if _, err := emulatortest.ParseFaultRule(`{"effect":{"status":200}}`); err == nil {
		t.Error("ParseFaultRule of a bad rule: no error")
	}
	if _, err := srv.AddFault(emulatortest.FaultRule{Effect: emulatortest.FaultEffect{Status: 200}}); err == nil {
		t.Error("AddFault of a bad rule: no error")
	}
}

func TestWithFixturesYAMLRejectsBadFixtures(t *testing.T) {
	if _, err := emulatortest.New(emulatortest.WithFixturesYAML("tenants: []\n")); err == nil {
		t.Error("no error for a fixture without tenants")
	}
}

func TestOptions(t *testing.T) {
	at := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	srv := emulatortest.NewServer(t,
		emulatortest.WithProfile("current"),
		emulatortest.WithStart(at),
		emulatortest.WithOptions(func(o *emulator.Options) { o.JournalSize = 3 }),
	)
	if !srv.Now().Equal(at) || srv.Emulator().Store().Profile().Name != "current" {
		t.Errorf("now %v, profile %s", srv.Now(), srv.Emulator().Store().Profile().Name)
	}
	for i := 0; i < 5; i++ {
		submit(t, srv, "srv-sql-01.contoso.local")
	}
	if st := srv.Emulator().Journal().Stats(); st.Len != 3 || st.Dropped != 2 {
		t.Errorf("journal stats %+v; want 3 kept, 2 dropped", st)
	}
	if got, want := srv.TokenURL(), srv.URL+"/"+srv.TenantID+"/oauth2/v2.0/token"; got != want {
		t.Errorf("TokenURL %s, want %s", got, want)
	}

	set, err := fixture.Parse("x.yaml", []byte("tenants:\n  - id: 11111111-1111-4111-8111-111111111111\n    generateMachines: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	fast := emulatortest.NewServer(t, emulatortest.WithFixtures(set), emulatortest.WithRealClock(1000))
	before := fast.Now()
	fast.WaitForRequests(t, emulatortest.Filter{}, 0, time.Second) // returns at once
	if n := fast.Emulator().Store().Tenants()[0].MachineCount(); n != 1 {
		t.Errorf("machines: %d", n)
	}
	if fast.Emulator().Clock().Mode() != "real" || fast.Emulator().Clock().Scale() != 1000 || fast.Now().Before(before) {
		t.Errorf("clock %s x%g", fast.Emulator().Clock().Mode(), fast.Emulator().Clock().Scale())
	}
}

// TestSigningKey: the test servers of a process share one signing key
// unless a test gives its own, so a token of one is good on another (the
// same tenant, app and audience) and not on a server with a key of its
// own.
func TestSigningKey(t *testing.T) {
	a, b := emulatortest.NewServer(t), emulatortest.NewServer(t)
	own, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c := emulatortest.NewServer(t, emulatortest.WithOptions(func(o *emulator.Options) { o.SigningKey = own }))
	tok := token(t, a)
	for _, tc := range []struct {
		name string
		srv  *emulatortest.Server
		want int
	}{{"a", a, 200}, {"b, sharing a's key", b, 200}, {"c, with a key of its own", c, 401}} {
		req, _ := http.NewRequest("GET", tc.srv.URL+"/api/machines", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := tc.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s: a's token answered %d, want %d", tc.name, res.StatusCode, tc.want)
		}
	}
}

// BenchmarkNew measures starting and closing a test server with the
// default options: what each test of a suite pays for its own emulator.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		srv, err := emulatortest.New()
		if err != nil {
			b.Fatal(err)
		}
		srv.Close()
	}
}
