package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cucumber/godog"
)

// Outcome is how a scenario ended for the client.
type Outcome string

// The outcomes of a scenario.
const (
	Passed        Outcome = "passed"
	Failed        Outcome = "failed"
	Hung          Outcome = "hung"
	NotApplicable Outcome = "not applicable"
)

// Scenario is the result of one scenario.
type Scenario struct {
	Name    string
	Feature string // the feature file
	Tags    []string
	// Required is true for @required scenarios, false for @recommended.
	Required bool
	Outcome  Outcome
	// Message says what the client did wrong (Failed, Hung), or which
	// operation it lacks (NotApplicable).
	Message string
}

// Result is the result of a run.
type Result struct {
	Scenarios []Scenario // in the order they ended
}

// Count returns how many scenarios of a level (required or recommended)
// passed and how many were applicable.
func (r *Result) Count(required bool) (passed, applicable int) {
	for _, s := range r.Scenarios {
		if s.Required != required || s.Outcome == NotApplicable {
			continue
		}
		applicable++
		if s.Outcome == Passed {
			passed++
		}
	}
	return passed, applicable
}

// OK reports whether every applicable required scenario passed.
func (r *Result) OK() bool {
	passed, applicable := r.Count(true)
	return passed == applicable
}

// kit is a run's configuration, resolved.
type kit struct {
	command        []string
	manifest       *Manifest
	env            []string
	workDir        string
	deadlineFactor float64

	mu     sync.Mutex
	result Result
}

func (k *kit) record(s Scenario) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.result.Scenarios = append(k.result.Scenarios, s)
}

// Run runs the client scenarios against the adapter of cfg and returns
// their results; the formatted run and a report go to cfg.Output. The
// error is for a run that could not be made (a bad configuration, a
// feature file that does not parse), not for a client that fails.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Command) == 0 {
		return nil, errors.New("client: no adapter command")
	}
	out := cfg.Output
	if out == nil {
		out = os.Stdout
	}
	k := &kit{command: absoluteFiles(cfg.Command), manifest: cfg.Manifest, env: cfg.Env, workDir: cfg.WorkDir, deadlineFactor: cfg.DeadlineFactor}
	if k.deadlineFactor <= 0 {
		k.deadlineFactor = 1
	}
	if k.workDir == "" {
		dir, err := os.MkdirTemp("", "conformance-client-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		k.workDir = dir
	}
	features := cfg.Features
	if features == nil {
		features = Files
	}
	format := cfg.Format
	if format == "" {
		format = "pretty"
	}
	concurrency := max(cfg.Concurrency, 1)
	suite := godog.TestSuite{
		Name:                "client",
		ScenarioInitializer: k.initializer,
		Options: &godog.Options{
			Format: format, Output: out, FS: features, Paths: []string{"."}, Tags: cfg.Tags,
			Strict: true, Concurrency: concurrency, NoColors: cfg.NoColors, DefaultContext: ctx,
		},
	}
	status := suite.Run()
	switch {
	case status == 2 || (status != 0 && len(k.result.Scenarios) == 0):
		return nil, fmt.Errorf("client: the feature files could not be run (godog status %d)", status)
	case len(k.result.Scenarios) == 0:
		return nil, fmt.Errorf("client: no scenario matches the tags %q", cfg.Tags)
	}
	res := k.result
	fmt.Fprint(out, res.Report(nameOf(cfg)))
	return &res, nil
}

// absoluteFiles returns command with the words that name existing files
// relative to the kit's working directory made absolute: the adapter
// runs in its scratch directory, where "python3 myclient.py" would not
// find its script.
func absoluteFiles(command []string) []string {
	out := slices.Clone(command)
	for i, arg := range out {
		if arg == "" || filepath.IsAbs(arg) || strings.HasPrefix(arg, "-") {
			continue
		}
		if _, err := os.Stat(arg); err != nil {
			continue
		}
		if i == 0 && !strings.ContainsRune(arg, filepath.Separator) {
			continue // a program found on the PATH keeps its name
		}
		if abs, err := filepath.Abs(arg); err == nil {
			out[i] = abs
		}
	}
	return out
}

func nameOf(cfg Config) string {
	if cfg.Manifest != nil && cfg.Manifest.Name != "" {
		return cfg.Manifest.Name
	}
	return strings.Join(cfg.Command, " ")
}

