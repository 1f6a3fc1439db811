package state

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/guid"
)

// Action statuses, as the service names them.
const (
	StatusPending    = "Pending"
	StatusInProgress = "InProgress"
	StatusSucceeded  = "Succeeded"
	StatusFailed     = "Failed"
	StatusTimeOut    = "TimeOut"
	StatusCancelled  = "Cancelled"
)

// Command statuses. InProgress for a running command is the emulator's
// choice: the service documents only Created, Completed and Failed.
const (
	CommandCreated    = "Created"
	CommandInProgress = "InProgress"
	CommandCompleted  = "Completed"
	CommandFailed     = "Failed"
)

// Command types, in the only order the service accepts them.
const (
	PutFile   = "PutFile"
	RunScript = "RunScript"
	GetFile   = "GetFile"
)

// actionStatus is an action's status as it is kept: its name is
// ActionStatuses[s]. A number, not the name: a string is a pointer for the
// collector to follow in every kept action.
type actionStatus uint8

// The statuses of an action, in the order of ActionStatuses.
const (
	actionPending actionStatus = iota
	actionInProgress
	actionSucceeded
	actionFailed
	actionTimeOut
	actionCancelled
)

// String returns the status's name, as the service writes it.
func (s actionStatus) String() string { return ActionStatuses[s] }

// final reports whether s is one of the final statuses.
func (s actionStatus) final() bool { return s >= actionSucceeded }

// parseActionStatus returns the status named name, reporting whether
// there is one.
func parseActionStatus(name string) (actionStatus, bool) {
	i := slices.Index(ActionStatuses[:], name)
	return actionStatus(i), i >= 0
}

// commandStatus is a command's status as it is kept: its name is
// commandStatuses[s].
type commandStatus uint8

// The statuses of a command, in the order of commandStatuses.
const (
	commandCreated commandStatus = iota
	commandInProgress
	commandCompleted
	commandFailed
)

// commandStatuses are the names of the commandStatus values.
var commandStatuses = [...]string{CommandCreated, CommandInProgress, CommandCompleted, CommandFailed}

// String returns the status's name, as the service writes it.
func (s commandStatus) String() string { return commandStatuses[s] }

// parseCommandStatus returns the status named name, reporting whether
// there is one.
func parseCommandStatus(name string) (commandStatus, bool) {
	i := slices.Index(commandStatuses[:], name)
	return commandStatus(i), i >= 0
}

// Param is one key/value parameter of a command.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Command is a command as requested and echoed back.
type Command struct {
	Type   string  `json:"type"`
	Params []Param `json:"params"`
}

