package emulator

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/odata"
	"github.com/mdelive/mde-emulator/internal/state"
)

// TestActionsIndexMatchesScan holds the list's machine index to the scan
// it replaces: for random $filter, $orderby, $top and $skip over actions
// in every status, some forgotten by the retention, the page read through
// actionsFor is the page read from every action.
func TestActionsIndexMatchesScan(t *testing.T) {
	set, err := fixture.Parse("index.yaml", []byte(`
tenants:
- id: 11111111-1111-1111-1111-111111111111
  generateMachines: 12
  library:
  - fileName: ok.ps1
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := limits.Lookup("unlimited")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, time.March, 1, 10, 0, 0, 0, time.UTC)
	clk := clock.New(start, clock.Manual, 1)
	defer clk.Close()
	s := state.New(clk, p, set)
	s.SetRetention(state.Retention{MaxActions: 120})
	ten := s.Tenants()[0]
	ms := slices.Collect(ten.Machines())
	cl := state.Caller{TenantID: ten.ID, AppID: "app", Name: "App"}
	other := state.Caller{TenantID: ten.ID, AppID: "app2", Name: "Other"}
	rng := rand.New(rand.NewPCG(5, 6))
	req := state.SubmitRequest{Commands: []state.Command{{Type: state.RunScript, Params: []state.Param{{Key: "ScriptName", Value: "ok.ps1"}}}}}
	made := 0
	for range 400 {
		c := cl
		if rng.IntN(3) == 0 {
			c = other
		}
		v, err := ten.Submit(c, ms[rng.IntN(len(ms))].ID(), req)
		if err == nil {
			made++
			if rng.IntN(3) == 0 {
				_, _ = ten.Cancel(cl, v.ID, "x")
			}
		}
		clk.Advance(time.Duration(rng.IntN(3)) * time.Second)
	}
	if n := len(ten.Actions()); n > 120+len(ms) || n >= made {
		t.Fatalf("%d of %d actions kept, want at most 120 finished and the live", n, made)
	}

	ids := func(views []*state.ActionView) []string {
		out := make([]string, len(views))
		for i, v := range views {
			out[i] = v.ID
		}
		return out
	}
	ptrs := func(all []state.ActionView) []*state.ActionView {
		out := make([]*state.ActionView, len(all))
		for i := range all {
			out[i] = &all[i]
		}
		return out
	}
	recordIDs := func(recs []*actionRecord) []string {
		out := make([]string, len(recs))
		for i, r := range recs {
			out[i] = r.view().ID
		}
		return out
	}
	indexed := 0
	for i := range 3000 {
		v := url.Values{"$filter": {randomActionFilter(rng, ms, start, 3)}}
		if rng.IntN(3) == 0 {
			v.Set("$orderby", []string{"machineId", "status desc", "creationDateTimeUtc", "requestor,lastUpdateDateTimeUtc desc"}[rng.IntN(4)])
		}
		if rng.IntN(3) == 0 {
			v.Set("$top", fmt.Sprint(rng.IntN(10)))
		}
		if rng.IntN(3) == 0 {
			v.Set("$skip", fmt.Sprint(rng.IntN(10)))
		}
		if rng.IntN(4) == 0 {
			v.Set("$count", "true")
		}
		q, err := odata.Parse(v, actionSchema, odata.Options{MaxTop: maxPageSize, PageSize: 7})
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		if _, ok := q.Equals("machineId"); ok {
			indexed++
		}
		// The list as listMachineActions pages it: read as it is asked
		// for, each action's snapshot taken when read.
		got := odata.ApplySeq(q, actionRecords(actionsFor(ten, cl, q)))
		want := odata.Apply(q, ptrs(ten.ActionsFor(cl)))
		exactCount := q.Count() || v.Get("$orderby") != ""
		if !slices.Equal(recordIDs(got.Items), ids(want.Items)) || (exactCount && got.Count != want.Count) || got.More != want.More ||
			got.NextQuery(v) != want.NextQuery(v) {
			t.Fatalf("case %d, %v:\n index %v (count %d, more %v)\n scan  %v (count %d, more %v)",
				i, v, recordIDs(got.Items), got.Count, got.More, ids(want.Items), want.Count, want.More)
		}
	}
	if indexed < 300 {
		t.Errorf("only %d of the filters took the index", indexed)
	}
}

// randomActionFilter returns a random $filter over machine actions,
// weighted towards machineId equalities.
func randomActionFilter(rng *rand.Rand, ms []*state.Machine, start time.Time, depth int) string {
	id := func() string {
		if rng.IntN(8) == 0 {
			return "0000000000000000000000000000000000000000"
		}
		s := ms[rng.IntN(len(ms))].ID()
		if rng.IntN(3) == 0 {
			s = strings.ToUpper(s)
		}
		return s
	}
	leaf := func() string {
		switch rng.IntN(9) {
		case 0, 1, 2:
			return "machineId eq '" + id() + "'"
		case 3:
			var vals []string
			for range rng.IntN(4) {
				vals = append(vals, "'"+id()+"'")
			}
			if rng.IntN(6) == 0 {
				vals = append(vals, "null")
			}
			return "machineId in (" + strings.Join(vals, ",") + ")"
		case 4:
			return "machineId ne '" + id() + "'"
		case 5:
			return "status eq '" + []string{"Succeeded", "cancelled", "Pending", "InProgress"}[rng.IntN(4)] + "'"
		case 6:
			return "requestor eq '" + []string{"App", "other"}[rng.IntN(2)] + "'"
		case 7:
			return "creationDateTimeUtc ge " + start.Add(time.Duration(rng.IntN(600))*time.Second).Format(time.RFC3339)
		default:
			return "startswith(machineId,'" + id()[:rng.IntN(3)] + "')"
		}
	}
	if depth == 0 || rng.IntN(3) == 0 {
		return leaf()
	}
	l, r := randomActionFilter(rng, ms, start, depth-1), randomActionFilter(rng, ms, start, depth-1)
	switch rng.IntN(5) {
	case 0, 1:
		return l + " and " + r
	case 2:
		return "(" + l + ") and (" + r + ")"
	case 3:
		return "(" + l + " or " + r + ")"
	default:
		return "not (" + l + ")"
	}
}

// The options' count of kept actions brings its bound of bytes along
// (state.BytesFor); no count bound, no bytes bound.
func TestRetentionForOptions(t *testing.T) {
	for _, c := range []struct {
		opts Options
		want state.Retention
	}{
		{Options{}, state.DefaultRetention},
		{Options{RetainActions: 1_000_000}, state.Retention{MaxActions: 1_000_000, MaxAge: state.DefaultRetention.MaxAge, MaxBytes: 1_000_000 * state.BytesPerKeptAction}},
		{Options{RetainActions: -1, RetainFor: -1}, state.Retention{}},
		{Options{RetainFor: time.Hour}, state.Retention{MaxActions: 100_000, MaxAge: time.Hour, MaxBytes: state.BytesFor(100_000)}},
	} {
		if got := retentionFor(c.opts); got != c.want {
			t.Errorf("retentionFor(%+v) = %+v, want %+v", c.opts, got, c.want)
		}
	}
}
