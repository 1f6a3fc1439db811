package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/state"
)

// addJudgeSteps registers the steps that judge what the client did.
func addJudgeSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the client exits 0$`, exitsZero)
	sc.Step(`^the client exits non-zero$`, exitsNonZero)
	sc.Step(`^its standard output contains "([^"]*)"$`, stdoutContains)
	sc.Step(`^its output mentions "([^"]*)"$`, func(ctx context.Context, s string) error { return outputMentions(ctx, s) })
	sc.Step(`^its output mentions one of "([^"]*)"$`, outputMentions)
	sc.Step(`^its output mentions the exit code (\d+)$`, outputMentionsExitCode)
	sc.Step(`^its output is not empty$`, outputNotEmpty)
	sc.Step(`^its action ended "([^"]*)"$`, actionEnded)
	sc.Step(`^that action is "([^"]*)"$`, kitActionIs)
	sc.Step(`^it submitted (\d+) live response actions?$`, func(ctx context.Context, n int) error { return submitted(ctx, n, n) })
	sc.Step(`^it submitted at most (\d+) live response actions?$`, func(ctx context.Context, n int) error { return submitted(ctx, 0, n) })
	sc.Step(`^the file "([^"]*)" holds the bytes of "([^"]*)" on "([^"]*)"$`, fileHoldsMachineFile)
	sc.Step(`^the library holds "([^"]*)" with the content "([^"]*)"$`, libraryHolds)
	sc.Step(`^its summary says the action is "([^"]*)"$`, summaryStatus)
	sc.Step(`^its summary says command (\d+) is "([^"]*)"$`, func(ctx context.Context, i int, st string) error {
		return summaryCommand(ctx, i, st, "", false)
	})
	sc.Step(`^its summary says command (\d+) is "([^"]*)" with the error "([^"]*)"$`, func(ctx context.Context, i int, st, msg string) error {
		return summaryCommand(ctx, i, st, msg, false)
	})
	sc.Step(`^its summary says command (\d+) is not "([^"]*)"$`, func(ctx context.Context, i int, st string) error {
		return summaryCommand(ctx, i, st, "", true)
	})
	sc.Step(`^it asked for at most (\d+) tokens?$`, atMostTokens)
	sc.Step(`^it asked for a new token at most once per 401$`, tokenPer401)
	sc.Step(`^it polled its action no more than once a second on average$`, pollPace)
	sc.Step(`^it saw the final status within (\d+) seconds of the action becoming final$`, sawFinalWithin)
	sc.Step(`^it did not poll its action after it saw the final status$`, noPollAfterFinal)
	sc.Step(`^it polled its action at most (\d+) times$`, polledAtMost)
	sc.Step(`^it made at most (\d+) submissions, at least (\d+) seconds? apart$`, submissionsSpaced)
	sc.Step(`^either it exits 0 with "([^"]*)" in its output, or it exits non-zero and its output mentions one of "([^"]*)"$`, succeedsOrReports)
	sc.Step(`^it got a (\d+) (on submit|while polling|on the download link)$`, gotStatus)
	sc.Step(`^it waited for Retry-After after every 429$`, honouredRetryAfter)
	sc.Step(`^it never made more than (\d+) submissions in a minute$`, submissionsPerMinute)
	sc.Step(`^it asked for the download link at least (\d+) times$`, linkCallsAtLeast)
	sc.Step(`^it never called a failing endpoint again within ([\d.]+) seconds$`, backoffAtLeast)
	sc.Step(`^it sent at most (\d+) live response requests?$`, sentAtMost)
	sc.Step(`^it renewed its token with the refresh token, not the password$`, renewedWithRefreshToken)
	sc.Step(`^it renewed its token with the refresh token, not a new sign-in$`, renewedWithRefreshToken)
}

// sentAtMost judges the client's POST runliveresponse calls, whatever
// their answers: a refusal that no retry can change is not sent again
// and again.
func sentAtMost(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	subs := of(w.requests(), epSubmit)
	if len(subs) > n {
		return w.fail(fmt.Sprintf("The client should have sent at most %d live response request(s); it sent %d: a 403 says the caller may not do this, and sending it again changes nothing.",
			n, len(subs)), subs)
	}
	return nil
}

// grantType returns the grant_type of a token request, from its form
// body (the journal keeps it, secrets redacted) or its query.
func grantType(e journal.Entry) string {
	for _, raw := range []string{e.RequestBody, e.Query} {
		if v, err := url.ParseQuery(raw); err == nil && v.Get("grant_type") != "" {
			return v.Get("grant_type")
		}
	}
	return ""
}

