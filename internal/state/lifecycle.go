package state

import (
	"fmt"
	"time"
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

// step is one lifecycle transition of an action. It runs with a.mu held
// and reports whether the action reached a final status.
type step func(now time.Time) (final bool)

// at schedules st as a's next step at the emulated instant when, replacing
// any step scheduled before. Call it with a.mu held.
func (t *Tenant) at(a *Action, when time.Time, st step) {
	a.gen++
	gen := a.gen
	if a.timer != nil {
		a.timer.Stop()
	}
	a.timer = t.store.clock.AtFunc(when, func(now time.Time) {
		now = now.UTC().Truncate(Tick)
		a.mu.Lock()
		if a.gen != gen {
			a.mu.Unlock()
			return
		}
		a.timer = nil
		final := st(now)
		a.mu.Unlock()
		if final {
			t.finished(a)
		}
	})
}

// unschedule drops a's next step. Call it with a.mu held.
func (a *Action) unschedule() {
	a.gen++
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
}

// finished frees the machine and the tenant's session of an action that
// has just reached a final status. It is called once per action.
func (t *Tenant) finished(a *Action) {
	m := a.machine
	m.mu.Lock()
	if m.active == a {
		m.active = nil
	}
	m.mu.Unlock()
	a.mu.Lock()
	held := a.session
	a.session = false
	a.mu.Unlock()
	if held {
		t.sessions.Release(t.ID)
	}
}

// schedulePickup makes an online machine pick a up after its pickup delay;
// an offline machine leaves it queued until the queue timeout.
func (t *Tenant) schedulePickup(a *Action, now time.Time) {
	m := a.machine
	if !m.Online() {
		t.scheduleExpiry(a, now)
		return
	}
	delay := time.Duration(m.info.PickupDelay)
	if delay <= 0 {
		delay = defaultPickupDelay
	}
	t.schedulePickupAt(a, now.Add(delay))
}

// schedulePickupAt makes the machine pick a up at when, if it is online
// then and a session is free.
func (t *Tenant) schedulePickupAt(a *Action, when time.Time) {
	m := a.machine
	t.at(a, when, func(now time.Time) bool {
		if !m.Online() {
			t.scheduleExpiry(a, now)
			return false
		}
		if !a.session {
			// Pending actions do not hold a session in this profile: the
			// machine takes one now, or the action waits for one (until
			// the queue timeout).
			if !t.sessions.Acquire(t.ID) {
				if deadline := a.created.Add(t.store.Profile().QueueTimeout); !now.Before(deadline) {
					a.status = StatusTimeOut
					a.lastUpdate = now
					return true
				}
				t.schedulePickupAt(a, now.Add(sessionRetryAfter))
				return false
			}
			a.session = true
		}
		a.status = StatusInProgress
		a.lastUpdate = now
		return t.startCommand(a, 0, now)
	})
}

// scheduleExpiry ends a queued action TimeOut when the queue timeout after
// its creation passes, its commands untouched.
func (t *Tenant) scheduleExpiry(a *Action, now time.Time) {
	deadline := a.created.Add(t.store.Profile().QueueTimeout)
	if deadline.Before(now) {
		deadline = now
	}
	t.at(a, deadline, func(now time.Time) bool {
		a.status = StatusTimeOut
		a.lastUpdate = now
		return true
	})
}

// outcome is how a command will end, decided when it starts.
type outcome struct {
	after   time.Duration
	failure string // non-empty: the command fails with this error
	timeout bool   // the failure is the script time limit
	result  *result
	finish  func() // side effect on the machine when it completes
}

// startCommand starts command i of a at now and schedules its end.
func (t *Tenant) startCommand(a *Action, i int, now time.Time) bool {
	c := &a.commands[i]
	c.status = CommandInProgress
	c.start = now
	a.lastUpdate = now
	o := t.plan(a, c)
	t.at(a, now.Add(o.after), func(now time.Time) bool {
		c.end = now
		a.lastUpdate = now
		if o.failure != "" {
			c.status = CommandFailed
			c.errors = []string{o.failure}
			a.status = StatusFailed
			if o.timeout {
				a.status = StatusTimeOut
			}
			return true
		}
		if o.finish != nil {
			o.finish()
		}
		c.status = CommandCompleted
		c.result = o.result
		if i+1 < len(a.commands) {
			return t.startCommand(a, i+1, now)
		}
		a.settling = true
		t.at(a, now.Add(settleDelay), func(now time.Time) bool {
			a.settling = false
			a.status = StatusSucceeded
			a.lastUpdate = now
			return true
		})
		return false
	})
	return false
}

// plan decides what command c of a does on the machine.
// An outcome queued for the machine overrides what the fixtures say.
func (t *Tenant) plan(a *Action, c *commandState) outcome {
	script, _ := c.param("ScriptName")
	if o, ok := a.machine.takeOutcome(c.Type, script); ok {
		return t.planOverride(o, a, c)
	}
	return t.planFromFixtures(a, c)
}

// planFromFixtures decides what command c of a does from the library's
// declared behaviour and the machine's files.
func (t *Tenant) planFromFixtures(a *Action, c *commandState) outcome {
	m := a.machine
	switch c.Type {
	case PutFile:
		name, _ := c.param("FileName")
		f, ok := t.library.Get(name)
		if !ok {
			return outcome{after: putFileDuration, failure: fmt.Sprintf("File %s was not found in the live response library.", name)}
		}
		return outcome{after: putFileDuration, finish: func() { m.putFile(f.FileName, f.Content) }}
	case RunScript:
		name, _ := c.param("ScriptName")
		args, _ := c.param("Args")
		f, ok := t.library.Get(name)
		if !ok {
			return outcome{after: putFileDuration, failure: fmt.Sprintf("Script %s was not found in the live response library.", name)}
		}
		b := f.behaviorFor(args)
		d := time.Duration(b.Duration)
		if d <= 0 {
			d = defaultScriptDuration
		}
		if limit := t.store.Profile().ScriptTimeout; d > limit {
			return outcome{after: limit, failure: fmt.Sprintf(errTimedOut, limit), timeout: true}
		}
		if b.Fail != "" {
			return outcome{after: d, failure: b.Fail}
		}
		return outcome{after: d, result: &result{script: &ScriptResult{
			ScriptName: f.FileName, ExitCode: b.ExitCode, ScriptOutput: b.Output, ScriptErrors: b.Errors,
		}}}
	default: // GetFile
		path, _ := c.param("Path")
		f, ok := m.file(path)
		switch {
		case !ok:
			return outcome{after: getFileDuration, failure: fmt.Sprintf("The file %s was not found on the device.", path)}
		case f.size > MaxGetFileSize:
			return outcome{after: getFileDuration, failure: fmt.Sprintf("The file %s is %d bytes; GetFile collects files of up to 3 GB.", path, f.size)}
		}
		return outcome{after: getFileDuration, result: &result{file: f.content, path: f.path}}
	}
}

// cancelLocked cancels a at now, by who. Call it with a.mu held and a not
// final.
func (a *Action) cancelLocked(who, comment string, now time.Time) {
	a.unschedule()
	for i := range a.commands {
		c := &a.commands[i]
		if c.status == CommandInProgress {
			c.status = CommandFailed
			c.end = now
			c.errors = []string{fmt.Sprintf(errCancelled, who)}
		}
	}
	a.settling = false
	a.status = StatusCancelled
	a.lastUpdate = now
	a.cancelBy = who
	a.cancelNote = &comment
	a.cancelAt = now
}
