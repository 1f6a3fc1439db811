package scenario

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/limits"
)

// Load reads the scenario file at path and parses it with Parse, the path
// naming the file in errors. A file over MaxSize is refused before it is
// read.
func Load(path string) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// fileYAML is a scenario file as YAML holds it.
type fileYAML struct {
	Name       string      `yaml:"name"`
	Title      string      `yaml:"title"`
	Summary    string      `yaml:"summary"`
	Instructor string      `yaml:"instructor"`
	Fixture    yaml.Node   `yaml:"fixture"`
	Events     []eventYAML `yaml:"events"`
}

// eventYAML is one event as YAML holds it.
type eventYAML struct {
	At           *fixture.Duration `yaml:"at"`
	Description  string            `yaml:"description"`
	SetOnline    *SetOnline        `yaml:"setOnline"`
	NextOutcomes *NextOutcomes     `yaml:"nextOutcomes"`
	AddFault     yaml.Node         `yaml:"addFault"`
	RemoveFault  string            `yaml:"removeFault"`
	SetProfile   *SetProfile       `yaml:"setProfile"`
	StartAction  *StartAction      `yaml:"startAction"`
	Note         string            `yaml:"note"`
}

// actionKeys are the keys of an event that name its action.
var actionKeys = []string{ActionSetOnline, ActionNextOutcomes, ActionAddFault, ActionRemoveFault, ActionSetProfile, ActionStartAction, ActionNote}

var (
	validName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// yamlLine finds the line in the errors of package yaml.
	yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
)

// Parse parses and checks a scenario file (YAML). name names the file in
// errors. Unknown fields are errors. The fixture is parsed with
// fixture.Parse (an inline one keeps the lines of the scenario file in its
// errors), and the events are checked against it: every machine they name
// is in it, every fault they remove was added by an earlier event.
//
// On failure Parse returns a nil Scenario and the problems joined with
// errors.Join, each an *Error (the inline fixture's problems too)
// reading "name:line: message", sorted by line; at most 20 are listed.
func Parse(name string, data []byte) (*Scenario, error) {
	p := &problems{name: name}
	if len(data) > MaxSize {
		p.add(0, "the scenario is %d bytes, over the largest allowed of %d bytes (1 MiB)", len(data), MaxSize)
		return nil, p.err()
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		addYAMLError(p, err)
		return nil, p.err()
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		p.add(1, "a scenario is a YAML mapping with name, title, summary, instructor, fixture and events")
		return nil, p.err()
	}
	top := root.Content[0]
	var f fileYAML
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		addYAMLError(p, err)
		return nil, p.err()
	}

	s := &Scenario{Name: f.Name, Title: f.Title, Summary: f.Summary, Instructor: f.Instructor}
	checkTexts(p, top, s)
	s.Fixture, s.FixtureRef = parseFixture(p, name, data, top, &f.Fixture)
	if s.Fixture == nil {
		return nil, p.err() // the events are checked against the fixture
	}
	s.Events = checkEvents(p, top, f.Events, s.Fixture)
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// addYAMLError adds the problems of an error of package yaml, each at its
// line.
func addYAMLError(p *problems, err error) {
	var msgs []string
	if te := (*yaml.TypeError)(nil); errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	for _, m := range msgs {
		if g := yamlLine.FindStringSubmatch(m); g != nil {
			line, _ := strconv.Atoi(g[1])
			p.add(line, "%s", g[2])
		} else {
			p.add(0, "%s", strings.TrimPrefix(m, "yaml: "))
		}
	}
}

// value returns the value of key in the mapping node m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// keyLine returns the line of key in the mapping m, else m's line.
func keyLine(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return m.Line
}

// lineOf returns the line of key's value in the mapping m, else m's line.
func lineOf(m *yaml.Node, key string) int {
	if v := value(m, key); v != nil {
		return v.Line
	}
	if m != nil {
		return m.Line
	}
	return 0
}

