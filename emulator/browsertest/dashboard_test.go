// Package browsertest drives the emulator's training dashboard
// (/_emulator/ui) in a real browser: headless Chromium, through chromedp.
// It is a package of its own so that chromedp, a test-only dependency,
// stays out of the emulator package's tests.
//
// The tests skip when no Chromium is found, unless MDE_BROWSER_TESTS=1
// (CI sets it), when they fail. With MDE_UPDATE_SCREENSHOTS=1 they write
// the screenshots of docs/screenshots.
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

// Ids of the default fixtures (fixtures/default.yaml).
const (
	financeName = "ws-finance-01.contoso.local"
	financeID   = "82fb3b669b460cf8436780882296d90371d68ad6"
	hrID        = "f45a8efeefb10869d728d02342d2eb47c912451b" // ws-hr-02
	runScript   = `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}],"Comment":"triage"}`
)

// chromium returns the path of a Chromium or Chrome binary, or skips t
// (fails it with MDE_BROWSER_TESTS=1) when there is none.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MDE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("MDE_BROWSER_TESTS") == "1" {
		t.Fatal("MDE_BROWSER_TESTS=1 but no chromium binary on PATH (apt-get install chromium, or set MDE_CHROMIUM)")
	}
	t.Skip("no chromium binary on PATH: the dashboard's browser tests need one (apt-get install chromium; MDE_BROWSER_TESTS=1 makes this a failure)")
	return ""
}

// browser starts headless Chromium for t, with a fresh profile and no
// network of its own, and returns a tab's context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900), // a laptop screen
	}
	// A deadline for the whole story, so that a lost browser fails the
	// test rather than hanging it; no step's speed is judged.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(bcancel)
	return bctx
}

// do runs steps in the browser and fails t, naming what, on an error.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// screenshot writes the page to docs/screenshots/name.png when
// MDE_UPDATE_SCREENSHOTS=1.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("MDE_UPDATE_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG (less is JPEG)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "..", "docs", "screenshots", name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// client is a live response client of the emulator: the default app.
type client struct {
	t     *testing.T
	base  string
	token string
}

func newClient(t *testing.T, base string) *client {
	res, err := http.Post(base+"/_emulator/tokens", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("mint a token: %d %v", res.StatusCode, err)
	}
	return &client{t: t, base: base, token: tok.AccessToken}
}

// submit posts runliveresponse to machine and returns the status and the
// action's id (on 201).
func (c *client) submit(machine string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.base+"/api/machines/"+machine+"/runliveresponse", strings.NewReader(runScript))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var a struct{ ID string }
	_ = json.Unmarshal(b, &a)
	return res.StatusCode, a.ID
}

// action is the selector of action id's row on the timeline in status.
func action(id, status string) chromedp.CSS {
	return chromedp.CSS(fmt.Sprintf(`.action-row[data-id=%q][data-status=%q]`, id, status))
}

// machine is the selector of a machine's row, online or not.
func machine(name string, online bool) chromedp.CSS {
	state := "offline"
	if online {
		state = "online"
	}
	return chromedp.CSS(fmt.Sprintf(`tr.machine[data-name=%q][data-state=%q]`, name, state))
}

// advance advances the emulated clock by step from the dashboard's form.
func advance(t *testing.T, ctx context.Context, step string) {
	t.Helper()
	do(t, ctx, "advance the clock by "+step,
		chromedp.SetValue(chromedp.CSS("#advance-by"), step),
		chromedp.Click(chromedp.CSS("#advance")))
}

// TestDashboardStory is a trainer's session: open the dashboard, see the
// machines, watch a client's action run to Succeeded, take a machine
// offline, let its queued action time out by moving the clock, and see
// the client throttled.
func TestDashboardStory(t *testing.T) {
	ctx := browser(t)
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close() // first: it ends the dashboard's event streams
		ts.Close()
	})
	cl := newClient(t, ts.URL)

	// Open it: the machines are there, the stream is live.
	do(t, ctx, "open the dashboard",
		chromedp.Navigate(ts.URL+"/_emulator/ui"),
		chromedp.WaitVisible(machine(financeName, true)),
		chromedp.WaitVisible(chromedp.CSS("#live.on")))
	title, err := chromedp.Run(ctx, chromedp.Title())
	if err != nil || title != "MDE emulator dashboard" {
		t.Errorf("title %q %v", title, err)
	}

	// A client submits an action; the page shows it without a reload and,
	// once the clock moves, its command runs to Succeeded.
	status, id := cl.submit(financeID)
	if status != 201 {
		t.Fatalf("submit: %d", status)
	}
	do(t, ctx, "see the new action", chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.action-row[data-id=%q]`, id))))
	advance(t, ctx, "10m")
	do(t, ctx, "see it succeed",
		chromedp.WaitVisible(action(id, "Succeeded")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`.action-row[data-id=%q] .seg.st-Completed`, id))))
	screenshot(t, ctx, "dashboard")

	// Take the machine offline from the page; a new action waits, and
	// times out once the clock passes the queue timeout (3 days).
	do(t, ctx, "take the machine offline",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr.machine[data-name=%q] button.switch`, financeName))),
		chromedp.WaitVisible(machine(financeName, false)))
	status, queued := cl.submit(financeID)
	if status != 201 {
		t.Fatalf("submit to the offline machine: %d", status)
	}
	do(t, ctx, "see the action queued", chromedp.WaitVisible(action(queued, "Pending")),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr.machine[data-name=%q] .badge.st-Pending`, financeName))))
	advance(t, ctx, "73h")
	do(t, ctx, "see the queued action time out", chromedp.WaitVisible(action(queued, "TimeOut")),
		chromedp.WaitVisible(chromedp.CSS(`#clock-now`)))
	now, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#clock-now")))
	if err != nil || now != "2026-01-08 10:10:00" {
		t.Errorf("the clock shows %q (%v), want 2026-01-08 10:10:00", now, err)
	}

	// Hammer runliveresponse: the 11th call of the minute is refused, and
	// the 429 shows, highlighted, in the journal stream; the limit shows
	// full.
	cl = newClient(t, ts.URL) // three days on, the first token has expired
	var statuses []int
	for range 12 {
		status, _ := cl.submit(hrID)
		statuses = append(statuses, status)
		if status == http.StatusTooManyRequests {
			break
		}
	}
	if statuses[len(statuses)-1] != http.StatusTooManyRequests {
		t.Fatalf("12 calls of runliveresponse in a minute were never refused with 429: %v", statuses)
	}
	do(t, ctx, "see the 429 in the journal",
		chromedp.WaitVisible(chromedp.CSS(`#journal-rows tr.entry.s429[data-status="429"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.rate.full`)))
	bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#journal-rows tr.s429")).backgroundColor`))
	if err != nil || bg == "" || bg == "rgba(0, 0, 0, 0)" || bg == "transparent" {
		t.Errorf("the 429 row's background is %q (%v), want a highlight", bg, err)
	}
	screenshot(t, ctx, "dashboard-throttled")

	// The journal's filter: 429s only.
	do(t, ctx, "filter the journal",
		chromedp.SetValue(chromedp.CSS(`#journal-filter select[name=status]`), "429"),
		chromedp.Submit(chromedp.CSS(`#journal-filter`)),
		chromedp.WaitVisible(chromedp.CSS(`#journal-rows tr.s429`)),
		chromedp.WaitNotPresent(chromedp.CSS(`#journal-rows tr.entry:not(.s429)`)))
}

