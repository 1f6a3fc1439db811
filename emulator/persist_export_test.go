package emulator

import (
	"context"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// FailStoreWrites makes every later write of the emulator's store fail
// with err, as a full disk would (persist.Store.FailWrites), for the
// tests of the 503 a change then gets.
func (s *Server) FailStoreWrites(err error) { s.rec.store.FailWrites(err) }

// CompactStore compacts the store now (as the threshold would) and waits
// for the new generation to be durable.
func (s *Server) CompactStore() error {
	s.rec.mu.Lock()
	for s.rec.compacting { // one at a time: wait for a background one
		s.rec.mu.Unlock()
		_ = clock.SleepWall(context.Background(), time.Millisecond)
		s.rec.mu.Lock()
	}
	s.rec.compacting = true
	s.rec.mu.Unlock()
	err := s.compactNow()
	s.rec.mu.Lock()
	s.rec.compacting = false
	s.rec.mu.Unlock()
	return err
}

// StoreInUse returns how many bytes of its file the store uses
// (persist.Store.InUse).
func (s *Server) StoreInUse() (int64, error) { return s.rec.store.InUse() }

// StoreLog returns how many records the store's current log holds on
// disk, and whether a compaction runs.
func (s *Server) StoreLog() (records int, compacting bool, err error) {
	s.rec.mu.Lock()
	compacting = s.rec.compacting
	s.rec.mu.Unlock()
	records, err = s.rec.store.LogLen()
	return records, compacting, err
}
