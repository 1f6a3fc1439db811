package persist

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FormatVersion is the version of the store's layout this package writes.
// A store of a newer version is refused; one of an older version is
// migrated when it is opened (migrations), so that an older emulator then
// refuses it clearly rather than meeting records it does not know.
//
//   - 1: the first.
//   - 2: the log may begin with a snapshot of the state (compaction), a
//     clock mark holds the rate-limit windows, a change made by an API
//     call holds the instant its call was counted at, a change holds the
//     instant up to which timers had fired, and the clock mark has a
//     bucket of its own.
const FormatVersion = 2

// migrations turns a store of format v into one of format v+1, in the
// transaction that opens it.
var migrations = map[int]func(tx *bolt.Tx) error{
	// Version 2 only adds to version 1's records; the clock mark moves
	// from the meta bucket to its own.
	1: func(tx *bolt.Tx) error {
		marks, err := tx.CreateBucketIfNotExists(bucketMark)
		if err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if m := meta.Get(keyClockMark); m != nil {
			if err := marks.Put(keyClockMark, clone(m)); err != nil {
				return err
			}
		}
		return meta.Delete(keyClockMark)
	},
}

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
	// bucketMark holds the clock mark alone: bbolt rewrites a bucket's
	// leaf with each change to it, and the meta bucket holds the fixtures
	// (hundreds of MB for a generated fleet), which a mark every 2 s would
	// copy each time.
	bucketMark = []byte("mark")

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

	mu     sync.Mutex
	closed bool
	failed error // the first write that failed: every later one fails too
	// failWrites, when set, fails every write (FailWrites).
	failWrites error
	lastSeq    uint64 // of the last record written (committer only)
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
// on a damaged page, or a fault on a page past the end of a truncated
// file: bbolt maps the file, and debug.SetPanicOnFault makes that SIGBUS
// a panic) into ones that name the file.
func openBolt(path string) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true)) // a page past the end of a truncated file
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
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
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
			if _, err := tx.CreateBucket(bucketMark); err != nil {
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
			for ; v < FormatVersion; v++ {
				migrate, ok := migrations[v]
				if !ok {
					return fmt.Errorf("%s: the store has format %d, older than any this emulator migrates (%d); refused, the file is left as it is", s.path, v, FormatVersion)
				}
				if err := migrate(tx); err != nil {
					return fmt.Errorf("%s: the store of format %d could not be migrated (%w); refused, the file is left as it is", s.path, v, err)
				}
			}
			if err := meta.Put(keyVersion, []byte(strconv.Itoa(FormatVersion))); err != nil {
				return err
			}
		}
		if tx.Bucket(bucketLog) == nil || tx.Bucket(bucketMark) == nil {
			return s.damaged(errors.New("no log or mark bucket"))
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

// Mark is a reading of the emulated clock with the wall time it was taken,
// and what else the emulator keeps at that instant without a record of each
// change: the calls its rate-limit windows count, where its fault rules
// stand.
type Mark struct {
	Emulated time.Time `json:"emulated"`
	Wall     time.Time `json:"wall"`
	// Limits is the emulator's reading of its rate-limit windows at
	// Emulated, as it encodes it (nil: none kept).
	Limits json.RawMessage `json:"limits,omitempty"`
	// Faults is the emulator's reading of its fault rules' counts, as it
	// encodes it (nil: none kept).
	Faults json.RawMessage `json:"faults,omitempty"`
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
		if b := tx.Bucket(bucketMark).Get(keyClockMark); b != nil {
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

// Generation is what a generation of the store starts from: the fixtures,
// the start of the clock, the keys, and the first records of its log.
type Generation struct {
	Fixtures []byte // the fixture set, as JSON
	Start    Start
	TokenKey []byte // PEM
	LinkKey  []byte
	// Records are written at the head of the new log, with the rest of
	// the generation, in one transaction.
	Records []Record
	// Mark, when not nil, is the clock mark the generation starts with
	// (a compaction keeps the reading it was taken at); nil drops the
	// mark of the generation before.
	Mark *Mark
}

// generation is a Generation as the committer writes it.
type generation struct {
	meta    map[string][]byte
	mark    []byte   // the clock mark it keeps (nil: none)
	records [][]byte // encoded
}

// Begin starts a new generation (a store that was just opened, before
// any Append): the log is emptied and the fixtures, the start and the
// keys are those given.
func (s *Store) Begin(fixtures []byte, start Start, tokenKey, linkKey []byte) error {
	p, err := s.BeginQueued(Generation{Fixtures: fixtures, Start: start, TokenKey: tokenKey, LinkKey: linkKey})
	if err != nil {
		return err
	}
	return p.Wait()
}

// BeginQueued queues the start of a new generation, g, as Append queues a
// record: the records appended before it are written to the old log,
// then, in one transaction, the log is emptied, the meta replaced with
// g's and g.Records written as the new log's first records; the records
// appended after it go on the new log. Wait on the result waits for it to
// be durable. It fails as Append does.
func (s *Store) BeginQueued(g Generation) (*Pending, error) {
	startJSON, err := json.Marshal(g.Start)
	if err != nil {
		return nil, err
	}
	gen := &generation{meta: map[string][]byte{
		string(keyFixtures): g.Fixtures, string(keyStart): startJSON,
		string(keyTokenKey): g.TokenKey, string(keyLinkKey): g.LinkKey,
	}}
	if g.Mark != nil {
		b, err := json.Marshal(g.Mark)
		if err != nil {
			return nil, err
		}
		gen.mark = b
	}
	size := len(g.Fixtures)
	for i := range g.Records {
		enc, err := g.Records[i].encode()
		if err != nil {
			return nil, err
		}
		gen.records = append(gen.records, enc)
		size += len(enc)
	}
	return s.enqueue(&Pending{gen: gen, size: size, done: make(chan error, 1)})
}

// begin writes gen in tx: a new generation, whose log holds gen's
// records; it returns the sequence number of the last.
func (s *Store) begin(tx *bolt.Tx, gen *generation) (uint64, error) {
	meta := tx.Bucket(bucketMeta)
	var g [8]byte
	if old := meta.Get(keyGeneration); len(old) == 8 {
		binary.BigEndian.PutUint64(g[:], binary.BigEndian.Uint64(old)+1)
	} else {
		binary.BigEndian.PutUint64(g[:], 1)
	}
	if err := tx.DeleteBucket(bucketLog); err != nil {
		return 0, err
	}
	b, err := tx.CreateBucket(bucketLog)
	if err != nil {
		return 0, err
	}
	if err := meta.Put(keyGeneration, g[:]); err != nil {
		return 0, err
	}
	if err := tx.Bucket(bucketMark).Delete(keyClockMark); err != nil {
		return 0, err
	}
	for k, v := range gen.meta {
		if err := meta.Put([]byte(k), v); err != nil {
			return 0, err
		}
	}
	if gen.mark != nil {
		if err := tx.Bucket(bucketMark).Put(keyClockMark, gen.mark); err != nil {
			return 0, err
		}
	}
	var seq uint64
	for _, enc := range gen.records {
		seq++
		if err := b.Put(seqKey(seq), enc); err != nil {
			return 0, err
		}
	}
	return seq, nil
}

// seqKey is the log's key of the record seq.
func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

// MarkClock writes the clock's reading m at once (the emulator writes one
// as it closes, so that a restart knows where the clock stood).
func (s *Store) MarkClock(m Mark) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMark).Put(keyClockMark, b) })
}

// MarkQueued queues the reading m as Append queues a record: it is written
// after the records and generations queued before it, so a generation
// begun after the reading was taken drops it, and one begun before keeps
// it (the emulator queues one every few seconds). It fails as Append does.
func (s *Store) MarkQueued(m Mark) (*Pending, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return s.enqueue(&Pending{mark: b, done: make(chan error, 1)})
}

// view runs f in a read transaction, turning a panic on a damaged page
// into an error naming the file.
func (s *Store) view(f func(*bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
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
