package client

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"net/http/httptest"

	"github.com/mdelive/mde-emulator/emulator/emulatortest"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/journal"
	"github.com/mdelive/mde-emulator/internal/state"
)

// scope is what MDE_SCOPE tells the client to ask for.
const scope = "https://api.securitycenter.microsoft.com/.default"

// world is the state of one scenario: its emulator, its scene, the run of
// the client and what the judging steps need of it. It lives in the
// scenario's context, never in a package variable.
type world struct {
	kit      *kit
	name     string
	srv      *emulatortest.Server // its URL is not served: url is
	listener *httptest.Server
	url      string       // the emulator's base URL on the loopback listener
	observer *observer    // what the client's polls were answered
	set      *fixture.Set // the fixtures it was started with
	tenant   *state.Tenant
	clientID string // the app under test: the first app of the fixtures
	kitApp   state.Caller
	scratch  string
	deadline time.Duration

	// startSeq is the journal's last sequence number before the client
	// started: what follows is the client's (or the kit's own app's,
	// told apart by appId).
	startSeq uint64
	// watchers run beside the client: scenes that react to what it does.
	watchers []func(ctx context.Context) error

	kitActions []string      // actions the kit started
	user       *fixture.User // the user the client signs in as, if any
	signIn     string        // how the user signs in: "password" or signInDeviceCode
	device     *deviceUser   // the kit as the user of a device code sign-in
	out        *output       // the client's output while it runs
	run        *run
	stdin      string
}

type worldKey struct{}

func worldFrom(ctx context.Context) *world {
	w, _ := ctx.Value(worldKey{}).(*world)
	if w == nil {
		panic("client: no scenario state in the context")
	}
	return w
}

// newWorld starts the scenario's emulator: a real clock at the wall's
// speed, the kit's fixtures, a loopback listener.
func newWorld(k *kit, name string) (*world, error) {
	set, err := fixture.Parse("features/client/fixtures.yaml", fixturesYAML)
	if err != nil {
		return nil, err
	}
	srv, err := emulatortest.New(emulatortest.WithFixtures(set), emulatortest.WithRealClock(1))
	if err != nil {
		return nil, err
	}
	w := &world{kit: k, name: name, srv: srv, set: set, clientID: srv.ClientID, deadline: DefaultDeadline}
	w.observer = newObserver(srv.Emulator().Handler())
	w.listener = httptest.NewServer(w.observer)
	w.url = w.listener.URL
	w.tenant, _ = srv.Emulator().Store().Tenant(srv.TenantID)
	for _, t := range set.Tenants {
		if len(t.Apps) > 1 {
			w.kitApp = state.Caller{TenantID: t.ID, AppID: t.Apps[1].ClientID, Name: t.Apps[1].DisplayName}
		}
	}
	w.scratch, err = os.MkdirTemp(k.workDir, "scenario-")
	if err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// close stops the scenario's emulator.
func (w *world) close() {
	w.listener.Close()
	w.srv.Close()
}

// expand replaces the placeholders of a step's text: {scratch} (the
// scratch directory) and {action} (the action the kit started last).
func (w *world) expand(s string) string {
	s = strings.ReplaceAll(s, "{scratch}", w.scratch)
	if n := len(w.kitActions); n > 0 {
		s = strings.ReplaceAll(s, "{action}", w.kitActions[n-1])
	}
	return s
}

// env returns the MDE_ variables the adapter gets.
func (w *world) env() map[string]string {
	env := map[string]string{
		"MDE_API_URL":       w.url,
		"MDE_AUTHORITY":     w.url,
		"MDE_TOKEN_URL":     w.url + "/" + w.srv.TenantID + "/oauth2/v2.0/token",
		"MDE_TENANT_ID":     w.srv.TenantID,
		"MDE_CLIENT_ID":     w.srv.ClientID,
		"MDE_CLIENT_SECRET": w.srv.ClientSecret,
		"MDE_SCOPE":         scope,
		"MDE_SCRATCH_DIR":   w.scratch,
	}
	if w.user != nil {
		env["MDE_SIGN_IN"] = w.signIn
		env["MDE_USERNAME"] = w.user.UserPrincipalName
		if w.signIn == "password" {
			env["MDE_PASSWORD"] = w.user.Password
		}
	}
	return env
}

// runClient runs the adapter with args, and the scene's watchers beside
// it until it ends.
func (w *world) runClient(ctx context.Context, args []string) error {
	w.startSeq = w.srv.Emulator().Journal().Stats().Recorded
	w.out = &output{}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make([]error, len(w.watchers))
	for i, watch := range w.watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = watch(wctx)
		}()
	}
	deadline := time.Duration(float64(w.deadline) * w.kit.deadlineFactor)
	w.run = runAdapter(ctx, w.kit.command, args, w.scratch, environment(w.kit.env, w.env()), w.stdin, deadline, w.out)
	stop()
	wg.Wait()
	if w.run.startErr != nil {
		return fmt.Errorf("the client could not be started: %v", w.run.startErr)
	}
	if w.run.hung {
		return &hungError{fmt.Sprintf("the client was still running after %s and was killed: it hung.%s",
			deadline.Round(time.Second), w.did(w.requests()))}
	}
	for _, err := range errs {
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("setting the scene while the client ran: %w", err)
		}
	}
	return nil
}

