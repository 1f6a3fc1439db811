package state

import (
	"fmt"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// Timing of the simulated machine. The pickup delay of a machine comes from
// its fixture; the rest are the emulator's choices.
const (
	defaultPickupDelay    = 5 * time.Second
	defaultScriptDuration = 3 * time.Second
	putFileDuration       = time.Second
	getFileDuration       = 2 * time.Second
	// settleDelay is how long an action stays InProgress after its last
	// command completed, before it is Succeeded: a cancel in that window
	// gives Cancelled with every command Completed, as the service does.
	settleDelay = 2 * time.Second
)

// MaxGetFileSize is the largest file GetFile collects (3 GB).
const MaxGetFileSize = 3 << 30

// Error texts of failed commands (free text; the service's are unknown).
const (
	errCancelled = "Command was cancelled by %s."
	errTimedOut  = "Script execution timed out after %s; the script was stopped."
)

// stepKind is what a pending lifecycle step of an action does.
type stepKind uint8

// The lifecycle steps. stepNone: no step is pending.
const (
	stepNone       stepKind = iota
	stepPickup              // the machine picks the action up (schedulePickupAt)
	stepExpiry              // the queued action times out (scheduleExpiry)
	stepCommandEnd          // command index ends (startCommand)
	stepSettle              // the action, its last command done, is Succeeded
)

// pendingStep is the next lifecycle step of a live action, as data rather
// than a closure, so that a Snapshot can write it and Restore schedule it
// again through the same code (at, runStep). A live action has one, in
// its tenant's stepQueue; a final one has none. Its fields are ordered to
// leave no padding: the queue holds one for each live action.
type pendingStep struct {
	due time.Time
	// For stepCommandEnd, decided when the command started (plan): the
	// failure text ("" for a success), the result a success leaves, and
	// the library file a PutFile's success drops on the machine.
	fail   string
	result *Result
	put    *LibraryFile // read only: Library.Put replaces a file, never changes it
	// order is the store's count of steps scheduled when this one was
	// (Store.steps): Restore schedules steps due at the same instant in
	// that order, the order the clock fires them in.
	order uint64
	index int32 // stepCommandEnd: the command's index
	kind  stepKind
	// timeout says, for stepCommandEnd, that the failure is the script
	// timeout.
	timeout bool
}

// at schedules st as a's next step at the emulated instant st.due,
// replacing any step scheduled before. Call it with a.mu held.
func (t *Tenant) at(a *Action, st pendingStep) {
	st.order = t.store.steps.Add(1)
	due := st.due
	if now := t.store.clock.Now(); due.Before(now) {
		due = now // as a clock timer does: a step due in the past runs now, at now
	}
	t.steps.schedule(a, st, due)
}

// fire runs a's step scheduled as order at now, unless another replaced
// it or the action was unscheduled meanwhile.
func (t *Tenant) fire(a *Action, order uint64, now time.Time) {
	now = now.UTC().Truncate(Tick)
	a.mu.Lock()
	st, ok := t.steps.take(a, order)
	if !ok {
		a.mu.Unlock()
		return
	}
	final := t.runStep(a, st, now)
	a.mu.Unlock()
	if final {
		t.finished(a)
	}
}

// runStep is the lifecycle transition st of a at now. It runs with a.mu
// held and reports whether the action reached a final status.
func (t *Tenant) runStep(a *Action, st pendingStep, now time.Time) (final bool) {
	switch st.kind {
	case stepPickup:
		return t.pickup(a, now)
	case stepExpiry:
		a.status = actionTimeOut
		a.lastUpdate = now.UnixNano()
		return true
	case stepCommandEnd:
		return t.endCommand(a, st, now)
	case stepSettle:
		a.settling = false
		a.status = actionSucceeded
		a.lastUpdate = now.UnixNano()
		return true
	}
	return false
}

// unschedule drops a's next step. Call it with a.mu held.
func (a *Action) unschedule() {
	a.tenant().steps.drop(a) // a firing already under way then does nothing
}

// finished frees the tenant's session of an action that has just
// reached a final status (its machine is free once it is: newestOnLocked), and hands it to the retention of
// finished actions. It is called once per action.
func (t *Tenant) finished(a *Action) {
	a.mu.Lock()
	held := a.session
	a.session = false
	at := unixTime(a.lastUpdate)
	a.mu.Unlock()
	if held {
		t.releaseSession(a)
	}
	t.done.add(a, at) // kept as long as Retention says
}

// schedulePickup makes an online machine pick a up after its pickup delay;
// an offline machine leaves it queued until the queue timeout.
func (t *Tenant) schedulePickup(a *Action, now time.Time) {
	if !a.online() {
		t.scheduleExpiry(a, now)
		return
	}
	delay := time.Duration(a.info().PickupDelay)
	if delay <= 0 {
		delay = defaultPickupDelay
	}
	t.schedulePickupAt(a, now.Add(delay))
}

// schedulePickupAt makes the machine pick a up at when, if it is online
// then and a session is free.
func (t *Tenant) schedulePickupAt(a *Action, when time.Time) {
	t.at(a, pendingStep{kind: stepPickup, due: when})
}

// pickup is the step schedulePickupAt schedules. Call it with a.mu held.
func (t *Tenant) pickup(a *Action, now time.Time) bool {
	if !a.online() {
		t.scheduleExpiry(a, now)
		return false
	}
	if !a.session {
		// Pending actions do not hold a session in this profile: the
		// machine takes one now, or the action waits for one (until
		// the queue timeout).
		if ok, _ := t.acquireSession(a); !ok {
			if deadline := a.Created().Add(t.store.Profile().QueueTimeout); !now.Before(deadline) {
				a.status = actionTimeOut
				a.lastUpdate = now.UnixNano()
				return true
			}
			t.schedulePickupAt(a, now.Add(sessionRetryAfter))
			return false
		}
		a.session = true
	}
	a.status = actionInProgress
	a.lastUpdate = now.UnixNano()
	return t.startCommand(a, 0, now)
}

// scheduleExpiry ends a queued action TimeOut when the queue timeout after
// its creation passes, its commands untouched.
func (t *Tenant) scheduleExpiry(a *Action, now time.Time) {
	deadline := a.Created().Add(t.store.Profile().QueueTimeout)
	if deadline.Before(now) {
		deadline = now
	}
	t.at(a, pendingStep{kind: stepExpiry, due: deadline})
}

// startCommand starts command i of a at now and schedules its end.
func (t *Tenant) startCommand(a *Action, i int, now time.Time) bool {
	c := a.state(i)
	c.status = commandInProgress
	c.start = now.UnixNano()
	a.lastUpdate = now.UnixNano()
	o, result, put := t.plan(a, i)
	after, timeout := time.Duration(o.Duration), false
	if limit := t.store.Profile().ScriptTimeout; a.command(i).Type == RunScript && result != nil && after > limit {
		// A script that runs (one that has a result to leave, even if it
		// is to fail) is stopped at the script timeout.
		after, o.Fail, timeout = limit, fmt.Sprintf(errTimedOut, limit), true
	}
	t.at(a, pendingStep{kind: stepCommandEnd, due: now.Add(after), index: int32(i), fail: o.Fail, timeout: timeout, result: result, put: put})
	return false
}

// endCommand is the step startCommand schedules: command st.index of a
// ends at now as st says. Call it with a.mu held.
func (t *Tenant) endCommand(a *Action, st pendingStep, now time.Time) bool {
	i := int(st.index)
	c := a.state(i)
	c.end = now.UnixNano()
	a.lastUpdate = now.UnixNano()
	if st.fail != "" {
		c.status = commandFailed
		a.setFail(i, st.fail)
		a.status = actionFailed
		if st.timeout {
			a.status = actionTimeOut
		}
		return true
	}
	if f := st.put; f != nil {
		a.toChange().putFile(f) // a generated machine is made: it has a file now
	}
	c.status = commandCompleted
	c.result = st.result
	if r := st.result; r != nil && r.held != nil {
		t.storage.hold(r.held)
	}
	if i+1 < a.commandCount() {
		return t.startCommand(a, i+1, now)
	}
	a.settling = true
	t.at(a, pendingStep{kind: stepSettle, due: now.Add(settleDelay)})
	return false
}

// plan decides how command c of a ends, when it starts: the outcome
// queued for the machine that applies to it, else what the fixtures say.
// The outcome it returns has its Duration and, for a failure, its Fail
// (startCommand cuts a RunScript over the script timeout). With it come
// the result a success leaves (nil for a script that does not run at all)
// and the library file a success drops on the machine (nil: none).
func (t *Tenant) plan(a *Action, i int) (o Outcome, result *Result, put *LibraryFile) {
	c := a.command(i)
	script, _ := c.param("ScriptName")
	if q, ok := a.takeOutcome(c.Type, script); ok {
		o, result, put = t.planOverride(q, a, c)
	} else {
		o, result, put = t.planFromFixtures(a, c)
	}
	return o, result, put
}

// transcribes reports whether the output of a's RunScript of script is
// wrapped in a PowerShell transcript: the service's wrapping, not the
// script's output, so it applies to what the fixtures and queued
// outcomes say alike. The wrapping is built when the result is read
// (Result.Content): an action may be kept a long time, its output seldom
// read.
func (t *Tenant) transcribes(a *Action, script string) bool {
	return t.wrapOutput && transcribes(a.info().OSPlatform, script)
}

// planFromFixtures decides how command c of a ends from the library's
// declared behaviour and the machine's files.
func (t *Tenant) planFromFixtures(a *Action, c Command) (Outcome, *Result, *LibraryFile) {
	switch c.Type {
	case PutFile:
		name, _ := c.param("FileName")
		f, ok := t.library.Get(name)
		if !ok {
			return Outcome{Duration: fixture.Duration(putFileDuration), Fail: fmt.Sprintf("File %s was not found in the live response library.", name)}, nil, nil
		}
		if fail := t.putFileRefused(a.info(), f); fail != "" {
			return Outcome{Duration: fixture.Duration(putFileDuration), Fail: fail}, nil, nil
		}
		return Outcome{Duration: fixture.Duration(putFileDuration)}, nil, f
	case RunScript:
		name, _ := c.param("ScriptName")
		args, _ := c.param("Args")
		f, ok := t.library.Get(name)
		if !ok {
			return Outcome{Duration: fixture.Duration(putFileDuration), Fail: fmt.Sprintf("Script %s was not found in the live response library.", name)}, nil, nil
		}
		if fail := t.scriptRefused(f); fail != "" {
			return Outcome{Duration: fixture.Duration(putFileDuration), Fail: fail}, nil, nil
		}
		b := f.behaviorFor(args, t.undeclared)
		d := b.Duration
		if d <= 0 {
			d = fixture.Duration(defaultScriptDuration)
		}
		return Outcome{Duration: d, Fail: b.Fail}, f.scriptResult(b, t.transcribes(a, f.FileName)), nil
	default: // GetFile
		path, _ := c.param("Path")
		f, ok := a.peekMachine().file(path)
		switch {
		case !ok:
			return Outcome{Duration: fixture.Duration(getFileDuration), Fail: fmt.Sprintf("The file %s was not found on the device.", path)}, nil, nil
		case f.size > MaxGetFileSize:
			return Outcome{Duration: fixture.Duration(getFileDuration), Fail: fmt.Sprintf("The file %s is %d bytes; GetFile collects files of up to 3 GB.", path, f.size)}, nil, nil
		}
		return Outcome{Duration: fixture.Duration(getFileDuration)}, &Result{file: f.content, path: f.path, held: f.put}, nil
	}
}

// planOverride applies the queued outcome q to command c of a: its
// duration, failure and result replace what the fixtures would have done.
func (t *Tenant) planOverride(q Outcome, a *Action, c Command) (Outcome, *Result, *LibraryFile) {
	o, result, put := t.planFromFixtures(a, c)
	if limit := fixture.Duration(t.store.Profile().ScriptTimeout); c.Type == RunScript && result != nil && o.Duration > limit {
		// The fixtures' script would be stopped at the timeout: without a
		// duration of its own, the outcome's runs until then.
		o.Duration = limit
	}
	if q.Duration > 0 {
		o.Duration = q.Duration
	}
	o.Fail = ""
	if c.Type == RunScript {
		name, _ := c.param("ScriptName")
		if f, ok := t.library.Get(name); ok {
			name = f.FileName
		}
		result = newScriptResult(ScriptResult{
			ScriptName: name, ExitCode: q.ExitCode, ScriptOutput: q.Output, ScriptErrors: q.Errors,
		}, t.transcribes(a, name))
	}
	if c.Type == GetFile && q.Content != nil {
		path, _ := c.param("Path")
		result = &Result{file: []byte(*q.Content), path: path, own: true}
	}
	if q.Fail != "" {
		return Outcome{Duration: o.Duration, Fail: q.Fail}, result, nil
	}
	if result == nil && c.Type == GetFile {
		// The fixtures would have failed this GetFile; the outcome did not
		// say what to collect, so it collects an empty file.
		path, _ := c.param("Path")
		result = &Result{file: []byte{}, path: path}
	}
	return o, result, put
}

// cancelLocked cancels a at now, by who. Call it with a.mu held and a not
// final.
func (a *Action) cancelLocked(who, comment string, now time.Time) {
	a.unschedule()
	for i := range a.commandCount() {
		if c := a.state(i); c.status == commandInProgress {
			c.status = commandFailed
			c.end = now.UnixNano()
			a.setFail(i, fmt.Sprintf(errCancelled, who))
		}
	}
	a.settling = false
	a.status = actionCancelled
	a.lastUpdate = now.UnixNano()
	a.extraLocked().cancel = &cancellation{by: who, note: comment, at: now}
}