// checkTexts checks the name, the title, the summary and the instructor
// text.
func checkTexts(p *problems, top *yaml.Node, s *Scenario) {
	switch {
	case s.Name == "":
		p.add(top.Line, "name is required")
	case len(s.Name) > MaxNameLen:
		p.add(lineOf(top, "name"), "name is %d bytes, over the longest allowed of %d", len(s.Name), MaxNameLen)
	case !validName.MatchString(s.Name):
		p.add(lineOf(top, "name"), "name %q must be lower-case letters, digits and single hyphens, such as busy-machine", s.Name)
	}
	text := func(key, v string, max int, bytesNotChars, oneLine bool) {
		n, unit := utf8.RuneCountInString(v), "characters"
		if bytesNotChars {
			n, unit = len(v), "bytes"
		}
		switch {
		case strings.TrimSpace(v) == "":
			p.add(lineOf(top, key), "%s is required", key)
		case n > max:
			p.add(lineOf(top, key), "%s is %d %s, over the longest allowed of %d", key, n, unit, max)
		case oneLine && strings.ContainsAny(v, "\r\n"):
			p.add(lineOf(top, key), "%s must be one line", key)
		case !utf8.ValidString(v):
			p.add(lineOf(top, key), "%s is not valid UTF-8", key)
		}
	}
	text("title", s.Title, MaxTitleLen, false, true)
	text("summary", s.Summary, MaxSummaryLen, false, false)
	text("instructor", s.Instructor, MaxInstructorLen, true, false)
}

// parseFixture returns the scenario's fixture, from the fixture node n of
// the file: "default", or an inline block mapping in the format of
// fixtures/*.yaml. An inline fixture is parsed from the file's own text,
// the lines around it blanked and its indentation removed, so that its
// errors name the scenario file's lines.
func parseFixture(p *problems, name string, data []byte, top, n *yaml.Node) (*fixture.Set, string) {
	switch {
	case n.Kind == 0:
		p.add(top.Line, "fixture is required: \"default\" or an inline fixture")
		return nil, ""
	case n.Kind == yaml.ScalarNode:
		if n.Value != "default" {
			p.add(n.Line, "fixture %q: want \"default\" or an inline fixture (a mapping with tenants)", n.Value)
			return nil, ""
		}
		set, err := fixture.Default()
		if err != nil {
			p.add(n.Line, "the default fixture: %v", err)
			return nil, ""
		}
		return set, "default"
	case n.Kind != yaml.MappingNode || n.Style&yaml.FlowStyle != 0:
		p.add(n.Line, "fixture: want \"default\" or an inline fixture written as a block mapping (tenants: on a line of its own)")
		return nil, ""
	}
	// The inline fixture runs from its first line to the line before the
	// next key of the file, if any.
	end := -1
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "fixture" && i+2 < len(top.Content) {
			end = top.Content[i+2].Line - 1
		}
	}
	lines := strings.SplitAfter(string(data), "\n")
	if end < 0 {
		end = len(lines)
	}
	indent := n.Column - 1
	var b strings.Builder
	b.Grow(len(data))
	for i, line := range lines {
		ln := i + 1
		body := strings.TrimRight(line, "\r\n")
		switch {
		case ln < n.Line || ln > end:
			body = ""
		case len(body) >= indent && strings.TrimLeft(body[:indent], " ") == "":
			body = body[indent:]
		case strings.TrimSpace(body) == "" || strings.HasPrefix(strings.TrimSpace(body), "#"):
			body = ""
		}
		b.WriteString(body)
		b.WriteByte('\n')
	}
	set, err := fixture.Parse(name, []byte(b.String()))
	if err != nil {
		addJoined(p, err)
		return nil, ""
	}
	return set, ""
}

// addJoined adds the problems of fixture.Parse's error.
func addJoined(p *problems, err error) {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		if fe := (*fixture.Error)(nil); errors.As(e, &fe) {
			p.add(fe.Line, "fixture: %s", fe.Message)
		} else {
			p.add(0, "fixture: %v", e)
		}
	}
}

// machineIndex finds the machines of a fixture by id or computer name.
type machineIndex struct {
	set       *fixture.Set
	generated []map[[20]byte]uint32 // per tenant, its generated machines' ids, made when first needed
}

// has reports whether the fixture has a machine whose id, computer name or
// short computer name is key, in the tenant tenantID if given.
func (x *machineIndex) has(tenantID, key string) bool {
	key = strings.ToLower(key)
	for ti := range x.set.Tenants {
		t := &x.set.Tenants[ti]
		if tenantID != "" && !strings.EqualFold(t.ID, tenantID) {
			continue
		}
		if x.hasGenerated(ti, key) {
			return true
		}
		for _, m := range t.Machines {
			dns := strings.ToLower(m.ComputerDNSName)
			short, _, _ := strings.Cut(dns, ".")
			if strings.ToLower(m.ID) == key || dns == key || short == key {
				return true
			}
		}
	}
	return false
}

