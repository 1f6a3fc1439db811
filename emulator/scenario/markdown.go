package scenario

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// Markdown returns docs/scenarios.md: the format of a scenario file, its
// bounds, and every shipped scenario with its summary, timeline and
// instructor text. A test keeps the file in the repository equal to it
// (go test ./emulator/scenario -run TestDocsUpToDate -update rewrites it).
func Markdown() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(markdownHead)
	fmt.Fprintf(&b, `| what | bound |
|---|---|
| file, inline fixture included | %d bytes (1 MiB) |
| events | %d |
| `+"`at`"+` | 0 to %s (30 days) |
| `+"`name`"+` | %d bytes: lower-case letters, digits, single hyphens |
| `+"`title`"+` | %d characters, one line |
| `+"`summary`"+` | %d characters |
| `+"`instructor`"+` | %d bytes |
| an event's `+"`description`"+`, a `+"`note`"+`, a requestor or comment | %d characters |
| outcomes of one `+"`nextOutcomes`"+` | %d |
| commands of one `+"`startAction`"+` | %d |

`, MaxSize, MaxEvents, fmtDuration(MaxAt), MaxNameLen, MaxTitleLen, MaxSummaryLen, MaxInstructorLen, MaxTextLen, MaxOutcomes, MaxCommands)
	b.WriteString("## The scenarios\n\n")
	for _, n := range Names() {
		s, err := Describe(n)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "- [%s](#%s) (`%s`)\n", s.Title, n, n)
	}
	for _, n := range Names() {
		s, _ := Describe(n)
		fmt.Fprintf(&b, "\n<a id=\"%s\"></a>\n\n### %s\n\n", n, s.Title)
		fmt.Fprintf(&b, "`--scenario %s` · `POST /_emulator/scenarios/%s/load` · fixture: %s · [file](../fixtures/scenarios/%s.yaml)\n\n",
			n, n, fixtureName(s), n)
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(s.Summary))
		b.WriteString("| at | action | what |\n|---|---|---|\n")
		for _, e := range s.Events {
			fmt.Fprintf(&b, "| %s | `%s` | %s |\n", fmtDuration(e.Offset()), e.Action(), cell(eventText(e)))
		}
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(s.Instructor))
	}
	return b.Bytes(), nil
}

// fixtureName names the fixture of s in the docs.
func fixtureName(s *Scenario) string {
	if s.FixtureRef != "" {
		return "`" + s.FixtureRef + "`"
	}
	return "inline"
}

// eventText says what an event does, for the timeline's table.
func eventText(e Event) string {
	var what string
	switch e.Action() {
	case ActionSetOnline:
		state := "offline"
		if *e.SetOnline.Online {
			state = "online"
		}
		what = fmt.Sprintf("%s goes %s", e.SetOnline.Machine, state)
	case ActionNextOutcomes:
		what = fmt.Sprintf("%d outcome(s) queued on %s", len(e.NextOutcomes.Outcomes), e.NextOutcomes.Machine)
	case ActionAddFault:
		what = fmt.Sprintf("fault rule `%s` added", e.FaultName())
	case ActionRemoveFault:
		what = fmt.Sprintf("fault rule `%s` removed", e.RemoveFault)
	case ActionSetProfile:
		what = "limits changed"
	case ActionStartAction:
		what = fmt.Sprintf("%d-command action started on %s", len(e.StartAction.Commands), e.StartAction.Machine)
	case ActionNote:
		return e.Note
	}
	if e.Description != "" {
		what += ": " + e.Description
	}
	return what
}

// cell makes s fit a Markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// fmtDuration writes d shortly: 26h, 1m30s, 0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