// param returns the value of the parameter key.
func (c Command) param(key string) (string, bool) {
	for _, p := range c.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// SubmitRequest is the body of runliveresponse. Property names are
// case-sensitive, as the service's are.
type SubmitRequest struct {
	Comment  *string   `json:"Comment"`
	Commands []Command `json:"Commands"`
}

// Caller identifies who makes a request: the tenant and app of the token,
// and the user of a delegated token.
type Caller struct {
	TenantID string
	AppID    string
	Name     string // the app's display name; becomes requestor of an app's actions
	// User is the signed-in user of a delegated token (nil: an app
	// token): their UPN becomes requestor, their role and device groups
	// limit what they see and do.
	User *User
}

// Action is a machine action of type LiveResponse and its run state.
//
// Its memory is few words the collector must read: what was asked is its
// shape, shared by actions asked alike; what most actions never have (a
// cancellation, a failed command's error, commands after the first) is
// in extra. A million kept actions are a million of these, read in every
// collection (docs/performance.md, "Fewer words to scan").
type Action struct {
	seq uint64    // its place in its tenant's creation order
	ref actionRef // its place in its tenant's slab, which its tenant's lists and step queue name it by
	// key is the action's id, a GUID (the only ids the emulator makes,
	// which carry the seq: seqMixer), as its 16 bytes; all zero until
	// the tenant keeps the action and makes it (Tenant.addLocked). The
	// shape's oddID is the id instead when it is not one (a recorded or
	// restored id). A string kept in every action was one more object for
	// the collector to mark, spread over the heap among the garbage of
	// the requests that made them.
	key   [16]byte
	shape *actionShape
	// machine is the action's listed machine; nil when the machine is a
	// generated one, which is gen, its number. The fleet does not make a
	// *Machine for a generated machine's actions (fleet, genList): a live
	// action then costs the collector no machine of its own to mark.
	// gblock is then the block that has the machine's id and computer
	// name (genTextBlock), set when the action is kept (Tenant.addLocked).
	// Either gives the action's tenant (Action.tenant): a snapshot keeps
	// neither, nor gen, which its machine's id gives.
	machine *Machine
	gblock  *genTextBlock
	created int64 // Unix nanoseconds: 16 bytes less than a time.Time, as lastUpdate

	mu         sync.Mutex
	lastUpdate int64
	extra      *actionExtra // nil: none of it; read and written with mu held
	// stepResult is the result its next step gives its command, while
	// the step is queued (stepQueue keeps no pointer; newQueuedStep).
	// Read and written with mu held.
	stepResult *Result
	first      commandState // the first command's state; the others' are in extra
	status     actionStatus
	settling   bool   // last command done, status not yet settled
	released   bool   // forgotten by the retention, its results let go (release); a snapshot holds no forgotten action
	session    bool   // the action holds one of the tenant's sessions
	kept       int32  // its footprint, set when the retention takes it (finishedQueue.add); in the padding after the bools
	gen        uint32 // its generated machine's number (0: machine, a listed one)

	// queued is the place in its tenant's stepQueue of the entry that
	// holds its next lifecycle step: its index in the heap plus one, or
	// below 0 its place in a lane (laneLoc); 0: none (once final, and
	// while a step runs). Guarded by the queue's mu; it goes from 0 or
	// to 0 only with mu held as well.
	queued int32
}

// actionExtra is what few actions have: their cancellation, the errors
// of their failed commands, the states of their commands after the
// first.
type actionExtra struct {
	cancel *cancellation // nil: not cancelled
	fails  []string      // by command; "": none (nil: no command failed)
	more   []commandState
	// stepFail and stepPut are the failure's text and the file to drop
	// of its next step, while the step is queued (newQueuedStep).
	stepFail string
	stepPut  *LibraryFile
}

// cancellation is who cancelled an action, why and when: most actions
// are never cancelled, so it is kept apart from the Action.
type cancellation struct {
	by   string
	note string
	at   time.Time
}

// commandState is how one command of an action ran; the command itself is
// in the action's shape, at the same index. A failed command has one
// error (Action.failOf).
type commandState struct {
	start  int64 // Unix nanoseconds; 0: not started
	end    int64 // Unix nanoseconds; 0: not ended
	result *Result
	status commandStatus
}

// commandCount returns how many commands a has.
func (a *Action) commandCount() int { return len(a.shape.commands) }

// command returns command i of a, as it was asked.
func (a *Action) command(i int) Command { return a.shape.commands[i] }

// state returns the state of command i of a. Call it with a.mu held, or
// before a is kept.
func (a *Action) state(i int) *commandState {
	if i == 0 {
		return &a.first
	}
	return &a.extra.more[i-1]
}

// extraLocked returns a's extra, made if it has none. Call it with a.mu
// held.
func (a *Action) extraLocked() *actionExtra {
	if a.extra == nil {
		a.extra = &actionExtra{}
	}
	return a.extra
}

// failOf returns the error of command i of a, "" if it has none. Call it
// with a.mu held.
func (a *Action) failOf(i int) string {
	if a.extra == nil || a.extra.fails == nil {
		return ""
	}
	return a.extra.fails[i]
}

// setFail records fail as the error of command i of a; its status is the
// caller's to set. Call it with a.mu held.
func (a *Action) setFail(i int, fail string) {
	x := a.extraLocked()
	if x.fails == nil {
		x.fails = make([]string, a.commandCount())
	}
	x.fails[i] = fail
}

// cancelled returns a's cancellation, nil if it was not cancelled. Call it
// with a.mu held.
func (a *Action) cancelled() *cancellation {
	if a.extra == nil {
		return nil
	}
	return a.extra.cancel
}

// ID returns the action's id: its GUID in lower case, written out from
// its bytes on each call, or the id it was given that is not a GUID.
func (a *Action) ID() string {
	if a.shape.oddID != "" {
		return a.shape.oddID
	}
	return guid.Format(a.key)
}

// setID sets the action's id, after its shape: a GUID in either case is
// kept as its bytes (and reads back in lower case), any other id as it
// is, lower case, in a shape of the action's own; so is the nil GUID,
// whose 16 zero bytes say that the tenant is to make the id.
func (a *Action) setID(id string) {
	if key, ok := guid.Parse(id); ok && key != ([16]byte{}) {
		a.key = key
		return
	}
	a.shape = a.shape.withOddID(strings.ToLower(id))
}

// Created returns when the action was created.
func (a *Action) Created() time.Time { return unixTime(a.created) }

// unixTime returns the instant of Unix nanoseconds n, in UTC.
func unixTime(n int64) time.Time { return time.Unix(0, n).UTC() }

// tenant returns the action's tenant: its listed machine's, or its
// generated machine's text block's. Call it once the action is kept.
func (a *Action) tenant() *Tenant {
	if a.machine != nil {
		return a.machine.tenant
	}
	return a.gblock.tenant
}

// MachineID returns the id of the action's machine.
func (a *Action) MachineID() string {
	if a.machine != nil {
		return a.machine.id
	}
	return a.gblock.machineText(a.gen)[:40]
}

// machineName returns the computer name of the action's machine.
func (a *Action) machineName() string {
	if a.machine != nil {
		return a.machine.name
	}
	return a.gblock.machineText(a.gen)[40:]
}

// made returns the action's machine if it is made: its listed machine, or
// its generated one if the fleet holds a *Machine for it now; nil for a
// generated machine as the fixture makes it (online, no file, no queued
// outcome).
func (a *Action) made() *Machine {
	if a.gen == 0 {
		return a.machine
	}
	return a.tenant().fleet.madeMachine(int(a.gen))
}

// peekMachine returns the action's machine for reading: made, or a
// pristine copy the fleet does not keep.
func (a *Action) peekMachine() *Machine {
	if a.gen == 0 {
		return a.machine
	}
	t := a.tenant()
	return t.fleet.peek(t, int(a.gen))
}

// toChange returns the action's machine to change: a generated one is
// made now if it was not.
func (a *Action) toChange() *Machine {
	if a.gen == 0 {
		return a.machine
	}
	t := a.tenant()
	return t.fleet.machine(t, int(a.gen))
}

// info returns the fixture of the action's machine (a generated machine's
// is the fleet's shared one, made or not).
func (a *Action) info() *fixture.Machine {
	if a.gen == 0 {
		return a.machine.info
	}
	return a.tenant().fleet.shared
}

// takeOutcome takes the outcome queued on the action's machine for a
// command of type typ (Machine.takeOutcome); a generated machine not made
// has none.
func (a *Action) takeOutcome(typ, script string) (Outcome, bool) {
	if m := a.made(); m != nil {
		return m.takeOutcome(typ, script)
	}
	return Outcome{}, false
}

// online reports whether the action's machine is online: a generated
// machine not made is.
func (a *Action) online() bool {
	if m := a.made(); m != nil {
		return m.Online()
	}
	return true
}

// Result returns the result of command index of a. A command out of range
// is ResourceNotFound; a PutFile, which has none, and a command that has
// not completed are BadRequest.
func (a *Action) Result(index int) (*Result, error) {
	if n := a.commandCount(); index < 0 || index >= n {
		return nil, apierr.New(apierr.ResourceNotFound,
			"Command index %d was not found in machine action %s, which has %d command(s).", index, a.ID(), n)
	}
	a.mu.Lock()
	c := *a.state(index)
	released := a.released
	a.mu.Unlock()
	switch {
	case released:
		return nil, apierr.New(apierr.ResourceNotFound, "Machine action %s was not found", a.ID())
	case a.command(index).Type == PutFile:
		return nil, apierr.New(apierr.BadRequest, "Command %d of machine action %s is a PutFile, which has no result.", index, a.ID())
	case c.status != commandCompleted || c.result == nil:
		return nil, apierr.New(apierr.BadRequest,
			"Command %d of machine action %s has no result: its status is %s.", index, a.ID(), c.status)
	}
	return c.result.boundTo(a.ID(), index), nil
}

// release lets go of the results of a, which the retention has just
// forgotten: a caller that found it before reads it as before, but for its
// results, which answer as an unknown action's. The action's memory may
// outlive it in its block (actionSlab) while a neighbour is kept; its
// results, the part that may be large, do not.
func (a *Action) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.released = true
	for i := range a.commandCount() {
		a.state(i).result = nil
	}
}

