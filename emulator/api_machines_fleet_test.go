package emulator_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// fleetFixture has two listed machines and 300 generated ones.
var fleetFixture = fmt.Sprintf(`
profile: unlimited
tenants:
  - id: %s
    name: Fleet
    apps:
      - {clientId: %s, clientSecret: %s, displayName: SOAR, roles: [Machine.LiveResponse, Machine.Read.All]}
    machines:
      - {id: 1111111111111111111111111111111111111111, computerDnsName: lnx-01.fleet.local, osPlatform: Linux}
      - {id: 2222222222222222222222222222222222222222, computerDnsName: ws-01.fleet.local, osPlatform: Windows10, offline: true}
    generateMachines: 300
    library:
      - fileName: ok.ps1
`, tenantID, soarClientID, defaultSecret)

// TestListMachinesOfAFleet: GET /api/machines and GET /api/machines/{id}
// answer the same, byte for byte, whether the generated machines are kept
// as their count (what Parse gives) or listed (fixture.Set.Expanded), for
// pages, filters, orders and counts, before and after a machine is used.
func TestListMachinesOfAFleet(t *testing.T) {
	set, err := fixture.Parse("fleet.yaml", []byte(fleetFixture))
	if err != nil {
		t.Fatal(err)
	}
	envs := []*env{
		newEnv(t, func(o *emulator.Options) { o.Fixtures = set }),
		newEnv(t, func(o *emulator.Options) { o.Fixtures = set.Expanded() }),
	}
	queries := []string{
		"",
		"?$top=7&$skip=295",
		"?$top=3&$count=true",
		"?$filter=computerDnsName eq 'gen-000150.fleet.local'",
		"?$filter=osPlatform eq 'Linux' or healthStatus eq 'Inactive'",
		"?$orderby=computerDnsName desc&$top=5",
		"?$filter=startswith(computerDnsName,'gen-00029')&$orderby=lastIpAddress",
	}
	id150 := set.Tenants[0].GeneratedMachine(150).ID
	read := func(e *env) []string {
		var out []string
		for _, q := range queries {
			r := e.api("GET", "/api/machines"+strings.ReplaceAll(q, " ", "%20"), "")
			if r.status != 200 {
				t.Fatalf("%s: %d %s", q, r.status, r.body)
			}
			out = append(out, string(r.body))
		}
		for _, key := range []string{id150, "GEN-000150", "gen-000300.fleet.local"} {
			r := e.api("GET", "/api/machines/"+key, "")
			out = append(out, fmt.Sprint(r.status, " ", string(r.body)))
		}
		return out
	}
	for round := range 2 {
		got := [][]string{read(envs[0]), read(envs[1])}
		for i := range got[0] {
			if got[0][i] != got[1][i] {
				t.Errorf("round %d, request %d: counted and listed fleets answer differently:\n%.600s\n%.600s", round, i, got[0][i], got[1][i])
			}
		}
		if !strings.Contains(got[0][0], "gen-000300.fleet.local") || !strings.Contains(got[0][3], id150) {
			t.Errorf("round %d: the generated machines are missing from the list", round)
		}
		// Use a generated machine, then read again.
		for _, e := range envs {
			used := set.Tenants[0].GeneratedMachine(150 + round)
			r := e.api("POST", "/api/machines/"+used.ID+"/runliveresponse", `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"ok.ps1"}]}],"Comment":"c"}`)
			if r.status != 201 {
				t.Fatalf("submit: %d %s", r.status, r.body)
			}
			var a struct{ MachineID, ComputerDNSName string }
			r.decode(&a)
			if a.MachineID != used.ID || a.ComputerDNSName != used.ComputerDNSName {
				t.Errorf("the action names machine %s %s, want %s %s", a.MachineID, a.ComputerDNSName, used.ID, used.ComputerDNSName)
			}
			e.srv.Store().FindMachine("", "gen-000299") // made by a lookup, nothing else
		}
	}
}
