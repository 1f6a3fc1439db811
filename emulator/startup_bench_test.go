package emulator_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/fixtures"
	"github.com/mdelive/mde-emulator/openapi"
)

// BenchmarkNewDefault measures emulator.New with the default fixtures
// after the first New of the process: what each further emulator costs a
// test suite. The first New of a process, the part of the binary's
// start-up before the first request that is the emulator's
// (docs/performance.md, "Start-up and fixture parsing"), also loads the
// API document and parses the default fixtures, once for the process:
// BenchmarkNewDefaultParts times those parts.
func BenchmarkNewDefault(b *testing.B) {
	for b.Loop() {
		srv, err := emulator.New(emulator.Options{Clock: clock.Manual})
		if err != nil {
			b.Fatal(err)
		}
		srv.Close()
	}
}

// BenchmarkNewDefaultWithSigningKey is BenchmarkNewDefault with a
// signingKey in the fixtures: New without making a key.
func BenchmarkNewDefaultWithSigningKey(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	set, err := fixture.Default()
	if err != nil {
		b.Fatal(err)
	}
	set.SigningKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	for b.Loop() {
		srv, err := emulator.New(emulator.Options{Fixtures: set, Clock: clock.Manual})
		if err != nil {
			b.Fatal(err)
		}
		srv.Close()
	}
}

// BenchmarkNewDefaultWithOptionsKey is BenchmarkNewDefault with
// Options.SigningKey, the key cmd/emulator keeps in its --key-file: what
// the binary's start-up costs from the second run on.
func BenchmarkNewDefaultWithOptionsKey(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		srv, err := emulator.New(emulator.Options{Clock: clock.Manual, SigningKey: key})
		if err != nil {
			b.Fatal(err)
		}
		srv.Close()
	}
}

// BenchmarkNewDefaultParts times the parts of emulator.New one by one:
// fixture.Parse of the default text is what fixture.Default did before
// it was built by generated code (default_gen.go), which it times next;
// openapi.NewValidator is done once per process (the first New), from
// generated code too (document_gen.go).
func BenchmarkNewDefaultParts(b *testing.B) {
	b.Run("fixture.Parse-default", func(b *testing.B) {
		for b.Loop() {
			if _, err := fixture.Parse(fixtures.DefaultName, fixtures.Default); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fixture.Default", func(b *testing.B) {
		for b.Loop() {
			if _, err := fixture.Default(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("openapi.NewValidator", func(b *testing.B) {
		for b.Loop() {
			if _, err := openapi.NewValidator(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The token signing key that identity.New makes when the fixtures
	// have no signingKey.
	b.Run("rsa.GenerateKey-2048", func(b *testing.B) {
		for b.Loop() {
			if _, err := rsa.GenerateKey(rand.Reader, 2048); err != nil {
				b.Fatal(err)
			}
		}
	})
}
