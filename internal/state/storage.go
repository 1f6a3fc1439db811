package state

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// The bounds of what the live response library and PutFile keep. The
// real service documents none but the 20 MB of a file
// (MaxLibraryFileSize); an emulator that kept every upload and every file
// copied to a machine would grow without end in a long run, so these are
// the emulator's own (the README's table of bounds). Past them an upload
// is the service's 400 BadRequest; PutFile never fails for them.
const (
	// MaxLibraryFiles is how many files a tenant's library holds.
	MaxLibraryFiles = 1000
	// MaxTenantStorage is how many bytes of live response content a
	// tenant holds: its library (each file's content, name, descriptions
	// and creator), the files PutFile copied to its machines or a kept
	// GetFile collected that its library no longer has (deleted or
	// replaced since), and the outcomes queued on its machines. Six files
	// of the API's largest.
	MaxTenantStorage = 128 << 20
	// MaxStorage is the same over every tenant of the emulator: with the
	// kept actions (at most 400 MB by default, Retention.MaxBytes) and a
	// large fleet, it stays under the binary's soft memory limit of
	// 896 MiB, where the collector would run back to back.
	MaxStorage = 512 << 20
	// MaxPutFilesPerMachine is how many files PutFile leaves on a
	// machine: one more drops the one put first, as a working folder
	// that is cleaned up.
	MaxPutFilesPerMachine = 16
	// MaxQueuedOutcomes is how many outcomes a machine holds queued for
	// its coming commands (Machine.QueueOutcomes): as many as one
	// scenario event may queue. An outcome no command matches (a GetFile
	// one on a machine that never collects) would otherwise stay for
	// good, and a test suite that queues them run after run adds more.
	MaxQueuedOutcomes = 100
)

// storage counts the bytes of live response content a tenant holds
// against MaxTenantStorage, and its share of its world's total against
// MaxStorage. A library file version (LibraryFile.storageBytes) counts
// once while its library lists it, a machine holds it (PutFile) or a kept
// action's result holds it (a GetFile of the copy): LibraryFile.listed,
// holders, whatever the number of holders. Every byte comes from an upload, which the bounds refuse, so
// what holders keep cannot grow past them by more than the uploads they
// let in. The outcomes queued on its machines count too (Outcome.bytes),
// from when they are queued until a command uses them or they are
// cleared. Its lock is taken after the library's, a machine's files lock
// and the tenant's, never before.
type storage struct {
	mu     sync.Mutex
	used   int64
	total  *atomic.Int64 // the world's, shared by its tenants
	closed bool          // the tenant was removed: its bytes left the total
}

func newStorage(total *atomic.Int64) *storage { return &storage{total: total} }

// addLocked counts n more bytes (n may be negative).
func (s *storage) addLocked(n int64) {
	if s.closed || n == 0 {
		return
	}
	s.used += n
	s.total.Add(n)
}

// reserveLocked counts n more bytes if they fit the tenant's and the
// world's bounds, and reports whether they did.
func (s *storage) reserveLocked(n int64) bool {
	if n <= 0 || s.closed {
		s.addLocked(n)
		return true
	}
	if s.used+n > MaxTenantStorage {
		return false
	}
	if s.total.Add(n) > MaxStorage {
		s.total.Add(-n)
		return false
	}
	s.used += n
	return true
}

// releaseLocked stops counting v for a holder that let it go: its bytes
// leave the count when no library lists it and nothing else holds it.
func (s *storage) releaseLocked(v *LibraryFile) {
	v.holders--
	if v.holders == 0 && !v.listed {
		s.addLocked(-v.storageBytes())
	}
}

// hold and release are holdLocked and releaseLocked, locking.
func (s *storage) hold(v *LibraryFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdLocked(v)
}

func (s *storage) release(v *LibraryFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked(v)
}

// holdLocked counts v for one more holder.
func (s *storage) holdLocked(v *LibraryFile) {
	if v.holders == 0 && !v.listed {
		s.addLocked(v.storageBytes()) // deleted while a PutFile of it ran
	}
	v.holders++
}

// close takes the tenant's bytes out of its world's total: it was removed.
func (s *storage) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.total.Add(-s.used)
		s.used, s.closed = 0, true
	}
}

// StorageUsed returns the bytes of live response content the tenant
// holds (MaxTenantStorage).
func (t *Tenant) StorageUsed() int64 {
	t.storage.mu.Lock()
	defer t.storage.mu.Unlock()
	return t.storage.used
}

// recountStorage counts the tenant's library afresh, after a restore
// replaced it. Files a snapshot restores on machines are not counted, as
// the fixture's are not: they are no library file's version.
func (t *Tenant) recountStorage() {
	t.library.mu.RLock()
	defer t.library.mu.RUnlock()
	s := t.storage
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, f := range t.library.files {
		f.listed = true
		n += f.storageBytes()
	}
	s.addLocked(n - s.used)
}

// libraryFull is the upload refused for the count of files.
func libraryFull() error {
	return apierr.New(apierr.BadRequest,
		"The library holds %d files, the most the emulator keeps for a tenant: delete files before uploading more.", MaxLibraryFiles)
}

// storageFull is the upload of n bytes refused for the bytes held.
func (s *storage) storageFull(n int64) error {
	if s.used+n > MaxTenantStorage {
		return apierr.New(apierr.BadRequest,
			"The tenant's live response content (its library, files PutFile copied to its machines that the library no longer has, and outcomes queued on them) holds %d bytes of the %d the emulator keeps for a tenant; this file of %d bytes does not fit. Delete library files first.",
			s.used, MaxTenantStorage, n)
	}
	return apierr.New(apierr.BadRequest,
		"The live response content of all tenants holds %d bytes of the %d the emulator keeps; this file of %d bytes does not fit. Delete library files first.",
		s.total.Load(), MaxStorage, n)
}

// outcomesFull says why outcomes of n bytes were not queued.
func (s *storage) outcomesFull(n int64) string {
	if s.used+n > MaxTenantStorage {
		return fmt.Sprintf("the tenant's live response content (its library, files PutFile copied to its machines, queued outcomes) holds %d bytes of the %d the emulator keeps for a tenant; these outcomes of %d bytes do not fit",
			s.used, MaxTenantStorage, n)
	}
	return fmt.Sprintf("the live response content of all tenants holds %d bytes of the %d the emulator keeps; these outcomes of %d bytes do not fit",
		s.total.Load(), MaxStorage, n)
}