// hungError is the failure of a client killed at its deadline.
type hungError struct{ msg string }

func (e *hungError) Error() string { return e.msg }

// requests returns what the client sent while it ran, in order: the
// journal's entries after the kit's setup, without the kit's own app.
func (w *world) requests() []journal.Entry {
	all := w.srv.Requests(journal.Filter{AfterSeq: w.startSeq})
	return slices.DeleteFunc(all, func(e journal.Entry) bool { return strings.EqualFold(e.AppID, w.kitApp.AppID) })
}

// Endpoint classes of the client's requests.
const (
	epToken  = "token"
	epDevice = "device code"
	epSubmit = "submit"
	epPoll   = "poll"
	epLink   = "download link"
	epBlob   = "result download"
	epOther  = "other"
)

// endpoint names the kind of call e is, so that calls to the same
// endpoint for different machines or actions compare.
func endpoint(e journal.Entry) string {
	p := strings.ToLower(e.Path)
	switch {
	case strings.HasSuffix(p, "/oauth2/token"), strings.HasSuffix(p, "/oauth2/v2.0/token"):
		return epToken
	case strings.HasSuffix(p, "/oauth2/devicecode"), strings.HasSuffix(p, "/oauth2/v2.0/devicecode"):
		return epDevice
	case e.Method == "POST" && strings.HasPrefix(p, "/api/machines/") && strings.HasSuffix(p, "/runliveresponse"):
		return epSubmit
	case e.Method == "GET" && strings.HasPrefix(p, "/api/machineactions/") && strings.Contains(p, "/getliveresponseresultdownloadlink"):
		return epLink
	case e.Method == "GET" && strings.HasPrefix(p, "/api/machineactions/") && strings.Count(p, "/") == 3:
		return epPoll
	case strings.HasPrefix(p, "/_blob/"):
		return epBlob
	}
	return e.Method + " " + e.Path
}

// of returns the entries of the endpoint class ep.
func of(entries []journal.Entry, ep string) []journal.Entry {
	var out []journal.Entry
	for _, e := range entries {
		if endpoint(e) == ep {
			out = append(out, e)
		}
	}
	return out
}

// clientActions returns the ids of the actions the client created, in
// order.
func (w *world) clientActions() []string {
	var ids []string
	for _, e := range of(w.requests(), epSubmit) {
		if e.Status == 201 && e.ActionID != "" {
			ids = append(ids, e.ActionID)
		}
	}
	return ids
}

// clientAction returns the action the client created last.
func (w *world) clientAction() (state.ActionView, error) {
	ids := w.clientActions()
	if len(ids) == 0 {
		return state.ActionView{}, w.fail("The client created no action: no POST runliveresponse was answered 201.", w.requests())
	}
	a, err := w.tenant.Action(ids[len(ids)-1])
	if err != nil {
		return state.ActionView{}, err
	}
	return a.View(), nil
}