// TestDashboardFaultsAndClock adds and removes a fault rule and pauses and
// resumes the clock from the page, for one tenant.
func TestDashboardFaultsAndClock(t *testing.T) {
	ctx := browser(t)
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Start: time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close() // first: it ends the dashboard's event streams
		ts.Close()
	})
	tenant := srv.Store().Tenants()[0].ID
	do(t, ctx, "open the dashboard for one tenant",
		chromedp.Navigate(ts.URL+"/_emulator/ui?tenant="+tenant),
		chromedp.WaitVisible(chromedp.CSS("#live.on")),
		chromedp.WaitVisible(chromedp.CSS("#clock-resume")))

	do(t, ctx, "add a fault rule",
		chromedp.SetValue(chromedp.CSS(`#fault-form textarea`), `{"name":"storm","match":{"path":"/api/machines"},"effect":{"status":503}}`),
		chromedp.Click(chromedp.CSS(`#fault-form button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.fault`)))
	if rules := srv.Faults().List(); len(rules) != 1 || rules[0].Name != "storm" {
		t.Fatalf("rules %+v, want the one added from the page", rules)
	}
	screenshot(t, ctx, "dashboard-faults")
	do(t, ctx, "remove it",
		chromedp.Click(chromedp.CSS(`tr.fault button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`tr.fault`)))
	if rules := srv.Faults().List(); len(rules) != 0 {
		t.Errorf("rules %+v after Remove", rules)
	}

	do(t, ctx, "a bad rule shows its error",
		chromedp.SetValue(chromedp.CSS(`#fault-form textarea`), `{"effect":{"status":200}}`),
		chromedp.Click(chromedp.CSS(`#fault-form button`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash`)))
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#flash")))
	if err != nil || !strings.Contains(flash, "InvalidInput") {
		t.Errorf("flash %q (%v), want the InvalidInput error", flash, err)
	}

	do(t, ctx, "resume the clock", chromedp.Click(chromedp.CSS("#clock-resume")), chromedp.WaitVisible(chromedp.CSS("#clock-pause")))
	if srv.Clock().Mode() != clock.Real {
		t.Errorf("mode %s after Resume, want real", srv.Clock().Mode())
	}
	do(t, ctx, "pause it", chromedp.Click(chromedp.CSS("#clock-pause")), chromedp.WaitVisible(chromedp.CSS("#clock-resume")))
	if srv.Clock().Mode() != clock.Manual {
		t.Errorf("mode %s after Pause, want manual", srv.Clock().Mode())
	}
}

// TestDashboardControlToken opens an exposed control plane's dashboard
// with ?token= once: the page loads, drops the token from its address,
// and its stream and forms work with the cookie alone.
func TestDashboardControlToken(t *testing.T) {
	ctx := browser(t)
	const token = "browser-test-control-token"
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, ExposeControl: true, ControlToken: token})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Close() // first: it ends the dashboard's event streams
		ts.Close()
	})
	do(t, ctx, "open with the token",
		chromedp.Navigate(ts.URL+"/_emulator/ui?token="+token),
		chromedp.WaitVisible(machine(financeName, true)),
		chromedp.WaitVisible(chromedp.CSS("#live.on")))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil || strings.Contains(loc, token) {
		t.Errorf("the address is %q (%v): it still holds the token", loc, err)
	}
	cookie, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil || cookie != "" {
		t.Errorf("document.cookie = %q (%v), want the HttpOnly cookie hidden from scripts", cookie, err)
	}
	do(t, ctx, "switch a machine with the cookie",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr.machine[data-name=%q] button.switch`, financeName))),
		chromedp.WaitVisible(machine(financeName, false)))
	do(t, ctx, "reload without the token", chromedp.Navigate(ts.URL+"/_emulator/ui"), chromedp.WaitVisible(machine(financeName, false)))
}
