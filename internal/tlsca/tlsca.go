// Package tlsca is the emulator's local certificate authority: created
// once in a directory and kept there (ca.pem, ca-key.pem), so that a
// client trusts it once (SSL_CERT_FILE, REQUESTS_CA_BUNDLE,
// NODE_EXTRA_CA_CERTS, curl --cacert) and keeps trusting it across runs.
// It issues the serving certificate of --tls and of the proxy mode, valid
// for localhost, the loopback addresses and the real service's host names
// (package servicehosts).
//
// It is a test double's CA: its key sits unencrypted in its directory
// (mode 0600), and whoever can read it can impersonate the names it signs
// to any client that trusts it. Trust it in test environments only.
package tlsca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names in the CA's directory.
const (
	CertFile = "ca.pem"
	KeyFile  = "ca-key.pem"
)

// Lifetimes: the CA's is long, so that trusting it is done once; a serving
// certificate is issued at each start and lives a year at most (what
// clients accept of a certificate).
const (
	caLifetime   = 10 * 365 * 24 * time.Hour
	leafLifetime = 365 * 24 * time.Hour
)

// CA is a loaded certificate authority.
type CA struct {
	// CertPath is the path of the CA's certificate (PEM), the file clients
	// are told to trust.
	CertPath string
	cert     *x509.Certificate
	key      crypto.Signer
}

// Certificate returns the CA's certificate.
func (ca *CA) Certificate() *x509.Certificate { return ca.cert }

// DefaultDir returns the directory the CA lives in unless told otherwise:
// mde-emulator/ca under the user's configuration directory
// ($XDG_CONFIG_HOME or ~/.config on Linux).
func DefaultDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("tlsca: no configuration directory for the CA (give one with --ca-dir): %w", err)
	}
	return filepath.Join(d, "mde-emulator", "ca"), nil
}

// LoadOrCreate loads the CA kept in dir, or creates it there when dir holds
// neither of its files. now is the wall-clock time (a CA is valid from an
// hour before it). A CA with one file missing, a file that does not parse,
// a key that does not match, or an expired certificate is an error naming
// the file: the CA is never silently replaced, as clients trust it.
func LoadOrCreate(dir string, now time.Time) (ca *CA, created bool, err error) {
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case errors.Is(certErr, os.ErrNotExist) && errors.Is(keyErr, os.ErrNotExist):
		ca, err := create(dir, now)
		return ca, err == nil, err
	case errors.Is(certErr, os.ErrNotExist):
		return nil, false, fmt.Errorf("tlsca: %s exists but %s does not: remove the directory %s to make a new CA (clients must then trust the new one)", keyPath, certPath, dir)
	case errors.Is(keyErr, os.ErrNotExist):
		return nil, false, fmt.Errorf("tlsca: %s exists but %s does not: remove the directory %s to make a new CA (clients must then trust the new one)", certPath, keyPath, dir)
	}
	ca, err = load(certPath, keyPath, now)
	return ca, false, err
}

func create(dir string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tlsca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "MDE live response emulator local CA", Organization: []string{"mde-emulator (test only) " + host}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("tlsca: create certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, CertFile), filepath.Join(dir, KeyFile)
	// The key first, the certificate last: a CA directory with a
	// certificate always has its key. Each is written to a temporary file
	// and renamed, so a reader never sees half a file.
	if err := writeAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	return &CA{CertPath: certPath, cert: cert, key: key}, nil
}

func writeAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("tlsca: %w", err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("tlsca: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("tlsca: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tlsca: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("tlsca: %w", err)
	}
	return nil
}

func load(certPath, keyPath string, now time.Time) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlsca: %s and %s are not a certificate and its key: %w", certPath, keyPath, err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("tlsca: %s: %w", certPath, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("tlsca: %s is not a CA certificate", certPath)
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("tlsca: the CA in %s expired on %s: remove its directory to make a new one", certPath, cert.NotAfter.Format(time.DateOnly))
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("tlsca: %s: the key cannot sign", keyPath)
	}
	return &CA{CertPath: certPath, cert: cert, key: key}, nil
}

// Issue returns a serving certificate signed by the CA for names: DNS
// names and IP addresses. It is valid from an hour before now for a year,
// or until the CA expires if that comes first.
func (ca *CA) Issue(names []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "MDE live response emulator"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tlsca: issue: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("tlsca: serial: %w", err)
	}
	return n, nil
}
