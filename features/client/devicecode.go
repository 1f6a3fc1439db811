package client

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cucumber/godog"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/journal"
)

// The device code sign-in (@sign-in-device-code): the client is told
// MDE_SIGN_IN=device-code and MDE_USERNAME, asks the identity platform
// for a device code and shows its user the message; the kit plays the
// user. The kit knows every code the emulator gave the client (the
// observer sees the answers pass) and answers a code — approves it as
// MDE_USERNAME's user, or declines it — as soon as the code appears in
// the client's standard output or standard error, as a person reading it
// would. A client that shows the code where the kit cannot read it (a
// dialog, a browser it opens) is still graded: the kit answers each code
// deviceFallback after it was issued all the same, and only the step
// "it showed the user the device code" fails. The kit answers through the
// emulator, as POST /_emulator/devicecode/{userCode} does; the client is
// never changed or told anything else.

// deviceFallback is how long after issuing a code the kit answers it even
// though the client's output never showed it: two of the platform's
// 5-second polling intervals.
const deviceFallback = 10 * time.Second

// deviceUser is the kit as the user of a device code sign-in.
type deviceUser struct {
	upn     string
	decline bool          // decline the sign-in instead of approving it
	delay   time.Duration // how long the user takes to sign in once the code is shown

	mu       sync.Mutex
	shown    map[string]time.Time // code → when the kit read it in the output
	answered map[string]bool      // code → the kit approved or declined it
}

// addDeviceCodeSteps registers the steps of the device code sign-in.
func addDeviceCodeSteps(sc *godog.ScenarioContext) {
	sc.Step(`^the client signs in with a device code as the user "([^"]*)"$`, signInWithDeviceCode)
	sc.Step(`^the user declines the sign-in$`, func(ctx context.Context) error {
		return withDeviceUser(ctx, func(d *deviceUser) { d.decline = true })
	})
	sc.Step(`^the user takes (\d+) seconds to sign in$`, func(ctx context.Context, secs int) error {
		return withDeviceUser(ctx, func(d *deviceUser) { d.delay = time.Duration(secs) * time.Second })
	})
	sc.Step(`^it showed the user the device code$`, showedDeviceCode)
	sc.Step(`^it stopped asking for a token once the sign-in was declined$`, stoppedAfterDecline)
	sc.Step(`^it polled for its token at the interval until the user signed in$`, polledAtInterval)
}

// signInWithDeviceCode makes the client sign in as upn with a device code,
// the kit playing the user while the client runs.
func signInWithDeviceCode(ctx context.Context, upn string) error {
	w := worldFrom(ctx)
	if err := signInAs(ctx, upn); err != nil {
		return err
	}
	w.signIn = signInDeviceCode
	w.device = &deviceUser{upn: w.user.UserPrincipalName, shown: map[string]time.Time{}, answered: map[string]bool{}}
	w.watchers = append(w.watchers, w.playDeviceUser)
	return nil
}

func withDeviceUser(ctx context.Context, f func(*deviceUser)) error {
	w := worldFrom(ctx)
	if w.device == nil {
		return fmt.Errorf("no device code sign-in: put \"the client signs in with a device code as the user …\" first")
	}
	f(w.device)
	return nil
}

// showsCode reports whether the output shows the user code: without case,
// and with the dashes or spaces a client may group it with.
func showsCode(output, code string) bool {
	output = strings.ToUpper(output)
	code = strings.ToUpper(code)
	return strings.Contains(output, code) || strings.Contains(strings.NewReplacer("-", "", " ", "").Replace(output), code)
}