// hasGenerated reports whether tenant ti has a generated machine whose
// id, computer name or short computer name is key (lower case).
func (x *machineIndex) hasGenerated(ti int, key string) bool {
	t := &x.set.Tenants[ti]
	if t.Generate <= 0 {
		return false
	}
	if t.GeneratedNumber(key) > 0 {
		return true
	}
	var id [20]byte
	if len(key) != 40 {
		return false
	}
	if _, err := hex.Decode(id[:], []byte(key)); err != nil {
		return false
	}
	if x.generated == nil {
		x.generated = make([]map[[20]byte]uint32, len(x.set.Tenants))
	}
	if x.generated[ti] == nil {
		_, x.generated[ti] = t.GeneratedIndex()
	}
	return x.generated[ti][id] > 0
}

// checkEvents checks the events against the fixture and returns them.
func checkEvents(p *problems, top *yaml.Node, in []eventYAML, set *fixture.Set) []Event {
	seq := value(top, "events")
	if len(in) > MaxEvents {
		p.add(keyLine(top, "events"), "%d events, over the most allowed of %d", len(in), MaxEvents)
		return nil
	}
	machines := &machineIndex{set: set}
	added := map[string]int{} // fault name → line of the event that added it
	var out []Event
	var last time.Duration
	for i, ey := range in {
		node := seq.Content[i]
		ev := Event{Description: ey.Description, Line: node.Line}
		var actions []string
		for _, k := range actionKeys {
			if value(node, k) != nil {
				actions = append(actions, k)
			}
		}
		switch len(actions) {
		case 0:
			p.add(node.Line, "the event has no action: want one of %s", strings.Join(actionKeys, ", "))
		case 1:
		default:
			p.add(node.Line, "the event has %d actions (%s): want exactly one; make one event of each", len(actions), strings.Join(actions, ", "))
		}
		switch {
		case ey.At == nil:
			p.add(node.Line, "at is required: the emulated time after the load, such as 90s, 10m or 26h")
		case *ey.At < 0 || time.Duration(*ey.At) > MaxAt:
			p.add(lineOf(node, "at"), "at %s: want from 0s to %s (30 days)", time.Duration(*ey.At), MaxAt)
		default:
			ev.At = *ey.At
			if ev.Offset() < last {
				p.add(lineOf(node, "at"), "at %s comes before the previous event's %s: list the events in time order", ev.Offset(), last)
			}
			last = max(last, ev.Offset())
		}
		checkText(p, lineOf(node, "description"), "description", ey.Description)
		if len(actions) != 1 {
			continue
		}
		line := lineOf(node, actions[0])
		switch actions[0] {
		case ActionSetOnline:
			so := ey.SetOnline
			if so == nil {
				p.add(line, "setOnline: want {machine, online}")
				continue
			}
			checkMachine(p, line, machines, so.TenantID, so.Machine)
			if so.Online == nil {
				p.add(line, "setOnline: online (true or false) is required")
			}
			ev.SetOnline = so
		case ActionNextOutcomes:
			no := ey.NextOutcomes
			if no == nil {
				p.add(line, "nextOutcomes: want {machine, outcomes}")
				continue
			}
			checkMachine(p, line, machines, no.TenantID, no.Machine)
			switch {
			case len(no.Outcomes) == 0:
				p.add(line, "nextOutcomes: outcomes must list at least one outcome")
			case len(no.Outcomes) > MaxOutcomes:
				p.add(line, "nextOutcomes: %d outcomes, over the most allowed of %d", len(no.Outcomes), MaxOutcomes)
			}
			for j := range no.Outcomes {
				if msg := checkOutcome(&no.Outcomes[j]); msg != "" {
					p.add(line, "nextOutcomes: outcome %d: %s", j+1, msg)
				}
			}
			ev.NextOutcomes = no
		case ActionAddFault:
			rule, name, msg := faultJSON(&ey.AddFault)
			if msg != "" {
				p.add(line, "addFault: %s", msg)
				continue
			}
			if at, ok := added[name]; ok {
				p.add(line, "addFault: fault %q is already added by the event at line %d; remove it first", name, at)
			}
			added[name] = node.Line
			ev.AddFault, ev.faultName = rule, name
		case ActionRemoveFault:
			if _, ok := added[ey.RemoveFault]; !ok {
				p.add(line, "removeFault: no earlier event adds a fault named %q", ey.RemoveFault)
			}
			delete(added, ey.RemoveFault)
			ev.RemoveFault = ey.RemoveFault
		case ActionSetProfile:
			sp := ey.SetProfile
			if sp == nil || (sp.Profile == "" && sp.Limits == (fixture.Limits{})) {
				p.add(line, "setProfile: want a profile name, limits to override, or both")
				continue
			}
			if sp.Profile != "" {
				if _, err := limits.Lookup(sp.Profile); err != nil {
					p.add(line, "setProfile: %v", err)
				}
			}
			if msg := checkLimits(sp.Limits); msg != "" {
				p.add(line, "setProfile: %s", msg)
			}
			ev.SetProfile = sp
		case ActionStartAction:
			sa := ey.StartAction
			if sa == nil {
				p.add(line, "startAction: want {machine, commands}")
				continue
			}
			checkMachine(p, line, machines, sa.TenantID, sa.Machine)
			switch {
			case len(sa.Commands) == 0:
				p.add(line, "startAction: commands must list at least one command")
			case len(sa.Commands) > MaxCommands:
				p.add(line, "startAction: %d commands, over the most allowed of %d", len(sa.Commands), MaxCommands)
			}
			for j, c := range sa.Commands {
				switch c.Type {
				case "RunScript", "GetFile", "PutFile":
				default:
					p.add(line, "startAction: command %d: type %q is not one of RunScript, GetFile, PutFile", j+1, c.Type)
				}
			}
			checkText(p, line, "startAction: requestor", sa.Requestor)
			checkText(p, line, "startAction: comment", sa.Comment)
			ev.StartAction = sa
		case ActionNote:
			if strings.TrimSpace(ey.Note) == "" {
				p.add(line, "note must not be empty")
			}
			checkText(p, line, "note", ey.Note)
			ev.Note = ey.Note
		}
		out = append(out, ev)
	}
	return out
}

