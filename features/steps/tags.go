package steps

import (
	"io/fs"
	"strings"

	"github.com/cucumber/godog"
)

// Profiles are the limits profiles that scenarios can be tagged for
// (@profile-default, @profile-current).
var Profiles = []string{"default", "current"}

// TagFilter returns the godog tag expression of a run: the user's tags
// (godog syntax: "," is or, "&&" is and, "~" is not), without the
// @emulator-only and @emulator-fixtures scenarios (the latter need the
// default fixture's users) when the target has no control plane and
// without the scenarios that do not apply to the limits profile (see
// ProfileExcludes).
func TagFilter(user string, hasControl bool, profile string) string {
	var not []string
	if !hasControl {
		not = append(not, "@emulator-only", "@emulator-fixtures")
	}
	return AndNot(user, append(not, ProfileExcludes(profile)...)...)
}

// TargetFilter is TagFilter for target: without its control plane, and
// without the @delegated scenarios when it offers no test user.
func TargetFilter(user string, target Target, profile string) string {
	if target.Users().Test.Username == "" {
		user = AndNot(user, "@delegated")
	}
	return TagFilter(user, target.Control() != nil, profile)
}

// ProfileExcludes returns the tags of the scenarios that do not apply to
// the limits profile: those tagged for another profile (@profile-default
// under "current"), and under a profile of no limits ("unlimited", or any
// name not in Profiles) every @profile-… and @limits scenario.
func ProfileExcludes(profile string) []string {
	var not []string
	known := false
	for _, p := range Profiles {
		if p == profile {
			known = true
			continue
		}
		not = append(not, "@profile-"+p)
	}
	if !known {
		not = append(not, "@limits")
	}
	return not
}

// LeftOut returns how many scenarios of fsys that match the user's tags
// the run TagFilter describes leaves out: noControl for the lack of a
// control plane (@emulator-only, @emulator-fixtures), otherProfile because they do not apply
// to the limits profile. A scenario left out for both reasons counts once,
// in otherProfile.
func LeftOut(fsys fs.FS, user string, hasControl bool, profile string) (noControl, otherProfile int, err error) {
	all, err := CountScenarios(fsys, user)
	if err != nil {
		return 0, 0, err
	}
	withControl, err := CountScenarios(fsys, TagFilter(user, true, profile))
	if err != nil {
		return 0, 0, err
	}
	run, err := CountScenarios(fsys, TagFilter(user, hasControl, profile))
	if err != nil {
		return 0, 0, err
	}
	return withControl - run, all - withControl, nil
}

// AndNot returns the tag expression filter and none of tags, spreading
// the negations over the or-terms of filter ("@a,@b" and not @x is
// "@a && ~@x,@b && ~@x").
func AndNot(filter string, tags ...string) string {
	var neg []string
	for _, t := range tags {
		neg = append(neg, "~"+t)
	}
	return And(filter, neg...)
}

// And returns the tag expression filter and every one of terms ("@x" or
// "~@x"), spread over the or-terms of filter.
func And(filter string, terms ...string) string {
	if len(terms) == 0 {
		return filter
	}
	suffix := strings.Join(terms, " && ")
	if strings.TrimSpace(filter) == "" {
		return suffix
	}
	ors := strings.Split(filter, ",")
	for i, t := range ors {
		ors[i] = strings.TrimSpace(t) + " && " + suffix
	}
	return strings.Join(ors, ",")
}

// CountScenarios returns how many scenarios (outline rows included) of the
// feature files in fsys match the tag expression filter.
func CountScenarios(fsys fs.FS, filter string) (int, error) {
	suite := godog.TestSuite{Options: &godog.Options{FS: fsys, Paths: []string{"."}, Tags: filter}}
	feats, err := suite.RetrieveFeatures()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range feats {
		n += len(f.Pickles)
	}
	return n, nil
}
