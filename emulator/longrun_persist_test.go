package emulator_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/persist"
)

// storeRunDays is how many emulated days TestLongRunStoreIsBounded plays;
// from longRunSettled on (the retention and the machine's 16 PutFile
// files at their steady size) the state is the same size every day, and
// the store compacts every two to three days.
const storeRunDays = 28

// storeRunCompactAfter is TestLongRunStoreIsBounded's compaction
// threshold: a little more than the 77 records of a day of longRunDay's
// work, so that the first compaction comes on day 2. Past it, the rule
// of twice the snapshot's actions (about 85 kept) paces them.
const storeRunCompactAfter = 100

// storeRunSlopeBound is how much the part of the store's file in use may
// grow per emulated day over the settled days. Measured: 0 in most runs
// (1.28–1.30 MiB from day 15 on, five compactions to day 28; 80 days
// stayed flat too). bbolt writes the snapshot record (137 KB, 34 pages)
// in one run of free pages: when a snapshot is a little larger than any
// run the pages freed before it left, the part in use grows by one
// snapshot, 133 KiB, once. That was seen in 2 of about 20 runs, both under
// -race on one CPU (GOMAXPROCS=1): one on day 25 of 80, flat after. One
// such step in the middle of the settled days makes a trend of about
// 15 KiB a day; the bound allows two. Without compaction the part in use
// grows by the day's log, 392 KiB a day; with compaction but no
// retention by age (RetainFor -1), by 101 KiB a day.
const storeRunSlopeBound = 32 << 10

