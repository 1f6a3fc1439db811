package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/mdelive/mde-emulator/features/parity"
)

// world is the state of one scenario. It lives in the scenario's
// context.Context (worldKey), never in a package variable, so scenarios
// cannot leak into each other.
type world struct {
	cfg    *Config
	target Target
	client *http.Client // the target's, recording when a recorder is set
	key    parity.Key

	// Who calls the API.
	auth     authMode
	app      AppRef
	raw      string          // the Authorization header in authRaw mode; "" for none
	user     UserCredentials // the user in authUser mode
	token    string
	tokenAge time.Duration // emulated time since token was minted

	machine     string // the machine the scenario works on
	machineName string // its computer name, once known

	last     *response
	action   string               // the current action
	view     *actionView          // the last action seen
	named    map[string]string    // named actions: name → id
	created  map[string]time.Time // named actions: name → creation time
	started  []string             // every action the scenario started
	uploaded []string             // library files it uploaded
	link     string               // the last download link
	download *response            // the last download
	tokenRes *TokenResponse       // the last token response
	fleet    []string             // machines of a loaded fleet
	pages    []int                // sizes of the pages of a list followed through its next links
	listed   []string             // ids listed across those pages
	next     int                  // the next fleet machine to use
	batch    []*response          // the responses of a repeated call
	batchIDs []string             // the actions a batch started
	limits   *Limits              // the emulator's limits, once asked
	extra    map[string]string    // more placeholders ({Windows machine} ...)
}

type authMode int

const (
	authApp  authMode = iota // a token for app
	authRaw                  // the raw Authorization header (possibly none)
	authUser                 // a user's token from the password grant
)

type worldKey struct{}

func worldFrom(ctx context.Context) *world {
	w, _ := ctx.Value(worldKey{}).(*world)
	if w == nil {
		panic("steps: no scenario state in the context")
	}
	return w
}

// response is an HTTP response, read whole.
type response struct {
	method, url string
	status      int
	header      http.Header
	body        []byte
}

func (r *response) String() string {
	b := r.body
	if len(b) > 600 {
		b = append(b[:600:600], "…"...)
	}
	return fmt.Sprintf("%s %s → %d %s", r.method, r.url, r.status, b)
}

