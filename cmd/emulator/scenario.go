package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mdelive/mde-emulator/emulator/scenario"
)

// scenarioFlag reads --scenario. Empty: no scenario. "list": it prints the
// shipped scenarios' names and titles to stdout and reports done (the
// command exits 0). Otherwise the name of a shipped scenario, or the path
// of a scenario file of one's own (ending in .yaml or .yml), which is
// parsed and returned. --scenario and --fixtures are exclusive: the
// scenario brings its fixture.
func scenarioFlag(name, fixturesPath string, stdout io.Writer) (sc *scenario.Scenario, done bool, err error) {
	switch {
	case name == "":
		return nil, false, nil
	case name == "list":
		list, err := scenario.List()
		if err != nil {
			return nil, false, err
		}
		width := 0
		for _, e := range list {
			width = max(width, len(e.Name))
		}
		for _, e := range list {
			fmt.Fprintf(stdout, "%-*s  %s\n", width, e.Name, e.Title)
		}
		return nil, true, nil
	case fixturesPath != "":
		return nil, false, errors.New("--scenario and --fixtures are exclusive: a scenario brings its own fixture")
	case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
		sc, err = scenario.Load(name)
	default:
		sc, err = scenario.Get(name)
	}
	if err != nil {
		return nil, false, fmt.Errorf("--scenario %s: %w (--scenario list lists them)", name, err)
	}
	return sc, false, nil
}
