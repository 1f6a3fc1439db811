package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/features"
	"github.com/mdelive/mde-emulator/features/parity"
	"github.com/mdelive/mde-emulator/features/steps"
	"github.com/mdelive/mde-emulator/internal/limits"
)

const apiUsage = `Usage: conformance api [flags]

Runs the scenarios of the live response API contract against a target:

  (no --target)            an emulator started in-process on 127.0.0.1 with
                           --profile, on a manual clock
  --target URL             an emulator started elsewhere (its control plane
                           /_emulator is used to reset it before each scenario
                           and to move its clock; it must serve the default
                           fixtures)
  --target URL --tenant …  a real tenant: tokens from --token-url with the
                           client credentials, --machine as the test device;
                           @emulator-only and @emulator-fixtures scenarios
                           are skipped, and the @delegated ones unless
                           --username and --password name a test user
                           (view data and advanced live response over the
                           test device) whom the app signs in with the
                           password grant

Each credential flag falls back to an environment variable: MDE_TOKEN_URL,
MDE_TENANT_ID, MDE_CLIENT_ID, MDE_CLIENT_SECRET, MDE_MACHINE_ID,
MDE_USERNAME, MDE_PASSWORD; and
--control-token (an emulator whose control plane is exposed) to
MDE_CONTROL_TOKEN.

Flags:
`

// apiFlags are the flags of "conformance api".
type apiFlags struct {
	target, tokenURL, tenant, clientID, clientSecret, machine string
	username, password                                        string
	controlToken                                              string
	profile, tags, format, record, featuresDir                string
	seed                                                      int64
	poll                                                      time.Duration
	stopOnFailure, noColors                                   bool
}

func parseAPIFlags(args []string, stderr io.Writer) (*apiFlags, error) {
	f := &apiFlags{}
	fs := flag.NewFlagSet("conformance api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, apiUsage)
		fs.PrintDefaults()
	}
	env := os.Getenv
	fs.StringVar(&f.target, "target", "", "API base URL, e.g. http://127.0.0.1:8080 or https://api.securitycenter.microsoft.com (default: an in-process emulator)")
	fs.StringVar(&f.controlToken, "control-token", env("MDE_CONTROL_TOKEN"), "control token of an emulator --target whose control plane is exposed (it prints it at start)")
	fs.StringVar(&f.tokenURL, "token-url", env("MDE_TOKEN_URL"), "OAuth v2.0 token endpoint of a real tenant (default: https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token)")
	fs.StringVar(&f.tenant, "tenant", env("MDE_TENANT_ID"), "tenant id of a real tenant")
	fs.StringVar(&f.clientID, "client-id", env("MDE_CLIENT_ID"), "client id of the app registration")
	fs.StringVar(&f.clientSecret, "client-secret", env("MDE_CLIENT_SECRET"), "client secret of the app registration")
	fs.StringVar(&f.username, "username", env("MDE_USERNAME"), "a real tenant's test user (UPN) for the @delegated scenarios: view data and advanced live response over --machine")
	fs.StringVar(&f.password, "password", env("MDE_PASSWORD"), "the password of --username")
	fs.StringVar(&f.machine, "machine", env("MDE_MACHINE_ID"), "id of the test device of a real tenant: an online Windows machine with a remediation level")
	fs.StringVar(&f.profile, "profile", "", "limits profile: "+strings.Join(limits.Names(), ", ")+" (in-process emulator: the profile it runs; real tenant: the profile it is expected to follow; default: default, or the emulator's own)")
	fs.StringVar(&f.tags, "tags", "", `scenarios to run, godog tag expression: "@submit,@auth" (or), "@lifecycle && ~@emulator-only" (and, not)`)
	fs.StringVar(&f.format, "format", "pretty", "output formats, comma-separated: pretty, progress, junit:FILE, cucumber:FILE, …")
	fs.StringVar(&f.record, "record", "", "record every exchange, scrubbed, into this directory (one JSON file per scenario)")
	fs.StringVar(&f.featuresDir, "features", "", "directory of feature files to run (default: the ones built in)")
	fs.Int64Var(&f.seed, "seed", -1, "seed of the random scenario order (-1: a random seed, 0: file order)")
	fs.DurationVar(&f.poll, "poll", 10*time.Second, "polling interval of the steps that wait for an action on a real tenant")
	fs.BoolVar(&f.stopOnFailure, "stop-on-failure", false, "stop at the first failing scenario")
	fs.BoolVar(&f.noColors, "no-colors", false, "no ANSI colours in the output")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := checkFormats(f.format); err != nil {
		return nil, err
	}
	return f, nil
}

// tenantMode reports whether the flags describe a real tenant.
func (f *apiFlags) tenantMode() bool {
	return f.tenant != "" || f.clientID != "" || f.clientSecret != "" || f.tokenURL != ""
}