// Final reports whether the action has reached a final status.
func (a *Action) Final() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status.final()
}

// ActionView is a machine action as the API returns it, every property in
// the real service's order.
type ActionView struct {
	ID                      string        `json:"id"`
	Type                    string        `json:"type"`
	Title                   *string       `json:"title"`
	Requestor               string        `json:"requestor"`
	RequestorComment        *string       `json:"requestorComment"`
	Status                  string        `json:"status"`
	MachineID               string        `json:"machineId"`
	ComputerDNSName         string        `json:"computerDnsName"`
	CreationDateTimeUtc     Timestamp     `json:"creationDateTimeUtc"`
	LastUpdateDateTimeUtc   Timestamp     `json:"lastUpdateDateTimeUtc"`
	CancellationRequestor   *string       `json:"cancellationRequestor"`
	CancellationComment     *string       `json:"cancellationComment"`
	CancellationDateTimeUtc *Timestamp    `json:"cancellationDateTimeUtc"`
	ErrorHResult            int           `json:"errorHResult"`
	Scope                   *string       `json:"scope"`
	ExternalID              *string       `json:"externalId"`
	RequestSource           string        `json:"requestSource"`
	RelatedFileInfo         *struct{}     `json:"relatedFileInfo"`
	Commands                []CommandView `json:"commands"`
	TroubleshootInfo        *struct{}     `json:"troubleshootInfo"`
}

