package identity

import "testing"

// BenchmarkVerifyCached is the hot path: every API call of a client that
// reuses its token.
func BenchmarkVerifyCached(b *testing.B) {
	a, _ := newTestAuthority(b)
	raw, _, err := a.Mint(MintRequest{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := a.Verify(raw); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Verify(raw); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyUncached is a token's first use: parsing and an RSA
// signature check. The cache is cleared before every call (a few
// uncontended locks, small next to the RSA check).
func BenchmarkVerifyUncached(b *testing.B) {
	a, _ := newTestAuthority(b)
	raw, _, err := a.Mint(MintRequest{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		a.cache.clear()
		if _, err := a.Verify(raw); err != nil {
			b.Fatal(err)
		}
	}
}
