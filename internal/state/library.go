package state

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/libname"
)

// MaxLibraryFileSize is the largest file the API accepts for the library
// (the portal allows 250 MB; the API 20 MB).
const MaxLibraryFileSize = 20 << 20

// FileTooLarge is the service's RequestEntityTooLarge for a library file
// over MaxLibraryFileSize. It names the limit, not the file's size: an
// upload is read only one byte past the limit, so its size is not known.
// name may be "" when the file's name is not known either.
func FileTooLarge(name string) *apierr.Error {
	in := "Invalid input"
	if name != "" {
		in += " " + libname.Quote(name)
	}
	return apierr.New(apierr.RequestEntityTooLarge, "%s: the file is larger than 20 MB (20,971,520 bytes), the largest library file the API accepts.", in)
}

// checkName returns the service's InvalidInput for a name that breaks
// the library's naming rules (package libname), or nil.
func checkName(name string) error {
	if err := libname.Check(name); err != nil {
		return apierr.New(apierr.InvalidInput, "Invalid input %s: a library file name %v.", libname.Quote(name), err)
	}
	return nil
}

// Library is a tenant's live response library, within MaxLibraryFiles
// files and its tenant's storage (MaxTenantStorage, MaxStorage).
type Library struct {
	mu    sync.RWMutex
	files map[string]*LibraryFile // by lower-case name
	acct  *storage                // its tenant's
}

// LibraryFile is one file of the library with its simulated behaviour.
type LibraryFile struct {
	FileName              string
	Description           string
	HasParameters         bool
	ParametersDescription string
	CreatedBy             string
	CreationTime          time.Time
	LastUpdatedTime       time.Time
	Content               []byte
	SHA256                string
	// Declared is true for a file of the fixture, which runs its Behavior
	// and ByArgs; a file uploaded through the API is not declared and runs
	// the tenant's undeclared-script behaviour.
	Declared bool
	// Signed is true for a script the fixture declares signed (a
	// signature block in Content counts too: see signedScript).
	Signed   bool
	Behavior fixture.Behavior
	ByArgs   map[string]fixture.Behavior

	// listed is true while a library lists this version of the file, and
	// holders is how many machines (PutFile) and kept results (GetFile of
	// the copy) hold it: its bytes count in its tenant's storage while
	// either is. Both are guarded by that storage's lock. A snapshot does
	// not keep them: Restore counts its library afresh (recountStorage).
	listed  bool
	holders int32

	// results are the last Result a RunScript of this version left, not
	// transcribed and transcribed (scriptResult): derived, not in a
	// snapshot.
	results [2]atomic.Pointer[Result]
}

// scriptResult returns the Result of a RunScript of f that did b,
// transcribed or not: the one the last such run left when it did the
// same, else a new one, kept for the next. A fixture's script does the
// same run after run, so its actions share one Result instead of holding
// one each for as long as they are kept: under bench/run's POST load,
// 90,000 objects fewer for the collector to mark (docs/performance.md,
// "Actions side by side"). A Result never changes once made.
func (f *LibraryFile) scriptResult(b fixture.Behavior, transcribe bool) *Result {
	slot := &f.results[0]
	if transcribe {
		slot = &f.results[1]
	}
	if r := slot.Load(); r != nil && r.script.ExitCode == b.ExitCode && r.script.ScriptOutput == b.Output && r.script.ScriptErrors == b.Errors {
		return r
	}
	r := newScriptResult(ScriptResult{ScriptName: f.FileName, ExitCode: b.ExitCode, ScriptOutput: b.Output, ScriptErrors: b.Errors}, transcribe)
	slot.Store(r)
	return r
}

// storageBytes is what a version of f counts in its tenant's storage:
// its content and the texts an upload gives it (its name, descriptions
// and creator; each form field may be 64 KiB, and a library holds 1,000
// files).
func (f *LibraryFile) storageBytes() int64 {
	return int64(len(f.Content) + len(f.FileName) + len(f.Description) + len(f.ParametersDescription) + len(f.CreatedBy))
}

// behaviorFor returns what a RunScript of f with args does: its declared
// behaviour, or undeclared with its placeholders expanded for f and args
// when the fixture does not declare f.
func (f *LibraryFile) behaviorFor(args string, undeclared fixture.Behavior) fixture.Behavior {
	if !f.Declared {
		return undeclared.Expand(f.FileName, args, f.SHA256)
	}
	if b, ok := f.ByArgs[args]; ok {
		return b
	}
	return f.Behavior
}

// LibraryFileView is a library file as the API returns it.
type LibraryFileView struct {
	FileName              string    `json:"fileName"`
	SHA256                string    `json:"sha256"`
	Description           *string   `json:"description"`
	CreationTime          Timestamp `json:"creationTime"`
	LastUpdatedTime       Timestamp `json:"lastUpdatedTime"`
	CreatedBy             string    `json:"createdBy"`
	HasParameters         bool      `json:"hasParameters"`
	ParametersDescription *string   `json:"parametersDescription"`
}

