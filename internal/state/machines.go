package state

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
)

// DeviceGroup is an RBAC device group. A group without a remediation
// level refuses live response.
type DeviceGroup struct {
	ID   int64
	Name string

	mu               sync.RWMutex
	remediationLevel string
}

// RemediationLevel returns the group's automation level ("" for none).
func (g *DeviceGroup) RemediationLevel() string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.remediationLevel
}

func (g *DeviceGroup) setRemediationLevel(level string) {
	g.mu.Lock()
	g.remediationLevel = level
	g.mu.Unlock()
}

// Machine is one onboarded device and what the emulator knows of it.
type Machine struct {
	// info is the machine's fixture, shared with the fixture set (never
	// written); of a generated machine (num > 0), the fields all the
	// tenant's generated machines have alike (fleet.shared), its own ones
	// empty: read id and name, and View, instead.
	info   *fixture.Machine
	id     string       // lower case
	name   string       // computer name
	num    uint32       // a generated machine's number (fixture.Tenant.Generate); 0: listed
	group  *DeviceGroup // nil: no group
	tenant *Tenant

	// actions is the tenant's kept actions of a listed machine, oldest
	// first (a generated machine's are in Tenant.gens). Guarded by the
	// tenant's mu: kept here rather than in a map of the tenant, a submit
	// makes no map entry and no list of its own.
	actions actionList

	online atomic.Bool

	mu           sync.Mutex
	offlineSince int64 // when SetOnline(false) last ran, Unix nanoseconds (0: never); 16 B less than a time.Time, a million times over

	filesMu sync.Mutex // never held with mu, but by fleet.giveBack (mu first)
	files   map[string]machineFile
	// puts are the keys of the files PutFile left, first put first
	// (MaxPutFilesPerMachine). A snapshot keeps the files, not this
	// order: the files it restores are not PutFile's (machineFile.put
	// is nil), and stay.
	puts []string

	outcomesMu sync.Mutex // never held with mu, but by fleet.giveBack (mu, then filesMu, first)
	outcomes   []Outcome  // queued by tests, used up by coming commands

	// gone says the fleet gave this generated machine back to its number
	// (fleet.giveBack): it was as the fixture makes it again, and the
	// fleet makes a new *Machine when something next needs one. Set once,
	// with mu, filesMu and outcomesMu all held, so any of them is enough
	// to read it. A method that changes a machine checks it under its lock
	// and hands the change to the machine the fleet holds now (current):
	// a caller that looked a machine up just before it was given back
	// changes the machine, not a copy nothing reads. A snapshot does not
	// keep it: it writes the machines the fleet holds, and one given back
	// was as the fixture makes it, which a snapshot leaves out.
	gone bool
}

// current returns the machine that stands for m now: m itself, or, once
// m was given back (gone), the one its fleet holds for its number, made
// now if need be.
func (m *Machine) current() *Machine {
	if m.num == 0 {
		return m
	}
	return m.tenant.fleet.machine(m.tenant, int(m.num))
}

// latest returns, for a machine given back (gone), the one its fleet has
// made since for its number, or nil when it has made none: for reading,
// where a machine as the fixture makes it reads as m does.
func (m *Machine) latest() *Machine {
	if m.num == 0 {
		return nil
	}
	return m.tenant.fleet.madeMachine(int(m.num))
}

// machineFile is a file on a machine. A file made from a fixture size has
// no bytes stored; it only has a size.
type machineFile struct {
	path    string
	content []byte
	size    int64
	put     *LibraryFile // the library file version PutFile copied here; nil: the fixture's or a snapshot's (a snapshot keeps the content)
}

// newMachine returns the machine fm of tenant t, with its files.
func newMachine(t *Tenant, fm *fixture.Machine) *Machine {
	if id := strings.ToLower(fm.ID); id != fm.ID {
		// fixture.Parse leaves ids lower case; a set built in code may
		// not. The set is not written (it may be shared, Frozen): the
		// machine gets its own copy.
		c := *fm
		c.ID = id
		fm = &c
	}
	m := &Machine{info: fm, id: fm.ID, name: fm.ComputerDNSName, tenant: t}
	if len(fm.Files) > 0 {
		m.files = make(map[string]machineFile, len(fm.Files))
	}
	m.online.Store(!fm.Offline)
	if fm.RBACGroupID != 0 {
		m.group = t.groups[fm.RBACGroupID]
	}
	// A machine offline in the fixture shows its lastSeen (View):
	// offlineSince is set when it goes offline here (SetOnline).
	for _, f := range fm.Files {
		m.files[m.fileKey(f.Path)] = fileOf(f)
	}
	return m
}

