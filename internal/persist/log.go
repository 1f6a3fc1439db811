package persist

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Record is one change of the log: its kind, the emulated instant it
// happened at, and its payload (JSON the emulator defines).
type Record struct {
	Seq  uint64          `json:"-"` // its place in the log, from 1
	At   time.Time       `json:"at"`
	Kind string          `json:"kind"`
	Data json.RawMessage `json:"data"`
	// Fired is the instant up to which the emulator's timers had fired
	// when the change was made (zero: not known). A real clock's timers
	// fire a little after they are due: the replay runs those due after
	// Fired after the change, as they ran.
	Fired time.Time `json:"fired,omitzero"`
}

// encode returns r as stored: a CRC-32C of the JSON, then the JSON.
func (r *Record) encode() ([]byte, error) {
	j, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4, 4+len(j))
	binary.BigEndian.PutUint32(b, crc32.Checksum(j, crcTable))
	return append(b, j...), nil
}

// decode reads a stored record.
func decode(b []byte) (Record, error) {
	var r Record
	if len(b) < 4 {
		return r, errors.New("record shorter than its checksum")
	}
	if crc32.Checksum(b[4:], crcTable) != binary.BigEndian.Uint32(b) {
		return r, errors.New("record checksum mismatch")
	}
	err := json.Unmarshal(b[4:], &r)
	return r, err
}

// Pending is a record on its way to the file.
type Pending struct {
	rec  Record
	enc  []byte
	gen  *generation // a new generation rather than a record
	size int         // of gen
	mark []byte      // a clock mark rather than a record (MarkQueued)
	done chan error
}

// bytes is what p weighs in a batch.
func (p *Pending) bytes() int {
	switch {
	case p.gen != nil:
		return p.size
	case p.mark != nil:
		return len(p.mark)
	}
	return len(p.enc)
}

// Wait waits until the record is durable (written and fsynced), or its
// write failed.
func (p *Pending) Wait() error { return <-p.done }

// Append queues r for the committer and returns at once; Wait on the
// result waits for it to be durable. Records are written in the order
// Append is called. It fails with ErrBusy when MaxQueued records wait,
// with the first write error once a write failed, with ErrClosed after
// Close.
func (s *Store) Append(r Record) (*Pending, error) {
	enc, err := r.encode()
	if err != nil {
		return nil, err
	}
	return s.enqueue(&Pending{rec: r, enc: enc, done: make(chan error, 1)})
}

// enqueue queues p for the committer, as Append says.
func (s *Store) enqueue(p *Pending) (*Pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, ErrClosed
	case s.failed != nil:
		return nil, s.failed
	}
	select {
	case s.queue <- p:
		return p, nil
	default:
		return nil, ErrBusy
	}
}

// commit is the committer: it writes what the queue holds in batches, one
// transaction (and one fsync) each.
func (s *Store) commit() {
	defer close(s.done)
	batch := make([]*Pending, 0, MaxBatch)
	for p := range s.queue {
		batch = append(batch[:0], p)
		size := p.bytes()
	fill:
		for len(batch) < MaxBatch && size < MaxBatchBytes {
			select {
			case q, ok := <-s.queue:
				if !ok {
					break fill
				}
				batch = append(batch, q)
				size += q.bytes()
			default:
				break fill
			}
		}
		err := s.write(batch)
		for _, q := range batch {
			q.done <- err
		}
	}
}

// write writes batch in one transaction. A failure is kept: every later
// append fails with it, since the memory now holds a change the file
// does not.
func (s *Store) write(batch []*Pending) error {
	s.mu.Lock()
	failed := s.failed
	s.mu.Unlock()
	if failed != nil {
		return failed
	}
	seq := s.lastSeq
	s.mu.Lock()
	err := s.failWrites
	s.mu.Unlock()
	if err == nil {
		err = s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketLog)
			for _, p := range batch {
				if p.gen != nil {
					var err error
					if seq, err = s.begin(tx, p.gen); err != nil {
						return err
					}
					b = tx.Bucket(bucketLog)
					continue
				}
				if p.mark != nil {
					if err := tx.Bucket(bucketMark).Put(keyClockMark, p.mark); err != nil {
						return err
					}
					continue
				}
				seq++
				if err := b.Put(seqKey(seq), p.enc); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		err = fmt.Errorf("%s: cannot write: %w", s.path, err)
		s.mu.Lock()
		s.failed = err
		s.mu.Unlock()
		return err
	}
	s.lastSeq = seq
	return nil
}

// Replay calls f with every record of the log, in order. A record that
// does not decode (a damaged file) stops it with an error naming the file
// and the record.
func (s *Store) Replay(f func(Record) error) error {
	return s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		var want uint64 = 1
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if len(k) != 8 || binary.BigEndian.Uint64(k) != want {
				return s.damaged(fmt.Errorf("the log's record %d is missing", want))
			}
			r, err := decode(v)
			if err != nil {
				return s.damaged(fmt.Errorf("record %d: %v", want, err))
			}
			r.Seq = want
			if err := f(r); err != nil {
				return fmt.Errorf("%s: record %d (%s): %w", s.path, want, r.Kind, err)
			}
			want++
		}
		return nil
	})
}

// LogLen returns how many records the log of the store's current
// generation holds on disk (those still queued not counted).
func (s *Store) LogLen() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketLog).Stats().KeyN
		return nil
	})
	return n, err
}

// InUse returns how many bytes of the store's file bbolt uses: its
// high-water mark, below which the pages freed by earlier transactions
// are reused. The file itself is larger: bbolt grows it in doublings (in
// steps of 16 MiB past 16 MiB) and never shrinks it.
func (s *Store) InUse() (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Size()
		return nil
	})
	return n, err
}

// FailWrites makes every later write fail with err, as a full disk or an
// I/O error would: for tests of what a failed write does.
func (s *Store) FailWrites(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failWrites = err
}

// Ready reports whether an Append now would be taken: nil, or why not
// (closed, a write failed, the queue full). With one goroutine appending
// at a time, a nil answer holds until its next Append.
func (s *Store) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.failed != nil:
		return s.failed
	case len(s.queue) >= cap(s.queue):
		return ErrBusy
	}
	return nil
}
