// Package steps runs the conformance kit's feature files (package
// features) against a Target: an emulator in-process, an emulator over
// HTTP, or a real tenant. Every step keeps its state in the scenario's
// context.Context; nothing is shared between scenarios but the target.
package steps

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cucumber/godog"

	"github.com/mdelive/mde-emulator/features/parity"
)

// Config configures the steps of a run.
type Config struct {
	// Target is what the scenarios run against.
	Target Target
	// Recorder, when set, records every exchange of every scenario.
	Recorder *parity.Recorder
	// PollInterval is how often a step that waits for an action polls it
	// on a target without a control plane. Zero: 10 seconds.
	PollInterval time.Duration
	// WaitScale divides the real-time deadlines of such waits ("within 10
	// minutes"): for an emulator on a sped-up clock. Zero: 1.
	WaitScale float64
	// Sleep waits for d or until ctx is done. Nil: a wait of d of wall time.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (c *Config) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return sleepWall(ctx, d)
}

// sleepWall waits for d of wall time or until ctx is done, whichever comes
// first. The steps are a client of the target, over HTTP: between two
// polls they wait in the time of the machine they run on, the only time a
// real tenant shares with them; the time of an emulator target is its own
// and moves through its control plane, never here.
func sleepWall(ctx context.Context, d time.Duration) error {
	wait, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	<-wait.Done()
	return ctx.Err()
}

func (c *Config) pollInterval() time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return 10 * time.Second
}

func (c *Config) realDeadline(d time.Duration) time.Duration {
	if c.WaitScale > 0 {
		return time.Duration(float64(d) / c.WaitScale)
	}
	return d
}

// Initializer returns the godog scenario initializer of the kit: it
// registers every step and the hooks that give each scenario a fresh
// state, reset the emulator before it (when the target has a control
// plane) and, against a real tenant, cancel the actions and delete the
// library files a scenario leaves behind.
func Initializer(cfg Config) func(*godog.ScenarioContext) {
	c := &cfg
	client := cfg.Target.HTTPClient()
	if cfg.Recorder != nil {
		client = &http.Client{Transport: cfg.Recorder.Transport(client.Transport), Timeout: client.Timeout}
	}
	return func(sc *godog.ScenarioContext) {
		sc.Before(func(ctx context.Context, s *godog.Scenario) (context.Context, error) {
			w := &world{
				cfg: c, target: c.Target, client: client,
				key:     parity.Key{Feature: s.Uri, Scenario: s.Name},
				named:   map[string]string{},
				created: map[string]time.Time{},
				extra:   map[string]string{},
			}
			ctx = context.WithValue(ctx, worldKey{}, w)
			if ctl := c.Target.Control(); ctl != nil {
				if err := ctl.Reset(ctx); err != nil {
					return ctx, fmt.Errorf("resetting the emulator: %w", err)
				}
			}
			if c.Recorder != nil {
				c.Recorder.Begin(w.key)
				ctx = parity.WithScenario(ctx, w.key)
			}
			return ctx, nil
		})
		sc.After(func(ctx context.Context, s *godog.Scenario, err error) (context.Context, error) {
			w, ok := ctx.Value(worldKey{}).(*world)
			if !ok {
				return ctx, nil
			}
			if c.Target.Control() == nil {
				w.cleanUp(context.WithoutCancel(ctx))
			}
			if c.Recorder != nil {
				if rerr := c.Recorder.End(w.key); rerr != nil {
					return ctx, fmt.Errorf("recording: %w", rerr)
				}
			}
			return ctx, nil
		})
		registerSubmit(sc)
		registerLifecycle(sc)
		registerResults(sc)
		registerLists(sc)
		registerLibrary(sc)
		registerAuth(sc)
		registerLimits(sc)
		registerDelegated(sc)
	}
}

// cleanUp cancels the actions the scenario started that have not ended
// and deletes the library files it uploaded, so that the test device and
// the library of a real tenant are left as they were.
func (w *world) cleanUp(ctx context.Context) {
	tok, err := w.target.Token(ctx, AppRef{})
	if err != nil {
		godog.Logf(ctx, "clean-up: no token: %v", err)
		return
	}
	for _, id := range w.started {
		r, err := w.once(ctx, request{method: http.MethodPost, target: "/api/machineactions/" + id + "/cancel",
			body: []byte(`{"Comment":"Clean-up by the conformance kit"}`), contentType: "application/json", token: tok})
		if err != nil {
			godog.Logf(ctx, "clean-up: cancel %s: %v", id, err)
		} else if r.status != http.StatusOK && r.status != http.StatusBadRequest {
			godog.Logf(ctx, "clean-up: cancel %s: %s", id, r)
		}
	}
	for _, name := range w.uploaded {
		if _, err := w.once(ctx, request{method: http.MethodDelete, target: "/api/libraryfiles/" + name, token: tok}); err != nil {
			godog.Logf(ctx, "clean-up: delete %s: %v", name, err)
		}
	}
}
