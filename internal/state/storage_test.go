package state

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// A tenant's library holds at most MaxLibraryFiles files; a replacement
// still goes in when it is full, and a delete makes room.
func TestLibraryFileCountBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lib := e.ten.Library()
	for i := len(lib.List()); i < MaxLibraryFiles; i++ {
		if _, err := lib.Put(Upload{FileName: fmt.Sprintf("f%04d.ps1", i), Content: []byte("x")}, start); err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	_, err := lib.Put(Upload{FileName: "one-more.ps1", Content: []byte("x")}, start)
	checkErr(t, err, apierr.BadRequest, fmt.Sprintf("The library holds %d files", MaxLibraryFiles))
	if _, err := lib.Put(Upload{FileName: "F0999.ps1", Content: []byte("y"), OverrideIfExists: true}, start); err != nil {
		t.Errorf("a replacement in a full library: %v", err)
	}
	if err := lib.Delete("f0999.ps1"); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Put(Upload{FileName: "one-more.ps1", Content: []byte("x")}, start); err != nil {
		t.Errorf("after a delete: %v", err)
	}
}

// A tenant's files hold at most MaxTenantStorage bytes; a replacement
// counts only its difference, and a delete gives its bytes back.
func TestLibraryBytesBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lib := e.ten.Library()
	used := e.ten.StorageUsed()
	big := make([]byte, MaxLibraryFileSize)
	n := int((MaxTenantStorage - used) / MaxLibraryFileSize)
	each := int64(MaxLibraryFileSize + len("big00.bin")) // the content and the name
	for i := range n {
		if _, err := lib.Put(Upload{FileName: fmt.Sprintf("big%02d.bin", i), Content: big}, start); err != nil {
			t.Fatalf("file %d of %d: %v", i, n, err)
		}
	}
	if got, want := e.ten.StorageUsed(), used+int64(n)*each; got != want {
		t.Fatalf("StorageUsed = %d, want %d", got, want)
	}
	_, err := lib.Put(Upload{FileName: "one-more.bin", Content: big}, start)
	checkErr(t, err, apierr.BadRequest, fmt.Sprintf("of the %d the emulator keeps for a tenant", MaxTenantStorage))
	// The same size again in place of one: it fits.
	if _, err := lib.Put(Upload{FileName: "big00.bin", Content: big, OverrideIfExists: true}, start); err != nil {
		t.Errorf("a replacement of the same size: %v", err)
	}
	if err := lib.Delete("big01.bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Put(Upload{FileName: "one-more.bin", Content: big}, start); err != nil {
		t.Errorf("after a delete: %v", err)
	}
	if got, want := e.ten.StorageUsed(), used+int64(n)*each+int64(len("one-more.bin")-len("big01.bin")); got != want {
		t.Errorf("StorageUsed = %d after the delete and the upload, want %d", got, want)
	}
}

// The files of all tenants of a world hold at most MaxStorage bytes, and
// a tenant removed gives its bytes back.
func TestStorageWorldBound(t *testing.T) {
	t.Parallel()
	var total atomic.Int64
	var tenants []*storage
	for range MaxStorage / MaxTenantStorage {
		s := newStorage(&total)
		s.mu.Lock()
		if !s.reserveLocked(MaxTenantStorage) {
			t.Fatalf("tenant %d: its own bound refused", len(tenants))
		}
		s.mu.Unlock()
		tenants = append(tenants, s)
	}
	late := newStorage(&total)
	late.mu.Lock()
	if late.reserveLocked(1) || total.Load() != MaxStorage {
		t.Errorf("a byte past MaxStorage was taken (total %d)", total.Load())
	}
	if err := late.storageFull(1); !strings.Contains(err.Error(), "of all tenants") {
		t.Errorf("storageFull = %v, want the world's bound named", err)
	}
	late.mu.Unlock()
	tenants[0].close()
	tenants[0].close() // once only
	late.mu.Lock()
	if !late.reserveLocked(1) || total.Load() != MaxStorage-MaxTenantStorage+1 {
		t.Errorf("after a removal: total %d", total.Load())
	}
	late.mu.Unlock()
}

