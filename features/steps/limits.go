package steps

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// fleetScript is the script of a loaded fleet: it runs 9 minutes, so that
// the sessions it starts stay open while a scenario fills the cap.
const fleetScript = "Long-Running.ps1"

// fleetUser is the user of a loaded fleet: advanced live response over
// every machine.
var fleetUser = UserCredentials{"fleet-user@contoso.onmicrosoft.com", "fleet-password"}

// fleetFixture returns a fixture of the default tenant and app with n
// online (or offline) Windows 11 machines, fleetScript and fleetUser.
func fleetFixture(n int, offline bool) ([]byte, []string) {
	var b strings.Builder
	fmt.Fprintf(&b, `tenants:
  - id: %s
    name: fleet
    apps:
      - {clientId: %s, clientSecret: %s, displayName: SOAR Automation, roles: [Machine.LiveResponse, Machine.Read.All, Machine.ReadWrite.All, Library.Manage],
         delegatedPermissions: [Machine.LiveResponse, Machine.Read, Machine.ReadWrite, Library.Manage]}
    users:
      - {userPrincipalName: %s, password: %s, role: {viewData: true, liveResponse: advanced}}
    library:
      - {fileName: %s, content: "Start-Sleep -Seconds 540", behavior: {duration: 9m}}
      - {fileName: Get-Processes.ps1, content: "Get-Process"}
    machines:
`, defaultTenantID, defaultClientID, defaultSecret, fleetUser.Username, fleetUser.Password, fleetScript)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("f1ee7%035x", i+1)
		fmt.Fprintf(&b, "      - {id: %s, computerDnsName: fleet-%03d.contoso.local, osPlatform: Windows11, offline: %t}\n", ids[i], i+1, offline)
	}
	return []byte(b.String()), ids
}

func registerLimits(sc *godog.ScenarioContext) {
	sc.Step(`^a tenant with (\d+) (online|offline) Windows machines$`, func(ctx context.Context, n int, state string) error {
		w := worldFrom(ctx)
		c, err := w.control()
		if err != nil {
			return err
		}
		fixture, ids := fleetFixture(n, state == "offline")
		if err := c.LoadFixtures(ctx, fixture); err != nil {
			return err
		}
		w.fleet, w.next, w.limits = ids, 0, nil
		return nil
	})
	sc.Step(`^I run the script "([^"]*)" on (\d+) of the machines, one every second$`, func(ctx context.Context, script string, n int) error {
		w := worldFrom(ctx)
		w.batch, w.batchIDs = nil, nil
		for i := 0; i < n; i++ {
			if err := w.submitOnNext(ctx, script); err != nil {
				return err
			}
			if err := w.advance(ctx, time.Second); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^I run the script "([^"]*)" on the next machine$`, func(ctx context.Context, script string) error {
		w := worldFrom(ctx)
		saved := w.batch
		err := w.submitOnNext(ctx, script)
		w.batch = saved
		return err
	})
	sc.Step(`^I start sessions on (\d+) machines, staying under the rate limit$`, func(ctx context.Context, n int) error {
		return startSessions(ctx, n)
	})
	sc.Step(`^I start sessions until the profile's session cap is reached$`, func(ctx context.Context) error {
		l, err := worldFrom(ctx).emulatorLimits(ctx)
		if err != nil {
			return err
		}
		return startSessions(ctx, l.Sessions)
	})
	sc.Step(`^I cancel the first of them$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		if len(w.batchIDs) == 0 {
			return fmt.Errorf("no session was started")
		}
		w.action = w.batchIDs[0]
		return cancel(ctx, `{"Comment":"Free a session"}`)
	})
	sc.Step(`^every one of them was accepted$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		if len(w.batch) == 0 {
			return fmt.Errorf("no request was repeated")
		}
		for i, r := range w.batch {
			if r.status < 200 || r.status > 299 {
				return fmt.Errorf("request %d of %d: %s", i+1, len(w.batch), r)
			}
		}
		return nil
	})
	sc.Step(`^every one of them is "([^"]*)"$`, func(ctx context.Context, status string) error {
		w := worldFrom(ctx)
		for _, id := range w.batchIDs {
			w.action = id
			v, err := w.fetchAction(ctx)
			if err != nil {
				return err
			}
			if err := wantStatus(v, status); err != nil {
				return fmt.Errorf("action %s: %w", id, err)
			}
		}
		return nil
	})
	sc.Step(`^I submit the request body '(.*)' for it (\d+) times$`, func(ctx context.Context, body string, n int) error {
		w := worldFrom(ctx)
		for i := 0; i < n; i++ {
			if _, err := w.submit(ctx, "", []byte(body)); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^I get the machine (\d+) times$`, func(ctx context.Context, n int) error {
		w := worldFrom(ctx)
		w.batch = nil
		return w.getMachineTimes(ctx, n)
	})
	sc.Step(`^I get the machine (\d+) times a minute for (\d+) minutes$`, func(ctx context.Context, n, minutes int) error {
		w := worldFrom(ctx)
		w.batch = nil
		for m := 0; m < minutes; m++ {
			if m > 0 {
				if err := w.advance(ctx, time.Minute); err != nil {
					return err
				}
			}
			if err := w.getMachineTimes(ctx, n); err != nil {
				return err
			}
		}
		return nil
	})
	sc.Step(`^the Retry-After header is (\d+)$`, func(ctx context.Context, want string) error {
		r, err := worldFrom(ctx).lastResponse()
		if err != nil {
			return err
		}
		if got := r.header.Get("Retry-After"); got != want {
			return fmt.Errorf("Retry-After %q, want %q: %s", got, want, r)
		}
		return nil
	})
}

// submitOnNext runs script on the next machine of the fleet.
func (w *world) submitOnNext(ctx context.Context, script string) error {
	if w.next >= len(w.fleet) {
		return fmt.Errorf("the fleet has only %d machines", len(w.fleet))
	}
	w.machine, w.machineName = w.fleet[w.next], ""
	w.next++
	if err := runScript(ctx, script, "", "", ""); err != nil {
		return err
	}
	w.batch = append(w.batch, w.last)
	if w.last.status == http.StatusCreated {
		w.batchIDs = append(w.batchIDs, w.action)
	}
	return nil
}

// startSessions starts n sessions on the fleet, a minute passing after
// every batch the runliveresponse rate limit allows.
func startSessions(ctx context.Context, n int) error {
	w := worldFrom(ctx)
	l, err := w.emulatorLimits(ctx)
	if err != nil {
		return err
	}
	w.batch, w.batchIDs = nil, nil
	for i := 0; i < n; i++ {
		if err := w.submitOnNext(ctx, fleetScript); err != nil {
			return err
		}
		if l.LiveResponsePerMinute > 0 && (i+1)%l.LiveResponsePerMinute == 0 {
			if err := w.advance(ctx, time.Minute); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *world) getMachineTimes(ctx context.Context, n int) error {
	for i := 0; i < n; i++ {
		r, err := w.do(ctx, request{method: http.MethodGet, target: "/api/machines/" + w.machine})
		if err != nil {
			return err
		}
		w.batch = append(w.batch, r)
	}
	return nil
}
