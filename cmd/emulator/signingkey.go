package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// signingKeyFile is the name of the token-signing key's file in the
// emulator's directory under the user's configuration directory, beside
// the local CA's (tlsca.DefaultDir).
const signingKeyFile = "signing-key.pem"

// keyFileFlag is --key-file: where the token-signing key is kept. Unset:
// the default path; set to "": no file, a fresh key at each start.
type keyFileFlag struct {
	path string
	set  bool
}

func (f *keyFileFlag) String() string { return f.path }

func (f *keyFileFlag) Set(s string) error {
	f.path, f.set = s, true
	return nil
}

func addKeyFileFlag(fs *flag.FlagSet) *keyFileFlag {
	f := &keyFileFlag{}
	fs.Var(f, "key-file", "the RSA key that signs tokens: made once (mode 0600), then kept, so tokens and the JWKS survive a restart and start-up skips making a 2048-bit key; '' makes a fresh key at each start; a fixture's signingKey wins (default: mde-emulator/"+signingKeyFile+" in the user's configuration directory)")
	return f
}

// signingKey returns the key --key-file names, made and written there if
// the file does not exist, and whether this start made it. It returns a
// nil key (identity.New then makes one) for an empty --key-file and, when the
// flag was not given, when the user has no configuration directory.
func (f *keyFileFlag) signingKey() (key *rsa.PrivateKey, path string, created bool, err error) {
	path = f.path
	if !f.set {
		d, err := os.UserConfigDir()
		if err != nil {
			return nil, "", false, nil
		}
		path = filepath.Join(d, "mde-emulator", signingKeyFile)
	}
	if path == "" {
		return nil, "", false, nil
	}
	key, created, err = loadOrCreateSigningKey(path)
	return key, path, created, err
}

// loadOrCreateSigningKey loads the RSA key kept in path, or makes a
// 2048-bit one and writes it there (PKCS #1 PEM, mode 0600, its directory
// made with mode 0700) when path does not exist. A file that is not such a
// key is an error naming it: a kept key is never replaced silently, since
// tokens and JWKS a client holds are signed with it. Two emulators making
// the key at once both end up with the one written first.
func loadOrCreateSigningKey(path string) (*rsa.PrivateKey, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := parseSigningKey(path, b)
		return key, false, err
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("--key-file: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, false, fmt.Errorf("--key-file: generate signing key: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("--key-file: %w", err)
	}
	won, err := writeExclusive(path, pemBytes)
	if err != nil {
		return nil, false, fmt.Errorf("--key-file: %w", err)
	}
	if !won { // another emulator wrote it first: use that one
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, false, fmt.Errorf("--key-file: %w", err)
		}
		key, err := parseSigningKey(path, b)
		return key, false, err
	}
	return key, true, nil
}

// parseSigningKey parses the key file at path as a fixture's signingKey
// is parsed (PKCS #1 or PKCS #8 PEM, RSA, at least 2048 bits).
func parseSigningKey(path string, b []byte) (*rsa.PrivateKey, error) {
	key, err := (&fixture.Set{SigningKey: string(b)}).ParseSigningKey()
	if err == nil && key == nil {
		err = errors.New("empty")
	}
	if err != nil {
		return nil, fmt.Errorf("--key-file: %s: %v; remove the file to make a new key (tokens signed with the old one then stop verifying), or name another with --key-file", path, err)
	}
	return key, nil
}

// writeExclusive writes b to path with mode 0600 unless path exists, and
// reports whether it wrote it. The bytes go to a temporary file first and
// are linked into place, so a reader never sees half a key.
func writeExclusive(path string, b []byte) (bool, error) {
	f, err := os.CreateTemp(filepath.Dir(path), ".signing-key-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return false, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
