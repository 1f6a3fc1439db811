package persist

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FormatVersion is the version of the store's layout this package writes.
// A store of a newer version is refused; one of an older version is
// migrated (there is none yet: version 1 is the first).
const FormatVersion = 1

// FileName is the name of the store's file inside the --data directory.
const FileName = "emulator.db"

// LockTimeout is how long Open waits for the file lock another process
// holds before it gives up.
const LockTimeout = time.Second

// Bounds of the group commit.
const (
	// MaxQueued is how many records may wait for the committer; an append
	// past it fails with ErrBusy (the emulator answers 503).
	MaxQueued = 4096
	// MaxBatch is how many records one transaction writes at most.
	MaxBatch = 1024
	// MaxBatchBytes is how many bytes of payload one transaction writes at
	// most (a batch always takes its first record, whatever its size).
	MaxBatchBytes = 64 << 20
)

var (
	bucketMeta = []byte("meta")
	bucketLog  = []byte("log")

	keyVersion    = []byte("version")
	keyGeneration = []byte("generation")
	keyFixtures   = []byte("fixtures")
	keyStart      = []byte("start")
	keyTokenKey   = []byte("tokenKey")
	keyLinkKey    = []byte("linkKey")
	keyClockMark  = []byte("clockMark")
)

// ErrBusy is the error of an append while MaxQueued records wait already.
var ErrBusy = errors.New("persist: too many changes waiting to be written")

// ErrClosed is the error of an append after Close.
var ErrClosed = errors.New("persist: the store is closed")

// Store is an open store. Its methods are safe for concurrent use.
type Store struct {
	path  string
	db    *bolt.DB
	queue chan *Pending
	done  chan struct{}

	mu      sync.Mutex
	closed  bool
	failed  error  // the first write that failed: every later one fails too
	lastSeq uint64 // of the last record written (committer only)
}

// Open opens (or makes) the store in dir, with its file lock: a store
// another process holds is refused after LockTimeout, an error naming the
// file. A damaged file, or one a newer version wrote, is refused with an
// error naming it; it is never emptied or replaced.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("--data %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	db, err := openBolt(path)
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, db: db, queue: make(chan *Pending, MaxQueued), done: make(chan struct{})}
	if err := s.check(); err != nil {
		db.Close()
		return nil, err
	}
	go s.commit()
	return s, nil
}

// openBolt opens the bbolt file at path, turning its errors (and a panic
// on a damaged page) into ones that name the file.
func openBolt(path string) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%s: the store is damaged (%v); refused, the file is left as it is", path, r)
		}
	}()
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: LockTimeout})
	switch {
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("%s: the store is locked by another process (another emulator with the same --data?)", path)
	case err != nil:
		return nil, fmt.Errorf("%s: the store is damaged or not a store (%v); refused, the file is left as it is", path, err)
	}
	return db, nil
}

// check verifies the file's pages and its format version, and makes the
// buckets of a new store.
func (s *Store) check() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.damaged(fmt.Errorf("%v", r))
		}
	}()
	return s.db.Update(func(tx *bolt.Tx) error {
		var first error
		for e := range tx.Check() { // drained whole: it stops when done
			if first == nil {
				first = e
			}
		}
		if first != nil {
			return s.damaged(first)
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			if tx.Bucket(bucketLog) != nil {
				return s.damaged(errors.New("no meta bucket"))
			}
			var err error
			if meta, err = tx.CreateBucket(bucketMeta); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(bucketLog); err != nil {
				return err
			}
			return meta.Put(keyVersion, []byte(strconv.Itoa(FormatVersion)))
		}
		v, err := strconv.Atoi(string(meta.Get(keyVersion)))
		if err != nil {
			return s.damaged(fmt.Errorf("format version %q", meta.Get(keyVersion)))
		}
		switch {
		case v > FormatVersion:
			return fmt.Errorf("%s: the store was written by a newer emulator (store format %d; this one reads formats up to %d); refused, the file is left as it is", s.path, v, FormatVersion)
		case v < FormatVersion:
			return fmt.Errorf("%s: the store has format %d, older than any this emulator migrates (%d); refused, the file is left as it is", s.path, v, FormatVersion)
		}
		if tx.Bucket(bucketLog) == nil {
			return s.damaged(errors.New("no log bucket"))
		}
		if k, _ := tx.Bucket(bucketLog).Cursor().Last(); k != nil {
			s.lastSeq = binary.BigEndian.Uint64(k)
		}
		return nil
	})
}

