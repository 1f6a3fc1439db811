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

// profileRuns are the limits profiles TestFeatures runs the suite under,
// each with the tags of its run. Every scenario runs under every profile
// (but for those tagged for another one, and @limits under "unlimited"):
// a scenario can depend on a limit without saying so in its tags (a wait
// longer than the "current" queue timeout did), so a run restricted to the
// @limits and @profile-… scenarios would not catch it. The @large
// scenarios (20 MB uploads, a 10,001-machine list: three quarters of the
// run under -race) depend on no limit the profiles differ in, so they run
// under "default" only. The profiles run in parallel, each against its own
// emulator: the other two add about a fifth to the "default" run's time
// under -race on two CPUs.
var profileRuns = []struct{ profile, tags string }{
	{"default", ""},
	{"current", "~@large"},
	{"unlimited", "~@large"},
}

// TestFeatures runs the scenarios in-process under each limits profile,
// against one emulator per profile on a manual clock, reset before each
// scenario.
func TestFeatures(t *testing.T) {
	t.Parallel()
	for _, r := range profileRuns {
		t.Run(r.profile, func(t *testing.T) {
			t.Parallel()
			srv := newEmulator(t, emulator.Options{Clock: clock.Manual, Start: start, StrictResponses: true, Profile: r.profile})
			target := steps.NewEmulatorTarget(base, srv.Client())
			if _, n, err := steps.LeftOut(features.Files, r.tags, true, r.profile); err == nil && n > 0 {
				t.Logf("%d scenarios left out: outside the limits profile %s", n, r.profile)
			}
			runSuite(t, steps.Config{Target: target}, steps.TagFilter(r.tags, true, r.profile))
		})
	}
}

// TestFeaturesWithoutControlPlane runs the scenarios meant for a real
// tenant the way they run there: no control plane, tokens from the OAuth
// endpoint, one test machine and one test user, real waits, clean-up
// after each scenario.
// The emulator runs on a real clock 100 times faster than the wall. The
// 20 MB uploads (@large) run in TestFeatures only, to keep this fast.
func TestFeaturesWithoutControlPlane(t *testing.T) {
	t.Parallel()
	set, err := fixture.Default()
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
	target.SetUser(steps.DefaultUsers.Test)
	cfg := steps.Config{Target: target, PollInterval: 20 * time.Millisecond, WaitScale: 100}
	runSuite(t, cfg, steps.TargetFilter("~@large", target, "default"))
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
