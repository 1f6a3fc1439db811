package emulatortest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/emulator/faults"
	"github.com/mdelive/mde-emulator/emulator/journal"
	"github.com/mdelive/mde-emulator/emulator/state"
)

func mustRule(s string) faults.Rule {
	r, err := faults.ParseRule([]byte(s))
	if err != nil {
		panic(err)
	}
	return r
}

func submit(t *testing.T, srv *emulatortest.Server, machine string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/api/machines/"+machine+"/runliveresponse",
		strings.NewReader(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}]}`))
	req.Header.Set("Authorization", "Bearer "+srv.Token())
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
	srv.SetOnline("ws-finance-01.contoso.local", false)
	if err := srv.NextOutcomes("ws-hr-02.contoso.local", state.Outcome{Fail: "boom"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.AddFault(mustRule(`{"match":{"path":"/api/machines/srv-dc-01*"},"calls":{"next":1},"effect":{"status":503}}`)); err != nil {
		t.Fatal(err)
	}
	if got := submit(t, srv, "srv-dc-01.contoso.local"); got != 503 {
		t.Errorf("faulted submit: %d", got)
	}
	submit(t, srv, "ws-finance-01.contoso.local")
	submit(t, srv, "ws-hr-02.contoso.local")
	srv.Advance(time.Hour)
	got := srv.WaitForRequests(t, journal.Filter{Method: "POST", Status: 201}, 2, time.Second)
	if len(got) != 2 {
		t.Fatalf("journal: %+v", got)
	}
	views := srv.Store().Tenants()[0].Actions()
	status := map[string]string{}
	for _, v := range views {
		status[v.ComputerDNSName] = v.Status
	}
	if status["ws-finance-01.contoso.local"] != "Pending" || status["ws-hr-02.contoso.local"] != "Failed" {
		t.Errorf("statuses: %v", status)
	}
}

func TestWithFixturesYAMLRejectsBadFixtures(t *testing.T) {
	if _, err := emulatortest.New(emulatortest.WithFixturesYAML("tenants: []\n")); err == nil {
		t.Error("no error for a fixture without tenants")
	}
}
