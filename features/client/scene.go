package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/faults"
	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/state"
)

// Paths the scenes' fault rules match.
const (
	pollPath = "/api/machineactions/*"
	linkPath = "/api/machineactions/*/GetLiveResponseResultDownloadLink*"
	blobPath = "/_blob/*"
	// missingMachine is a machine id no fixture has: calls for it are
	// answered 404 and still count against the rate limit.
	missingMachine = "0000000000000000000000000000000000000000"
)

// addSceneSteps registers the steps that set a scenario's scene.
func addSceneSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the clock runs at real speed$`, func() {})
	sc.Step(`^the clock runs (\d+) times faster than real time$`, clockScale)
	sc.Step(`^the client may take up to (\d+) seconds$`, clientDeadline)
	sc.Step(`^a local file "([^"]*)" with the content "([^"]*)"$`, localFile)
	sc.Step(`^an action is waiting for the offline machine "([^"]*)"$`, actionWaitingOffline)
	sc.Step(`^the kit cancels the client's action once it is running$`, cancelOnceRunning)
	sc.Step(`^the machine "([^"]*)" is running another action for (\d+) seconds$`, machineBusy)
	sc.Step(`^the client's app has used its (\d+) live response calls of this minute$`, useRateLimit)
	sc.Step(`^the tenant's (\d+) live response sessions are taken, and freed once the client is refused$`, takeSessions)
	sc.Step(`^the next (\d+) polls answer (\d+)(?: with Retry-After "([^"]*)")?$`, nextPollsAnswer)
	sc.Step(`^the next poll answers (\d+)$`, func(ctx context.Context, status int) error {
		return nextPollsAnswer(ctx, 1, status, "")
	})
	sc.Step(`^the next (\d+) download link calls answer (\d+) with Retry-After "([^"]*)"$`, nextLinksAnswer)
	sc.Step(`^the next (\d+) polls drop the connection$`, nextPollsDrop)
	sc.Step(`^every poll answers (\d+)$`, everyPollAnswers)
	sc.Step(`^the first (\d+) polls of the new action answer 404$`, firstPollsNotFound)
	sc.Step(`^the next result download answers 403 as an expired link does$`, expiredLink)
	sc.Step(`^the client signs in as the user "([^"]*)"$`, signInAs)
	sc.Step(`^the client's access tokens last (\d+) seconds$`, tokenLifetime)
	addDeviceCodeSteps(sc)
}

// tokenLifetime gives the client's app access tokens of secs seconds
// (its accessTokenLifetime in the fixtures: expires_in, wall time), so
// that a token really expires while the client runs. It reloads the
// scenario's fixtures, which starts the emulated world again: it comes
// before any step that starts actions or changes machines.
func tokenLifetime(ctx context.Context, secs int) error {
	w := worldFrom(ctx)
	if len(w.kitActions) > 0 {
		return errors.New("the token lifetime step reloads the fixtures: put it before the steps that start actions")
	}
	set := w.set.Clone()
	found := false
	for ti := range set.Tenants {
		for ai := range set.Tenants[ti].Apps {
			if a := &set.Tenants[ti].Apps[ai]; strings.EqualFold(a.ClientID, w.clientID) {
				a.AccessTokenLifetime, found = fixture.Duration(time.Duration(secs)*time.Second), true
			}
		}
	}
	if !found {
		return fmt.Errorf("the kit's fixtures have no app %s", w.clientID)
	}
	if err := w.srv.Emulator().LoadFixtures(set); err != nil {
		return err
	}
	w.set = set
	t, ok := w.srv.Emulator().Store().Tenant(w.srv.TenantID)
	if !ok {
		return fmt.Errorf("tenant %s is gone after the reload", w.srv.TenantID)
	}
	w.tenant = t
	return nil
}

// signInAs makes the client sign in as a user of the fixtures: the
// adapter gets MDE_SIGN_IN=password, MDE_USERNAME and MDE_PASSWORD (the
// device code sign-in starts the same: devicecode.go). Such scenarios are
// tagged @sign-in-password (not applicable to a client that does not
// declare it).
func signInAs(ctx context.Context, upn string) error {
	w := worldFrom(ctx)
	for _, t := range w.set.Tenants {
		for i := range t.Users {
			if strings.EqualFold(t.Users[i].UserPrincipalName, upn) {
				u := t.Users[i]
				w.user, w.signIn = &u, "password"
				return nil
			}
		}
	}
	return fmt.Errorf("the kit's fixtures have no user %q", upn)
}

