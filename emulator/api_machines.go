package emulator

import (
	"iter"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/odata"
	"github.com/mdelive/mde-emulator/internal/state"
)

// machineSchema lists the machine properties that $filter and $orderby
// accept (the list of the service's "List machines" page).
var machineSchema = odata.NewSchema(
	odata.Field{Name: "computerDnsName", Type: odata.String},
	odata.Field{Name: "id", Type: odata.String},
	odata.Field{Name: "version", Type: odata.String},
	odata.Field{Name: "deviceValue", Type: odata.String},
	odata.Field{Name: "aadDeviceId", Type: odata.String},
	odata.Field{Name: "machineTags", Type: odata.StringCollection},
	odata.Field{Name: "lastSeen", Type: odata.DateTime},
	odata.Field{Name: "firstSeen", Type: odata.DateTime},
	odata.Field{Name: "exposureLevel", Type: odata.String},
	odata.Field{Name: "onboardingStatus", Type: odata.String},
	odata.Field{Name: "lastIpAddress", Type: odata.String},
	odata.Field{Name: "healthStatus", Type: odata.String},
	odata.Field{Name: "osPlatform", Type: odata.String},
	odata.Field{Name: "riskScore", Type: odata.String},
	odata.Field{Name: "rbacGroupId", Type: odata.Int},
)

// machineRecord adapts a machine to OData. Its view is built when first
// needed (a $filter or $orderby reads a field, or the machine is on the
// page): a list of a 400,000-machine fleet builds the views of its page,
// not of the fleet, and a record is 32 bytes until then.
type machineRecord struct {
	list *machineList
	i    int                // the machine's place in the tenant (state.Tenant.MachineAt), when m is nil
	m    *state.Machine     // nil: not read yet
	v    *state.MachineView // nil: not built yet
}

// machineList is what the records of one list share.
type machineList struct {
	t   *state.Tenant
	now time.Time
}

// view returns the machine's view at the list's instant.
func (r *machineRecord) view() *state.MachineView {
	if r.v == nil {
		if r.m == nil {
			r.m = r.list.t.MachineAt(r.i)
		}
		v := r.m.View(r.list.now)
		r.v = &v
	}
	return r.v
}

// Field returns the value of an OData-filterable property.
func (r *machineRecord) Field(name string) any {
	v := r.view()
	switch name {
	case "computerDnsName":
		return v.ComputerDNSName
	case "id":
		return v.ID
	case "version":
		return v.Version
	case "deviceValue":
		return v.DeviceValue
	case "aadDeviceId":
		if v.AADDeviceID == nil {
			return nil
		}
		return *v.AADDeviceID
	case "machineTags":
		return v.MachineTags
	case "lastSeen":
		return v.LastSeen.Time()
	case "firstSeen":
		return v.FirstSeen.Time()
	case "exposureLevel":
		return v.ExposureLevel
	case "onboardingStatus":
		return v.OnboardingStatus
	case "lastIpAddress":
		return v.LastIPAddress
	case "healthStatus":
		return v.HealthStatus
	case "osPlatform":
		return v.OSPlatform
	case "riskScore":
		return v.RiskScore
	case "rbacGroupId":
		return v.RBACGroupID
	}
	return nil
}

// listMachines serves GET /api/machines.
func (s *Server) listMachines(c echo.Context) error {
	q, err := odata.Parse(c.QueryParams(), machineSchema, odata.Options{MaxTop: maxPageSize})
	if err != nil {
		return odataError(err)
	}
	cl := caller(c)
	if err := cl.RequireViewData(); err != nil {
		return err
	}
	list := &machineList{t: s.tenant(c), now: s.clock.Now()}
	return writePageOf(s, c, q, list.records(cl), "Machines", func(r *machineRecord) state.MachineView { return *r.view() })
}

// records yields the machines cl sees as records, made as they are asked
// for: a page of a fleet of 400,000 makes its own and one more, not a
// record of each machine (BenchmarkListMachinesOfAFleet).
func (l *machineList) records(cl state.Caller) iter.Seq[*machineRecord] {
	return func(yield func(*machineRecord) bool) {
		if cl.SeesEveryMachine() {
			for i := range l.t.MachineCount() {
				if !yield(&machineRecord{list: l, i: i}) {
					return
				}
			}
			return
		}
		for m := range l.t.MachinesFor(cl) {
			if !yield(&machineRecord{list: l, m: m}) {
				return
			}
		}
	}
}

// getMachine serves GET /api/machines/{id}, by id or computer name.
func (s *Server) getMachine(c echo.Context) error {
	cl := caller(c)
	if err := cl.RequireViewData(); err != nil {
		return err
	}
	m, err := s.tenant(c).MachineFor(cl, c.Param("id"))
	if err != nil {
		return err
	}
	v := m.View(s.clock.Now())
	return s.writeJSON(c, http.StatusOK, machineEntity{odataContext(c, "Machines/$entity"), v})
}

// machineEntity is a machine as the body of a response about one machine:
// its @odata.context, then the machine's properties.
type machineEntity struct {
	ODataContext string `json:"@odata.context"`
	state.MachineView
}
