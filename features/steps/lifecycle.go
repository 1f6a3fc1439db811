package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"
)

// durationUnit is one unit of the durations steps are written in.
const durationUnit = `(?:milliseconds?|seconds?|minutes?|hours?|days?)`

func registerLifecycle(sc *godog.ScenarioContext) {
	sc.Step(`^(\d+ `+durationUnit+`(?:(?:, | and )\d+ `+durationUnit+`)*) pass(?:es)?$`, func(ctx context.Context, phrase string) error {
		d, err := parseDuration(phrase)
		if err != nil {
			return err
		}
		return worldFrom(ctx).advance(ctx, d)
	})
	sc.Step(`^the queue timeout, less (\d+ `+durationUnit+`(?:(?:, | and )\d+ `+durationUnit+`)*), passes$`, func(ctx context.Context, phrase string) error {
		less, err := parseDuration(phrase)
		if err != nil {
			return err
		}
		w := worldFrom(ctx)
		l, err := w.emulatorLimits(ctx)
		if err != nil {
			return err
		}
		if l.QueueTimeout <= less {
			return fmt.Errorf("the queue timeout of the profile %s is %s, not more than %s", l.Name, l.QueueTimeout, less)
		}
		return w.advance(ctx, l.QueueTimeout-less)
	})
	sc.Step(`^the machine comes online$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		c, err := w.control()
		if err != nil {
			return err
		}
		return c.SetOnline(ctx, w.machine, true)
	})

	sc.Step(`^the response is an action with the status "([^"]*)"$`, func(ctx context.Context, status string) error {
		v, err := worldFrom(ctx).lastAction()
		if err != nil {
			return err
		}
		return wantStatus(v, status)
	})
	sc.Step(`^the action is "([^"]*)"$`, func(ctx context.Context, status string) error {
		v, err := worldFrom(ctx).fetchAction(ctx)
		if err != nil {
			return err
		}
		return wantStatus(v, status)
	})
	sc.Step(`^within (\d+) (seconds|minutes) the action becomes "([^"]*)"$`, actionBecomes)
	sc.Step(`^the action is a "([^"]*)" action on that machine$`, func(ctx context.Context, typ string) error {
		w := worldFrom(ctx)
		v, err := w.seenAction()
		if err != nil {
			return err
		}
		if v.Type != typ || !strings.EqualFold(v.MachineID, w.machine) {
			return fmt.Errorf("a %q action on %q, want a %q action on %q", v.Type, v.MachineID, typ, w.machine)
		}
		return nil
	})
	sc.Step(`^the action's requestor comment is "([^"]*)"$`, func(ctx context.Context, want string) error {
		v, err := worldFrom(ctx).seenAction()
		if err != nil {
			return err
		}
		if v.RequestorComment == nil || *v.RequestorComment != want {
			return fmt.Errorf("requestorComment %s, want %q", quote(v.RequestorComment), want)
		}
		return nil
	})
	sc.Step(`^the action's requestor is "([^"]*)"$`, func(ctx context.Context, want string) error {
		v, err := worldFrom(ctx).seenAction()
		if err != nil {
			return err
		}
		if v.Requestor != want {
			return fmt.Errorf("requestor %q, want %q", v.Requestor, want)
		}
		return nil
	})
	sc.Step(`^every command is "([^"]*)"$`, func(ctx context.Context, status string) error {
		return eachCommand(ctx, func(i int, v *actionView) error {
			if got := v.Commands[i].CommandStatus; got != status {
				return fmt.Errorf("command %d is %q, want %q", i, got, status)
			}
			return nil
		})
	})
	sc.Step(`^command (\d+) is "([^"]*)"$`, func(ctx context.Context, i int, status string) error {
		return oneCommand(ctx, i, func(v *actionView) error {
			if got := v.Commands[i].CommandStatus; got != status {
				return fmt.Errorf("command %d is %q, want %q", i, got, status)
			}
			return nil
		})
	})
	sc.Step(`^no command has a start or end time$`, func(ctx context.Context) error {
		return eachCommand(ctx, func(i int, v *actionView) error {
			if c := v.Commands[i]; c.StartTime != nil || c.EndTime != nil {
				return fmt.Errorf("command %d has start %s and end %s, want both null", i, quote(c.StartTime), quote(c.EndTime))
			}
			return nil
		})
	})
	sc.Step(`^every command has a start and an end time$`, func(ctx context.Context) error {
		return eachCommand(ctx, func(i int, v *actionView) error {
			if c := v.Commands[i]; c.StartTime == nil || c.EndTime == nil {
				return fmt.Errorf("command %d has start %s and end %s, want both set", i, quote(c.StartTime), quote(c.EndTime))
			}
			return nil
		})
	})
	sc.Step(`^command (\d+) has no start time$`, func(ctx context.Context, i int) error {
		return oneCommand(ctx, i, func(v *actionView) error {
			if s := v.Commands[i].StartTime; s != nil {
				return fmt.Errorf("command %d started at %s", i, *s)
			}
			return nil
		})
	})
	sc.Step(`^command (\d+) has an error containing "([^"]*)"$`, func(ctx context.Context, i int, part string) error {
		return oneCommand(ctx, i, func(v *actionView) error {
			for _, e := range v.Commands[i].Errors {
				if strings.Contains(e, part) {
					return nil
				}
			}
			return fmt.Errorf("command %d has the errors %q, none containing %q", i, v.Commands[i].Errors, part)
		})
	})
	sc.Step(`^command (\d+) has the parameter "([^"]*)" set to "([^"]*)"$`, func(ctx context.Context, i int, key, value string) error {
		return oneCommand(ctx, i, func(v *actionView) error {
			for _, p := range v.Commands[i].Command.Params {
				if p.Key == key && p.Value == value {
					return nil
				}
			}
			return fmt.Errorf("command %d has the parameters %+v, not %s=%q", i, v.Commands[i].Command.Params, key, value)
		})
	})

	sc.Step(`^I cancel the action$`, func(ctx context.Context) error {
		return cancel(ctx, `{"Comment":"Cancelled by the conformance kit"}`)
	})
	sc.Step(`^I cancel the action with the comment "([^"]*)"$`, func(ctx context.Context, comment string) error {
		b, _ := json.Marshal(map[string]string{"Comment": comment})
		return cancel(ctx, string(b))
	})
	sc.Step(`^I cancel the action without a comment$`, func(ctx context.Context) error {
		return cancel(ctx, `{}`)
	})
	sc.Step(`^the action records who cancelled it, when, and the comment "([^"]*)"$`, func(ctx context.Context, comment string) error {
		v, err := worldFrom(ctx).seenAction()
		if err != nil {
			return err
		}
		if v.CancellationRequestor == nil || *v.CancellationRequestor == "" || v.CancellationDateTimeUtc == nil ||
			v.CancellationComment == nil || *v.CancellationComment != comment {
			return fmt.Errorf("cancellation requestor %s, time %s, comment %s; want both set and the comment %q",
				quote(v.CancellationRequestor), quote(v.CancellationDateTimeUtc), quote(v.CancellationComment), comment)
		}
		return nil
	})
	sc.Step(`^the action was cancelled by "([^"]*)"$`, func(ctx context.Context, who string) error {
		v, err := worldFrom(ctx).seenAction()
		if err != nil {
			return err
		}
		if v.CancellationRequestor == nil || *v.CancellationRequestor != who || v.CancellationDateTimeUtc == nil {
			return fmt.Errorf("cancellation requestor %s at %s, want %q", quote(v.CancellationRequestor), quote(v.CancellationDateTimeUtc), who)
		}
		return nil
	})
}