func (f *LibraryFile) view() LibraryFileView {
	v := LibraryFileView{
		FileName:        f.FileName,
		SHA256:          f.SHA256,
		CreationTime:    Stamp(f.CreationTime),
		LastUpdatedTime: Stamp(f.LastUpdatedTime),
		CreatedBy:       f.CreatedBy,
		HasParameters:   f.HasParameters,
	}
	if f.Description != "" {
		d := f.Description
		v.Description = &d
	}
	if f.HasParameters || f.ParametersDescription != "" {
		p := f.ParametersDescription
		v.ParametersDescription = &p
	}
	return v
}

func newLibrary(acct *storage) *Library {
	return &Library{files: map[string]*LibraryFile{}, acct: acct}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Get returns the library file named name (names compare
// case-insensitively).
func (l *Library) Get(name string) (*LibraryFile, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	f, ok := l.files[strings.ToLower(name)]
	return f, ok
}

// List returns the library's files ordered by name.
func (l *Library) List() []LibraryFileView {
	l.mu.RLock()
	out := make([]LibraryFileView, 0, len(l.files))
	for _, f := range l.files {
		out = append(out, f.view())
	}
	l.mu.RUnlock()
	slices.SortFunc(out, func(a, b LibraryFileView) int {
		return strings.Compare(strings.ToLower(a.FileName), strings.ToLower(b.FileName))
	})
	return out
}

// Upload is a library upload as the multipart form carries it.
type Upload struct {
	FileName              string
	Content               []byte
	Description           string
	HasParameters         bool
	ParametersDescription string
	OverrideIfExists      bool
	CreatedBy             string
}

// Put adds or, with OverrideIfExists, replaces a library file. A file
// replaced keeps its creation time and its declared behaviour; a new file
// is not declared (LibraryFile.Declared).
func (l *Library) Put(u Upload, now time.Time) (LibraryFileView, error) {
	if u.FileName == "" {
		return LibraryFileView{}, apierr.New(apierr.MissingRequiredParameter, "Parameter File is missing.")
	}
	if err := checkName(u.FileName); err != nil {
		return LibraryFileView{}, err
	}
	if len(u.Content) > MaxLibraryFileSize {
		return LibraryFileView{}, FileTooLarge(u.FileName)
	}
	now = now.UTC().Truncate(Tick)
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(u.FileName)
	old, exists := l.files[key]
	if exists && !u.OverrideIfExists {
		return LibraryFileView{}, apierr.New(apierr.BadRequest,
			"File %s already exists in the library. Set OverrideIfExists to replace it.", old.FileName)
	}
	f := &LibraryFile{
		FileName:              u.FileName,
		Description:           u.Description,
		HasParameters:         u.HasParameters,
		ParametersDescription: u.ParametersDescription,
		CreatedBy:             u.CreatedBy,
		CreationTime:          now,
		LastUpdatedTime:       now,
		Content:               u.Content,
		SHA256:                sha256Hex(u.Content),
	}
	if exists {
		f.CreationTime = old.CreationTime
		f.CreatedBy = old.CreatedBy
		f.Declared, f.Behavior, f.ByArgs = old.Declared, old.Behavior, old.ByArgs
	}
	if err := l.account(old, f); err != nil {
		return LibraryFileView{}, err
	}
	l.files[key] = f
	return f.view(), nil
}

// account lists f in place of old (nil: a new name) in the tenant's
// storage, or says why it does not fit: MaxLibraryFiles, the bytes. Call
// it with l.mu held.
func (l *Library) account(old, f *LibraryFile) error {
	if old == nil && len(l.files) >= MaxLibraryFiles {
		return libraryFull()
	}
	s := l.acct
	s.mu.Lock()
	defer s.mu.Unlock()
	need := f.storageBytes()
	if old != nil && old.holders == 0 {
		need -= old.storageBytes() // old leaves the count with the library
	}
	if !s.reserveLocked(need) {
		return s.storageFull(f.storageBytes())
	}
	if old != nil {
		old.listed = false
	}
	f.listed = true
	return nil
}

// Delete removes the file named name; a name that breaks the naming
// rules is the service's InvalidInput, as on upload.
func (l *Library) Delete(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(name)
	f, ok := l.files[key]
	if !ok {
		return apierr.New(apierr.ResourceNotFound, "Library file %s was not found", name)
	}
	delete(l.files, key)
	l.acct.mu.Lock()
	f.listed = false
	if f.holders == 0 {
		l.acct.addLocked(-f.storageBytes())
	}
	l.acct.mu.Unlock()
	return nil
}

// libraryFileFrom returns the library file lf of a fixture.
func libraryFileFrom(lf fixture.LibraryFile) *LibraryFile {
	content := []byte(lf.Content)
	if lf.ContentBase64 != "" {
		content, _ = base64.StdEncoding.DecodeString(lf.ContentBase64)
	}
	created := lf.CreationTime.UTC().Truncate(Tick) // filled by FillTimes
	return &LibraryFile{
		FileName:              lf.FileName,
		Description:           lf.Description,
		HasParameters:         lf.HasParameters,
		ParametersDescription: lf.ParametersDescription,
		CreatedBy:             orDefault(lf.CreatedBy, "admin@contoso.com"),
		CreationTime:          created,
		LastUpdatedTime:       created,
		Content:               content,
		SHA256:                sha256Hex(content),
		Declared:              true,
		Signed:                lf.Signed,
		Behavior:              lf.Behavior,
		ByArgs:                lf.ByArgs,
	}
}