// initializer sets up each scenario: a fresh world before it (or a skip
// when the client lacks its operation), the result and the clean-up
// after it.
func (k *kit) initializer(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
		tags := tagNames(s)
		if op := operationOf(tags); op != "" && !k.manifest.implements(op) {
			k.record(Scenario{Name: s.Name, Feature: s.Uri, Tags: tags, Required: slices.Contains(tags, "@required"),
				Outcome: NotApplicable, Message: "the client does not implement " + op})
			return ctx, godog.ErrSkip
		}
		for _, si := range [][2]string{{"@sign-in-password", "password"}, {"@sign-in-device-code", signInDeviceCode}} {
			if tag, grant := si[0], si[1]; slices.Contains(tags, tag) && !k.manifest.signsIn(grant) {
				k.record(Scenario{Name: s.Name, Feature: s.Uri, Tags: tags, Required: slices.Contains(tags, "@required"),
					Outcome: NotApplicable, Message: "the client does not declare the " + grant + " sign-in (manifest signIn)"})
				return ctx, godog.ErrSkip
			}
		}
		w, err := newWorld(k, s.Name)
		if err != nil {
			return ctx, err
		}
		return context.WithValue(ctx, worldKey{}, w), nil
	})
	sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
		w, _ := ctx.Value(worldKey{}).(*world)
		if w == nil {
			return ctx, nil // skipped as not applicable
		}
		w.close()
		tags := tagNames(s)
		res := Scenario{Name: s.Name, Feature: s.Uri, Tags: tags, Required: slices.Contains(tags, "@required"), Outcome: Passed}
		var hung *hungError
		switch {
		case errors.As(err, &hung):
			res.Outcome, res.Message = Hung, err.Error()
		case err != nil:
			res.Outcome, res.Message = Failed, err.Error()
		}
		k.record(res)
		return ctx, nil
	})
	sc.Step(`^the client runs "([^"]*)"$`, func(ctx context.Context, cmdline string) error {
		w := worldFrom(ctx)
		return w.runClient(ctx, strings.Fields(w.expand(cmdline)))
	})
	sc.Step(`^the client runs "([^"]*)" with the commands:$`, func(ctx context.Context, cmdline string, commands *godog.DocString) error {
		w := worldFrom(ctx)
		w.stdin = commands.Content
		return w.runClient(ctx, strings.Fields(w.expand(cmdline)))
	})
	addSceneSteps(sc)
	addJudgeSteps(sc)
}

// tagNames returns the names of a scenario's tags.
func tagNames(s *godog.Scenario) []string {
	names := make([]string, len(s.Tags))
	for i, t := range s.Tags {
		names[i] = t.Name
	}
	return names
}

// operationOf returns the operation a scenario's tags name.
func operationOf(tags []string) string {
	for _, t := range tags {
		if op := strings.TrimPrefix(t, "@"); slices.Contains(Operations, op) {
			return op
		}
	}
	return ""
}

// Report returns the summary of a run a person reads: each scenario that
// did not pass with what the client did, then the counts.
func (r *Result) Report(client string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nClient conformance of %s\n", client)
	order := []Outcome{Failed, Hung, NotApplicable, Passed}
	for _, o := range order {
		for _, s := range r.sorted() {
			if s.Outcome != o {
				continue
			}
			level := "recommended"
			if s.Required {
				level = "required"
			}
			fmt.Fprintf(&b, "  %-14s %-11s %s\n", strings.ToUpper(string(s.Outcome)), level, s.Name)
			if o == NotApplicable {
				continue
			}
			if s.Message != "" {
				for _, l := range strings.Split(s.Message, "\n") {
					fmt.Fprintf(&b, "      %s\n", l)
				}
			}
		}
	}
	rp, ra := r.Count(true)
	cp, ca := r.Count(false)
	na := 0
	for _, s := range r.Scenarios {
		if s.Outcome == NotApplicable {
			na++
		}
	}
	fmt.Fprintf(&b, "\nrequired %d/%d, recommended %d/%d", rp, ra, cp, ca)
	if na > 0 {
		fmt.Fprintf(&b, ", not applicable %d", na)
	}
	if r.OK() {
		b.WriteString(": the client meets every required behaviour\n")
	} else {
		b.WriteString(": the client fails required behaviours\n")
	}
	return b.String()
}

// sorted returns the scenarios by feature and name, so that a report does
// not depend on the order in which concurrent scenarios ended.
func (r *Result) sorted() []Scenario {
	s := slices.Clone(r.Scenarios)
	slices.SortStableFunc(s, func(a, b Scenario) int {
		if c := strings.Compare(a.Feature, b.Feature); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return s
}
