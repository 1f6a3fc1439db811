package scenario

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/mdelive/mde-emulator/fixtures"
)

// ErrNotFound is the error of Get for a name the emulator ships no
// scenario of.
var ErrNotFound = errors.New("no such scenario")

// Names returns the names of the scenarios the emulator ships
// (fixtures/scenarios/NAME.yaml, embedded in the binary), sorted.
func Names() []string {
	entries, _ := fs.ReadDir(fixtures.Scenarios, "scenarios")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// Get parses the shipped scenario called name. Each call returns a new
// Scenario (its fixture the caller's to change). An unknown name is an
// error wrapping ErrNotFound that lists the names.
func Get(name string) (*Scenario, error) {
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("%w %q (shipped: %s)", ErrNotFound, name, strings.Join(Names(), ", "))
	}
	file := "scenarios/" + name + ".yaml"
	data, err := fs.ReadFile(fixtures.Scenarios, file)
	if err != nil {
		return nil, err
	}
	s, err := Parse(path.Join(fixtures.ScenariosDir, name+".yaml"), data)
	if err != nil {
		return nil, err
	}
	if s.Name != name {
		return nil, fmt.Errorf("%s: name %q differs from the file's name", path.Join(fixtures.ScenariosDir, name+".yaml"), s.Name)
	}
	return s, nil
}

// listed is every shipped scenario, parsed once: the list does not change
// while the binary runs.
var listed = sync.OnceValues(func() ([]*Scenario, error) {
	var all []*Scenario
	var errs []error
	for _, n := range Names() {
		s, err := Get(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, s)
	}
	return all, errors.Join(errs...)
})

// List returns the name, title and summary of every shipped scenario,
// sorted by name. A shipped scenario that does not parse is an error (the
// package's tests make sure none does).
func List() ([]Entry, error) {
	all, err := listed()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(all))
	for i, s := range all {
		out[i] = s.Entry()
	}
	return out, nil
}

// Describe returns the shipped scenario called name, without its fixture
// (for showing; Get returns one to load). It shares the parse of List.
func Describe(name string) (*Scenario, error) {
	all, err := listed()
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		if s.Name == name {
			c := *s
			c.Fixture = nil
			return &c, nil
		}
	}
	return nil, fmt.Errorf("%w %q (shipped: %s)", ErrNotFound, name, strings.Join(Names(), ", "))
}