// renewedWithRefreshToken judges a user's client whose access token
// expired while it ran (the scene gives it a short lifetime): it got a
// new one, and the token requests after the first sign-in use the
// refresh token it was given, not the user's password again (or a new
// device code).
func renewedWithRefreshToken(ctx context.Context) error {
	w := worldFrom(ctx)
	tokens := of(w.requests(), epToken)
	var ok []journal.Entry
	for _, e := range tokens {
		if e.Status == 200 {
			ok = append(ok, e)
		}
	}
	if len(ok) < 2 {
		return w.fail(fmt.Sprintf("Its access token expired while it ran (expires_in): the client should have got a new one with its refresh token, before the token expired or once the API refused it (401); it got %d token(s) in all.", len(ok)), tokens)
	}
	if g := grantType(ok[0]); w.signIn == signInDeviceCode && g != deviceCodeGrant {
		return w.fail(fmt.Sprintf("The client should have signed in as the user with a device code (grant_type=%s); its first token came from grant_type=%q.", deviceCodeGrant, g), tokens)
	} else if w.signIn != signInDeviceCode && g != "password" {
		return w.fail(fmt.Sprintf("The client should have signed in as the user with the password grant (MDE_USERNAME, MDE_PASSWORD); its first token came from grant_type=%q.", g), tokens)
	}
	for _, e := range ok[1:] {
		if g := grantType(e); g != "refresh_token" {
			return w.fail(fmt.Sprintf("The client should renew the user's access token with the refresh token it was given (grant_type=refresh_token), not sign in again; it sent grant_type=%q.", g), tokens)
		}
	}
	return nil
}

func exitsZero(ctx context.Context) error {
	w := worldFrom(ctx)
	if w.run.exitCode != 0 {
		return w.fail(fmt.Sprintf("The client should have exited 0 (the operation succeeded); it exited %d.", w.run.exitCode), w.requests())
	}
	return nil
}

func exitsNonZero(ctx context.Context) error {
	w := worldFrom(ctx)
	if w.run.exitCode == 0 {
		return w.fail("The client should have exited non-zero: the operation did not succeed, and exit 0 tells its caller it did.", w.requests())
	}
	return nil
}

func stdoutContains(ctx context.Context, s string) error {
	w := worldFrom(ctx)
	if !strings.Contains(w.run.stdout, s) {
		return w.fail(fmt.Sprintf("The client's standard output should contain %q.", s), w.requests())
	}
	return nil
}

// output is what the client printed on both streams.
func (w *world) output() string { return w.run.stdout + "\n" + w.run.stderr }

func outputMentions(ctx context.Context, alternatives string) error {
	w := worldFrom(ctx)
	out := strings.ToLower(w.output())
	for _, a := range strings.Split(alternatives, "|") {
		if strings.Contains(out, strings.ToLower(a)) {
			return nil
		}
	}
	return w.fail(fmt.Sprintf("The client's output (standard output or error) should tell its user what happened: it should mention %s.",
		quoteAlternatives(alternatives)), nil)
}

func quoteAlternatives(alternatives string) string {
	parts := strings.Split(alternatives, "|")
	for i, p := range parts {
		parts[i] = fmt.Sprintf("%q", p)
	}
	return strings.Join(parts, " or ")
}

func outputMentionsExitCode(ctx context.Context, code int) error {
	w := worldFrom(ctx)
	re := regexp.MustCompile(fmt.Sprintf(`(?i)exit[^\n]{0,20}?\b%d\b`, code))
	if !re.MatchString(w.output()) {
		return w.fail(fmt.Sprintf("The script exited %d; the client should report that exit code (for example \"exit code %d\").", code, code), nil)
	}
	return nil
}

func outputNotEmpty(ctx context.Context) error {
	w := worldFrom(ctx)
	if strings.TrimSpace(w.output()) == "" {
		return w.fail("The client should say why it did not succeed; it printed nothing.", w.requests())
	}
	return nil
}

func actionEnded(ctx context.Context, status string) error {
	w := worldFrom(ctx)
	a, err := w.clientAction()
	if err != nil {
		return err
	}
	if a.Status != status {
		return w.fail(fmt.Sprintf("The scene should have ended the client's action %s; it is %s (the scene did not play as meant).", status, a.Status), w.requests())
	}
	return nil
}

