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
	"os"
	"os/signal"
	"runtime/debug"
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
	clockMode := fs.String("clock", "real", "clock mode: real, or manual (time moves only through POST /_emulator/clock/advance)")
	scale := fs.Float64("time-scale", 1, "speed of the real clock: 60 makes 10 emulated minutes take 10 seconds")
	profile := fs.String("profile", "", "limits profile: "+strings.Join(limits.Names(), ", ")+" (default: the fixtures', else default)")
	verbose := fs.Bool("v", false, "log every request")
	strict := fs.Bool("strict-responses", false, "check every /api response against the OpenAPI document; a mismatch becomes a 500 (for CI)")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this address (for profiling the emulator itself)")
	journalSize := fs.Int("journal-size", 10000, "how many requests the journal keeps")
	retainActions := fs.Int("retain-actions", state.DefaultRetention.MaxActions, "how many finished actions to keep (the first finished go first; 0: no bound)")
	retainFor := fs.Duration("retain-for", state.DefaultRetention.MaxAge, "how long to keep a finished action after it finished, in emulated time (0: no bound)")
	serving := addServerFlags(fs) // timeouts, header size, shutdown grace
	controlAddr := fs.String("control-addr", "", "serve the control plane (/_emulator) on this address instead of --addr (not on loopback: exposed, with a control token)")
	exposeControl := fs.Bool("expose-control", false, "let the control plane answer peers that are not on loopback; it then requires the control token")
	controlToken := fs.String("control-token", os.Getenv("MDE_CONTROL_TOKEN"), "the control token (default: $MDE_CONTROL_TOKEN, else a random one when the control plane is exposed)")
	secure := addTLSFlags(fs) // --tls, --ca-dir
	var publicURLs urlList
	fs.Var(&publicURLs, "public-url", "the emulator's own base URL(s) clients use, accepted as token audiences; repeatable or comma-separated (default: the listening address)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// The emulator keeps its whole state in memory and allocates a
		// little per request: collecting at twice the live heap instead of
		// at once more halves the collector's share of the CPU under load,
		// for some more memory. GOGC in the environment overrides it.
		debug.SetGCPercent(200)
	}
	mode, err := clock.ParseMode(*clockMode)
	if err != nil {
		return err
	}
	opts := emulator.Options{Clock: mode, TimeScale: *scale, Profile: *profile, JournalSize: *journalSize, SeparateControl: *controlAddr != "", StrictResponses: *strict}
	if opts.RetainActions, opts.RetainFor, err = retention(*retainActions, *retainFor); err != nil {
		return err
	}
	opts.ExposeControl = *exposeControl || (*controlAddr != "" && !loopbackAddr(*controlAddr))
	opts.ControlToken = *controlToken
	if *fixturesPath != "" {
		set, err := fixture.Load(*fixturesPath)
		if err != nil {
			return err
		}
		opts.Fixtures = set
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
	tlsServing, err := secure.loadServing(servingNames(ln.Addr(), opts.PublicURLs))
	if err != nil {
		return err
	}
	selfAddr := ln.Addr()
	if secure.on {
		ln = tlsListener(ln, tlsServing.cert)
	}
	srv, err := emulator.New(opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	opts.Fixtures = nil
	// Parsing a large fixture leaves garbage several times its size;
	// give it back to the system before serving.
	debug.FreeOSMemory()

	base, all := localBase(secure.scheme(), ln.Addr())
	printBanner(stdout, srv, base, tlsServing, exposure{
		local: base, allIfaces: all, remoteAPI: !loopbackAddr(ln.Addr().String()),
		exposed: opts.ExposeControl, token: srv.ControlToken(),
		publicURLs: opts.PublicURLs, givenPublic: len(publicURLs) > 0,
	})

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
		servers = append(servers, emulator.NewHTTPServer(track.wrap(srv.ControlHandler()), serving.serverLimits()))
		listeners = append(listeners, cln)
	}
	errc := make(chan error, len(servers))
	for i, ln := range listeners {
		hs := servers[i]
		go func() { errc <- hs.Serve(ln) }()
	}
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
	printTLS(w, base, tv)
	printExposure(w, x)
	curl := "curl -s"
	if strings.HasPrefix(base, "https:") {
		curl += " --cacert " + tv.caPath
	}
	fmt.Fprintf(w, "Try: %s %s/api/machines -H \"Authorization: Bearer $(%s -X POST%s %s/_emulator/tokens | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')\"\n", curl, base, curl, controlCurl(srv.ControlToken()), base)
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