// apiError is the service's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// actionView is a machine action as the API returns it.
type actionView struct {
	ODataContext            string  `json:"@odata.context"`
	ID                      string  `json:"id"`
	Type                    string  `json:"type"`
	Requestor               string  `json:"requestor"`
	RequestorComment        *string `json:"requestorComment"`
	Status                  string  `json:"status"`
	MachineID               string  `json:"machineId"`
	CreationDateTimeUtc     string  `json:"creationDateTimeUtc"`
	CancellationRequestor   *string `json:"cancellationRequestor"`
	CancellationComment     *string `json:"cancellationComment"`
	CancellationDateTimeUtc *string `json:"cancellationDateTimeUtc"`
	Commands                []struct {
		Index         int      `json:"index"`
		StartTime     *string  `json:"startTime"`
		EndTime       *string  `json:"endTime"`
		CommandStatus string   `json:"commandStatus"`
		Errors        []string `json:"errors"`
		Command       struct {
			Type   string `json:"type"`
			Params []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"params"`
		} `json:"command"`
	} `json:"commands"`
}

// request is one API call of a step.
type request struct {
	method, target string // target: a path under the base URL, or a whole URL
	body           []byte
	contentType    string
	noAuth         bool   // send no Authorization header (result links)
	token          string // this token rather than the scenario's
	form           bool   // the identity platform, not the API
}

// do sends req as the scenario's caller and keeps the response as the
// last one. Without a control plane a 429 is waited out (Retry-After) and
// retried a few times, so that a run against a real tenant stays within
// its limits; with one, a 429 is an answer like any other.
func (w *world) do(ctx context.Context, req request) (*response, error) {
	for attempt := 0; ; attempt++ {
		r, err := w.once(ctx, req)
		if err != nil {
			return nil, err
		}
		if r.status != http.StatusTooManyRequests || w.target.Control() != nil || attempt == 5 {
			w.last = r
			return r, nil
		}
		wait, _ := strconv.Atoi(r.header.Get("Retry-After"))
		if wait <= 0 {
			wait = 60
		}
		godog.Logf(ctx, "429 from %s %s: waiting %d s (Retry-After)", req.method, req.target, wait)
		if err := w.cfg.sleep(ctx, time.Duration(wait)*time.Second); err != nil {
			return nil, err
		}
	}
}

func (w *world) once(ctx context.Context, req request) (*response, error) {
	u := req.target
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = w.target.BaseURL() + u
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, err
	}
	if req.contentType != "" {
		hr.Header.Set("Content-Type", req.contentType)
	}
	switch {
	case req.noAuth || req.form:
	case req.token != "":
		hr.Header.Set("Authorization", "Bearer "+req.token)
	default:
		h, err := w.authorization(ctx)
		if err != nil {
			return nil, err
		}
		if h != "" {
			hr.Header.Set("Authorization", h)
		}
	}
	res, err := w.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.method, u, err)
	}
	return &response{method: req.method, url: u, status: res.StatusCode, header: res.Header, body: b}, nil
}

// tokenRefresh is how much emulated time a token may have aged before the
// steps get a new one (tokens live an hour).
const tokenRefresh = 30 * time.Minute

// authorization returns the Authorization header of the scenario's caller.
func (w *world) authorization(ctx context.Context) (string, error) {
	if w.auth == authRaw {
		return w.raw, nil
	}
	if w.auth == authUser {
		if w.token == "" || w.tokenAge >= tokenRefresh {
			tok, err := PasswordGrant(ctx, w.client, w.target.Credentials(), w.user)
			if err != nil {
				return "", fmt.Errorf("signing in as %s: %w", w.user.Username, err)
			}
			w.token, w.tokenAge = tok.AccessToken, 0
		}
		return "Bearer " + w.token, nil
	}
	if w.token == "" || (w.tokenAge >= tokenRefresh && w.app.ExpiresIn == 0) {
		tok, err := w.target.Token(ctx, w.app)
		if err != nil {
			return "", err
		}
		w.token, w.tokenAge = tok, 0
	}
	return "Bearer " + w.token, nil
}

// defaultToken returns a token of the default app, whoever the caller is.
func (w *world) defaultToken(ctx context.Context) (string, error) {
	if w.auth == authApp && w.app.IsDefault() {
		if _, err := w.authorization(ctx); err != nil {
			return "", err
		}
		return w.token, nil
	}
	return w.target.Token(ctx, AppRef{})
}

// control returns the control plane, or ErrNeedsControl.
func (w *world) control() (Control, error) {
	c := w.target.Control()
	if c == nil {
		return nil, ErrNeedsControl
	}
	return c, nil
}

// advance moves the emulator's clock.
func (w *world) advance(ctx context.Context, d time.Duration) error {
	c, err := w.control()
	if err != nil {
		return err
	}
	if err := c.Advance(ctx, d); err != nil {
		return err
	}
	w.tokenAge += d
	return nil
}

func (w *world) emulatorLimits(ctx context.Context) (Limits, error) {
	if w.limits != nil {
		return *w.limits, nil
	}
	c, err := w.control()
	if err != nil {
		return Limits{}, err
	}
	l, err := c.Limits(ctx)
	if err != nil {
		return Limits{}, err
	}
	w.limits = &l
	return l, nil
}

// lastResponse returns the last response, or an error when no call was
// made yet.
func (w *world) lastResponse() (*response, error) {
	if w.last == nil {
		return nil, fmt.Errorf("no request was sent yet")
	}
	return w.last, nil
}

// decode decodes the last response's JSON body into v.
func (w *world) decode(v any) error {
	r, err := w.lastResponse()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("the response is not the JSON expected (%v): %s", err, r)
	}
	return nil
}

// lastAction decodes the last response as an action and makes it the
// last action seen.
func (w *world) lastAction() (*actionView, error) {
	var v actionView
	if err := w.decode(&v); err != nil {
		return nil, err
	}
	if v.ID == "" {
		return nil, fmt.Errorf("the response is not a machine action: %s", w.last)
	}
	w.view = &v
	return &v, nil
}

// seenAction returns the last action seen (from a submit, a get or a
// cancel).
func (w *world) seenAction() (*actionView, error) {
	if w.view == nil {
		return nil, fmt.Errorf("no machine action was seen yet")
	}
	return w.view, nil
}

// fetchAction gets the current action and makes it the last one seen.
func (w *world) fetchAction(ctx context.Context) (*actionView, error) {
	if w.action == "" {
		return nil, fmt.Errorf("no action was started")
	}
	r, err := w.do(ctx, request{method: http.MethodGet, target: "/api/machineactions/" + w.action})
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("getting the action: %s", r)
	}
	return w.lastAction()
}

// machineNameOf returns the computer name of the current machine.
func (w *world) machineNameOf(ctx context.Context) (string, error) {
	if w.machineName != "" {
		return w.machineName, nil
	}
	if w.machine == "" {
		return "", fmt.Errorf("no machine was chosen")
	}
	tok, err := w.defaultToken(ctx)
	if err != nil {
		return "", err
	}
	r, err := w.once(ctx, request{method: http.MethodGet, target: "/api/machines/" + w.machine, token: tok})
	if err != nil {
		return "", err
	}
	var m struct {
		ComputerDNSName string `json:"computerDnsName"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &m) != nil || m.ComputerDNSName == "" {
		return "", fmt.Errorf("looking up the machine's name: %s", r)
	}
	w.machineName = m.ComputerDNSName
	return w.machineName, nil
}

const (
	unknownMachine = "0000000000000000000000000000000000000000"
	unknownAction  = "6a1c2b7e-0d0e-4c55-9f5e-0b8a9f2c1d3e"
)

var placeholder = regexp.MustCompile(`\{([A-Za-z][A-Za-z0-9 +']*)\}`)

// expand replaces the placeholders of s: {machine}, {machine name},
// {MACHINE NAME}, {action}, {unknown machine}, {unknown action},
// {tampered token}, the names of named actions ({A}), {A created + 30s}
// and the machines of the actions table ({Windows machine}). Braces that
// are not a placeholder (JSON) stay as they are.
func (w *world) expand(ctx context.Context, s string) (string, error) {
	var firstErr error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		v, err := w.placeholderValue(ctx, m[1:len(m)-1])
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return m
		}
		return v
	})
	return out, firstErr
}

