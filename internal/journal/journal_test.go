package journal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/mdelive/mde-emulator/internal/journal"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// seqs returns the Seq of each entry.
func seqs(es []journal.Entry) []uint64 {
	var out []uint64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

// span returns the Seqs from..to inclusive.
func span(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// sample is recorded in this order, so entry i gets Seq i+1.
var sample = []journal.Entry{
	{Time: t0, Method: "POST", Path: "/api/machines/m1/runliveresponse", TenantID: "tenant-a", AppID: "app-1", Status: 201, ActionID: "A1"},
	{Time: t0.Add(time.Second), Method: "GET", Path: "/api/machineactions/A1", TenantID: "tenant-a", AppID: "app-1", Status: 200, ActionID: "A1"},
	{Time: t0.Add(2 * time.Second), Method: "get", Path: "/api/machineactions/A1/GetLiveResponseResultDownloadLink(index=0)", TenantID: "tenant-a", AppID: "app-2", Status: 200, ActionID: "a1"},
	{Time: t0.Add(3 * time.Second), Method: "POST", Path: "/api/machines/m2/runliveresponse", TenantID: "tenant-b", AppID: "app-1", Status: 429, RetryAfter: "7", ErrorCode: "TooManyRequests"},
	{Time: t0.Add(4 * time.Second), Method: "POST", Path: "/API/machines/m1/runliveresponse", TenantID: "TENANT-A", AppID: "app-1", Status: 400, ErrorCode: "ActiveRequestAlreadyExists"},
	{Time: t0.Add(5 * time.Second), Method: "GET", Path: "/api/machines", TenantID: "tenant-b", AppID: "app-2", Status: 503, Fault: "f1"},
}

func recordSample(t *testing.T, j *journal.Journal) {
	t.Helper()
	for i, e := range sample {
		got := j.Record(e)
		if got.Seq != uint64(i+1) {
			t.Fatalf("Record #%d: Seq = %d, want %d", i, got.Seq, i+1)
		}
	}
}

func TestQueryFilters(t *testing.T) {
	t.Parallel()
	j := journal.New(0, 0)
	recordSample(t, j)

	tests := []struct {
		name string
		f    journal.Filter
		want []uint64
	}{
		{"zero filter", journal.Filter{}, span(1, 6)},
		{"method any case", journal.Filter{Method: "get"}, []uint64{2, 3, 6}},
		{"method post", journal.Filter{Method: "POST"}, []uint64{1, 4, 5}},
		{"path exact any case", journal.Filter{Path: "/api/machines/m1/runliveresponse"}, []uint64{1, 5}},
		{"path glob", journal.Filter{Path: "/api/machineactions/*"}, []uint64{2, 3}},
		{"path glob crosses slashes", journal.Filter{Path: "/api/*/runliveresponse"}, []uint64{1, 4, 5}},
		{"status", journal.Filter{Status: 429}, []uint64{4}},
		{"status class 2xx", journal.Filter{StatusClass: 2}, []uint64{1, 2, 3}},
		{"status class 4xx", journal.Filter{StatusClass: 4}, []uint64{4, 5}},
		{"status and class disagree", journal.Filter{Status: 429, StatusClass: 5}, nil},
		{"tenant any case", journal.Filter{TenantID: "Tenant-A"}, []uint64{1, 2, 3, 5}},
		{"app", journal.Filter{AppID: "app-2"}, []uint64{3, 6}},
		{"tenant and app", journal.Filter{TenantID: "tenant-b", AppID: "app-1"}, []uint64{4}},
		{"action any case", journal.Filter{ActionID: "A1"}, []uint64{1, 2, 3}},
		{"error code", journal.Filter{ErrorCode: "toomanyrequests"}, []uint64{4}},
		{"fault", journal.Filter{Fault: "f1"}, []uint64{6}},
		{"since inclusive", journal.Filter{Since: t0.Add(4 * time.Second)}, []uint64{5, 6}},
		{"until inclusive", journal.Filter{Until: t0.Add(time.Second)}, []uint64{1, 2}},
		{"since and until", journal.Filter{Since: t0.Add(2 * time.Second), Until: t0.Add(3 * time.Second)}, []uint64{3, 4}},
		{"after seq", journal.Filter{AfterSeq: 4}, []uint64{5, 6}},
		{"after seq beyond last", journal.Filter{AfterSeq: 99}, nil},
		{"limit keeps the most recent", journal.Filter{Limit: 2}, []uint64{5, 6}},
		{"limit with filter", journal.Filter{Method: "POST", Limit: 2}, []uint64{4, 5}},
		{"limit above matches", journal.Filter{StatusClass: 4, Limit: 10}, []uint64{4, 5}},
		{"limit and after seq", journal.Filter{AfterSeq: 1, Method: "get", Limit: 1}, []uint64{6}},
		{"no match", journal.Filter{Method: "DELETE"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := j.Query(tt.f)
			if diff := cmp.Diff(tt.want, seqs(got)); diff != "" {
				t.Errorf("Query(%+v) Seqs (-want +got):\n%s", tt.f, diff)
			}
			if n := j.Count(tt.f); n != len(tt.want) {
				t.Errorf("Count(%+v) = %d, want %d", tt.f, n, len(tt.want))
			}
			for _, e := range got {
				if !tt.f.Match(e) {
					t.Errorf("Match(%+v) = false for returned entry %d", tt.f, e.Seq)
				}
			}
		})
	}
}

func TestRecordReturnsStoredEntry(t *testing.T) {
	t.Parallel()
	j := journal.New(0, 0)
	in := sample[3]
	in.Seq = 42 // ignored: Record numbers entries itself
	in.Wall = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in.DurationMs = 1.5
	got := j.Record(in)
	want := in
	want.Seq = 1
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Record (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]journal.Entry{want}, j.Query(journal.Filter{})); diff != "" {
		t.Errorf("Query (-want +got):\n%s", diff)
	}
}

func TestQueryResultIsACopy(t *testing.T) {
	t.Parallel()
	j := journal.New(2, 0)
	j.Record(journal.Entry{Path: "/a"})
	got := j.Query(journal.Filter{})
	got[0].Path = "changed"
	j.Record(journal.Entry{Path: "/b"})
	j.Record(journal.Entry{Path: "/c"}) // overwrites /a in the ring
	if got[0].Path != "changed" || got[0].Seq != 1 {
		t.Errorf("earlier Query result changed: %+v", got[0])
	}
	if p := j.Query(journal.Filter{Path: "/a"}); len(p) != 0 {
		t.Errorf("Query returned %+v, want the caller's edit not stored and /a dropped", p)
	}
}

func TestEntryJSON(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(journal.Entry{Seq: 3, Time: t0, Wall: t0, Method: "GET", Path: "/api/machines", Status: 200, DurationMs: 2.5})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":3,"time":"2025-03-01T12:00:00Z","wallTime":"2025-03-01T12:00:00Z","method":"GET","path":"/api/machines","status":200,"durationMs":2.5}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

// TestFilterPath checks that Filter.Path is a glob (package glob tests
// the patterns themselves) and that an empty one matches any path.
func TestFilterPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"", "/x", true},
		{"/API/MachineActions/*", "/api/machineactions/x", true},
		{"/api/machineactions/*", "/api/machineactions", false},
		{"/api/*/runliveresponse", "/api/machines/m1/runliveresponse", true},
	}
	for _, tt := range tests {
		f := journal.Filter{Path: tt.pattern}
		if got := f.Match(journal.Entry{Path: tt.path}); got != tt.want {
			t.Errorf("Filter{Path: %q}.Match(%q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestRingKeepsTheLastEntries(t *testing.T) {
	t.Parallel()
	j := journal.New(5, 0)
	for i := range 12 {
		j.Record(journal.Entry{Status: 200 + i%2})
	}
	if diff := cmp.Diff(span(8, 12), seqs(j.Query(journal.Filter{}))); diff != "" {
		t.Errorf("Query Seqs (-want +got):\n%s", diff)
	}
	want := journal.Stats{Capacity: 5, Len: 5, Recorded: 12, Dropped: 7}
	if diff := cmp.Diff(want, j.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	// Filters still work across the ring's wrap point.
	for _, tc := range []struct {
		f    journal.Filter
		want []uint64
	}{
		{journal.Filter{Status: 201}, []uint64{8, 10, 12}},
		{journal.Filter{AfterSeq: 9}, []uint64{10, 11, 12}},
		{journal.Filter{AfterSeq: 3}, span(8, 12)},
		{journal.Filter{Limit: 3}, span(10, 12)},
		{journal.Filter{Status: 200, Limit: 1}, []uint64{11}},
	} {
		if diff := cmp.Diff(tc.want, seqs(j.Query(tc.f))); diff != "" {
			t.Errorf("Query(%+v) Seqs (-want +got):\n%s", tc.f, diff)
		}
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	j := journal.New(-1, 0)
	if got := j.BodyCap(); got != journal.DefaultBodyCap {
		t.Errorf("BodyCap = %d, want %d", got, journal.DefaultBodyCap)
	}
	if got := j.Stats().Capacity; got != journal.DefaultCapacity {
		t.Errorf("Capacity = %d, want %d", got, journal.DefaultCapacity)
	}
	big := strings.Repeat("x", journal.DefaultBodyCap+1)
	if got := j.Record(journal.Entry{RequestBody: big}); len(got.RequestBody) != journal.DefaultBodyCap || !got.BodyTruncated {
		t.Errorf("body of %d bytes stored as %d bytes, truncated %v; want %d, true",
			len(big), len(got.RequestBody), got.BodyTruncated, journal.DefaultBodyCap)
	}
}

func TestBodyCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
		truncated        bool
	}{
		{"empty", "", "", false},
		{"short", "{}", "{}", false},
		{"exactly the cap", "12345678", "12345678", false},
		{"over the cap", "1234567890", "12345678", true},
		{"cut before a split character", "1234567é9", "1234567", true}, // é is 2 bytes at 7..8
		{"multibyte fits", "123456é", "123456é", false},
		{"not UTF-8", "1234567\x80\x80\x80\x80", "1234567\x80", true},
		{"4-byte character split", "12345😀", "12345", true},
		{"4-byte character fits", "1234😀9", "1234😀", true},
		{"invalid lead byte", "1234567\xf0\x41", "1234567\xf0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := journal.New(0, 8)
			got := j.Record(journal.Entry{RequestBody: tt.body})
			want := journal.Entry{Seq: 1, RequestBody: tt.want, BodyTruncated: tt.truncated}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Record (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClear(t *testing.T) {
	t.Parallel()
	j := journal.New(3, 0)
	for range 4 {
		j.Record(journal.Entry{Method: "GET"})
	}
	j.Clear()
	if got := j.Query(journal.Filter{}); len(got) != 0 {
		t.Errorf("Query after Clear = %v, want none", seqs(got))
	}
	if diff := cmp.Diff(journal.Stats{Capacity: 3, Len: 0, Recorded: 4, Dropped: 1}, j.Stats()); diff != "" {
		t.Errorf("Stats after Clear (-want +got):\n%s", diff)
	}
	// Seq keeps increasing, and the ring fills and wraps again.
	for range 4 {
		j.Record(journal.Entry{Method: "GET"})
	}
	if diff := cmp.Diff([]uint64{6, 7, 8}, seqs(j.Query(journal.Filter{}))); diff != "" {
		t.Errorf("Query after Clear and 4 Records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{8}, seqs(j.Query(journal.Filter{AfterSeq: 7}))); diff != "" {
		t.Errorf("Query AfterSeq 7 (-want +got):\n%s", diff)
	}
}

func TestWaitAlreadySatisfied(t *testing.T) {
	t.Parallel()
	j := journal.New(0, 0)
	recordSample(t, j)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a satisfied wait succeeds even with a done context
	got, err := j.Wait(ctx, journal.Filter{Method: "POST"}, 3)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if diff := cmp.Diff([]uint64{1, 4, 5}, seqs(got)); diff != "" {
		t.Errorf("Wait Seqs (-want +got):\n%s", diff)
	}
	got, err = j.Wait(ctx, journal.Filter{Method: "POST", Limit: 1}, 2)
	if err != nil {
		t.Fatalf("Wait with Limit: %v", err)
	}
	if diff := cmp.Diff([]uint64{5}, seqs(got)); diff != "" {
		t.Errorf("Wait with Limit Seqs (-want +got):\n%s", diff)
	}
	got, err = j.Wait(ctx, journal.Filter{Method: "DELETE"}, 0)
	if err != nil || len(got) != 0 {
		t.Errorf("Wait count 0 = %v, %v; want none, nil", seqs(got), err)
	}
}

func TestWaitCountOverCapacity(t *testing.T) {
	t.Parallel()
	j := journal.New(2, 0)
	j.Record(journal.Entry{})
	got, err := j.Wait(context.Background(), journal.Filter{}, 3)
	if !errors.Is(err, journal.ErrCountOverCapacity) {
		t.Errorf("Wait error = %v, want ErrCountOverCapacity", err)
	}
	if diff := cmp.Diff([]uint64{1}, seqs(got)); diff != "" {
		t.Errorf("Wait Seqs (-want +got):\n%s", diff)
	}
}

func TestWaitConcurrentRecords(t *testing.T) {
	t.Parallel()
	const writers, perWriter = 20, 50
	j := journal.New(4*writers*perWriter, 0)
	want := journal.Filter{Method: "POST", Path: "/api/machines/*/runliveresponse"}

	type result struct {
		es  []journal.Entry
		err error
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	waits := map[int]chan result{} // wait count → result
	for _, n := range []int{1, 500, writers * perWriter} {
		ch := make(chan result, 1)
		waits[n] = ch
		go func() {
			es, err := j.Wait(ctx, want, n)
			ch <- result{es, err}
		}()
	}
	// One waiter that the traffic never satisfies.
	never := make(chan result, 1)
	neverCtx, neverCancel := context.WithCancel(ctx)
	go func() {
		es, err := j.Wait(neverCtx, journal.Filter{Method: "DELETE"}, 1)
		never <- result{es, err}
	}()

	// Start writing once every Wait sleeps, so they are woken by Record
	// rather than satisfied by their first count.
	for j.Stats().Waiters < 4 {
		runtime.Gosched()
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				j.Record(journal.Entry{Method: "GET", Path: "/api/machineactions/x"}) // noise
				j.Record(journal.Entry{Method: "POST", Path: fmt.Sprintf("/api/machines/m%d/runliveresponse", w), Status: 201 + i})
			}
		})
	}
	wg.Wait()

	for n, ch := range waits {
		r := <-ch
		if r.err != nil {
			t.Fatalf("Wait(count %d): %v", n, r.err)
		}
		if len(r.es) < n {
			t.Errorf("Wait(count %d) returned %d entries", n, len(r.es))
		}
		for i, e := range r.es {
			if !want.Match(e) {
				t.Errorf("Wait(count %d) returned non-matching entry %+v", n, e)
			}
			if i > 0 && e.Seq <= r.es[i-1].Seq {
				t.Errorf("Wait(count %d) entries out of order: %d after %d", n, e.Seq, r.es[i-1].Seq)
			}
		}
	}
	select {
	case r := <-never:
		t.Fatalf("Wait for DELETE returned early: %v, %v", seqs(r.es), r.err)
	default:
	}
	neverCancel()
	if r := <-never; !errors.Is(r.err, context.Canceled) || len(r.es) != 0 {
		t.Errorf("Wait for DELETE = %v, %v; want none, context.Canceled", seqs(r.es), r.err)
	}
	if got := j.Stats(); got.Recorded != 2*writers*perWriter || got.Waiters != 0 {
		t.Errorf("Stats = %+v, want Recorded %d and no waiters", got, 2*writers*perWriter)
	}
}

// waitAsync starts j.Wait in a goroutine; the result arrives on the channel.
func waitAsync(ctx context.Context, j *journal.Journal, f journal.Filter, count int) <-chan waitResult {
	ch := make(chan waitResult, 1)
	go func() {
		es, err := j.Wait(ctx, f, count)
		ch <- waitResult{seqs(es), err}
	}()
	return ch
}

type waitResult struct {
	Seqs []uint64
	Err  error
}

// pending fails the test if ch already holds a result.
func pending(t *testing.T, ch <-chan waitResult, when string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s: Wait returned %v, %v; want it still asleep", when, r.Seqs, r.Err)
	default:
	}
}

func TestWaitTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := journal.New(0, 0)
		j.Record(journal.Entry{Status: 429})
		j.Record(journal.Entry{Status: 200})
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		got, err := j.Wait(ctx, journal.Filter{Status: 429}, 2)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait error = %v, want context.DeadlineExceeded", err)
		}
		if diff := cmp.Diff([]uint64{1}, seqs(got)); diff != "" {
			t.Errorf("Wait partial Seqs (-want +got):\n%s", diff)
		}
		if waited := time.Since(start); waited != 20*time.Millisecond {
			t.Errorf("Wait took %v, want 20ms", waited)
		}
		if n := j.Stats().Waiters; n != 0 {
			t.Errorf("Waiters after timeout = %d, want 0", n)
		}
	})
}

