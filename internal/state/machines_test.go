package state

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMachineView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.machine(t, win1)
	group := "Servers"
	want := MachineView{
		ID:               win1,
		ComputerDNSName:  "win1.contoso.local",
		FirstSeen:        stamp(-90 * 24 * time.Hour), // fixture.FillTimes
		LastSeen:         Stamp(start.Add(time.Hour - 3*time.Minute).Truncate(time.Second)),
		OSPlatform:       "Windows11",
		HealthStatus:     "Active",
		DeviceValue:      "Normal",
		RBACGroupID:      1,
		RBACGroupName:    &group,
		RiskScore:        "None",
		ExposureLevel:    "None",
		MachineTags:      []string{},
		DefenderAVStatus: "Updated",
		OnboardingStatus: "Onboarded",
		ManagedBy:        "MicrosoftDefenderForEndpoint",
		ManagedByStatus:  "Unknown",
		IPAddresses:      []IPAddress{},
	}
	e.at(time.Hour)
	if diff := cmp.Diff(want, m.View(e.clk.Now()), viewOpts); diff != "" {
		t.Errorf("online view (-want +got):\n%s", diff)
	}

	// Disconnected: lastSeen stays at the disconnect, health Inactive.
	m.SetOnline(false)
	e.at(5 * time.Hour)
	want.LastSeen = stamp(time.Hour)
	want.HealthStatus = "Inactive"
	if diff := cmp.Diff(want, m.View(e.clk.Now()), viewOpts); diff != "" {
		t.Errorf("offline view (-want +got):\n%s", diff)
	}

	off := e.machine(t, off1).View(e.clk.Now())
	if off.HealthStatus != "Inactive" || !off.LastSeen.Time().Equal(start.Add(-26*time.Hour)) ||
		off.RBACGroupID != 0 || off.RBACGroupName != nil {
		t.Errorf("fixture-offline machine: health %s lastSeen %s group %d %v", off.HealthStatus, off.LastSeen, off.RBACGroupID, off.RBACGroupName)
	}
}

func TestActionViewField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.submit(t, win1, runScript("ok.ps1"))
	for name, want := range map[string]any{
		"id": v.ID, "status": StatusPending, "machineId": win1, "type": "LiveResponse",
		"requestor": caller.Name, "computerDnsName": "win1.contoso.local",
		"creationDateTimeUtc": start, "lastUpdateDateTimeUtc": start, "title": nil,
	} {
		got := v.Field(name)
		if tm, ok := want.(time.Time); ok {
			if gt, ok := got.(time.Time); !ok || !gt.Equal(tm) {
				t.Errorf("Field(%s) = %v, want %v", name, got, want)
			}
			continue
		}
		if got != want {
			t.Errorf("Field(%s) = %v, want %v", name, got, want)
		}
	}
}