// playDeviceUser answers each device code the client is given: as soon
// as its output shows the code (after the user's delay), or
// deviceFallback after the code was issued.
func (w *world) playDeviceUser(ctx context.Context) error {
	d := w.device
	for {
		now := clock.Wall()
		out := w.out.String()
		for _, ic := range w.observer.deviceCodes() {
			d.mu.Lock()
			if d.answered[ic.userCode] {
				d.mu.Unlock()
				continue
			}
			shownAt, shown := d.shown[ic.userCode]
			if !shown && showsCode(out, ic.userCode) {
				shownAt, shown = now, true
				d.shown[ic.userCode] = now
			}
			due := (shown && !now.Before(shownAt.Add(d.delay))) || (!shown && now.Sub(ic.at) >= deviceFallback)
			if due {
				d.answered[ic.userCode] = true
			}
			d.mu.Unlock()
			if !due {
				continue
			}
			var err error
			if d.decline {
				err = w.srv.DeclineDeviceCode(ic.userCode)
			} else {
				err = w.srv.ApproveDeviceCode(ic.userCode, d.upn)
			}
			if err != nil {
				return fmt.Errorf("the kit could not answer the device code %s: %w", ic.userCode, err)
			}
		}
		if err := clock.SleepWall(ctx, watchInterval); err != nil {
			return nil
		}
	}
}

// devicePolls returns the client's token requests with the device code
// grant.
func (w *world) devicePolls() []journal.Entry {
	var out []journal.Entry
	for _, e := range of(w.requests(), epToken) {
		if grantType(e) == deviceCodeGrant {
			out = append(out, e)
		}
	}
	return out
}

// deviceCodeGrant is the grant_type of a device code poll.
const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

// showedDeviceCode judges that the client showed its user the code: the
// kit read every code the client used in its output.
func showedDeviceCode(ctx context.Context) error {
	w := worldFrom(ctx)
	issued := w.observer.deviceCodes()
	if len(issued) == 0 {
		return w.fail("The client should have asked for a device code (POST {authority}/{tenant}/oauth2/v2.0/devicecode, MDE_SIGN_IN=device-code); it asked for none.", w.requests())
	}
	d := w.device
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ic := range issued {
		if _, ok := d.shown[ic.userCode]; !ok {
			return w.fail(fmt.Sprintf("The client should show its user the code to enter, on standard output or standard error (the identity platform's message: \"To sign in, use a web browser to open the page … and enter the code %s to authenticate.\"); its output never showed %s, so no person could have signed in (the kit signed in %s after it was issued, to grade the rest).",
				ic.userCode, ic.userCode, deviceFallback), of(w.requests(), epDevice))
		}
	}
	return nil
}

// stoppedAfterDecline judges a client whose user declined the sign-in: it
// asked for no token and no new device code after the decline.
func stoppedAfterDecline(ctx context.Context) error {
	w := worldFrom(ctx)
	all := w.requests()
	for i, e := range all {
		if e.ErrorCode != "authorization_declined" {
			continue
		}
		for _, later := range all[i+1:] {
			if ep := endpoint(later); ep == epToken || ep == epDevice {
				return w.fail("The user declined the sign-in (400 authorization_declined): the client should stop and report it, not poll again or ask for a new code.",
					append(of(all, epDevice), of(all, epToken)...))
			}
		}
		return nil
	}
	return w.fail("The kit declined the client's device code; the client should have polled the token endpoint and been answered authorization_declined, and it was not.",
		append(of(all, epDevice), of(all, epToken)...))
}

// polledAtInterval judges a client whose user took a while to sign in: it
// kept polling on authorization_pending, was never told slow_down (it
// waited the answer's interval between polls), and got its token.
func polledAtInterval(ctx context.Context) error {
	w := worldFrom(ctx)
	polls := w.devicePolls()
	pending, slowDown := 0, 0
	for _, e := range polls {
		switch e.ErrorCode {
		case "authorization_pending":
			pending++
		case "slow_down":
			slowDown++
		}
	}
	switch {
	case pending == 0:
		return w.fail("While the user had not signed in, the client should have polled the token endpoint and been answered authorization_pending; it never was.", polls)
	case slowDown > 0:
		return w.fail(fmt.Sprintf("The client should wait the device code answer's interval (5 s) between polls, and 5 s more after each slow_down; it was answered slow_down %d time(s).", slowDown), polls)
	case polls[len(polls)-1].Status != 200:
		return w.fail("The client should have kept polling until the user signed in and got its token.", polls)
	}
	return nil
}