func TestWaitSleepsUntilMatch(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := journal.New(0, 0)
		j.Record(journal.Entry{Method: "POST", Status: 201}) // Seq 1, before the cursor
		f := journal.Filter{Method: "POST", AfterSeq: j.Stats().Recorded}
		ch := waitAsync(t.Context(), j, f, 2)
		synctest.Wait()
		if n := j.Stats().Waiters; n != 1 {
			t.Fatalf("Waiters = %d, want 1", n)
		}
		for range 10 {
			j.Record(journal.Entry{Method: "GET", Status: 200})
		}
		synctest.Wait()
		pending(t, ch, "after 10 GETs")
		j.Record(journal.Entry{Method: "POST"}) // Seq 12
		synctest.Wait()
		pending(t, ch, "after 1 POST")
		j.Record(journal.Entry{Method: "GET"})
		j.Record(journal.Entry{Method: "post"}) // Seq 14
		synctest.Wait()
		select {
		case r := <-ch:
			if diff := cmp.Diff(waitResult{Seqs: []uint64{12, 14}}, r, cmp.Comparer(func(a, b error) bool { return a == b })); diff != "" {
				t.Errorf("Wait (-want +got):\n%s", diff)
			}
		default:
			t.Fatal("Wait still asleep after the second matching POST")
		}
	})
}