// A file PutFile copied counts while the machine holds it, even once the
// library no longer has it, and while the result of a GetFile of it is
// kept; a machine keeps the last MaxPutFilesPerMachine files put.
func TestStorageCountsPutFiles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lib := e.ten.Library()
	content := []byte(strings.Repeat("T", 1<<20))
	if _, err := lib.Put(Upload{FileName: "tool.exe", Content: content, OverrideIfExists: true}, start); err != nil {
		t.Fatal(err)
	}
	used := e.ten.StorageUsed()
	v, ok := lib.Get("tool.exe")
	if !ok {
		t.Fatal("no tool.exe in the library")
	}
	tool := v.storageBytes() // what the version deleted below counts
	a := e.submit(t, win1, putFile("tool.exe"))
	e.at(time.Minute)
	if v := e.view(t, a.ID); v.Status != StatusSucceeded {
		t.Fatalf("PutFile: %s", v.Status)
	}
	if err := lib.Delete("tool.exe"); err != nil {
		t.Fatal(err)
	}
	if got := e.ten.StorageUsed(); got != used {
		t.Errorf("StorageUsed = %d after the delete of a file a machine holds, want %d", got, used)
	}
	g := e.submit(t, win1, getFile(winPutPath))
	e.at(2 * time.Minute)
	if got := e.result(t, g.ID, 0); len(got) != len(content) {
		t.Fatalf("GetFile of the put file: %d bytes, want %d", len(got), len(content))
	}

	// MaxPutFilesPerMachine other files put on the same machine push it
	// out.
	var cmds []Command
	for i := range MaxPutFilesPerMachine {
		name := fmt.Sprintf("p%02d.bin", i)
		if _, err := lib.Put(Upload{FileName: name, Content: []byte(name)}, start); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, putFile(name))
	}
	listed := e.ten.StorageUsed() - tool // what the library holds
	p := e.submit(t, win1, cmds...)
	e.at(10 * time.Minute)
	if v := e.view(t, p.ID); v.Status != StatusSucceeded {
		t.Fatalf("the %d PutFiles: %s", MaxPutFilesPerMachine, v.Status)
	}
	if got := e.ten.StorageUsed(); got != listed+tool {
		t.Errorf("StorageUsed = %d once the machine dropped the deleted file, want %d (the library's, and the GetFile result's copy)", got, listed+tool)
	}
	g2 := e.submit(t, win1, getFile(winPutPath))
	e.at(12 * time.Minute)
	if v := e.view(t, g2.ID); v.Status != StatusFailed {
		t.Errorf("GetFile of the dropped file: %s, want Failed", v.Status)
	}
	// When the action whose result holds it is forgotten, it goes.
	e.s.SetRetention(Retention{MaxActions: 1})
	if _, err := e.ten.Action(g.ID); err == nil {
		t.Fatal("the GetFile action is still kept")
	}
	if got := e.ten.StorageUsed(); got != listed {
		t.Errorf("StorageUsed = %d once the GetFile action was forgotten, want %d (the library's)", got, listed)
	}
}

