package features_test

import (
	"testing"
	"time"

	"github.com/cucumber/godog"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/features"
	"github.com/mdelive/mde-emulator/features/steps"
	"github.com/mdelive/mde-emulator/fixtures"
)

// start is where the emulated clock of the in-process runs begins.
var start = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

const base = "http://emulator.test"

func format() string {
	if testing.Verbose() {
		return "pretty"
	}
	return "progress"
}

// runSuite runs the features matching tags against target, each scenario
// a subtest of t, in random order.
func runSuite(t *testing.T, cfg steps.Config, tags string) {
	t.Helper()
	suite := godog.TestSuite{
		Name:                "conformance",
		ScenarioInitializer: steps.Initializer(cfg),
		Options: &godog.Options{
			Format: format(), FS: features.Files, Paths: []string{"."}, Tags: tags,
			TestingT: t, Strict: true, Randomize: -1, Concurrency: 1,
		},
	}
	if suite.Run() != 0 {
		t.Fatal("conformance scenarios failed")
	}
}

func newEmulator(t *testing.T, opts emulator.Options) *emulator.Server {
	t.Helper()
	srv, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// TestFeatures runs every scenario in-process against one emulator on a
// manual clock, reset before each scenario; the scenarios of the
// "current" limits profile run against a second one.
func TestFeatures(t *testing.T) {
	t.Parallel()
	t.Run("default", func(t *testing.T) {
		srv := newEmulator(t, emulator.Options{Clock: clock.Manual, Start: start, StrictResponses: true})
		target := steps.NewEmulatorTarget(base, srv.Client())
		runSuite(t, steps.Config{Target: target}, steps.TagFilter("", true, "default"))
	})
	t.Run("current", func(t *testing.T) {
		srv := newEmulator(t, emulator.Options{Clock: clock.Manual, Start: start, StrictResponses: true, Profile: "current"})
		target := steps.NewEmulatorTarget(base, srv.Client())
		runSuite(t, steps.Config{Target: target}, steps.TagFilter("@profile-current,@sessions", true, "current"))
	})
}

// TestFeaturesWithoutControlPlane runs the scenarios meant for a real
// tenant the way they run there: no control plane, tokens from the OAuth
// endpoint, one test machine, real waits, clean-up after each scenario.
// The emulator runs on a real clock 100 times faster than the wall. The
// 20 MB uploads (@large) run in TestFeatures only, to keep this fast.
func TestFeaturesWithoutControlPlane(t *testing.T) {
	t.Parallel()
	set, err := fixture.Parse(fixtures.DefaultName, fixtures.Default)
	if err != nil {
		t.Fatal(err)
	}
	set.Limits.LiveResponsePerMinute = 1000 // the run shares one window; limits are @emulator-only
	srv := newEmulator(t, emulator.Options{Fixtures: set, Clock: clock.Real, TimeScale: 100, StrictResponses: true})
	creds := steps.Credentials{
		TokenURL: base + "/8ac829e3-bb83-48d7-8cfb-45ebe834d8e1/oauth2/v2.0/token",
		TenantID: "8ac829e3-bb83-48d7-8cfb-45ebe834d8e1", ClientID: "0120a4f9-196a-4f9e-b9f5-23f31f914da7",
		ClientSecret: "emulator-secret",
	}
	target := steps.NewTenantTarget(base, srv.Client(), creds, steps.DefaultMachines.Windows)
	cfg := steps.Config{Target: target, PollInterval: 20 * time.Millisecond, WaitScale: 100}
	runSuite(t, cfg, steps.TagFilter("~@large", false, "default"))
}

// TestScenarioNamesAreUnique guards the recordings, which are filed by
// scenario name, and the subtest names.
func TestScenarioNamesAreUnique(t *testing.T) {
	suite := godog.TestSuite{Options: &godog.Options{FS: features.Files, Paths: []string{"."}}}
	feats, err := suite.RetrieveFeatures()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, f := range feats {
		for _, p := range f.Pickles {
			if other, dup := seen[p.Name]; dup {
				t.Errorf("scenario %q is in %s and %s", p.Name, other, p.Uri)
			}
			seen[p.Name] = p.Uri
		}
	}
}