func quote(s *string) string {
	if s == nil {
		return "null"
	}
	return strconv.Quote(*s)
}

func wantStatus(v *actionView, status string) error {
	if v.Status != status {
		b, _ := json.Marshal(v.Commands)
		return fmt.Errorf("the action is %q, want %q (commands: %s)", v.Status, status, b)
	}
	return nil
}

func eachCommand(ctx context.Context, check func(i int, v *actionView) error) error {
	v, err := worldFrom(ctx).seenAction()
	if err != nil {
		return err
	}
	if len(v.Commands) == 0 {
		return fmt.Errorf("the action has no commands")
	}
	for i := range v.Commands {
		if err := check(i, v); err != nil {
			return err
		}
	}
	return nil
}

func oneCommand(ctx context.Context, i int, check func(v *actionView) error) error {
	v, err := worldFrom(ctx).seenAction()
	if err != nil {
		return err
	}
	if i >= len(v.Commands) {
		return fmt.Errorf("the action has %d commands, no command %d", len(v.Commands), i)
	}
	return check(v)
}

func cancel(ctx context.Context, body string) error {
	w := worldFrom(ctx)
	if w.action == "" {
		return fmt.Errorf("no action was started")
	}
	r, err := w.do(ctx, request{method: http.MethodPost, target: "/api/machineactions/" + w.action + "/cancel", body: []byte(body), contentType: "application/json"})
	if err != nil {
		return err
	}
	if r.status == http.StatusOK {
		_, err = w.lastAction()
	}
	return err
}

// finalStatuses are the statuses an action does not leave.
var finalStatuses = map[string]bool{"Succeeded": true, "Failed": true, "TimeOut": true, "Cancelled": true}

// actionBecomes polls the action until it has status, for at most n
// units. With a control plane the emulated clock moves 10 seconds between
// polls; without one the step waits in real time.
func actionBecomes(ctx context.Context, n int, unit, status string) error {
	w := worldFrom(ctx)
	limit := time.Duration(n) * time.Second
	if unit == "minutes" {
		limit = time.Duration(n) * time.Minute
	}
	ctl := w.target.Control()
	const step = 10 * time.Second
	var waited time.Duration
	deadline := w.cfg.realDeadline(limit)
	for {
		v, err := w.fetchAction(ctx)
		if err != nil {
			return err
		}
		if v.Status == status {
			return nil
		}
		if finalStatuses[v.Status] {
			return wantStatus(v, status)
		}
		if ctl != nil {
			if waited >= limit {
				return fmt.Errorf("after %s the action is still %q, want %q", limit, v.Status, status)
			}
			if err := w.advance(ctx, step); err != nil {
				return err
			}
			waited += step
			continue
		}
		if waited >= deadline {
			return fmt.Errorf("after %s the action is still %q, want %q", limit, v.Status, status)
		}
		if err := w.cfg.sleep(ctx, w.cfg.pollInterval()); err != nil {
			return err
		}
		waited += w.cfg.pollInterval()
	}
}

var durationPart = regexp.MustCompile(`(\d+) (millisecond|second|minute|hour|day)s?`)

// parseDuration reads "71 hours, 59 minutes and 59 seconds".
func parseDuration(phrase string) (time.Duration, error) {
	units := map[string]time.Duration{
		"millisecond": time.Millisecond, "second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour,
	}
	var d time.Duration
	parts := durationPart.FindAllStringSubmatch(phrase, -1)
	if len(parts) == 0 {
		return 0, fmt.Errorf("no duration in %q", phrase)
	}
	for _, m := range parts {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return 0, err
		}
		d += time.Duration(n) * units[m[2]]
	}
	return d, nil
}
