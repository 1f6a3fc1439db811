package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"runtime"

	clientkit "github.com/mdelive/mde-emulator/features/client"
)

const clientUsage = `Usage: conformance client [flags] -- COMMAND [ARGS...]

Grades a live response client, given as a command, against the emulator.
Each scenario of the client features starts a fresh emulator on a loopback
port, sets the scene, runs

  COMMAND [ARGS...] OPERATION OPERANDS...

once with the MDE_ environment of that emulator, and judges what the client
did. The adapter protocol (operations, environment, exit codes, manifest)
is in features/client/README.md.

Exit status: 0 when every applicable @required scenario passed, 1 when one
failed or hung, 2 when the run could not be made.

Flags:
`

// clientFlags are the flags of "conformance client".
type clientFlags struct {
	manifest, tags, format, features, workDir string
	concurrency                               int
	deadlineFactor                            float64
	noColors                                  bool
	command                                   []string
}

func parseClientFlags(args []string, stderr io.Writer) (*clientFlags, error) {
	f := &clientFlags{}
	fset := flag.NewFlagSet("conformance client", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, clientUsage)
		fset.PrintDefaults()
	}
	fset.StringVar(&f.manifest, "manifest", "", `JSON file naming the operations the client implements and how it signs in: {"name":"…","operations":["run-script",…],"signIn":["client_credentials","password","device-code"]} (default: every operation, client credentials only)`)
	fset.StringVar(&f.tags, "tags", "", `scenarios to run, godog tag expression: "@required", "@throttling && ~@recommended"`)
	fset.StringVar(&f.format, "format", "pretty", "output formats, comma-separated: pretty, progress, junit:FILE, cucumber:FILE")
	fset.StringVar(&f.features, "features", "", "directory of client feature files to run (default: the ones built in)")
	fset.StringVar(&f.workDir, "work-dir", "", "directory for the scenarios' scratch directories, kept after the run (default: a temporary one, removed)")
	fset.IntVar(&f.concurrency, "concurrency", max(8, 2*runtime.NumCPU()), "scenarios run at once (each has its own emulator)")
	fset.Float64Var(&f.deadlineFactor, "deadline-factor", 1, "multiply every scenario's deadline (a client is killed and reported hung past it)")
	fset.BoolVar(&f.noColors, "no-colors", false, "no ANSI colours in the output")
	if err := fset.Parse(args); err != nil {
		return nil, err
	}
	f.command = fset.Args()
	if len(f.command) == 0 {
		fset.Usage()
		return nil, errors.New("no client command: give it after --")
	}
	if err := checkFormats(f.format); err != nil {
		return nil, err
	}
	return f, nil
}

func runClient(args []string, stdout, stderr io.Writer) int {
	f, err := parseClientFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "conformance client:", err)
		return 2
	}
	cfg := clientkit.Config{
		Command: f.command, Tags: f.tags, Format: f.format, Output: stdout,
		Concurrency: f.concurrency, NoColors: f.noColors, WorkDir: f.workDir, DeadlineFactor: f.deadlineFactor,
	}
	if f.manifest != "" {
		if cfg.Manifest, err = clientkit.ReadManifest(f.manifest); err != nil {
			fmt.Fprintln(stderr, "conformance client:", err)
			return 2
		}
	}
	if f.features != "" {
		var fsys fs.FS = os.DirFS(f.features)
		cfg.Features = fsys
	}
	if f.workDir != "" {
		if err := os.MkdirAll(f.workDir, 0o755); err != nil {
			fmt.Fprintln(stderr, "conformance client:", err)
			return 2
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := clientkit.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "conformance client:", err)
		return 2
	}
	if !res.OK() {
		return 1
	}
	return 0
}