func clockScale(ctx context.Context, scale int) error {
	if scale < 1 {
		return fmt.Errorf("scale %d: the clock can only run faster", scale)
	}
	worldFrom(ctx).srv.Emulator().Clock().SetScale(float64(scale))
	return nil
}

func clientDeadline(ctx context.Context, secs int) {
	worldFrom(ctx).deadline = time.Duration(secs) * time.Second
}

func localFile(ctx context.Context, name, content string) error {
	return os.WriteFile(worldFrom(ctx).scratchPath(name), []byte(content), 0o644)
}

// kitSubmit starts an action as the kit's own app, straight in the
// domain: it neither passes the client's rate limits nor shows in the
// journal.
func (w *world) kitSubmit(machine, script string) (string, error) {
	comment := "started by the conformance kit"
	v, err := w.tenant.Submit(w.kitApp, machine, state.SubmitRequest{
		Commands: []state.Command{{Type: state.RunScript, Params: []state.Param{{Key: "ScriptName", Value: script}}}},
		Comment:  &comment,
	})
	if err != nil {
		return "", fmt.Errorf("the kit could not start an action on %s: %w", machine, err)
	}
	w.kitActions = append(w.kitActions, v.ID)
	return v.ID, nil
}

func actionWaitingOffline(ctx context.Context, machine string) error {
	w := worldFrom(ctx)
	if err := w.srv.SetOnline(machine, false); err != nil {
		return err
	}
	_, err := w.kitSubmit(machine, "Get-Processes.ps1")
	return err
}

// awaitClientCall waits until the client made a call of f (with its own
// app, after it started).
func (w *world) awaitClientCall(ctx context.Context, f journal.Filter) (journal.Entry, error) {
	f.AfterSeq, f.AppID = w.startSeq, w.clientID
	got, err := w.srv.Emulator().Journal().Wait(ctx, f, 1)
	if err != nil || len(got) == 0 {
		return journal.Entry{}, err
	}
	return got[0], nil
}

// watchInterval is how often a watcher looks at an action's status.
const watchInterval = 20 * time.Millisecond

func cancelOnceRunning(ctx context.Context) {
	w := worldFrom(ctx)
	w.watchers = append(w.watchers, func(ctx context.Context) error {
		e, err := w.awaitClientCall(ctx, journal.Filter{Method: "POST", Path: "/api/machines/*/runliveresponse", Status: 201})
		if err != nil {
			return nil // the client never created an action: the judging says so
		}
		a, err := w.tenant.Action(e.ActionID)
		if err != nil {
			return err
		}
		for a.View().Status == state.StatusPending {
			if err := clock.SleepWall(ctx, watchInterval); err != nil {
				return nil
			}
		}
		if _, err := w.tenant.Cancel(w.kitApp, e.ActionID, "cancelled by the conformance kit"); err != nil {
			return fmt.Errorf("cancel the client's action: %w", err)
		}
		return nil
	})
}

func machineBusy(ctx context.Context, machine string, secs int) error {
	w := worldFrom(ctx)
	d := fixture.Duration(time.Duration(secs) * time.Second)
	if err := w.srv.NextOutcomes(machine, state.Outcome{Type: state.RunScript, Duration: d, Output: "the other action\n"}); err != nil {
		return err
	}
	_, err := w.kitSubmit(machine, "Get-Processes.ps1")
	return err
}