func kitActionIs(ctx context.Context, status string) error {
	w := worldFrom(ctx)
	a, err := w.tenant.Action(w.kitActions[len(w.kitActions)-1])
	if err != nil {
		return err
	}
	if got := a.View().Status; got != status {
		return w.fail(fmt.Sprintf("Action %s should be %s after the client ran; it is %s.", a.ID(), status, got), w.requests())
	}
	return nil
}

func submitted(ctx context.Context, least, most int) error {
	w := worldFrom(ctx)
	n := len(w.clientActions())
	switch {
	case n < least:
		return w.fail(fmt.Sprintf("The client should have started %d live response action(s); it started %d.", least, n), of(w.requests(), epSubmit))
	case n > most && least == most:
		return w.fail(fmt.Sprintf("The client should have started %d live response action(s); it started %d: it ran the work again.", most, n), of(w.requests(), epSubmit))
	case n > most:
		return w.fail(fmt.Sprintf("The client should have started at most %d live response action(s); it started %d: it submitted again instead of waiting for or reporting the first.", most, n), of(w.requests(), epSubmit))
	}
	return nil
}

func fileHoldsMachineFile(ctx context.Context, dest, path, machine string) error {
	w := worldFrom(ctx)
	want, err := w.machineFile(machine, path)
	if err != nil {
		return err
	}
	got, err := os.ReadFile(w.scratchPath(w.expand(dest)))
	if err != nil {
		return w.fail(fmt.Sprintf("The client should have written the file's bytes to %s: %v.", dest, err), w.requests())
	}
	if !bytes.Equal(got, want) {
		return w.fail(fmt.Sprintf("%s should hold the %d bytes of %s; it holds %d bytes that differ (%.40q…); is the result still gzip-compressed?",
			dest, len(want), path, len(got), got), w.requests())
	}
	return nil
}

// machineFile returns the bytes of a machine's file in the fixtures.
func (w *world) machineFile(machine, path string) ([]byte, error) {
	for _, t := range w.set.Tenants {
		for _, m := range t.Machines {
			if !strings.EqualFold(m.ComputerDNSName, machine) && !strings.EqualFold(m.ID, machine) {
				continue
			}
			for _, f := range m.Files {
				if strings.EqualFold(f.Path, path) {
					if f.ContentBase64 != "" {
						return base64.StdEncoding.DecodeString(f.ContentBase64)
					}
					return []byte(f.Content), nil
				}
			}
		}
	}
	return nil, fmt.Errorf("the fixtures have no file %s on %s", path, machine)
}

func libraryHolds(ctx context.Context, name, content string) error {
	w := worldFrom(ctx)
	f, ok := w.tenant.Library().Get(name)
	if !ok {
		return w.fail(fmt.Sprintf("The library should hold %s after the upload; it does not.", name), w.requests())
	}
	if string(f.Content) != content {
		return w.fail(fmt.Sprintf("The library's %s should hold %q; it holds %q.", name, content, f.Content), w.requests())
	}
	return nil
}

// summary is the live-response operation's JSON summary.
type summary struct {
	ActionID string `json:"actionId"`
	Status   string `json:"status"`
	Commands []struct {
		Index  int      `json:"index"`
		Type   string   `json:"type"`
		Status string   `json:"status"`
		Errors []string `json:"errors"`
	} `json:"commands"`
}

func (w *world) summary() (*summary, error) {
	var s summary
	if err := json.Unmarshal([]byte(strings.TrimSpace(w.run.stdout)), &s); err != nil {
		return nil, w.fail(fmt.Sprintf("The client's standard output should be the JSON summary of live-response (see the adapter protocol): %v.", err), nil)
	}
	return &s, nil
}

func summaryStatus(ctx context.Context, status string) error {
	w := worldFrom(ctx)
	s, err := w.summary()
	if err != nil {
		return err
	}
	if s.Status != status {
		return w.fail(fmt.Sprintf("The summary should say the action is %q; it says %q.", status, s.Status), nil)
	}
	return nil
}