// CommandView is one command of an action as the API returns it.
type CommandView struct {
	Index         int        `json:"index"`
	StartTime     *Timestamp `json:"startTime"`
	EndTime       *Timestamp `json:"endTime"`
	CommandStatus string     `json:"commandStatus"`
	Errors        []string   `json:"errors"`
	Command       Command    `json:"command"`
}

// View returns a consistent snapshot of the action.
func (a *Action) View() ActionView {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.viewLocked()
}

// Field returns the value of an OData-filterable property of the action
// now (ActionView.Field), without a snapshot of its commands: what a
// list's $filter reads of each action it passes over.
func (a *Action) Field(name string) any {
	a.mu.Lock()
	h := a.headLocked()
	a.mu.Unlock()
	return h.Field(name)
}

// headLocked is the action's view without its commands and cancellation.
func (a *Action) headLocked() ActionView {
	return ActionView{
		ID:                    a.ID(),
		Type:                  "LiveResponse",
		Requestor:             a.shape.requestor,
		RequestorComment:      a.shape.comment,
		Status:                a.status.String(),
		MachineID:             a.MachineID(),
		ComputerDNSName:       a.machineName(),
		CreationDateTimeUtc:   Stamp(unixTime(a.created)),
		LastUpdateDateTimeUtc: Stamp(unixTime(a.lastUpdate)),
		RequestSource:         "PublicApi",
	}
}

func (a *Action) viewLocked() ActionView {
	v := a.headLocked()
	v.Commands = make([]CommandView, a.commandCount())
	if c := a.cancelled(); c != nil {
		// Copies: the view is the caller's.
		by, note, at := c.by, c.note, Stamp(c.at)
		v.CancellationRequestor, v.CancellationComment, v.CancellationDateTimeUtc = &by, &note, &at
	}
	for i := range v.Commands {
		c := a.state(i)
		errs := []string{}
		if c.status == commandFailed {
			errs = []string{a.failOf(i)}
		}
		v.Commands[i] = CommandView{
			Index:         i,
			StartTime:     stampPtrNanos(c.start),
			EndTime:       stampPtrNanos(c.end),
			CommandStatus: c.status.String(),
			Errors:        errs,
			Command:       a.command(i),
		}
	}
	return v
}