// ID returns the machine's id (40 hex digits, lower case).
func (m *Machine) ID() string { return m.id }

// TenantID returns the id of the machine's tenant.
func (m *Machine) TenantID() string { return m.tenant.ID }

// ComputerDNSName returns the machine's computer name.
func (m *Machine) ComputerDNSName() string { return m.name }

// Online reports whether the machine is connected.
func (m *Machine) Online() bool { return m.online.Load() }

func isWindows(platform string) bool { return strings.HasPrefix(platform, "Windows") }

// fileKey normalizes a path the way the machine's file system compares
// paths: case-insensitively and with either slash on Windows.
func (m *Machine) fileKey(path string) string {
	if isWindows(m.info.OSPlatform) {
		return strings.ToLower(strings.ReplaceAll(path, "/", `\`))
	}
	return path
}

// putFileDir is where PutFile drops library files on the machine.
func (m *Machine) putFileDir() string {
	switch {
	case isWindows(m.info.OSPlatform):
		return `C:\ProgramData\Microsoft\Windows Defender Advanced Threat Protection\Downloads\`
	case m.info.OSPlatform == "macOS":
		return "/Library/Application Support/Microsoft/Defender/response/"
	default:
		return "/var/opt/microsoft/mdatp/response/"
	}
}

// putFile copies the library file version f to the machine's working
// folder and returns its path there. The machine keeps the last
// MaxPutFilesPerMachine files put, and f counts in its tenant's storage
// while the machine holds it.
func (m *Machine) putFile(f *LibraryFile) string {
	path := m.putFileDir() + f.FileName
	key := m.fileKey(path)
	acct := m.tenant.storage
	m.filesMu.Lock()
	defer m.filesMu.Unlock()
	if m.files == nil {
		m.files = map[string]machineFile{}
	}
	acct.mu.Lock()
	defer acct.mu.Unlock()
	acct.holdLocked(f)
	if old := m.files[key].put; old != nil {
		acct.releaseLocked(old)
	}
	m.files[key] = machineFile{path: path, content: f.Content, size: int64(len(f.Content)), put: f}
	m.puts = append(slices.DeleteFunc(m.puts, func(k string) bool { return k == key }), key)
	if len(m.puts) > MaxPutFilesPerMachine {
		first := m.puts[0]
		m.puts = slices.Delete(m.puts, 0, 1)
		if v := m.files[first].put; v != nil {
			acct.releaseLocked(v)
			delete(m.files, first)
		}
	}
	return path
}

func (m *Machine) file(path string) (machineFile, bool) {
	m.filesMu.Lock()
	defer m.filesMu.Unlock()
	f, ok := m.files[m.fileKey(path)]
	return f, ok
}

// MachineView is a machine as the API returns it, in the real order.
type MachineView struct {
	ID                    string      `json:"id"`
	ComputerDNSName       string      `json:"computerDnsName"`
	FirstSeen             Timestamp   `json:"firstSeen"`
	LastSeen              Timestamp   `json:"lastSeen"`
	OSPlatform            string      `json:"osPlatform"`
	OSVersion             *string     `json:"osVersion"`
	OSProcessor           string      `json:"osProcessor"`
	Version               string      `json:"version"`
	LastIPAddress         string      `json:"lastIpAddress"`
	LastExternalIPAddress string      `json:"lastExternalIpAddress"`
	AgentVersion          string      `json:"agentVersion"`
	OSBuild               *int64      `json:"osBuild"`
	HealthStatus          string      `json:"healthStatus"`
	DeviceValue           string      `json:"deviceValue"`
	RBACGroupID           int64       `json:"rbacGroupId"`
	RBACGroupName         *string     `json:"rbacGroupName"`
	RiskScore             string      `json:"riskScore"`
	ExposureLevel         string      `json:"exposureLevel"`
	IsAADJoined           bool        `json:"isAadJoined"`
	AADDeviceID           *string     `json:"aadDeviceId"`
	MachineTags           []string    `json:"machineTags"`
	DefenderAVStatus      string      `json:"defenderAvStatus"`
	OnboardingStatus      string      `json:"onboardingStatus"`
	OSArchitecture        string      `json:"osArchitecture"`
	ManagedBy             string      `json:"managedBy"`
	ManagedByStatus       string      `json:"managedByStatus"`
	IPAddresses           []IPAddress `json:"ipAddresses"`
	VMMetadata            *struct{}   `json:"vmMetadata"`
}

// IPAddress is one network interface address of a machine.
type IPAddress struct {
	IPAddress         string `json:"ipAddress"`
	MACAddress        string `json:"macAddress"`
	Type              string `json:"type"`
	OperationalStatus string `json:"operationalStatus"`
}

// lastSeenLag is how long ago an online machine last reported.
const lastSeenLag = 3 * time.Minute

// View returns the machine as the API shows it at now.
func (m *Machine) View(now time.Time) MachineView {
	m.mu.Lock()
	gone, offlineSince := m.gone, m.offlineSince
	m.mu.Unlock()
	if gone {
		// Given back as the fixture makes it, and unchanged since: m reads
		// as that, unless the fleet made its number anew.
		if l := m.latest(); l != nil {
			return l.View(now)
		}
	}
	in := m.info
	if m.num > 0 {
		g := m.tenant.fleet.fixture(int(m.num))
		in = &g
	}
	online := m.online.Load()
	firstSeen, lastSeen := in.SeenTimes(m.tenant.start)
	if online {
		if t := now.Add(-lastSeenLag).Truncate(time.Second); t.After(lastSeen) {
			lastSeen = t
		}
	} else if since := time.Unix(0, offlineSince).UTC(); offlineSince != 0 && since.After(lastSeen) {
		lastSeen = since
	}
	// Health follows connectivity: a machine that went offline is Inactive,
	// one that came back online is Active (other states are kept).
	health := in.HealthStatus
	switch {
	case !online && health == "Active":
		health = "Inactive"
	case online && health == "Inactive":
		health = "Active"
	}
	v := MachineView{
		ID:                    in.ID,
		ComputerDNSName:       in.ComputerDNSName,
		FirstSeen:             Stamp(firstSeen),
		LastSeen:              Stamp(lastSeen),
		OSPlatform:            in.OSPlatform,
		OSProcessor:           in.OSProcessor,
		Version:               in.Version,
		LastIPAddress:         in.LastIPAddress,
		LastExternalIPAddress: in.LastExternalIPAddress,
		AgentVersion:          in.AgentVersion,
		HealthStatus:          health,
		DeviceValue:           orDefault(in.DeviceValue, "Normal"),
		RiskScore:             orDefault(in.RiskScore, "None"),
		ExposureLevel:         orDefault(in.ExposureLevel, "None"),
		IsAADJoined:           in.IsAADJoined,
		MachineTags:           in.MachineTags,
		DefenderAVStatus:      orDefault(in.DefenderAVStatus, "Updated"),
		OnboardingStatus:      orDefault(in.OnboardingStatus, fixture.OnboardingOnboarded),
		OSArchitecture:        in.OSArchitecture,
		ManagedBy:             orDefault(in.ManagedBy, "MicrosoftDefenderForEndpoint"),
		ManagedByStatus:       "Unknown",
		IPAddresses:           []IPAddress{},
	}
	if in.OSVersion != "" {
		v.OSVersion = &in.OSVersion
	}
	if in.OSBuild != 0 {
		v.OSBuild = &in.OSBuild
	}
	if m.group != nil {
		v.RBACGroupID = m.group.ID
		v.RBACGroupName = &m.group.Name
	}
	if in.AADDeviceID != "" {
		v.AADDeviceID = &in.AADDeviceID
	}
	if v.MachineTags == nil {
		v.MachineTags = []string{}
	}
	if in.LastIPAddress != "" {
		status := "Up"
		if !online {
			status = "Down"
		}
		v.IPAddresses = append(v.IPAddresses, IPAddress{
			IPAddress: in.LastIPAddress, MACAddress: in.MACAddress,
			Type: "Ethernet", OperationalStatus: status,
		})
	}
	return v
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// liveResponseReady checks that live response may start a session on m:
// an onboarded device, a supported platform, an agent recent enough, and
// a device group with a remediation level. A machine in no group is in
// the default group, which has one.
func (m *Machine) liveResponseReady() error {
	return liveResponseReady(m.tenant, m.info, m.group, func() string { return m.id })
}

// liveResponseReady is Machine.liveResponseReady of the machine of t whose
// fixture is info and whose device group is group (nil: none); id gives
// its id, which only an error needs.
func liveResponseReady(t *Tenant, info *fixture.Machine, group *DeviceGroup, id func() string) error {
	if status := orDefault(info.OnboardingStatus, fixture.OnboardingOnboarded); status != fixture.OnboardingOnboarded {
		// The service's answer is not documented: a documented choice.
		return apierr.New(apierr.BadRequest,
			"Machine %s isn't onboarded to Microsoft Defender for Endpoint (onboardingStatus %s): live response needs an onboarded device.", id(), status)
	}
	if !fixture.LiveResponseSupported(info.OSPlatform) {
		return apierr.New(apierr.OsPlatformNotSupported,
			"OS Platform %s isn't supported for this action.", info.OSPlatform)
	}
	if least := t.settings.MinAgentVersion(info.OSPlatform); least != "" {
		// An agentVersion that is not a dotted version is not compared.
		if c, ok := fixture.CompareVersions(info.AgentVersion, least); ok && c < 0 {
			return apierr.New(apierr.ClientVersionNotSupported,
				"Live response is supported on client version %s and above.", least)
		}
	}
	if group != nil && group.RemediationLevel() == "" {
		return apierr.New(apierr.DisallowedOperation,
			"This device has no automation level assigned to it. You'll need to at least enable the minimum Remediation Level for a given Device Group.")
	}
	return nil
}

// SetRemediationLevel sets the automation level of machine m's device
// group ("" removes it). A machine in no group gets an error.
func (m *Machine) SetRemediationLevel(level string) error {
	if m.group == nil {
		return apierr.New(apierr.BadRequest, "Machine %s is in no device group", m.id)
	}
	m.group.setRemediationLevel(level)
	return nil
}

// SetOnline connects or disconnects m. A machine coming online picks up
// its queued action after its pickup delay.
func (m *Machine) SetOnline(online bool) {
	if m.num > 0 {
		// As a submit on the number holds it (Tenant.submitOn):
		// a machine coming online sees an action submitted just before.
		mu := m.tenant.fleet.lock(int(m.num))
		mu.Lock()
		defer mu.Unlock()
	}
	m.setOnline(online)
}

// setOnline is SetOnline, with a generated machine's number lock held.
func (m *Machine) setOnline(online bool) {
	t := m.tenant
	now := t.store.clock.Now().UTC().Truncate(Tick)
	m.mu.Lock()
	if m.gone {
		m.mu.Unlock()
		m.current().setOnline(online)
		return
	}
	defer m.mu.Unlock()
	if m.online.Load() == online {
		return
	}
	m.online.Store(online)
	if !online {
		m.offlineSince = now.UnixNano()
		return
	}
	if a := m.activeLocked(); a != nil {
		a.mu.Lock()
		if a.status == actionPending {
			t.schedulePickup(a, now)
		}
		a.mu.Unlock()
	}
}

// activeLocked returns the action m took last if it may be live (Pending
// or InProgress: the caller checks), or nil: its newest kept action
// (Tenant.newestOnLocked), a generated machine's by its number whether the
// fleet holds m or gave it back. Call it with m.mu held.
func (m *Machine) activeLocked() *Action {
	t := m.tenant
	t.mu.RLock()
	defer t.mu.RUnlock()
	if m.num > 0 {
		return t.newestOnLocked(nil, m.num)
	}
	return t.newestOnLocked(m, 0)
}

// QueueOutcomes adds outcomes for the coming commands of m, in order.
// A machine holds at most MaxQueuedOutcomes, and their bytes count in its
// tenant's storage (MaxTenantStorage, MaxStorage) until a command uses
// them or they are cleared: past either bound nothing is queued and the
// error wraps ErrOutcomesFull.
func (m *Machine) QueueOutcomes(outs []Outcome) error { return m.queueOutcomes(outs, false) }

// ReplayOutcomes is QueueOutcomes for outcomes a store recorded as
// queued: they are checked, and counted in the tenant's storage, but not
// refused for the bounds they fitted when they were queued (a store of a
// build with larger bounds comes back whole).
func (m *Machine) ReplayOutcomes(outs []Outcome) error { return m.queueOutcomes(outs, true) }

// ErrOutcomesFull is what QueueOutcomes's error wraps when the outcomes
// do not fit the machine's queue or its tenant's storage: the state
// forbids it until queued outcomes are used or cleared.
var ErrOutcomesFull = errors.New("queued outcomes full")

// queueOutcomes is QueueOutcomes; restoring (a snapshot's or a replayed
// change's outcomes, which fitted when they were queued) counts their
// bytes without refusing them.
func (m *Machine) queueOutcomes(outs []Outcome, restoring bool) error {
	var n int64
	for i := range outs {
		if err := outs[i].validate(); err != nil {
			return err
		}
		n += outs[i].bytes()
	}
	acct := m.tenant.storage
	m.outcomesMu.Lock()
	if m.gone {
		m.outcomesMu.Unlock()
		return m.current().queueOutcomes(outs, restoring)
	}
	defer m.outcomesMu.Unlock()
	if held := len(m.outcomes); !restoring && held+len(outs) > MaxQueuedOutcomes {
		return fmt.Errorf("%w: machine %s holds %d queued outcomes and %d more would pass the %d the emulator keeps for a machine; clear them or let commands use them first",
			ErrOutcomesFull, m.id, held, len(outs), MaxQueuedOutcomes)
	}
	acct.mu.Lock()
	defer acct.mu.Unlock()
	switch {
	case restoring:
		acct.addLocked(n)
	case !acct.reserveLocked(n):
		return fmt.Errorf("%w: %s", ErrOutcomesFull, acct.outcomesFull(n))
	}
	m.outcomes = append(m.outcomes, outs...)
	return nil
}

// Outcomes returns the outcomes queued for m and not used yet.
func (m *Machine) Outcomes() []Outcome {
	m.outcomesMu.Lock()
	if m.gone {
		m.outcomesMu.Unlock()
		if l := m.latest(); l != nil {
			return l.Outcomes()
		}
		return []Outcome{}
	}
	defer m.outcomesMu.Unlock()
	return append([]Outcome{}, m.outcomes...)
}

// ClearOutcomes drops every queued outcome of m, and their bytes from its
// tenant's storage.
func (m *Machine) ClearOutcomes() {
	acct := m.tenant.storage
	m.outcomesMu.Lock()
	if m.gone {
		m.outcomesMu.Unlock()
		if l := m.latest(); l != nil {
			l.ClearOutcomes()
		}
		return
	}
	defer m.outcomesMu.Unlock()
	var n int64
	for i := range m.outcomes {
		n += m.outcomes[i].bytes()
	}
	m.outcomes = nil
	acct.mu.Lock()
	acct.addLocked(-n)
	acct.mu.Unlock()
}

// takeOutcome removes and returns the first queued outcome that applies to
// a command of type typ (running script, for RunScript).
func (m *Machine) takeOutcome(typ, script string) (Outcome, bool) {
	m.outcomesMu.Lock()
	defer m.outcomesMu.Unlock()
	for i, o := range m.outcomes {
		if o.Type == typ && (o.Script == "" || strings.EqualFold(o.Script, script)) {
			m.outcomes = append(m.outcomes[:i:i], m.outcomes[i+1:]...)
			// Its bytes leave the storage: what the command keeps of them
			// counts in its action's footprint (Retention.MaxBytes).
			acct := m.tenant.storage
			acct.mu.Lock()
			acct.addLocked(-o.bytes())
			acct.mu.Unlock()
			return o, true
		}
	}
	return Outcome{}, false
}

// String describes the machine for logs.
func (m *Machine) String() string {
	return fmt.Sprintf("%s (%s)", m.name, m.id)
}

// fileOf returns the file a machine's fixture file f makes (the
// validator has checked its base64).
func fileOf(f fixture.File) machineFile {
	mf := machineFile{path: f.Path, size: f.Size}
	switch {
	case f.Content != "":
		mf.content = []byte(f.Content)
		mf.size = int64(len(mf.content))
	case f.ContentBase64 != "":
		mf.content, _ = base64.StdEncoding.DecodeString(f.ContentBase64)
		mf.size = int64(len(mf.content))
	}
	return mf
}
