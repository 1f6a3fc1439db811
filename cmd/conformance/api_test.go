package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/features"
	"github.com/mdelive/mde-emulator/features/steps"
)

// The scenarios tagged for another limits profile, and under "unlimited"
// the @limits ones, are not run but reported as skipped, with their count.
func TestAPISkipsScenariosOfOtherProfiles(t *testing.T) {
	t.Parallel()
	count := func(filter string) int {
		t.Helper()
		n, err := steps.CountScenarios(features.Files, filter)
		if err != nil || n == 0 {
			t.Fatalf("counting %q: %d, %v", filter, n, err)
		}
		return n
	}
	tags := "@profile-default,@profile-current"
	code, out := conformance(t, "api", "--profile", "current", "--tags", tags, "--format", "progress", "--no-colors")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	run, skipped := count("@profile-current"), count("@profile-default")
	for _, want := range []string{
		fmt.Sprintf("limits profile current, %d scenarios", run),
		fmt.Sprintf("%d scenarios (%d passed)", run, run),
		fmt.Sprintf("skipped %d scenarios outside the limits profile current (@profile-default)", skipped),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out = conformance(t, "api", "--profile", "unlimited", "--tags", "@limits", "--format", "progress", "--no-colors")
	want := fmt.Sprintf("skipped %d scenarios outside the limits profile unlimited (@profile-default, @profile-current, @limits)", count("@limits"))
	if code != 1 || !strings.Contains(out, "no scenario matches") || !strings.Contains(out, want) {
		t.Errorf("exit %d, want 1 and %q:\n%s", code, want, out)
	}
}

func TestLeftOut(t *testing.T) {
	t.Parallel()
	all, err := steps.CountScenarios(features.Files, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range []string{"default", "current", "unlimited"} {
		for _, hasControl := range []bool{true, false} {
			run, err := steps.CountScenarios(features.Files, steps.TagFilter("", hasControl, profile))
			if err != nil {
				t.Fatal(err)
			}
			noControl, otherProfile, err := steps.LeftOut(features.Files, "", hasControl, profile)
			if err != nil {
				t.Fatal(err)
			}
			if run+noControl+otherProfile != all || otherProfile == 0 || (noControl == 0) == !hasControl {
				t.Errorf("%s, control %t: %d run + %d without control + %d of other profiles, of %d", profile, hasControl, run, noControl, otherProfile, all)
			}
		}
	}
}
