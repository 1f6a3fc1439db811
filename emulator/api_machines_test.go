package emulator_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/internal/state"
)

func TestGetMachine(t *testing.T) {
	e := newEnv(t)
	for _, key := range []string{winMachine, strings.ToUpper(winMachine), "ws-finance-01.contoso.local", "WS-FINANCE-01"} {
		r := e.api("GET", "/api/machines/"+key, "")
		if r.status != 200 {
			t.Fatalf("GET machine %s: %d %s", key, r.status, r.body)
		}
		var m struct {
			ODataContext string `json:"@odata.context"`
			state.MachineView
		}
		r.decode(&m)
		if m.ID != winMachine || m.OnboardingStatus != "Onboarded" || m.RBACGroupID != 141 || m.OSPlatform != "Windows11" ||
			m.HealthStatus != "Active" || len(m.IPAddresses) != 1 || m.ODataContext != testBase+"/api/$metadata#Machines/$entity" {
			t.Errorf("machine %s: %s", key, r.body)
		}
	}
	if r := e.api("GET", "/api/machines/"+unknownID, ""); r.status != 404 || r.errorCode() != "ResourceNotFound" {
		t.Errorf("unknown machine: %d %s", r.status, r.body)
	}
	var off state.MachineView
	e.api("GET", "/api/machines/"+offMachine, "").decode(&off)
	if off.HealthStatus != "Inactive" || off.IPAddresses[0].OperationalStatus != "Down" {
		t.Errorf("offline machine: %+v", off)
	}
}

func TestListMachinesOData(t *testing.T) {
	e := newEnv(t)
	names := func(query string) []string {
		t.Helper()
		r := e.api("GET", "/api/machines"+strings.ReplaceAll(query, " ", "%20"), "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", query, r.status, r.body)
		}
		var body struct{ Value []state.MachineView }
		r.decode(&body)
		var out []string
		for _, m := range body.Value {
			out = append(out, m.ComputerDNSName)
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"?$filter=osPlatform eq 'Linux'", []string{"lnx-web-01.contoso.local", "lnx-build-02.contoso.local"}},
		{"?$filter=computerDnsName eq 'srv-dc-01.contoso.local' or id eq '" + winMachine + "'", []string{"ws-finance-01.contoso.local", "srv-dc-01.contoso.local"}},
		{"?$filter=rbacGroupId eq 142", []string{"kiosk-lobby-01.contoso.local"}},
		{"?$filter=healthStatus eq 'Inactive'", []string{"ws-travel-03.contoso.local"}},
		{"?$filter=onboardingStatus eq 'Onboarded' and osPlatform eq 'macOS'", []string{"mac-design-01.contoso.local"}},
		{"?$orderby=computerDnsName&$top=2", []string{"kiosk-lobby-01.contoso.local", "lnx-build-02.contoso.local"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, names(tc.query)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.query, diff)
		}
	}
	if got := names(""); len(got) != 10 {
		t.Errorf("all machines: %d, want 10", len(got))
	}
	if r := e.api("GET", "/api/machines?$filter=osPlatform%20eq%2042", ""); r.status != 400 || r.errorCode() != "ODataError" {
		t.Errorf("type mismatch: %d %s", r.status, r.body)
	}
}