// Field returns the value of an OData-filterable property of v.
func (v *ActionView) Field(name string) any {
	switch name {
	case "id":
		return v.ID
	case "status":
		return v.Status
	case "machineId":
		return v.MachineID
	case "type":
		return v.Type
	case "requestor":
		return v.Requestor
	case "creationDateTimeUtc":
		return v.CreationDateTimeUtc.Time()
	case "lastUpdateDateTimeUtc":
		return v.LastUpdateDateTimeUtc.Time()
	case "computerDnsName":
		return v.ComputerDNSName
	}
	return nil
}

// Submit runs the checks of runliveresponse and creates the action.
func (t *Tenant) Submit(c Caller, machineKey string, req SubmitRequest) (ActionView, error) {
	return t.SubmitWithID(c, machineKey, req, "")
}

// SubmitWithID is Submit with the action's id given (a replay of a
// submit the emulator recorded); "" draws a new one as Submit does.
func (t *Tenant) SubmitWithID(c Caller, machineKey string, req SubmitRequest, id string) (ActionView, error) {
	if !t.settings.LiveResponseEnabled() {
		// Checked first, before the machine: the whole tenant is refused.
		return ActionView{}, apierr.New(apierr.DisabledFeature,
			"Tenant feature isn't enabled: live response is turned off in the tenant's advanced features.")
	}
	if err := c.requireLiveResponse(); err != nil {
		return ActionView{}, err
	}
	m, num, err := t.machineRefFor(c, machineKey)
	if err != nil {
		return ActionView{}, err
	}
	if m != nil {
		err = m.liveResponseReady()
	} else {
		err = liveResponseReady(t, t.fleet.shared, nil, func() string { return t.fleet.id(num) })
	}
	if err != nil {
		return ActionView{}, err
	}
	if err := c.requireCommands(req.Commands); err != nil {
		return ActionView{}, err
	}
	if err := t.validateCommands(req.Commands); err != nil {
		return ActionView{}, err
	}
	s := t.store
	now := s.clock.Now().UTC().Truncate(Tick)

	user := ""
	if c.User != nil {
		user = c.User.ObjectID
	}
	a := newAction(&t.slab, t.slab.shape(c.Requestor(), user, req.Comment, req.Commands), now.UnixNano())
	if id != "" {
		a.setID(id)
	} // else Tenant.addLocked makes its id, which carries its seq
	a.created, a.status, a.lastUpdate = now.UnixNano(), actionPending, now.UnixNano()
	v, err := t.submitOn(c, a, m, num, now)
	if err != nil {
		t.slab.undo(a)
	}
	return v, err
}

// submitOn keeps a, a new action on the listed machine m or on the
// generated machine number num, and starts it. The machine's lock (a
// listed machine's mu, a generated one's fleet.lock) holds off another
// submit and a change of its connection meanwhile; its newest kept
// action (newestOnLocked) says whether one is live.
func (t *Tenant) submitOn(c Caller, a *Action, m *Machine, num int, now time.Time) (ActionView, error) {
	var mu *sync.Mutex
	if num > 0 {
		mu, a.gen = t.fleet.lock(num), uint32(num)
	} else {
		mu, a.machine = &m.mu, m
	}
	mu.Lock()
	defer mu.Unlock()
	t.mu.RLock()
	last := t.newestOnLocked(a.machine, a.gen)
	t.mu.RUnlock()
	if last != nil && !last.Final() {
		return ActionView{}, apierr.New(apierr.ActiveRequestAlreadyExists, "Action is already in progress")
	}
	if err := t.admit(c, a); err != nil {
		return ActionView{}, err
	}
	t.addLocked(a)
	t.mu.Unlock()
	return t.begin(a, now), nil
}

// admit takes a session for a when the profile counts a pending action as
// one, then t.mu, and keeps it held when it returns nil: the action is
// kept in the tenant before its first step is scheduled, so that it is
// there when it finishes (and may be forgotten: Retention). Call it with
// the machine's lock held.
func (t *Tenant) admit(c Caller, a *Action) error {
	if t.store.Profile().PendingCountsAsSession {
		if ok, userCapped := t.acquireSession(a); !ok {
			if userCapped {
				return t.userSessionsExhausted(c.User)
			}
			return t.sessionsExhausted()
		}
		a.session = true
	}
	t.mu.Lock()
	if t.removed {
		// Removed since the caller found it (a request already past
		// authentication): answered as its token is now.
		t.mu.Unlock()
		if a.session {
			t.releaseSession(a)
		}
		return apierr.New(apierr.Unauthorized, "The token's tenant %s is not known to this service.", t.ID)
	}
	return nil
}