// checkText checks the length of an event's description or note.
func checkText(p *problems, line int, key, v string) {
	if n := utf8.RuneCountInString(v); n > MaxTextLen {
		p.add(line, "%s is %d characters, over the longest allowed of %d", key, n, MaxTextLen)
	}
}

// checkMachine checks that the fixture has the machine an event names.
func checkMachine(p *problems, line int, x *machineIndex, tenantID, machine string) {
	switch {
	case machine == "":
		p.add(line, "machine is required: a machine id or computer name of the fixture")
	case !x.has(tenantID, machine):
		in := "the fixture"
		if tenantID != "" {
			in = "tenant " + tenantID
		}
		p.add(line, "machine %q is not in %s", machine, in)
	}
}

// checkOutcome checks o as the emulator will (state.Outcome), and returns
// what is wrong or "".
func checkOutcome(o *Outcome) string {
	switch o.Type {
	case "", "RunScript", "PutFile", "GetFile":
	default:
		return fmt.Sprintf("type %q is not one of RunScript, PutFile, GetFile", o.Type)
	}
	runScript := o.Type == "" || o.Type == "RunScript"
	switch {
	case o.Script != "" && !runScript:
		return "script applies to RunScript outcomes only"
	case o.Duration < 0 || time.Duration(o.Duration) > MaxAt:
		return fmt.Sprintf("duration %s: want from 0s to %s", time.Duration(o.Duration), MaxAt)
	case o.Content != nil && o.Type != "GetFile":
		return "content applies to GetFile outcomes only"
	case !runScript && (o.ExitCode != 0 || o.Output != "" || o.Errors != ""):
		return "exitCode, output and errors apply to RunScript outcomes only"
	}
	return ""
}

// checkLimits checks the numbers of a setProfile's limits.
func checkLimits(l fixture.Limits) string {
	for _, n := range []int{l.LiveResponsePerMinute, l.OtherPerMinute, l.OtherPerHour, l.Sessions, l.SessionsPerUser} {
		if n < 0 {
			return "limits must not be negative"
		}
	}
	for _, d := range []fixture.Duration{l.QueueTimeout, l.ScriptTimeout, l.LinkLifetime} {
		if d < 0 || time.Duration(d) > MaxAt {
			return fmt.Sprintf("limits: duration %s: want from 0s to %s", time.Duration(d), MaxAt)
		}
	}
	return ""
}

// faultJSON returns the JSON of an addFault rule, checked as POST
// /_emulator/faults checks it, and its name; or what is wrong.
func faultJSON(n *yaml.Node) (json.RawMessage, string, string) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, "", err.Error()
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, "", "want a fault rule {name, match, calls, effect}"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, "", err.Error()
	}
	r, err := faults.ParseRule(b)
	if err != nil {
		return nil, "", err.Error()
	}
	if r.Name == "" {
		return nil, "", "name is required: removeFault names the rule by it"
	}
	return b, r.Name, ""
}