func runAPI(args []string, stdout, stderr io.Writer) int {
	f, err := parseAPIFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "conformance api:", err)
		return 2
	}
	ctx := context.Background()
	target, profile, stop, err := f.buildTarget(ctx, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "conformance api:", err)
		return 2
	}
	defer stop()

	var fsys fs.FS = features.Files
	if f.featuresDir != "" {
		fsys = os.DirFS(f.featuresDir)
	}
	hasControl := target.Control() != nil
	filter := steps.TargetFilter(f.tags, target, profile)
	total, err := steps.CountScenarios(fsys, filter)
	if err != nil {
		fmt.Fprintln(stderr, "conformance api:", err)
		return 2
	}
	skipped, otherProfile, err := steps.LeftOut(fsys, f.tags, hasControl, profile)
	if err != nil {
		fmt.Fprintln(stderr, "conformance api:", err)
		return 2
	}
	noUser := 0
	if target.Users().Test.Username == "" {
		withUser, err := steps.CountScenarios(fsys, steps.TagFilter(f.tags, hasControl, profile))
		if err != nil {
			fmt.Fprintln(stderr, "conformance api:", err)
			return 2
		}
		noUser = withUser - total
	}
	reportSkipped := func(w io.Writer) {
		if skipped > 0 {
			fmt.Fprintf(w, "skipped %d @emulator-only or @emulator-fixtures scenarios (the target has no control plane)\n", skipped)
		}
		if noUser > 0 {
			fmt.Fprintf(w, "skipped %d @delegated scenarios (no test user: --username, --password)\n", noUser)
		}
		if otherProfile > 0 {
			noun := "scenarios"
			if otherProfile == 1 {
				noun = "scenario"
			}
			fmt.Fprintf(w, "skipped %d %s outside the limits profile %s (%s)\n",
				otherProfile, noun, profile, strings.Join(steps.ProfileExcludes(profile), ", "))
		}
	}
	if total == 0 {
		fmt.Fprintf(stderr, "conformance api: no scenario matches the tags %q\n", filter)
		reportSkipped(stderr)
		return 1
	}
	fmt.Fprintf(stdout, "target %s, limits profile %s, %d scenarios\n", target.BaseURL(), profile, total)

	cfg := steps.Config{Target: target, PollInterval: f.poll}
	if f.record != "" {
		if err := os.MkdirAll(f.record, 0o755); err != nil {
			fmt.Fprintln(stderr, "conformance api:", err)
			return 2
		}
		cfg.Recorder = parity.NewRecorder(f.record, target.BaseURL())
	}
	suite := godog.TestSuite{
		Name:                "conformance",
		ScenarioInitializer: steps.Initializer(cfg),
		Options: &godog.Options{
			Format: f.format, Output: stdout, FS: fsys, Paths: []string{"."}, Tags: filter,
			Strict: true, Randomize: f.seed, StopOnFailure: f.stopOnFailure, NoColors: f.noColors, Concurrency: 1,
		},
	}
	status := suite.Run()
	reportSkipped(stdout)
	if f.record != "" {
		fmt.Fprintf(stdout, "recorded %d scenarios in %s\n", total, f.record)
	}
	return status
}

// buildTarget returns the target the flags describe, the limits profile
// of the run and a function that stops what it started.
func (f *apiFlags) buildTarget(ctx context.Context, stdout io.Writer) (steps.Target, string, func(), error) {
	none := func() {}
	switch {
	case f.tenantMode():
		if f.target == "" {
			f.target = "https://api.securitycenter.microsoft.com"
		}
		if f.tokenURL == "" && f.tenant != "" {
			f.tokenURL = "https://login.microsoftonline.com/" + f.tenant + "/oauth2/v2.0/token"
		}
		var missing []string
		for _, m := range []struct{ name, v string }{
			{"--tenant", f.tenant}, {"--client-id", f.clientID}, {"--client-secret", f.clientSecret}, {"--machine", f.machine},
		} {
			if m.v == "" {
				missing = append(missing, m.name)
			}
		}
		if len(missing) > 0 {
			return nil, "", none, fmt.Errorf("a real tenant needs %s", strings.Join(missing, ", "))
		}
		profile := f.profile
		if profile == "" {
			profile = "default"
		}
		creds := steps.Credentials{TokenURL: f.tokenURL, TenantID: f.tenant, ClientID: f.clientID, ClientSecret: f.clientSecret}
		client := &http.Client{Timeout: 2 * time.Minute}
		if (f.username == "") != (f.password == "") {
			return nil, "", none, fmt.Errorf("a test user needs both --username and --password")
		}
		t := steps.NewTenantTarget(f.target, client, creds, f.machine)
		t.SetUser(steps.UserCredentials{Username: f.username, Password: f.password})
		return t, profile, none, nil

	case f.target != "":
		client := withControlToken(&http.Client{Timeout: 2 * time.Minute}, f.controlToken)
		t := steps.NewEmulatorTarget(f.target, client)
		l, err := t.Control().Limits(ctx)
		if err != nil {
			return nil, "", none, fmt.Errorf("%s has no emulator control plane (%v); for a real tenant give --tenant, --client-id, --client-secret and --machine", f.target, err)
		}
		if f.profile != "" && f.profile != l.Name {
			return nil, "", none, fmt.Errorf("--profile %s, but the emulator at %s runs the profile %s", f.profile, f.target, l.Name)
		}
		return t, l.Name, none, nil
	}

	profile := f.profile
	if profile == "" {
		profile = "default"
	}
	srv, err := emulator.New(emulator.Options{Clock: clock.Manual, Profile: profile, StrictResponses: true})
	if err != nil {
		return nil, "", none, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		return nil, "", none, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	stop := func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
		srv.Close()
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "started an emulator in-process at %s\n", base)
	return steps.NewEmulatorTarget(base, &http.Client{Timeout: time.Minute}), profile, stop, nil
}