// useRateLimit spends the client app's runliveresponse calls of this
// minute, the way another job of the same app would: calls for a machine
// that does not exist, answered 404 and counted all the same.
func useRateLimit(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	token, err := w.srv.Token()
	if err != nil {
		return err
	}
	body := []byte(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}],"Comment":"another job of the same app"}`)
	for i := range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url+"/api/machines/"+missingMachine+"/runliveresponse", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := w.listener.Client().Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			return fmt.Errorf("call %d of %d to use the rate limit: status %d, want 404", i+1, n, res.StatusCode)
		}
	}
	return nil
}

func takeSessions(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	if limit := w.srv.Emulator().Store().Profile().Sessions; limit != n {
		return fmt.Errorf("the emulator's profile allows %d sessions, the scenario expects %d", limit, n)
	}
	var held []string
	for m := range w.tenant.Machines() {
		if len(held) == n {
			break
		}
		if !m.Online() || m.ID() == mustMachineID(w, "win-01.contoso.local") {
			continue
		}
		id, err := w.kitSubmit(m.ID(), "Slow.ps1")
		if err != nil {
			return err
		}
		held = append(held, id)
	}
	if got := w.tenant.Sessions(); got != n {
		return fmt.Errorf("the kit holds %d sessions, want %d", got, n)
	}
	w.watchers = append(w.watchers, func(ctx context.Context) error {
		if _, err := w.awaitClientCall(ctx, journal.Filter{Method: "POST", Path: "/api/machines/*/runliveresponse", Status: 429}); err != nil {
			return nil // never refused: the judging says so
		}
		for _, id := range held {
			if _, err := w.tenant.Cancel(w.kitApp, id, "sessions freed by the conformance kit"); err != nil {
				return fmt.Errorf("free a session: %w", err)
			}
		}
		return nil
	})
	return nil
}

func mustMachineID(w *world, name string) string {
	m, err := w.tenant.Machine(name)
	if err != nil {
		return ""
	}
	return m.ID()
}

// addFault adds a fault rule for the client's calls.
func (w *world) addFault(r faults.Rule) error {
	_, err := w.srv.AddFault(r)
	return err
}

func retryAfter(s string) (faults.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	return faults.Duration(d), err
}

func nextPollsAnswer(ctx context.Context, n, status int, after string) error {
	w := worldFrom(ctx)
	ra, err := retryAfter(after)
	if err != nil {
		return err
	}
	return w.addFault(faults.Rule{
		Name:   "the next " + strconv.Itoa(n) + " polls answer " + strconv.Itoa(status),
		Match:  faults.Match{Method: "GET", Path: pollPath, AppID: w.clientID},
		Calls:  faults.Calls{Next: n},
		Effect: faults.Effect{Status: status, RetryAfter: ra},
	})
}

func nextLinksAnswer(ctx context.Context, n, status int, after string) error {
	w := worldFrom(ctx)
	ra, err := retryAfter(after)
	if err != nil {
		return err
	}
	return w.addFault(faults.Rule{
		Name:   "the next download link calls answer " + strconv.Itoa(status),
		Match:  faults.Match{Method: "GET", Path: linkPath, AppID: w.clientID},
		Calls:  faults.Calls{Next: n},
		Effect: faults.Effect{Status: status, RetryAfter: ra},
	})
}

func nextPollsDrop(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	return w.addFault(faults.Rule{
		Name:   "the next polls drop the connection",
		Match:  faults.Match{Method: "GET", Path: pollPath, AppID: w.clientID},
		Calls:  faults.Calls{Next: n},
		Effect: faults.Effect{Drop: true},
	})
}

func everyPollAnswers(ctx context.Context, status int) error {
	w := worldFrom(ctx)
	return w.addFault(faults.Rule{
		Name:   "every poll answers " + strconv.Itoa(status),
		Match:  faults.Match{Method: "GET", Path: pollPath, AppID: w.clientID},
		Effect: faults.Effect{Status: status},
	})
}

// firstPollsNotFound answers the first polls 404 ResourceNotFound, as the
// service does while a new action has not reached the side that reads
// it. A count rather than a time, so that a client that polls late sees
// it too.
func firstPollsNotFound(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	return w.addFault(faults.Rule{
		Name:   "the new action is not found at first",
		Match:  faults.Match{Method: "GET", Path: pollPath, AppID: w.clientID},
		Calls:  faults.Calls{Next: n},
		Effect: faults.Effect{Status: http.StatusNotFound, Code: "ResourceNotFound"},
	})
}

func expiredLink(ctx context.Context) error {
	w := worldFrom(ctx)
	return w.addFault(faults.Rule{
		Name:   "the next result download answers as an expired link",
		Match:  faults.Match{Method: "GET", Path: blobPath},
		Calls:  faults.Calls{Next: 1},
		Effect: faults.Effect{Status: http.StatusForbidden, Code: "AuthenticationFailed"},
	})
}