var createdPlus = regexp.MustCompile(`^(\w+) created \+ (\d+)s$`)

func (w *world) placeholderValue(ctx context.Context, name string) (string, error) {
	switch name {
	case "machine":
		if w.machine == "" {
			return "", fmt.Errorf("{machine}: no machine was chosen")
		}
		return w.machine, nil
	case "machine name":
		return w.machineNameOf(ctx)
	case "MACHINE NAME":
		n, err := w.machineNameOf(ctx)
		return strings.ToUpper(n), err
	case "action":
		if w.action == "" {
			return "", fmt.Errorf("{action}: no action was started")
		}
		return w.action, nil
	case "unknown machine":
		return unknownMachine, nil
	case "unknown action":
		return unknownAction, nil
	case "tampered token":
		tok, err := w.defaultToken(ctx)
		if err != nil {
			return "", err
		}
		// Change a character in the middle of the signature: the last one
		// may only carry padding bits.
		i := len(tok) - 10
		repl := byte('A')
		if tok[i] == repl {
			repl = 'B'
		}
		return tok[:i] + string(repl) + tok[i+1:], nil
	}
	if id, ok := w.named[name]; ok {
		return id, nil
	}
	if v, ok := w.extra[name]; ok {
		return v, nil
	}
	if m := createdPlus.FindStringSubmatch(name); m != nil {
		t, ok := w.created[m[1]]
		if !ok {
			return "", fmt.Errorf("{%s}: no action named %s", name, m[1])
		}
		secs, _ := strconv.Atoi(m[2])
		return t.Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339), nil
	}
	return "", fmt.Errorf("unknown placeholder {%s}", name)
}
