package state

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// BenchmarkQueued10000Actions3Days queues one action on each of 10,000
// offline machines and times the one Advance of 72 hours that ends them
// all TimeOut.
func BenchmarkQueued10000Actions3Days(b *testing.B) {
	const n = 10_000
	set := parseFixture(b, fmt.Sprintf("tenants:\n- id: %s\n  generateMachines: %d\n  library:\n  - fileName: ok.ps1\n", contosoID, n)).Expanded()
	for i := range set.Tenants[0].Machines {
		set.Tenants[0].Machines[i].Offline = true
	}
	p := profile(b, "unlimited")
	req := SubmitRequest{Commands: []Command{runScript("ok.ps1")}}
	b.ReportAllocs()
	b.StopTimer()
	for range b.N {
		clk := clock.New(start, clock.Manual, 1)
		s := New(clk, p, set)
		ten := s.Tenants()[0]
		for _, m := range machinesOf(ten) {
			if _, err := ten.Submit(caller, m.ID(), req); err != nil {
				b.Fatal(err)
			}
		}

		b.StartTimer()
		clk.Advance(72 * time.Hour)
		b.StopTimer()

		if got := ten.Sessions(); got != 0 {
			b.Fatalf("Sessions() = %d after 72h, want 0", got)
		}
		for _, v := range ten.Actions() {
			if v.Status != StatusTimeOut || !v.LastUpdateDateTimeUtc.Time().Equal(start.Add(72*time.Hour)) {
				b.Fatalf("action %s is %s at %s, want TimeOut at 72h", v.ID, v.Status, v.LastUpdateDateTimeUtc)
			}
		}
		clk.Close()
	}
}

// BenchmarkSubmit submits in parallel, each goroutine on machines of its
// own. To reuse machines, each goroutine cancels its actions after every
// round over its machines, so an op is one Submit plus one Cancel.
func BenchmarkSubmit(b *testing.B) {
	const perWorker = 64
	workers := runtime.GOMAXPROCS(0)
	e := generatedEnv(b, workers*perWorker, profile(b, "unlimited"))
	ms := machinesOf(e.ten)
	req := SubmitRequest{Commands: []Command{runScript("ok.ps1"), getFile(reportPath)}}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := int(next.Add(1) - 1)
		mine := ms[w*perWorker : (w+1)*perWorker]
		ids := make([]string, 0, perWorker)
		for pb.Next() {
			if len(ids) == perWorker {
				for _, id := range ids {
					if _, err := e.ten.Cancel(canceller, id, ""); err != nil {
						b.Error(err)
						return
					}
				}
				ids = ids[:0]
			}
			v, err := e.ten.Submit(caller, mine[len(ids)].ID(), req)
			if err != nil {
				b.Error(err)
				return
			}
			ids = append(ids, v.ID)
		}
	})
}