func summaryCommand(ctx context.Context, index int, status, errText string, not bool) error {
	w := worldFrom(ctx)
	s, err := w.summary()
	if err != nil {
		return err
	}
	for _, c := range s.Commands {
		if c.Index != index {
			continue
		}
		switch {
		case not && c.Status == status:
			return w.fail(fmt.Sprintf("The summary says command %d (%s) is %q; the action stopped before it, so it cannot be.", index, c.Type, c.Status), nil)
		case !not && c.Status != status:
			return w.fail(fmt.Sprintf("The summary should say command %d is %q; it says %q.", index, status, c.Status), nil)
		case errText != "" && !strings.Contains(strings.Join(c.Errors, "\n"), errText):
			return w.fail(fmt.Sprintf("The summary of command %d should carry its error %q; its errors are %q.", index, errText, c.Errors), nil)
		}
		return nil
	}
	return w.fail(fmt.Sprintf("The summary should list command %d; it lists %d commands.", index, len(s.Commands)), nil)
}

func atMostTokens(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	tokens := of(w.requests(), epToken)
	if len(tokens) > n {
		return w.fail(fmt.Sprintf("The client should reuse its token until it is about to expire (it is valid for an hour): it asked for %d tokens in one run of %s.",
			len(tokens), w.run.elapsed.Round(time.Second)), w.requests())
	}
	return nil
}

func tokenPer401(ctx context.Context) error {
	w := worldFrom(ctx)
	reqs := w.requests()
	tokens := of(reqs, epToken)
	n401 := 0
	for _, e := range reqs {
		if e.Status == 401 && endpoint(e) != epToken {
			n401++
		}
	}
	if n401 == 0 {
		return w.fail("The scene should have answered a call 401; the client made no call that got one.", reqs)
	}
	if len(tokens) > 1+n401 {
		return w.fail(fmt.Sprintf("After a 401 the client should get one new token and go on: it asked for %d tokens for %d 401(s), at most %d were needed.",
			len(tokens), n401, 1+n401), reqs)
	}
	return nil
}

// finalSeen returns the client's action, its polls, and the index of the
// first poll whose answer showed the action final (-1: none did).
func (w *world) finalSeen() (state.ActionView, []journal.Entry, int, error) {
	a, err := w.clientAction()
	if err != nil {
		return a, nil, -1, err
	}
	polls := w.pollsOf(a.ID)
	if !isFinal(a.Status) {
		return a, polls, -1, w.fail(fmt.Sprintf("The client's action should be final by now; it is %s.", a.Status), polls)
	}
	seen := w.observer.statuses("/api/machineactions/" + a.ID)
	ok := 0 // polls answered 200 so far
	for i, p := range polls {
		if p.Status != 200 {
			continue
		}
		if ok < len(seen) && isFinal(seen[ok]) {
			return a, polls, i, nil
		}
		ok++
	}
	return a, polls, -1, nil
}

func isFinal(status string) bool {
	switch status {
	case state.StatusSucceeded, state.StatusFailed, state.StatusCancelled, state.StatusTimeOut:
		return true
	}
	return false
}

func pollPace(ctx context.Context) error {
	w := worldFrom(ctx)
	a, err := w.clientAction()
	if err != nil {
		return err
	}
	polls := w.pollsOf(a.ID)
	if len(polls) == 0 {
		return w.fail("The client should poll its action until it is final; it never did.", w.requests())
	}
	span := polls[len(polls)-1].Time.Sub(polls[0].Time)
	if float64(len(polls)-1) > span.Seconds() {
		return w.fail(fmt.Sprintf("The client should poll no more than once a second on average (the app shares 100 calls a minute across all its work): it polled %d times in %.1f s.",
			len(polls), span.Seconds()), polls)
	}
	return nil
}

func sawFinalWithin(ctx context.Context, secs int) error {
	w := worldFrom(ctx)
	a, polls, i, err := w.finalSeen()
	if err != nil {
		return err
	}
	final := a.LastUpdateDateTimeUtc.Time()
	if i < 0 {
		return w.fail(fmt.Sprintf("The client should have polled its action until it saw it %s; it never saw it final.", a.Status), polls)
	}
	if late := polls[i].Time.Sub(final); late > time.Duration(secs)*time.Second {
		return w.fail(fmt.Sprintf("The client should notice the end of its action within %d s; it first polled %.1f s after the action became %s.",
			secs, late.Seconds(), a.Status), polls)
	}
	return nil
}

func noPollAfterFinal(ctx context.Context) error {
	w := worldFrom(ctx)
	a, polls, i, err := w.finalSeen()
	if err != nil {
		return err
	}
	if i >= 0 && i < len(polls)-1 {
		return w.fail(fmt.Sprintf("%s is final: the action will never change again, so the client should stop polling once it sees it; it polled %d more times.",
			a.Status, len(polls)-1-i), polls)
	}
	return nil
}