// pollsOf returns the client's polls of the action id.
func (w *world) pollsOf(id string) []journal.Entry {
	var out []journal.Entry
	for _, e := range of(w.requests(), epPoll) {
		if strings.EqualFold(e.Path, "/api/machineactions/"+id) {
			out = append(out, e)
		}
	}
	return out
}

// fail returns a judging step's failure: what should have happened, then
// what the client did (the relevant requests, its exit code and the end
// of its output).
func (w *world) fail(should string, relevant []journal.Entry) error {
	return fmt.Errorf("%s%s", should, w.did(relevant))
}

// maxJournalLines bounds the requests a failure shows.
const maxJournalLines = 24

// did describes what the client did: the requests (emulated time since
// it started, wall time since it started, method, path, status,
// Retry-After, error code), its exit code and the last lines of its
// output.
func (w *world) did(relevant []journal.Entry) string {
	var b strings.Builder
	b.WriteString("\n\nWhat the client did:\n")
	var t0, w0 time.Time
	if first := w.srv.Requests(journal.Filter{AfterSeq: w.startSeq}); len(first) > 0 {
		t0, w0 = first[0].Time, first[0].Wall
	}
	if len(relevant) == 0 {
		b.WriteString("  (no requests of this kind)\n")
	}
	show := relevant
	skipped := 0
	if len(show) > maxJournalLines {
		skipped = len(show) - maxJournalLines
		show = append(append([]journal.Entry(nil), show[:maxJournalLines/2]...), show[len(show)-maxJournalLines/2:]...)
	}
	for i, e := range show {
		if skipped > 0 && i == maxJournalLines/2 {
			fmt.Fprintf(&b, "  … %d more …\n", skipped)
		}
		fmt.Fprintf(&b, "  %s\n", line(e, t0, w0))
	}
	if w.run != nil {
		switch {
		case w.run.hung:
			fmt.Fprintf(&b, "  killed at the deadline after %s\n", w.run.elapsed.Round(time.Millisecond))
		default:
			fmt.Fprintf(&b, "  exit code %d after %s\n", w.run.exitCode, w.run.elapsed.Round(time.Millisecond))
		}
		tail(&b, "stdout", w.run.stdout)
		tail(&b, "stderr", w.run.stderr)
	}
	return strings.TrimRight(b.String(), "\n")
}

// line formats one request for a report: its emulated time since t0 (and
// the wall time since w0 when they differ), method, path, status,
// Retry-After and error code.
func line(e journal.Entry, t0, w0 time.Time) string {
	when := fmt.Sprintf("+%6.2fs", e.Time.Sub(t0).Seconds())
	if wall := e.Wall.Sub(w0).Seconds(); absDiff(wall, e.Time.Sub(t0).Seconds()) > 0.5 {
		when += fmt.Sprintf(" (wall +%.2fs)", wall)
	}
	s := fmt.Sprintf("%s %-6s %s", when, e.Method, e.Path)
	if e.Query != "" && !strings.HasPrefix(e.Path, "/_blob/") {
		s += "?" + e.Query
	}
	status := fmt.Sprint(e.Status)
	if e.Status == 0 {
		status = "connection dropped"
	}
	s += " → " + status
	if e.RetryAfter != "" {
		s += " Retry-After: " + e.RetryAfter
	}
	if e.ErrorCode != "" {
		s += " " + e.ErrorCode
	}
	return s
}

func absDiff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}

// tailLines is how many lines of each output stream a failure shows.
const tailLines = 8

// tail writes the last lines of an output stream.
func tail(b *strings.Builder, name, out string) {
	out = strings.TrimRight(out, "\n")
	if out == "" {
		fmt.Fprintf(b, "  %s: (empty)\n", name)
		return
	}
	lines := strings.Split(out, "\n")
	if len(lines) > tailLines {
		fmt.Fprintf(b, "  %s (last %d of %d lines):\n", name, tailLines, len(lines))
		lines = lines[len(lines)-tailLines:]
	} else {
		fmt.Fprintf(b, "  %s:\n", name)
	}
	for _, l := range lines {
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		fmt.Fprintf(b, "    | %s\n", l)
	}
}

// scratchPath returns p inside the scratch directory when it is relative.
func (w *world) scratchPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(w.scratch, p)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