// A removed tenant's bytes leave its world's total.
func TestStorageOfRemovedTenant(t *testing.T) {
	e := newEnv(t)
	tmpl := &parseFixture(t, contosoYAML).Tenants[0]
	ft, _ := FromTemplate(tmpl, "alice")
	ten, err := e.s.AddTenant(ft, contosoID)
	if err != nil {
		t.Fatal(err)
	}
	total := e.s.world.Load().storage
	before := total.Load()
	if _, err := ten.Library().Put(Upload{FileName: "mine.bin", Content: make([]byte, 1000)}, start); err != nil {
		t.Fatal(err)
	}
	const upload = int64(1000 + len("mine.bin")) // the content and the name
	if got := total.Load(); got != before+upload {
		t.Fatalf("world total %d after the upload, want %d", got, before+upload)
	}
	held := ten.StorageUsed() // its template's library and the upload
	if _, err := e.s.RemoveTenant(ft.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := total.Load(), before+upload-held; got != want || held <= upload {
		t.Errorf("world total %d after the removal of a tenant holding %d, want %d", got, held, want)
	}
}

// A machine holds at most MaxQueuedOutcomes; their bytes count in its
// tenant's storage until a command uses them or they are cleared, and
// past the tenant's bound nothing is queued.
func TestQueuedOutcomesBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.machine(t, win1)
	used := e.ten.StorageUsed()
	one := []Outcome{{Type: GetFile, Content: ptr(strings.Repeat("c", 1000))}}
	for i := range MaxQueuedOutcomes {
		if err := m.QueueOutcomes(one); err != nil {
			t.Fatalf("outcome %d: %v", i, err)
		}
	}
	per := one[0].bytes() // "GetFile" and the content
	if got, want := e.ten.StorageUsed(), used+MaxQueuedOutcomes*per; got != want {
		t.Fatalf("StorageUsed = %d with %d outcomes queued, want %d", got, MaxQueuedOutcomes, want)
	}
	err := m.QueueOutcomes([]Outcome{{Output: "one more"}})
	if !errors.Is(err, ErrOutcomesFull) || !strings.Contains(err.Error(), fmt.Sprintf("the %d the emulator keeps for a machine", MaxQueuedOutcomes)) {
		t.Fatalf("outcome %d: %v, want ErrOutcomesFull naming the bound", MaxQueuedOutcomes+1, err)
	}
	if n := len(m.Outcomes()); n != MaxQueuedOutcomes {
		t.Fatalf("%d outcomes queued after a refusal, want %d", n, MaxQueuedOutcomes)
	}

	// A GetFile uses one up: its bytes leave the storage, and the action
	// that keeps the content counts it in its footprint.
	g := e.submit(t, win1, getFile(reportPath))
	e.at(time.Minute)
	if got := e.result(t, g.ID, 0); len(got) != 1000 {
		t.Fatalf("the GetFile collected %d bytes, want the outcome's 1000", len(got))
	}
	if got, want := e.ten.StorageUsed(), used+(MaxQueuedOutcomes-1)*per; got != want {
		t.Errorf("StorageUsed = %d after a command used an outcome, want %d", got, want)
	}
	a, err := e.ten.Action(g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fp := a.footprint(); fp < actionOverhead+1000 {
		t.Errorf("footprint of an action whose GetFile kept 1000 bytes of an outcome: %d, want at least %d", fp, actionOverhead+1000)
	}
	m.ClearOutcomes()
	if got := e.ten.StorageUsed(); got != used {
		t.Errorf("StorageUsed = %d after the queue was cleared, want %d", got, used)
	}

	// The tenant's bytes bound: a library near full leaves no room.
	lib := e.ten.Library()
	big := make([]byte, MaxLibraryFileSize)
	for i := 0; e.ten.StorageUsed()+MaxLibraryFileSize <= MaxTenantStorage; i++ {
		if _, err := lib.Put(Upload{FileName: fmt.Sprintf("big%02d.bin", i), Content: big}, start); err != nil {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	room := MaxTenantStorage - e.ten.StorageUsed()
	huge := strings.Repeat("o", int(room))
	err = m.QueueOutcomes([]Outcome{{Output: huge}})
	if !errors.Is(err, ErrOutcomesFull) || !strings.Contains(err.Error(), "for a tenant") {
		t.Fatalf("outcomes past the tenant's storage: %v, want ErrOutcomesFull naming the tenant's bound", err)
	}
	if err := m.QueueOutcomes([]Outcome{{Output: huge[:room-int64(len(RunScript))]}}); err != nil {
		t.Errorf("outcomes that just fit: %v", err)
	}
	if got := e.ten.StorageUsed(); got != MaxTenantStorage {
		t.Errorf("StorageUsed = %d, want the bound %d", got, MaxTenantStorage)
	}
}

// A snapshot's queued outcomes count in the restored tenant's storage,
// on top of its library, as they did before.
func TestQueuedOutcomesRestoredCount(t *testing.T) {
	t.Parallel()
	set := parseFixture(t, contosoYAML)
	e := newEnvWith(t, set, profile(t, "default"))
	outs := []Outcome{{Output: strings.Repeat("x", 5000)}, {Type: GetFile, Content: ptr("evidence")}}
	if err := e.machine(t, "win1").QueueOutcomes(outs); err != nil {
		t.Fatal(err)
	}
	want := e.ten.StorageUsed()
	snap, err := e.s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := newEnvWith(t, set, profile(t, "default"))
	r.clk.AdvanceTo(snap.At)
	if err := r.s.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got := r.ten.StorageUsed(); got != want {
		t.Errorf("restored StorageUsed = %d, want %d (the library and the queued outcomes)", got, want)
	}
	r.machine(t, "win1").ClearOutcomes()
	if got, lib := r.ten.StorageUsed(), want-outs[0].bytes()-outs[1].bytes(); got != lib {
		t.Errorf("restored StorageUsed = %d once the outcomes were cleared, want %d", got, lib)
	}
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// A library file counts its texts with its content: an upload's form
// fields may be 64 KiB each, and a library holds 1,000 files.
func TestStorageCountsLibraryTexts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	used := e.ten.StorageUsed()
	u := Upload{FileName: "notes.ps1", Content: []byte("Get-Date"), Description: strings.Repeat("d", 60_000),
		ParametersDescription: strings.Repeat("p", 50_000), CreatedBy: "analyst@contoso.com"}
	if _, err := e.ten.Library().Put(u, start); err != nil {
		t.Fatal(err)
	}
	want := used + int64(len(u.FileName)+len(u.Content)+len(u.Description)+len(u.ParametersDescription)+len(u.CreatedBy))
	if got := e.ten.StorageUsed(); got != want {
		t.Errorf("StorageUsed = %d after an upload with long descriptions, want %d", got, want)
	}
	if err := e.ten.Library().Delete("notes.ps1"); err != nil {
		t.Fatal(err)
	}
	if got := e.ten.StorageUsed(); got != used {
		t.Errorf("StorageUsed = %d after the delete, want %d", got, used)
	}
}

// Outcomes a store recorded as queued come back past the bounds they
// fitted when queued, counted; new ones are refused until there is room.
func TestReplayedOutcomesPastTheBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.machine(t, win1)
	outs := make([]Outcome, MaxQueuedOutcomes+5)
	for i := range outs {
		outs[i] = Outcome{Output: "replayed"}
	}
	used := e.ten.StorageUsed()
	if err := m.ReplayOutcomes(outs); err != nil {
		t.Fatalf("ReplayOutcomes of %d: %v", len(outs), err)
	}
	if got, want := e.ten.StorageUsed(), used+int64(len(outs))*outs[0].bytes(); got != want {
		t.Errorf("StorageUsed = %d after the replay, want %d", got, want)
	}
	if err := m.QueueOutcomes([]Outcome{{Output: "new"}}); !errors.Is(err, ErrOutcomesFull) {
		t.Errorf("a new outcome with %d replayed: %v, want ErrOutcomesFull", len(outs), err)
	}
	if err := m.ReplayOutcomes([]Outcome{{Type: "Nope"}}); err == nil {
		t.Error("a replayed outcome of an unknown type was queued")
	}
}
