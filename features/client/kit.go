// Package client grades a live response client's behaviour against the
// emulator. The client is only a command (an adapter, see README.md in
// this folder); each scenario of the feature files here starts a fresh
// emulator on a loopback port, sets its scene, runs the command once with
// one operation, and judges what the client did from the emulator's
// journal, the command's exit code, its output and the files it wrote.
//
// cmd/conformance's "client" command is the way to run it; Run is the
// same from Go.
package client

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// Files holds the client feature files, at the root of the file system.
//
//go:embed *.feature
var Files embed.FS

// fixturesYAML is the world of the client scenarios.
//
//go:embed fixtures.yaml
var fixturesYAML []byte

// Operations are the operations of the adapter protocol, in the order the
// README lists them.
var Operations = []string{"run-script", "get-file", "put-file", "upload", "cancel", "live-response"}

// SignIns are the ways of signing in a manifest can declare: the app's
// client credentials, a user's password (the password grant, then the
// refresh token), and a user's device code (the device code flow, the kit
// signing the user in at the verification page; then the refresh token).
var SignIns = []string{"client_credentials", "password", signInDeviceCode}

// signInDeviceCode is the device code sign-in, in a manifest's signIn and
// in MDE_SIGN_IN.
const signInDeviceCode = "device-code"

// Manifest declares what a client implements.
type Manifest struct {
	// Name names the client in the report.
	Name string `json:"name"`
	// Operations lists the operations the client implements; the scenarios
	// of the others are not applicable.
	Operations []string `json:"operations"`
	// SignIn lists the ways the client signs in (SignIns). Empty: the
	// client credentials only, so the scenarios that run as a user
	// (@sign-in-password, @sign-in-device-code) are not applicable.
	SignIn []string `json:"signIn,omitempty"`
}

// ReadManifest reads and checks a JSON manifest.
func ReadManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	if len(m.Operations) == 0 {
		return nil, fmt.Errorf("manifest %s: no operations (known: %s)", path, strings.Join(Operations, ", "))
	}
	for _, op := range m.Operations {
		if !slices.Contains(Operations, op) {
			return nil, fmt.Errorf("manifest %s: unknown operation %q (known: %s)", path, op, strings.Join(Operations, ", "))
		}
	}
	for _, s := range m.SignIn {
		if !slices.Contains(SignIns, s) {
			return nil, fmt.Errorf("manifest %s: unknown signIn %q (known: %s)", path, s, strings.Join(SignIns, ", "))
		}
	}
	return &m, nil
}

// signsIn reports whether the manifest declares the way of signing in
// grant; without a manifest, or without signIn, a client signs in with
// the client credentials only.
func (m *Manifest) signsIn(grant string) bool {
	if m == nil || len(m.SignIn) == 0 {
		return grant == "client_credentials"
	}
	return slices.Contains(m.SignIn, grant)
}

// SignsIn is signsIn for the kit's tests and tools.
func (m *Manifest) SignsIn(grant string) bool { return m.signsIn(grant) }

// implements reports whether the manifest declares op; a nil manifest
// declares every operation.
func (m *Manifest) implements(op string) bool {
	return m == nil || slices.Contains(m.Operations, op)
}

// DefaultDeadline is how long a client may run in one scenario, unless the
// scenario gives it longer; past it the client is killed and reported as
// hung.
const DefaultDeadline = 60 * time.Second

// Config configures a run of the client scenarios.
type Config struct {
	// Command is the adapter: the program and its first arguments. The
	// operation and its operands are appended.
	Command []string
	// Manifest says which operations the client implements; nil: all.
	Manifest *Manifest
	// Tags selects scenarios, as a godog tag expression ("@required",
	// "@throttling && ~@recommended").
	Tags string
	// Format lists godog output formats, comma-separated: pretty,
	// progress, junit:FILE, cucumber:FILE. Empty: pretty.
	Format string
	// Output receives the formatted run and the report. Nil: os.Stdout.
	Output io.Writer
	// Concurrency is how many scenarios run at once. Zero: 1.
	Concurrency int
	// NoColors leaves ANSI colours out of the output.
	NoColors bool
	// Env is added to the adapter's environment (after the kit's own
	// os.Environ and before the MDE_ variables).
	Env []string
	// WorkDir is where scenarios get their scratch directories. Empty: a
	// temporary directory, removed at the end.
	WorkDir string
	// DeadlineFactor multiplies every scenario's deadline (for slow
	// machines); zero means 1.
	DeadlineFactor float64
	// Features holds the feature files to run; nil: the built-in ones.
	Features fs.FS
}