func TestWaitCountsOnlyEntriesStillInTheJournal(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := journal.New(3, 0)
		hit, miss := journal.Entry{Status: 429}, journal.Entry{Status: 200}
		j.Record(hit) // Seq 1
		ch := waitAsync(t.Context(), j, journal.Filter{Status: 429}, 2)
		synctest.Wait()
		pending(t, ch, "after 1 hit")
		j.Record(miss)
		j.Record(miss)
		j.Record(miss) // overwrites Seq 1
		j.Record(hit)  // Seq 5: one hit in the journal again
		synctest.Wait()
		pending(t, ch, "after the first hit was overwritten")

		j.Clear()
		j.Record(hit) // Seq 6: the only hit after Clear
		synctest.Wait()
		pending(t, ch, "after Clear and 1 hit")
		j.Record(hit) // Seq 7
		synctest.Wait()
		select {
		case r := <-ch:
			if r.Err != nil {
				t.Fatalf("Wait: %v", r.Err)
			}
			if diff := cmp.Diff([]uint64{6, 7}, r.Seqs); diff != "" {
				t.Errorf("Wait Seqs (-want +got):\n%s", diff)
			}
		default:
			t.Fatal("Wait still asleep after two hits")
		}
	})
}

func TestWaitCancelRemovesWaiter(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		j := journal.New(0, 0)
		ctx, cancel := context.WithCancel(t.Context())
		ch := waitAsync(ctx, j, journal.Filter{Fault: "f1"}, 1000)
		other := waitAsync(t.Context(), j, journal.Filter{}, 1)
		synctest.Wait()
		if n := j.Stats().Waiters; n != 2 {
			t.Fatalf("Waiters = %d, want 2", n)
		}
		cancel()
		synctest.Wait()
		if r := <-ch; !errors.Is(r.Err, context.Canceled) {
			t.Errorf("Wait error = %v, want context.Canceled", r.Err)
		}
		if n := j.Stats().Waiters; n != 1 {
			t.Errorf("Waiters after cancel = %d, want 1", n)
		}
		j.Record(journal.Entry{})
		synctest.Wait()
		if r := <-other; r.Err != nil || len(r.Seqs) != 1 {
			t.Errorf("other Wait = %v, %v; want [1], nil", r.Seqs, r.Err)
		}
	})
}

// Path, Query, TenantID and AppID are kept to FieldCap bytes, at a UTF-8
// boundary, and the entry says it was cut; shorter ones are kept whole.
func TestRecordCutsLongFields(t *testing.T) {
	j := journal.New(4, 0)
	long := strings.Repeat("é", journal.FieldCap) // two bytes each: the cut falls on a boundary
	got := j.Record(journal.Entry{Path: "/" + long, Query: "q", TenantID: long, AppID: "app"})
	if !got.URLTruncated || len(got.Path) > journal.FieldCap || len(got.TenantID) != journal.FieldCap || !utf8.ValidString(got.Path) {
		t.Errorf("cut entry: path %d bytes (valid %v), tenant %d, urlTruncated %v", len(got.Path), utf8.ValidString(got.Path), len(got.TenantID), got.URLTruncated)
	}
	if got.Query != "q" || got.AppID != "app" {
		t.Errorf("short fields changed: %q %q", got.Query, got.AppID)
	}
	if e := j.Record(journal.Entry{Path: "/api/machines"}); e.URLTruncated || e.Path != "/api/machines" {
		t.Errorf("short entry: %+v", e)
	}
}
