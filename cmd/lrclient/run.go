package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/client"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	programName = "lrclient"
)

// usageError is a mistake in the command line or the environment.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: lrclient [flags] OPERATION OPERANDS...

operations:
  run-script MACHINE SCRIPT [ARGS]   run a library script, print its output
  get-file MACHINE PATH DEST         collect a file into DEST
  put-file MACHINE LIBRARY_FILE      put a library file on the machine
  upload LOCAL_FILE                  add a file to the library, replacing one of its name
  cancel ACTION_ID                   cancel a machine action
  live-response MACHINE              run the JSON array of commands on stdin, print a summary

environment: MDE_API_URL, MDE_TOKEN_URL (or MDE_AUTHORITY), MDE_TENANT_ID,
MDE_CLIENT_ID, MDE_CLIENT_SECRET, MDE_SCOPE; MDE_USERNAME and MDE_PASSWORD
to sign in as a user (password grant, then the refresh token);
MDE_SIGN_IN=device-code (or -device-code) to sign in as a user with a
device code, shown on standard error

flags:
`

// run is the whole program: it parses args (without the program name),
// reads its configuration through getenv, runs one operation and returns
// the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(programName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	verbose := fs.Bool("v", false, "log each HTTP call to standard error")
	poll := fs.Duration("poll", client.DefaultPollInterval, "how often to poll an action")
	timeout := fs.Duration("timeout", 0, "give up after this long (0: wait as long as the action runs)")
	comment := fs.String("comment", "", "the comment of the action or cancellation")
	deviceCode := fs.Bool("device-code", false, "sign in as a user with a device code (as MDE_SIGN_IN=device-code)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	op, err := parseOperation(fs.Args())
	if err == nil {
		var c *client.Client
		if c, err = newClient(getenv, *poll, *verbose, *deviceCode, stderr); err == nil {
			if *timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, *timeout)
				defer cancel()
			}
			env := &opEnv{c: c, comment: *comment, stdin: stdin, stdout: stdout, stderr: stderr}
			err = op.run(ctx, env, op.operands)
		}
	}
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\n", programName, ue.msg)
		fs.Usage()
		return exitUsage
	default:
		fmt.Fprintf(stderr, "%s: %s\n", programName, err)
		return exitFailed
	}
}

// Values of MDE_SIGN_IN, the way to sign in; empty: the client
// credentials, or the password grant when MDE_USERNAME is set.
const (
	signInClientCredentials = "client_credentials"
	signInPassword          = "password"
	signInDeviceCode        = "device-code"
)

// newClient builds the client from the environment. With a device code
// (deviceCode, or MDE_SIGN_IN=device-code) it shows the identity
// platform's message on stderr, as it is, and ignores MDE_USERNAME and
// MDE_PASSWORD.
func newClient(getenv func(string) string, poll time.Duration, verbose, deviceCode bool, stderr io.Writer) (*client.Client, error) {
	switch mode := getenv("MDE_SIGN_IN"); mode {
	case "", signInClientCredentials, signInPassword:
	case signInDeviceCode:
		deviceCode = true
	default:
		return nil, usageError{fmt.Sprintf("MDE_SIGN_IN %q: want %s, %s or %s", mode, signInClientCredentials, signInPassword, signInDeviceCode)}
	}
	cfg := client.Config{
		APIURL:       getenv("MDE_API_URL"),
		TokenURL:     getenv("MDE_TOKEN_URL"),
		TenantID:     getenv("MDE_TENANT_ID"),
		ClientID:     getenv("MDE_CLIENT_ID"),
		ClientSecret: getenv("MDE_CLIENT_SECRET"),
		Username:     getenv("MDE_USERNAME"),
		Password:     getenv("MDE_PASSWORD"),
		Scope:        getenv("MDE_SCOPE"),
		PollInterval: poll,
	}
	if cfg.TokenURL == "" && getenv("MDE_AUTHORITY") != "" && cfg.TenantID != "" {
		cfg.TokenURL = strings.TrimRight(getenv("MDE_AUTHORITY"), "/") + "/" + cfg.TenantID + "/oauth2/v2.0/token"
	}
	if verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	var missing []string
	required := []string{"MDE_TENANT_ID", "MDE_CLIENT_ID", "MDE_CLIENT_SECRET"}
	switch {
	case deviceCode:
		// A user's sign-in at the verification page: no password, and the
		// app may be a public client.
		required = []string{"MDE_TENANT_ID", "MDE_CLIENT_ID"}
		cfg.Username, cfg.Password, cfg.DeviceCode = "", "", true
		cfg.ShowDeviceCode = func(p client.DeviceCodePrompt) { fmt.Fprintln(stderr, p.Message) }
	case cfg.Username != "" || cfg.Password != "":
		// A user's sign-in: the app may be a public client.
		required = []string{"MDE_TENANT_ID", "MDE_CLIENT_ID", "MDE_USERNAME", "MDE_PASSWORD"}
	}
	for _, name := range required {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, usageError{"set " + strings.Join(missing, ", ")}
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	return c, nil
}

// opEnv is what an operation works with.
type opEnv struct {
	c              *client.Client
	comment        string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// operation is one operation of the command line.
type operation struct {
	name             string
	minArgs, maxArgs int
	run              func(ctx context.Context, e *opEnv, operands []string) error
	operands         []string
}

var operations = []operation{
	{name: "run-script", minArgs: 2, maxArgs: 3, run: runScript},
	{name: "get-file", minArgs: 3, maxArgs: 3, run: getFile},
	{name: "put-file", minArgs: 2, maxArgs: 2, run: putFile},
	{name: "upload", minArgs: 1, maxArgs: 1, run: upload},
	{name: "cancel", minArgs: 1, maxArgs: 1, run: cancel},
	{name: "live-response", minArgs: 1, maxArgs: 1, run: liveResponse},
}

// parseOperation finds the operation named by args[0] and checks the
// number of its operands.
func parseOperation(args []string) (operation, error) {
	if len(args) == 0 {
		return operation{}, usageError{"no operation"}
	}
	for _, op := range operations {
		if op.name != args[0] {
			continue
		}
		n := len(args) - 1
		if n < op.minArgs || n > op.maxArgs {
			return operation{}, usageError{fmt.Sprintf("%s takes %d to %d operands, got %d", op.name, op.minArgs, op.maxArgs, n)}
		}
		op.operands = args[1:]
		return op, nil
	}
	return operation{}, usageError{fmt.Sprintf("unknown operation %q", args[0])}
}

// runScript: run-script MACHINE SCRIPT [ARGS]. The output is printed even
// when the script exits non-zero.
func runScript(ctx context.Context, e *opEnv, o []string) error {
	var args string
	if len(o) == 3 {
		args = o[2]
	}
	a, err := e.c.Run(ctx, o[0], client.Request{Commands: []client.Command{client.RunScriptCommand(o[1], args)}, Comment: e.comment})
	if err != nil {
		return err
	}
	res, err := e.c.ScriptResult(ctx, a.ID, 0)
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, res.Output)
	if res.ExitCode != 0 {
		return &client.ScriptError{ActionID: a.ID, Result: res}
	}
	return nil
}

// getFile: get-file MACHINE PATH DEST.
func getFile(ctx context.Context, e *opEnv, o []string) error {
	a, err := e.c.Run(ctx, o[0], client.Request{Commands: []client.Command{client.GetFileCommand(o[1])}, Comment: e.comment})
	if err != nil {
		return err
	}
	b, err := e.c.FileResult(ctx, a.ID, 0)
	if err != nil {
		return err
	}
	return os.WriteFile(o[2], b, 0o600)
}

// putFile: put-file MACHINE LIBRARY_FILE.
func putFile(ctx context.Context, e *opEnv, o []string) error {
	_, err := e.c.Run(ctx, o[0], client.Request{Commands: []client.Command{client.PutFileCommand(o[1])}, Comment: e.comment})
	return err
}

// upload: upload LOCAL_FILE.
func upload(ctx context.Context, e *opEnv, o []string) error {
	content, err := os.ReadFile(o[0])
	if err != nil {
		return err
	}
	f, err := e.c.UploadLibraryFile(ctx, client.LibraryUpload{
		FileName: filepath.Base(o[0]), Content: content, Description: e.comment, Override: true,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "uploaded %s (sha256 %s)\n", f.FileName, f.SHA256)
	return nil
}

// cancel: cancel ACTION_ID.
func cancel(ctx context.Context, e *opEnv, o []string) error {
	a, err := e.c.Cancel(ctx, o[0], e.comment)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "action %s: cancellation accepted, status %s\n", a.ID, a.Status)
	return nil
}

// summary is what live-response prints.
type summary struct {
	ActionID string           `json:"actionId"`
	Status   client.Status    `json:"status"`
	Commands []commandSummary `json:"commands"`
}

type commandSummary struct {
	Index  int      `json:"index"`
	Type   string   `json:"type"`
	Status string   `json:"status"`
	Errors []string `json:"errors"`
}

// liveResponse: live-response MACHINE, the commands on stdin.
func liveResponse(ctx context.Context, e *opEnv, o []string) error {
	var cmds []client.Command
	dec := json.NewDecoder(e.stdin)
	if err := dec.Decode(&cmds); err != nil {
		return usageError{"standard input must be a JSON array of commands: " + err.Error()}
	}
	if len(cmds) == 0 {
		return usageError{"standard input holds no commands"}
	}
	a, err := e.c.Run(ctx, o[0], client.Request{Commands: cmds, Comment: e.comment})
	if a != nil && a.Status.Final() {
		s := summary{ActionID: a.ID, Status: a.Status, Commands: []commandSummary{}}
		for _, c := range a.Commands {
			errs := c.Errors
			if errs == nil {
				errs = []string{}
			}
			s.Commands = append(s.Commands, commandSummary{Index: c.Index, Type: c.Command.Type, Status: c.Status, Errors: errs})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(s); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}
