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
// @emulator-only scenarios when the target has no control plane, without
// the scenarios of other limits profiles than profile, and without @limits
// under a profile of no limits ("unlimited").
func TagFilter(user string, hasControl bool, profile string) string {
	var not []string
	if !hasControl {
		not = append(not, "@emulator-only")
	}
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
	return AndNot(user, not...)
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