func polledAtMost(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	ids := w.clientActions()
	var polls []journal.Entry
	for _, id := range ids {
		polls = append(polls, w.pollsOf(id)...)
	}
	if len(polls) > n {
		return w.fail(fmt.Sprintf("The client should give up after a bounded number of retries (at most %d calls here); it polled %d times.", n, len(polls)), polls)
	}
	return nil
}

func submissionsSpaced(ctx context.Context, n, secs int) error {
	w := worldFrom(ctx)
	subs := of(w.requests(), epSubmit)
	if len(subs) > n {
		return w.fail(fmt.Sprintf("The client should retry a busy machine only a few times (at most %d submissions); it submitted %d times.", n, len(subs)), subs)
	}
	for i := 1; i < len(subs); i++ {
		if gap := subs[i].Wall.Sub(subs[i-1].Wall); gap < time.Duration(secs)*time.Second {
			return w.fail(fmt.Sprintf("The client should wait before it submits again to a busy machine; it resubmitted after %.2f s.", gap.Seconds()), subs)
		}
	}
	return nil
}

func succeedsOrReports(ctx context.Context, output, mentions string) error {
	w := worldFrom(ctx)
	if w.run.exitCode == 0 {
		if !strings.Contains(w.run.stdout, output) {
			return w.fail(fmt.Sprintf("The client exited 0, so its standard output should contain %q.", output), w.requests())
		}
		return nil
	}
	return outputMentions(ctx, mentions)
}

func gotStatus(ctx context.Context, status int, where string) error {
	w := worldFrom(ctx)
	ep := map[string]string{"on submit": epSubmit, "while polling": epPoll, "on the download link": epLink}[where]
	for _, e := range of(w.requests(), ep) {
		if e.Status == status {
			return nil
		}
	}
	return w.fail(fmt.Sprintf("The scene should have answered the client %d %s; the client made no such call (the scene did not play as meant).", status, where), w.requests())
}

// retryAfterSlack forgives the difference between the journal's arrival
// times and the client's own clock.
const retryAfterSlack = 50 * time.Millisecond

func honouredRetryAfter(ctx context.Context) error {
	w := worldFrom(ctx)
	reqs := w.requests()
	for i, e := range reqs {
		if e.Status != 429 || e.RetryAfter == "" {
			continue
		}
		var secs int
		if _, err := fmt.Sscan(e.RetryAfter, &secs); err != nil {
			continue
		}
		ep := endpoint(e)
		for _, next := range reqs[i+1:] {
			if endpoint(next) != ep {
				continue
			}
			if gap := next.Wall.Sub(e.Wall); gap < time.Duration(secs)*time.Second-retryAfterSlack {
				return w.fail(fmt.Sprintf("After a 429 with Retry-After: %d the client should wait at least %d s before it calls the %s again; it called again after %.2f s.",
					secs, secs, ep, gap.Seconds()), of(reqs, ep))
			}
			break
		}
	}
	return nil
}

func submissionsPerMinute(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	subs := of(w.requests(), epSubmit)
	for i := range subs {
		j := i
		for j < len(subs) && subs[j].Time.Sub(subs[i].Time) < time.Minute {
			j++
		}
		if j-i > n {
			return w.fail(fmt.Sprintf("The API allows an app %d runliveresponse calls a minute; the client made %d within one minute.", n, j-i), subs)
		}
	}
	return nil
}

func linkCallsAtLeast(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	links := of(w.requests(), epLink)
	if len(links) < n {
		return w.fail(fmt.Sprintf("When the result download answers 403 (the link expired), the client should ask for a new link; it asked for %d link(s).", len(links)),
			append(links, of(w.requests(), epBlob)...))
	}
	return nil
}

func backoffAtLeast(ctx context.Context, secs float64) error {
	w := worldFrom(ctx)
	reqs := w.requests()
	min := time.Duration(secs * float64(time.Second))
	for i, e := range reqs {
		if e.Status != 0 && e.Status < 500 {
			continue
		}
		ep := endpoint(e)
		for _, next := range reqs[i+1:] {
			if endpoint(next) != ep {
				continue
			}
			if gap := next.Wall.Sub(e.Wall); gap < min {
				return w.fail(fmt.Sprintf("After a server error or a dropped connection the client should back off before it calls the %s again; it called again after %.2f s.",
					ep, gap.Seconds()), of(reqs, ep))
			}
			break
		}
	}
	return nil
}
