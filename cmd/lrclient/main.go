// Command lrclient runs Microsoft Defender for Endpoint live response
// actions from the command line with the reference client
// (github.com/mdelive/mde-emulator/client). It is also the adapter the
// client conformance kit runs (features/client/README.md):
//
//	lrclient [-v] [-poll 2s] [-timeout 0] [-comment TEXT] [-device-code] OPERATION OPERANDS...
//
// Operations:
//
//	run-script MACHINE SCRIPT [ARGS]   run a library script, print its output
//	get-file MACHINE PATH DEST         collect a file into DEST
//	put-file MACHINE LIBRARY_FILE      put a library file on the machine
//	upload LOCAL_FILE                  add a file to the library (replacing one of its name)
//	cancel ACTION_ID                   cancel a machine action
//	live-response MACHINE              run the JSON array of commands on stdin, print a summary
//
// The connection comes from the environment: MDE_API_URL (without /api),
// MDE_TOKEN_URL (or MDE_AUTHORITY, from which the v2.0 token URL of the
// tenant is built), MDE_TENANT_ID, MDE_CLIENT_ID, MDE_CLIENT_SECRET and
// MDE_SCOPE. With MDE_USERNAME and MDE_PASSWORD it signs in as that user
// through the app (the password grant; MDE_CLIENT_SECRET is then
// optional) and renews the access token with the refresh token. With
// MDE_SIGN_IN=device-code (or -device-code) it signs a user in with a
// device code instead: it prints the identity platform's message ("To
// sign in, use a web browser to open the page … and enter the code … to
// authenticate.") on standard error, as it is, waits for the user to sign
// in, and renews the token with the refresh token too.
//
// It exits 0 when the operation succeeded, 1 when it did not (saying why
// on standard error) and 2 for a usage error. -v logs each HTTP call to
// standard error.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