// begin schedules the first step of a, a new action, and returns its
// view.
func (t *Tenant) begin(a *Action, now time.Time) ActionView {
	a.mu.Lock()
	t.schedulePickup(a, now)
	view := a.viewLocked()
	a.mu.Unlock()
	return view
}

// sessionsExhausted is the error of a submit over the session limit.
func (t *Tenant) sessionsExhausted() error {
	e := apierr.New(apierr.TooManyRequests,
		"Too many requests: the tenant has reached its limit of %d concurrent live response sessions.", t.store.Profile().Sessions)
	e.RetryAfter = sessionRetryAfter
	return e
}

// userSessionsExhausted is the error of a submit over the user's own
// session limit (the live response page: 10 per user).
func (t *Tenant) userSessionsExhausted(u *User) error {
	e := apierr.New(apierr.TooManyRequests,
		"Too many requests: the user %s has reached the limit of %d concurrent live response sessions a user may hold.", u.UPN, t.store.Profile().SessionsPerUser)
	e.RetryAfter = sessionRetryAfter
	return e
}

// acquireSession takes a session for a: one of the tenant's, and one of
// its user's when a user started it.
func (t *Tenant) acquireSession(a *Action) (ok, userCapped bool) {
	if a.shape.user == "" {
		return t.sessions.Acquire(t.ID), false
	}
	return t.sessions.AcquireUser(t.ID, a.shape.user)
}

// releaseSession gives back the session acquireSession took for a.
func (t *Tenant) releaseSession(a *Action) {
	if a.shape.user == "" {
		t.sessions.Release(t.ID)
		return
	}
	t.sessions.ReleaseUser(t.ID, a.shape.user)
}

// UserSessions returns how many live response sessions the user with
// object id oid holds in t.
func (t *Tenant) UserSessions(oid string) int {
	return t.sessions.ActiveUser(t.ID, strings.ToLower(oid))
}

// sessionRetryAfter is how long a submit over the session limit is told
// to wait before it retries: the service does not say when a session will
// end, so the emulator answers with a fixed minute (a documented choice).
const sessionRetryAfter = time.Minute

// Cancel cancels a's run at whatever point it is, as c.
func (t *Tenant) Cancel(c Caller, id, comment string) (ActionView, error) {
	a, err := t.ActionFor(c, id)
	if err != nil {
		return ActionView{}, err
	}
	if err := c.requireCancel(); err != nil {
		return ActionView{}, err
	}
	now := t.store.clock.Now().UTC().Truncate(Tick)
	a.mu.Lock()
	if a.status.final() {
		status := a.status
		a.mu.Unlock()
		return ActionView{}, apierr.New(apierr.BadRequest,
			"Machine action %s can't be cancelled: it is already %s.", a.ID(), status)
	}
	a.cancelLocked(c.Requestor(), comment, now)
	view := a.viewLocked()
	a.mu.Unlock()
	t.finished(a)
	return view, nil
}

var commandRank = map[string]int{PutFile: 0, RunScript: 1, GetFile: 2}

// allowedParams lists the parameter keys of each command type; the first
// one is required.
var allowedParams = map[string][]string{
	PutFile:   {"FileName"},
	RunScript: {"ScriptName", "Args"},
	GetFile:   {"Path"},
}