// TestLongRunStoreIsBounded plays storeRunDays emulated days of
// TestLongRunMemoryIsFlat's daily work (longRunDay) on an emulator with a
// data directory and a small compaction threshold (storeRunCompactAfter),
// as a week-long training room with --data-dir does: the store must not
// fill the disk. After each day, once the background compaction (if any)
// has ended and every change is durable, it reads the store's file: its
// size, and the part bbolt uses (persist.Store.InUse, its high-water
// mark: the file is grown in doublings up to 16 MiB, and its free pages
// are reused), and how many records the current log holds. It checks that
// compactions happened in the settled days; that the file did not grow
// over the last third of the days past what it reached in the middle
// third; and that the part in use stopped growing once the state reached
// its steady size (trend over the days from longRunSettled on, bound
// storeRunSlopeBound). Then the emulator is closed and restarted from the
// same directory: it holds the same actions, and the last one answers.
//
// Measured on a 2-core VM: the log takes 77 records a day; the part in
// use rises to 1.29 MiB by day 15 (the state grows to its steady size)
// and stays there to day 28 (trend 0), the file at 2 MiB from day 10 at
// the latest; five compactions from day 16. With compaction off
// (MaxDataCompactAfter) the part in use grows by 392 KiB a day (10.8 MiB
// on day 28, the file 16 MiB from day 21) and the test fails. It runs with MDE_SLOW_TESTS=1,
// in about 22 s under -race, 5–8 s without.
func TestLongRunStoreIsBounded(t *testing.T) {
	if os.Getenv("MDE_SLOW_TESTS") == "" {
		t.Skip("slow: set MDE_SLOW_TESTS=1")
	}
	dir := t.TempDir()
	opts := func(o *emulator.Options) {
		o.JournalSize = 1000
		o.Data = dir
		o.DataCompactAfter = storeRunCompactAfter
	}
	e := newEnv(t, opts)
	path := filepath.Join(dir, persist.FileName)
	size := make([]uint64, storeRunDays+1)  // the file's size
	inUse := make([]uint64, storeRunDays+1) // bbolt's high-water mark
	logLen := make([]int, storeRunDays+1)
	compactions := 0 // in the settled days: days whose log is shorter than the day before's
	for day := 1; day <= storeRunDays; day++ {
		dayStart := e.srv.Clock().Now()
		e.longRunDay(day)
		if spent := e.srv.Clock().Now().Sub(dayStart); spent < 24*time.Hour {
			e.advance(24*time.Hour - spent)
		}
		logLen[day] = settledStoreLog(t, e.srv)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		used, err := e.srv.StoreInUse()
		if err != nil {
			t.Fatal(err)
		}
		size[day], inUse[day] = uint64(fi.Size()), uint64(used)
		if day > longRunSettled && logLen[day] < logLen[day-1] {
			compactions++
		}
		if day%5 == 0 {
			t.Logf("day %d: file %.2f MiB, in use %.3f MiB, log %d records", day, float64(size[day])/(1<<20), float64(inUse[day])/(1<<20), logLen[day])
		}
	}
	third := storeRunDays / 3
	middle, last := slices.Max(size[third+1:2*third+1]), slices.Max(size[2*third+1:])
	slope := trend(inUse[longRunSettled:])
	t.Logf("days %d to %d: in use %.3f → %.3f MiB, trend %+.2f KiB a day (bound %d KiB); file at most %.2f MiB on days %d–%d, %.2f MiB on days %d–%d; %d compactions",
		longRunSettled, storeRunDays, float64(inUse[longRunSettled])/(1<<20), float64(inUse[storeRunDays])/(1<<20), slope/(1<<10), storeRunSlopeBound>>10,
		float64(middle)/(1<<20), third+1, 2*third, float64(last)/(1<<20), 2*third+1, storeRunDays, compactions)
	if compactions < 3 {
		t.Errorf("%d compactions from day %d to day %d (threshold %d): the store did not compact itself", compactions, longRunSettled, storeRunDays, storeRunCompactAfter)
	}
	// bbolt grows the file in doublings (in 16 MiB steps past 16 MiB):
	// any growth is a step, so no factor.
	if last > middle {
		t.Errorf("the store's file grew to %.2f MiB on days %d–%d, from at most %.2f MiB on days %d–%d", float64(last)/(1<<20), 2*third+1, storeRunDays,
			float64(middle)/(1<<20), third+1, 2*third)
	}
	if slope > storeRunSlopeBound {
		t.Errorf("the store's part in use grows by %.1f KiB a day of the same work (bound %d KiB): the log is not compacted, or a snapshot keeps what retention forgot",
			slope/(1<<10), storeRunSlopeBound>>10)
	}

	// The bounded store is a correct one: restarted from it, the emulator
	// holds the same actions (those of the snapshot and of the log after
	// it), and one made after the run answers as it did.
	e.token = e.mint(`{}`) // the day's token has expired
	id := e.submit(winMachine, runScriptThenGetFile)
	e.advance(2 * time.Minute)
	want := e.action(id).Status
	before := e.api("GET", "/api/machineactions", "")
	settledStoreLog(t, e.srv)
	e.srv.Close()
	r := newEnv(t, opts)
	if !r.srv.Restored() {
		t.Fatal("the emulator did not restart from its store")
	}
	got := r.api("GET", "/api/machineactions/"+id, "")
	if got.status != http.StatusOK {
		t.Fatalf("after the restart, GET the last action: %d %s", got.status, got.body)
	}
	var a struct{ Status string }
	if got.decode(&a); a.Status != want {
		t.Errorf("after the restart, the last action is %s, was %s", a.Status, want)
	}
	if after := r.api("GET", "/api/machineactions", ""); after.status != before.status || string(after.body) != string(before.body) {
		t.Errorf("after the restart the actions differ:\n%s\nwere\n%s", after.body, before.body)
	}
}

// settledStoreLog waits until no compaction of srv's store runs (one the
// day's changes started in the background: it ends once its generation is
// durable; every change was durable when it was answered) and returns the
// records of its current log.
func settledStoreLog(t *testing.T, srv *emulator.Server) int {
	t.Helper()
	for range 30_000 { // 30 s at least: a compaction of this state takes milliseconds
		n, compacting, err := srv.StoreLog()
		if err != nil {
			t.Fatal(err)
		}
		if !compacting {
			return n
		}
		_ = clock.SleepWall(t.Context(), time.Millisecond)
	}
	t.Fatal("a compaction of the store did not end")
	return 0
}
