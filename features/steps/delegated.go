package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cucumber/godog"
)

// registerDelegated registers the steps of the users' sign-in
// (delegated.feature).
func registerDelegated(sc *godog.ScenarioContext) {
	sc.Step(`^I sign in as (the test user|the user with basic live response|the user without live response|the workstations user|the fleet's user)$`, func(ctx context.Context, who string) error {
		w := worldFrom(ctx)
		u, err := w.userNamed(who)
		if err != nil {
			return err
		}
		w.auth, w.user, w.token, w.app = authUser, u, "", AppRef{}
		return nil
	})
	sc.Step(`^I request a token with the password of the test user$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		u := w.target.Users().Test
		if u.Username == "" {
			return ErrNoUser
		}
		c := w.target.Credentials()
		r, err := w.do(ctx, request{method: http.MethodPost, target: c.TokenURL, body: []byte(passwordForm(c, u).Encode()),
			contentType: "application/x-www-form-urlencoded", form: true})
		if err != nil {
			return err
		}
		w.tokenRes = nil
		if r.status == http.StatusOK {
			var t TokenResponse
			if err := json.Unmarshal(r.body, &t); err != nil || t.AccessToken == "" {
				return fmt.Errorf("the token response has no access_token: %s", r)
			}
			w.tokenRes = &t
		}
		return nil
	})
	sc.Step(`^I call the API as the test user with only the delegated permissions "([^"]*)"$`, func(ctx context.Context, scopes string) error {
		w := worldFrom(ctx)
		u := w.target.Users().Test
		if u.Username == "" {
			return ErrNoUser
		}
		s := splitList(scopes)
		if s == nil {
			s = []string{}
		}
		return callAs(ctx, AppRef{User: u.Username, Scopes: s})
	})
	sc.Step(`^I call the API as the default app$`, func(ctx context.Context) error {
		return callAs(ctx, AppRef{})
	})
	sc.Step(`^a machine outside the workstations user's device groups$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		m := w.target.Users().OutsideWorkstations
		if m == "" {
			return ErrNoUser
		}
		w.machine, w.machineName = m, ""
		return nil
	})
	sc.Step(`^the action's requestor is the test user's name$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		v, err := w.seenAction()
		if err != nil {
			return err
		}
		if want := w.target.Users().Test.Username; !strings.EqualFold(v.Requestor, want) {
			return fmt.Errorf("requestor %q, want the user's UPN %q", v.Requestor, want)
		}
		return nil
	})
	sc.Step(`^the listed machines do not include that machine$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		c, err := w.collection()
		if err != nil {
			return err
		}
		for _, v := range c.Value {
			if strings.EqualFold(v.ID, w.machine) {
				return fmt.Errorf("the list includes the machine %s (%s)", v.ID, v.ComputerDNSName)
			}
		}
		return nil
	})
	sc.Step(`^I start sessions until the profile's per-user session cap is reached$`, func(ctx context.Context) error {
		l, err := worldFrom(ctx).emulatorLimits(ctx)
		if err != nil {
			return err
		}
		if l.SessionsPerUser <= 0 {
			return fmt.Errorf("the profile %s has no per-user session cap", l.Name)
		}
		return startSessions(ctx, l.SessionsPerUser)
	})
}

// userNamed returns the credentials of a user of the steps.
func (w *world) userNamed(who string) (UserCredentials, error) {
	users := w.target.Users()
	var u UserCredentials
	switch who {
	case "the test user":
		u = users.Test
	case "the user with basic live response":
		u = users.Basic
	case "the user without live response":
		u = users.NoLiveResponse
	case "the workstations user":
		u = users.Workstations
	case "the fleet's user":
		if w.fleet == nil {
			return u, fmt.Errorf("no fleet was loaded")
		}
		u = fleetUser
	}
	if u.Username == "" {
		return u, fmt.Errorf("%s: %w", who, ErrNoUser)
	}
	return u, nil
}
