// Package features holds the conformance kit's Gherkin feature files: the
// contract of the Defender for Endpoint live response API, written for
// people who know the API rather than Go. Package features/steps runs them
// against a target; cmd/conformance is the command that does it.
//
// Tags: one per area (@submit @lifecycle @results @odata @machines
// @library @auth @limits); @emulator-only marks scenarios that need the
// emulator's control plane (its clock, its machines, tokens it mints) and
// cannot run against a real tenant; @profile-default and @profile-current
// mark scenarios that hold under one limits profile only; @large marks the
// heavy ones (20 MB uploads, a 10,001-machine list) that the repeated runs
// of the kit's own tests leave out.
package features

import "embed"

// Files holds every feature file, at the root of the file system.
//
//go:embed *.feature
var Files embed.FS
