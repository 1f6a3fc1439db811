package emulator

// FailStoreWrites makes every later write of the emulator's store fail
// with err, as a full disk would (persist.Store.FailWrites), for the
// tests of the 503 a change then gets.
func (s *Server) FailStoreWrites(err error) { s.rec.store.FailWrites(err) }
