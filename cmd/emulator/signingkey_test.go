package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const defaultTenant = "8ac829e3-bb83-48d7-8cfb-45ebe834d8e1"

// jwksKey returns the kid and modulus (base64url) of the one key the
// emulator at base publishes.
func jwksKey(t *testing.T, base string) (kid, n string) {
	t.Helper()
	res, err := http.Get(base + "/" + defaultTenant + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set struct {
		Keys []struct{ Kid, N string }
	}
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %v, %d keys", err, len(set.Keys))
	}
	return set.Keys[0].Kid, set.Keys[0].N
}

// serveOnce starts the emulator with args, returns its JWKS key, and
// stops it.
func serveOnce(t *testing.T, args ...string) (kid, n string) {
	t.Helper()
	base, cancel, done, _ := startServing(t, args...)
	kid, n = jwksKey(t, base)
	cancel()
	<-done
	return kid, n
}

func modulus(k *rsa.PrivateKey) string { return base64.RawURLEncoding.EncodeToString(k.N.Bytes()) }

// The key is made on the first run (mode 0600, in a directory made 0700),
// then the same key, so the same kid, signs at the next run.
func TestKeyFileKeptAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "signing-key.pem")
	kid1, n1 := serveOnce(t, "--key-file", path)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the first run made no key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil {
		t.Error(err)
	} else if di.Mode().Perm() != 0o700 {
		t.Errorf("key directory mode %v, want 0700", di.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	kid2, n2 := serveOnce(t, "--key-file", path)
	if kid1 != kid2 || n1 != n2 {
		t.Errorf("second run: kid %s, want the first run's %s (same key)", kid2, kid1)
	}
	if after, _ := os.ReadFile(path); string(after) != string(b) {
		t.Error("the second run rewrote the key file")
	}
	key, _, err := loadOrCreateSigningKey(path)
	if err != nil || modulus(key) != n1 {
		t.Errorf("the served key is not the file's: %v", err)
	}
}

// With no --key-file the key lives under the user's configuration
// directory (XDG_CONFIG_HOME here, set by TestMain); an empty --key-file
// makes a fresh key each run and writes nothing.
func TestKeyFileDefaultAndNone(t *testing.T) {
	cfg, err := os.UserConfigDir()
	if err != nil {
		t.Skip("no configuration directory:", err)
	}
	path := filepath.Join(cfg, "mde-emulator", signingKeyFile)
	kid1, _ := serveOnce(t)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no key at the default path: %v", err)
	}
	if kid2, _ := serveOnce(t); kid2 != kid1 {
		t.Errorf("default path: kid %s then %s, want the same", kid1, kid2)
	}
	dir := t.TempDir()
	t.Chdir(dir) // an empty path must not mean a file in the working directory
	kidA, _ := serveOnce(t, "--key-file", "")
	kidB, _ := serveOnce(t, "--key-file", "")
	if kidA == kidB || kidA == kid1 {
		t.Errorf("--key-file '': kids %s, %s (kept key %s); want a fresh key each run", kidA, kidB, kid1)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("--key-file '' wrote %v", ents)
	}
}

// A damaged key file is refused, naming the file, and left as it was.
func TestKeyFileDamagedIsRefused(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	small, _ := x509.MarshalPKCS8PrivateKey(other)
	for name, content := range map[string]string{
		"empty":     "",
		"garbage":   "not a key\n",
		"truncated": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n",
		"too small": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: small})),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "signing-key.pem")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--key-file", path}, io.Discard)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "--key-file") {
				t.Errorf("run = %v; want an error naming --key-file and %s", err, path)
			}
			if b, _ := os.ReadFile(path); string(b) != content {
				t.Error("the damaged file was changed")
			}
		})
	}
}

// A fixture's signingKey wins over the key file, which is then not even
// made.
func TestKeyFileFixtureKeyWins(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	def, err := os.ReadFile("../../fixtures/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	doc.WriteString("signingKey: |\n")
	for l := range strings.Lines(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))) {
		doc.WriteString("  " + l)
	}
	doc.Write(def)
	dir := t.TempDir()
	fx := filepath.Join(dir, "fixtures.yaml")
	if err := os.WriteFile(fx, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "signing-key.pem")
	_, n := serveOnce(t, "--fixtures", fx, "--key-file", keyPath)
	if n != modulus(key) {
		t.Error("the JWKS does not publish the fixture's key")
	}
	if _, err := os.Stat(keyPath); err == nil {
		t.Error("the key file was made although the fixture has a key")
	}
}

// Two emulators making the key at once end up with the same key: the one
// written first.
func TestKeyFileConcurrentCreation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signing-key.pem")
	var wg sync.WaitGroup
	keys := make([]*rsa.PrivateKey, 4)
	errs := make([]error, len(keys))
	for i := range keys {
		wg.Go(func() { keys[i], _, errs[i] = loadOrCreateSigningKey(path) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !keys[i].Equal(keys[0]) {
			t.Errorf("emulator %d got another key than emulator 0", i)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want the key only (no temporary file left)", len(ents))
	}
}