// damaged returns the error of a damaged file.
func (s *Store) damaged(err error) error {
	return fmt.Errorf("%s: the store is damaged (%v); refused, the file is left as it is", s.path, err)
}

// Path returns the store's file.
func (s *Store) Path() string { return s.path }

// Start is where a generation's clock started.
type Start struct {
	At    time.Time `json:"at"`
	Mode  string    `json:"mode"`
	Scale float64   `json:"scale"`
}

// State is what a store holds besides its log.
type State struct {
	// Generation counts the times Begin ran; 0: the store is new.
	Generation uint64
	Fixtures   []byte // the fixture set, as JSON
	Start      Start
	TokenKey   []byte // PEM
	LinkKey    []byte
	// Mark is the clock's last reading MarkClock wrote (zero: none), with
	// the wall time it was taken at.
	Mark Mark
}

// Mark is a reading of the emulated clock with the wall time it was taken.
type Mark struct {
	Emulated time.Time `json:"emulated"`
	Wall     time.Time `json:"wall"`
}

// State returns what the store holds besides its log.
func (s *Store) State() (st State, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if g := meta.Get(keyGeneration); g != nil {
			if len(g) != 8 {
				return s.damaged(errors.New("bad generation"))
			}
			st.Generation = binary.BigEndian.Uint64(g)
		}
		st.Fixtures = clone(meta.Get(keyFixtures))
		st.TokenKey = clone(meta.Get(keyTokenKey))
		st.LinkKey = clone(meta.Get(keyLinkKey))
		if b := meta.Get(keyStart); b != nil {
			if err := json.Unmarshal(b, &st.Start); err != nil {
				return s.damaged(fmt.Errorf("start: %v", err))
			}
		}
		if b := meta.Get(keyClockMark); b != nil {
			if err := json.Unmarshal(b, &st.Mark); err != nil {
				return s.damaged(fmt.Errorf("clock mark: %v", err))
			}
		}
		if st.Generation > 0 && (st.Fixtures == nil || st.Start.At.IsZero()) {
			return s.damaged(errors.New("a generation without its fixtures or start"))
		}
		return nil
	})
	return st, err
}

// Begin starts a new generation: the log is emptied and the fixtures,
// the start and the keys are those given.
func (s *Store) Begin(fixtures []byte, start Start, tokenKey, linkKey []byte) error {
	startJSON, err := json.Marshal(start)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var gen [8]byte
		if g := meta.Get(keyGeneration); len(g) == 8 {
			binary.BigEndian.PutUint64(gen[:], binary.BigEndian.Uint64(g)+1)
		} else {
			binary.BigEndian.PutUint64(gen[:], 1)
		}
		if err := tx.DeleteBucket(bucketLog); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketLog); err != nil {
			return err
		}
		s.lastSeq = 0 // no record is queued: the emulator begins before serving
		for k, v := range map[string][]byte{
			string(keyGeneration): gen[:], string(keyFixtures): fixtures, string(keyStart): startJSON,
			string(keyTokenKey): tokenKey, string(keyLinkKey): linkKey,
		} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return meta.Delete(keyClockMark)
	})
}

// MarkClock writes the clock's reading m (the emulator writes one every
// few seconds, so that a restart knows where the clock stood).
func (s *Store) MarkClock(m Mark) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyClockMark, b) })
}

// view runs f in a read transaction, turning a panic on a damaged page
// into an error naming the file.
func (s *Store) view(f func(*bolt.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = s.damaged(fmt.Errorf("%v", r))
		}
	}()
	return s.db.View(f)
}

// Close waits for the records queued to be written and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	return s.db.Close()
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// crcTable is the Castagnoli table of the records' checksums.
var crcTable = crc32.MakeTable(crc32.Castagnoli)
