// Command emulator serves a local emulator of the Microsoft Defender for
// Endpoint live response API.
//
//	emulator [--addr 127.0.0.1:8080] [--fixtures FILE] [--clock real|manual]
//	         [--time-scale N] [--profile default|current|unlimited]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/proxy"
	"github.com/mdelive/mde-emulator/internal/state"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done (SIGINT or SIGTERM), then shuts down
// gracefully: requests in flight finish within --shutdown-grace (10 s),
// long-polls answer at once, and what still runs after the grace is cut
// (and logged); either way run returns nil.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	fixturesPath := fs.String("fixtures", "", "fixture file (YAML or JSON); default: the embedded fixtures/default.yaml")
	scenarioName := fs.String("scenario", "", "load a scenario pack by name (or a scenario .yaml file) instead of --fixtures; \"list\" lists them and exits (docs/scenarios.md)")
	clockMode := fs.String("clock", "real", "clock mode: real, or manual (time moves only through POST /_emulator/clock/advance)")
	scale := fs.Float64("time-scale", 1, "speed of the real clock: 60 makes 10 emulated minutes take 10 seconds")
	profile := fs.String("profile", "", "limits profile: "+strings.Join(limits.Names(), ", ")+" (default: the fixtures', else default)")
	verbose := fs.Bool("v", false, "log every request")
	strict := fs.Bool("strict-responses", false, "check every /api response against the OpenAPI document; a mismatch becomes a 500 (for CI)")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (for profiling the emulator itself)")
	journalSize := fs.Int("journal-size", 10000, "how many requests the journal keeps")
	retainActions := fs.Int("retain-actions", state.DefaultRetention.MaxActions, "how many finished actions to keep, holding at most 4 KiB of comments, parameters and output each on average (the first finished go first; 0: no bound)")
	retainFor := fs.Duration("retain-for", state.DefaultRetention.MaxAge, "how long to keep a finished action after it finished, in emulated time (0: no bound)")
	serving := addServerFlags(fs) // timeouts, header size, shutdown grace
	controlAddr := fs.String("control-addr", "", "serve the control plane (/_emulator) on this address instead of --addr (not on loopback: exposed, with a control token)")
	exposeControl := fs.Bool("expose-control", false, "let the control plane answer peers that are not on loopback; it then requires the control token")
	controlToken := fs.String("control-token", os.Getenv("MDE_CONTROL_TOKEN"), "the control token (default: $MDE_CONTROL_TOKEN, else a random one when the control plane is exposed)")
	secure := addTLSFlags(fs) // --tls, --ca-dir
	keyFile := addKeyFileFlag(fs)
	classroom := addClassroomFlags(fs)
	data := addDataFlags(fs)
	var publicURLs urlList
	fs.Var(&publicURLs, "public-url", "the emulator's own base URL(s) clients use, accepted as token audiences; repeatable or comma-separated (default: the listening address)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc, listed, err := scenarioFlag(*scenarioName, *fixturesPath, stdout)
	if err != nil || listed {
		return err
	}
	mode, err := clock.ParseMode(*clockMode)
	if err != nil {
		return err
	}
	opts := emulator.Options{Clock: mode, TimeScale: *scale, Profile: *profile, JournalSize: *journalSize, SeparateControl: *controlAddr != "", StrictResponses: *strict}
	if opts.RetainActions, opts.RetainFor, err = retention(*retainActions, *retainFor); err != nil {
		return err
	}
	tuneCollector(opts.RetainActions)
	defer nudgePoller()()
	opts.ExposeControl = *exposeControl || (*controlAddr != "" && !loopbackAddr(*controlAddr))
	opts.ControlToken = *controlToken
	if err := data.apply(&opts); err != nil {
		return err
	}
	if *fixturesPath != "" {
		set, err := fixture.Load(*fixturesPath)
		if err != nil {
			return err
		}
		set.Frozen = true // nothing here changes a machine of it: New need not copy them
		opts.Fixtures = set
	}
	if sc != nil {
		opts.Fixtures = sc.Fixture
	}
	if opts.Fixtures, err = classroom.apply(opts.Fixtures); err != nil {
		return err
	}
	if sc != nil {
		sc.Fixture = opts.Fixtures // loaded again with its timeline: keep the classroom
	}
	// The token-signing key, kept across runs (a fixture's signingKey wins).
	var keyPath string
	var keyCreated bool
	if opts.Fixtures == nil || opts.Fixtures.SigningKey == "" {
		if opts.SigningKey, keyPath, keyCreated, err = keyFile.signingKey(); err != nil {
			return err
		}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// Listen first: the default public URL is the address listened on.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	opts.PublicURLs = publicURLs
	if len(publicURLs) == 0 {
		opts.PublicURLs = defaultPublicURLs(secure.scheme(), ln.Addr())
	}
	// The local CA: its certificate serves --tls and the proxy mode's
	// tunnels, for the emulator's names and the real service's.
	// Loaded beside emulator.New, which does not need it.
	var srv *emulator.Server
	var newErr error
	newDone := make(chan struct{})
	go func() {
		defer close(newDone)
		srv, newErr = emulator.New(opts)
	}()
	tlsServing, caErr := secure.loadServing(servingNames(ln.Addr(), opts.PublicURLs))
	<-newDone
	if newErr != nil {
		return newErr
	}
	defer srv.Close()
	if caErr != nil {
		return caErr
	}
	selfAddr := ln.Addr()
	if secure.on {
		ln = tlsListener(ln, tlsServing.cert)
	}
	if sc != nil && srv.Restored() {
		// --data on a store that holds state: the store wins, as over
		// --fixtures (New warned); its scenario, if any, goes on.
		sc = nil
	}
	if sc != nil {
		if err := srv.LoadScenario(sc); err != nil {
			return err
		}
	}
	opts.Fixtures = nil

	base, all := localBase(secure.scheme(), ln.Addr())
	printBanner(stdout, srv, base, tlsServing, exposure{
		local: base, allIfaces: all, remoteAPI: !loopbackAddr(ln.Addr().String()),
		exposed: opts.ExposeControl, token: srv.ControlToken(),
		publicURLs: opts.PublicURLs, givenPublic: len(publicURLs) > 0,
	})
	if keyPath != "" {
		made := ""
		if keyCreated {
			made = ", made now"
		}
		fmt.Fprintf(stdout, "  signing key:   %s  (kept%s; --key-file '' for a new key each start)\n", keyPath, made)
	}
	printData(stdout, opts)
	if sc != nil {
		fmt.Fprintf(stdout, "  scenario:      %s (%s); its timeline: GET /_emulator/scenario\n", sc.Name, sc.Title)
	} else if st, ok := srv.ScenarioStatus(); ok && srv.Restored() {
		fmt.Fprintf(stdout, "  scenario:      %s (%s), kept by the store (--data-reset loads --scenario anew); its timeline: GET /_emulator/scenario\n", st.Name, st.Title)
	}
	clientBase := base
	if len(opts.PublicURLs) > 0 {
		clientBase = strings.TrimSuffix(opts.PublicURLs[0], "/")
	}
	if p, err := classroom.write(srv, clientBase); err != nil {
		return fmt.Errorf("--classroom-file: %w", err)
	} else if p != "" {
		fmt.Fprintf(stdout, "  classroom:     %d tenants; their credentials: %s\n", len(classroom.ids), p)
	}

	if *pprofAddr != "" {
		go func() { _ = http.ListenAndServe(*pprofAddr, pprofMux()) }()
	}
	track := newInflight()
	// The proxy mode answers on the main listener: CONNECT to the real
	// service's hosts opens a tunnel its own server serves.
	var tunnels *http.Server
	front := proxy.New(track.wrap(srv.Handler()), proxy.Options{
		Certificate: tlsServing.cert, Unavailable: tlsServing.unavailable,
		Self: selfHosts(selfAddr, opts.PublicURLs), Logger: opts.Logger,
		NewServer: func(h http.Handler) *http.Server {
			tunnels = emulator.NewHTTPServer(h, serving.serverLimits())
			return tunnels
		},
	})
	servers := []*http.Server{emulator.NewHTTPServer(front, serving.serverLimits())}
	listeners := []net.Listener{ln}
	if *controlAddr != "" {
		cln, err := net.Listen("tcp", *controlAddr)
		if err != nil {
			return err
		}
		cbase, _ := localBase("http", cln.Addr())
		fmt.Fprintf(stdout, "  control plane: %s/_emulator\n", cbase)
		fmt.Fprintf(stdout, "  dashboard:     %s\n", dashboardURL(cbase, srv.ControlToken()))
		servers = append(servers, emulator.NewHTTPServer(track.wrap(srv.ControlHandler()), serving.serverLimits()))
		listeners = append(listeners, cln)
	}
	errc := make(chan error, len(servers))
	for i, ln := range listeners {
		hs := servers[i]
		go func() { errc <- hs.Serve(ln) }()
	}
	// Start-up's garbage (a large fixture's parse leaves several times its
	// size) and the binary's pages only start-up ran go back to the
	// system once serving, and again after each quiet spell.
	go releaseWhenIdle(ctx, startupSettle, quietPeriod, quietChecks, track.activity, func() { releaseMemory(opts.Logger) })
	servers = append(servers, tunnels) // shut down with the others
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return shutdown(srv, servers, serving.grace, track, stderr)
}

// printBanner tells the user where the emulator listens and how to call it.
func printBanner(w io.Writer, srv *emulator.Server, base string, tv serving, x exposure) {
	fmt.Fprintf(w, "MDE live response emulator listening on %s\n", base)
	tenant, app, ok := srv.DefaultApp()
	if !ok {
		fmt.Fprintln(w, "  (the fixtures have no app: no client can get a token)")
		printExposure(w, x)
		return
	}
	fmt.Fprintf(w, "  tenant:        %s\n", tenant)
	fmt.Fprintf(w, "  client id:     %s\n", app.ClientID)
	fmt.Fprintf(w, "  client secret: %s\n", app.ClientSecret)
	fmt.Fprintf(w, "  token URL:     %s/%s/oauth2/v2.0/token  (scope https://api.securitycenter.microsoft.com/.default)\n", base, tenant)
	fmt.Fprintf(w, "  API base URL:  %s/api\n", base)
	fmt.Fprintf(w, "  clock:         %s, scale %g; profile %s\n", srv.Clock().Mode(), srv.Clock().Scale(), srv.Store().Profile().Name)
	if !srv.SeparateControl() {
		fmt.Fprintf(w, "  dashboard:     %s\n", dashboardURL(base, srv.ControlToken()))
	}
	printTLS(w, base, tv)
	printExposure(w, x)
	curl := "curl -s"
	if strings.HasPrefix(base, "https:") {
		curl += " --cacert " + tv.caPath
	}
	fmt.Fprintf(w, "Try: %s %s/api/machines -H \"Authorization: Bearer $(%s -X POST%s %s/_emulator/tokens | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\"\n", curl, base, curl, controlCurl(srv.ControlToken()), base)
}

// dashboardURL is the dashboard's address on the control plane at base;
// with a control token, the link carries it once (the page swaps it for a
// cookie and drops it from the address bar).
func dashboardURL(base, token string) string {
	if token == "" {
		return base + "/_emulator/ui"
	}
	return base + "/_emulator/ui?token=" + url.QueryEscape(token)
}

// retention returns emulator.Options' RetainActions and RetainFor for the
// flags --retain-actions and --retain-for, where 0 means no bound.
func retention(n int, d time.Duration) (int, time.Duration, error) {
	if n < 0 {
		return 0, 0, fmt.Errorf("--retain-actions %d: want a count ≥ 0 (0: no bound)", n)
	}
	if d < 0 {
		return 0, 0, fmt.Errorf("--retain-for %s: want a duration ≥ 0 (0: no bound)", d)
	}
	if n == 0 {
		n = -1
	}
	if d == 0 {
		d = -1
	}
	return n, d, nil
}
