package tlsca

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestCreatedOnceAndKept(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "ca")
	ca, created, err := LoadOrCreate(dir, now)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate = %v, created %v", err, created)
	}
	if fi, err := os.Stat(filepath.Join(dir, KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v", err, fi.Mode())
	}
	again, created, err := LoadOrCreate(dir, now.Add(24*time.Hour))
	if err != nil || created {
		t.Fatalf("second LoadOrCreate = %v, created %v", err, created)
	}
	if !again.Certificate().Equal(ca.Certificate()) || again.CertPath != filepath.Join(dir, CertFile) {
		t.Errorf("the second load made another CA")
	}
}

func TestIssuedCertificateVerifies(t *testing.T) {
	t.Parallel()
	ca, _, err := LoadOrCreate(t.TempDir(), now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue([]string{"localhost", "127.0.0.1", "::1", "api.securitycenter.microsoft.com"}, now)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "api.securitycenter.microsoft.com"} {
		if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "evil.example", Roots: roots, CurrentTime: now}); err == nil {
		t.Errorf("the certificate verifies for a name it was not issued for")
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: roots, CurrentTime: now.Add(400 * 24 * time.Hour)}); err == nil {
		t.Errorf("the certificate still verifies after 400 days")
	}
}

func TestBrokenCAIsRefusedNotReplaced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		damage func(dir string)
		want   string
	}{
		{"key missing", func(dir string) { os.Remove(filepath.Join(dir, KeyFile)) }, "ca-key.pem does not"},
		{"certificate missing", func(dir string) { os.Remove(filepath.Join(dir, CertFile)) }, "ca.pem does not"},
		{"certificate corrupt", func(dir string) { os.WriteFile(filepath.Join(dir, CertFile), []byte("junk"), 0o644) }, "are not a certificate and its key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, err := LoadOrCreate(dir, now); err != nil {
				t.Fatal(err)
			}
			tc.damage(dir)
			before, _ := os.ReadDir(dir)
			_, _, err := LoadOrCreate(dir, now)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadOrCreate = %v, want an error with %q", err, tc.want)
			}
			if after, _ := os.ReadDir(dir); len(after) != len(before) {
				t.Errorf("the directory changed: %d files, was %d", len(after), len(before))
			}
		})
	}
	dir := t.TempDir()
	if _, _, err := LoadOrCreate(dir, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, now.Add(11*365*24*time.Hour)); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("an expired CA: %v", err)
	}
}
