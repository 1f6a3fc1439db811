// Command conformance runs the conformance kit's feature files against the
// Defender for Endpoint live response API (an emulator or a real tenant)
// and compares the recordings of two runs.
//
//	conformance api [--target URL] [--profile NAME] [--tags EXPR] [--format FMT] [--record DIR] ...
//	conformance client [--manifest FILE] [--tags EXPR] [--format FMT] -- COMMAND [ARGS...]
//	conformance diff DIR-A DIR-B
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/cucumber/godog/formatters"
)

const usage = `conformance runs the live response API contract (the features/*.feature
files) against a target, and compares recorded runs.

Usage:
  conformance api [flags]     run the scenarios; exit 0 only if every scenario ran and passed
  conformance client [flags] -- COMMAND [ARGS...]
                              grade a client, given as a command, against the emulator;
                              exit 0 only if every applicable @required scenario passed
  conformance diff A B        compare two recordings made with "api --record"

Run "conformance api --help" or "conformance client --help" for their flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a command line and returns the exit code: 0 success, 1
// failures (or differences), 2 a usage or setup error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "api":
		return runAPI(args[1:], stdout, stderr)
	case "client":
		return runClient(args[1:], stdout, stderr)
	case "diff":
		return runDiff(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "conformance: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// checkFormats checks a comma-separated list of godog output formats, each
// with an optional ":FILE".
func checkFormats(format string) error {
	for _, spec := range strings.Split(format, ",") {
		name, _, _ := strings.Cut(spec, ":")
		if formatters.FindFmt(name) == nil {
			var known []string
			for n := range formatters.AvailableFormatters() {
				known = append(known, n)
			}
			slices.Sort(known)
			return fmt.Errorf("unknown format %q (formats: %s, with :FILE to write to a file)", name, strings.Join(known, ", "))
		}
	}
	return nil
}
