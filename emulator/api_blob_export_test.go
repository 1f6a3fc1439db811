package emulator

// HoldBlobBytes counts n bytes of downloads in flight (maxBlobBytes), as
// downloads the clients have not read yet would, until release.
func (s *Server) HoldBlobBytes(n int64) (release func()) {
	s.blobs.used.Add(n)
	return func() { s.blobs.used.Add(-n) }
}
