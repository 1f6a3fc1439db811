package main

import (
	"fmt"
	"io"

	"github.com/mdelive/mde-emulator/features/parity"
)

const diffUsage = `Usage: conformance diff A B

Compares two recordings made with "conformance api --record", scenario by
scenario, exchange by exchange, field by field, and prints every place
where they differ. Exit code 0: identical; 1: different; 2: an error.
`

func runDiff(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, diffUsage)
		return 0
	}
	if len(args) != 2 {
		fmt.Fprint(stderr, diffUsage)
		return 2
	}
	a, err := parity.Load(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "conformance diff:", err)
		return 2
	}
	b, err := parity.Load(args[1])
	if err != nil {
		fmt.Fprintln(stderr, "conformance diff:", err)
		return 2
	}
	diffs := parity.Diff(a, b)
	scenarios := map[parity.Key]bool{}
	for _, d := range diffs {
		fmt.Fprintln(stdout, d)
		scenarios[d.Scenario] = true
	}
	if len(diffs) == 0 {
		fmt.Fprintf(stdout, "A (%s) and B (%s) agree on %d scenarios\n", args[0], args[1], len(a))
		return 0
	}
	fmt.Fprintf(stdout, "%d differences in %d scenarios (A: %s, B: %s)\n", len(diffs), len(scenarios), args[0], args[1])
	return 1
}