// validateCommands checks a request's commands as the service does before
// it creates the action.
func (t *Tenant) validateCommands(cmds []Command) error {
	if len(cmds) == 0 {
		return apierr.New(apierr.InvalidRequestBody, "Invalid request body: Commands must contain at least one command.")
	}
	prev := ""
	for i, c := range cmds {
		rank, ok := commandRank[c.Type]
		if !ok {
			return apierr.New(apierr.InvalidRequestBody,
				"Invalid request body: Commands[%d].type %q is not one of PutFile, RunScript, GetFile.", i, c.Type)
		}
		if prev != "" && rank < commandRank[prev] {
			return apierr.New(apierr.InvalidRequestBody,
				"Invalid request body: commands must be in the order PutFile, RunScript, GetFile; Commands[%d] is %s after %s.", i, c.Type, prev)
		}
		prev = c.Type
		allowed := allowedParams[c.Type]
		seen := map[string]bool{}
		for _, p := range c.Params {
			if !contains(allowed, p.Key) {
				return apierr.New(apierr.InvalidRequestBody,
					"Invalid request body: Commands[%d] (%s) has an unknown parameter %q; expected %v.", i, c.Type, p.Key, allowed)
			}
			if seen[p.Key] {
				return apierr.New(apierr.InvalidRequestBody,
					"Invalid request body: Commands[%d] (%s) has the parameter %s twice.", i, c.Type, p.Key)
			}
			seen[p.Key] = true
		}
		required := allowed[0]
		v, ok := c.param(required)
		if !ok || v == "" {
			return apierr.New(apierr.MissingRequiredParameter, "Parameter %s is missing.", required)
		}
		if c.Type == PutFile || c.Type == RunScript {
			if _, ok := t.library.Get(v); !ok {
				return apierr.New(apierr.InvalidInput,
					"Invalid input %s: the file was not found in the live response library.", v)
			}
		}
	}
	return nil
}

// newAction returns a new Action of shape sh from slab, made at now (Unix
// nanoseconds), beside the tenant's other actions, each of its commands
// Created.
func newAction(slab *actionSlab, sh *actionShape, now int64) *Action {
	a := slab.next(now)
	a.shape = sh
	if n := len(sh.commands); n > 1 {
		a.extra = &actionExtra{more: make([]commandState, n-1)}
	}
	return a
}

// interned returns cmd, validated, with its type and parameter keys
// replaced by the package's own strings (their one copy, instead of one
// decoded from each request's body) and an empty list for no parameters:
// an action keeps its commands as long as it is kept. The parameters are
// copied into dst when it has the room, else into a new slice.
func interned(cmd Command, dst []Param) Command {
	allowed := allowedParams[cmd.Type]
	if i := slices.Index(commandTypes, cmd.Type); i >= 0 {
		cmd.Type = commandTypes[i]
	}
	if len(cmd.Params) == 0 {
		cmd.Params = noParams
		return cmd
	}
	params := dst // not the caller's, which may be shared
	if cap(params) < len(cmd.Params) {
		params = make([]Param, len(cmd.Params))
	}
	params = params[:len(cmd.Params)]
	for j, p := range cmd.Params {
		if i := slices.Index(allowed, p.Key); i >= 0 {
			p.Key = allowed[i]
		}
		params[j] = p
	}
	cmd.Params = params
	return cmd
}

// commandTypes are the command types, for interned.
var commandTypes = []string{PutFile, RunScript, GetFile}

// noParams is the parameters of a command that has none, shared.
var noParams = []Param{}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SubmitRequestFrom builds a SubmitRequest from a body already decoded
// into generic JSON values and validated against the API's schema; ok is
// false when v does not have the shape the schema promises.
func SubmitRequestFrom(v any) (req SubmitRequest, ok bool) {
	body, ok := v.(map[string]any)
	if !ok {
		return req, false
	}
	if c, present := body["Comment"]; present && c != nil {
		s, ok := c.(string)
		if !ok {
			return req, false
		}
		req.Comment = &s
	}
	cmds, ok := body["Commands"].([]any)
	if !ok {
		return req, false
	}
	req.Commands = make([]Command, len(cmds))
	for i, raw := range cmds {
		cm, ok := raw.(map[string]any)
		if !ok {
			return req, false
		}
		typ, ok := cm["type"].(string)
		if !ok {
			return req, false
		}
		params, ok := cm["params"].([]any)
		if !ok {
			return req, false
		}
		cmd := Command{Type: typ, Params: make([]Param, len(params))}
		for j, rp := range params {
			pm, ok := rp.(map[string]any)
			if !ok {
				return req, false
			}
			key, ok1 := pm["key"].(string)
			value, ok2 := pm["value"].(string)
			if !ok1 || !ok2 {
				return req, false
			}
			cmd.Params[j] = Param{Key: key, Value: value}
		}
		req.Commands[i] = cmd
	}
	return req, true
}