const markdownHead = `# Scenario packs

<!-- Generated from fixtures/scenarios/*.yaml by package emulator/scenario
(Markdown); do not edit. Regenerate with
go test ./emulator/scenario -run TestDocsUpToDate -update -->

A scenario pack is a training exercise: a fixture, a timeline of events in
emulated time (machines going offline and back, scripted command outcomes,
fault rules switched on and off, limits tightened, an action started by a
colleague) and a text for the instructor: what happens, what a good client
or analyst does, and how to tell from the journal that they did.

## Loading one

- At start: ` + "`go run ./cmd/emulator --scenario NAME`" + ` (instead of
  ` + "`--fixtures`" + `: the two are exclusive, since the scenario brings its
  fixture). ` + "`--scenario list`" + ` prints the names and titles and exits.
  ` + "`--scenario FILE.yaml`" + ` loads a scenario file of your own.
- From the control plane: ` + "`GET /_emulator/scenarios`" + ` lists them (name,
  title, summary); ` + "`GET /_emulator/scenarios/{name}`" + ` shows one with its
  instructor text and timeline; ` + "`POST /_emulator/scenarios/{name}/load`" + `
  loads it; ` + "`GET /_emulator/scenario`" + ` shows the loaded one, each event
  pending, fired, failed or cancelled, and ` + "`journalAfterSeq`" + `, the
  journal's last seq at the load (` + "`GET /_emulator/journal?afterSeq=N`" + `
  shows only what the trainees did since).

Loading a scenario replaces the whole state with its fixture, as
` + "`PUT /_emulator/fixtures`" + ` does (the clock keeps its time; actions are
forgotten; rate-limit windows restart), and clears the fault rules. The
journal is kept. Its events are scheduled on the emulator's clock, at their
` + "`at`" + ` after the load: in manual mode they fire as
` + "`POST /_emulator/clock/advance`" + ` passes them, with ` + "`--time-scale`" + ` they
come sooner in wall time. An event at ` + "`0s`" + ` happens during the load.
Loading another scenario, loading fixtures, or a reset
(` + "`POST /_emulator/reset`" + `) cancels the events still pending; load the
scenario again to restart it.

An event that fails when it fires (its machine was removed, runliveresponse
refuses a ` + "`startAction`" + `) is logged as a warning and shows ` + "`failed`" + ` with
its error in ` + "`GET /_emulator/scenario`" + `. It is not written to the
journal, which records only the requests clients sent.

## The format

A YAML file; unknown fields are errors, and every problem is reported with
its line (an inline fixture's too).

` + "```yaml" + `
name: busy-machine            # lower-case letters, digits, hyphens; the file's name
title: The busy machine        # one line
summary: One or two sentences for the list.
instructor: |                  # Markdown for the instructor
  What happens, what a good client does, how to tell from the journal.
fixture: default               # or an inline fixture, as in fixtures/*.yaml:
# fixture:
#   tenants:
#     - id: ...
events:                        # in time order
  - at: 0s                     # emulated time after the load
    description: Optional, for the instructor.
    setOnline: {machine: ws-travel-03.contoso.local, online: false}
  - at: 2m
    nextOutcomes:              # as POST /_emulator/machines/{id}/next-outcomes
      machine: ws-finance-01
      outcomes: [{type: RunScript, script: Get-Processes.ps1, duration: 45m}]
  - at: 3m
    addFault:                  # a rule as POST /_emulator/faults takes it; name required
      name: storm
      match: {method: GET, path: /api/machineactions*}
      calls: {every: 3}
      effect: {status: 429, retryAfter: 20s}
  - at: 10m
    removeFault: storm         # the rules of that name
  - at: 1m
    setProfile:                # a profile (default, current, unlimited) and/or single limits
      profile: current
      limits: {liveResponsePerMinute: 3}
  - at: 0s
    startAction:               # a live response action by someone else
      machine: ws-finance-01
      requestor: Jordan (Tier 2)
      comment: Case 4711
      commands:
        - {type: RunScript, params: [{key: ScriptName, value: Slow-Collect.ps1}]}
  - at: 26h
    note: Text for the instructor's timeline and the log.
` + "```" + `

Each event has exactly one action. A machine is named by its id, its
computer name or the computer name's first label, in ` + "`tenantId`" + ` when
given, else in the first tenant that has it; it must be in the fixture.
` + "`setProfile`" + ` starts from the named profile, else the one in force, and
overrides its non-zero limits; the rate-limit windows restart (calls
counted so far are forgotten). A ` + "`startAction`" + ` goes through
runliveresponse's checks when it fires (machine busy, sessions, library)
and takes a session like any action.

### Bounds

`
