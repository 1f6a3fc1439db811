package client

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config.
const (
	// DefaultAPIURL is the API's base URL (without /api).
	DefaultAPIURL = "https://api.securitycenter.microsoft.com"
	// DefaultAuthority is the identity platform's base URL.
	DefaultAuthority = "https://login.microsoftonline.com"
	// DefaultScope is the scope of the API for the v2.0 token endpoint.
	DefaultScope = "https://api.securitycenter.microsoft.com/.default"
	// DefaultPollInterval is how often Wait polls an action.
	DefaultPollInterval = 2 * time.Second
	// DefaultHTTPTimeout bounds each HTTP call of the default HTTP client.
	DefaultHTTPTimeout = 60 * time.Second
)

// Config configures a Client. TenantID and ClientID are required, and
// ClientSecret for an app's own sign-in (client credentials; a user's
// sign-in, Username or DeviceCode, may go without it); every other field
// has a default.
type Config struct {
	// APIURL is the API's base URL, without /api; DefaultAPIURL when
	// empty. For the emulator: http://127.0.0.1:8080.
	APIURL string
	// TokenURL is the token endpoint;
	// DefaultAuthority/{TenantID}/oauth2/v2.0/token when empty. A v1
	// endpoint (…/oauth2/token) is sent resource= instead of scope=.
	TokenURL string
	// TenantID, ClientID and ClientSecret are the app registration's.
	TenantID, ClientID, ClientSecret string
	// Username and Password, when Username is set, make the client sign
	// in as that user through the app (the password grant, resource owner
	// password credentials; ClientSecret is then optional, sent when set):
	// the API sees the user's delegated permissions, role and device
	// groups instead of the app's roles. The client asks for
	// offline_access and, once the access token expires, gets the next
	// one with the refresh token, signing in with the password again only
	// when the identity platform refuses the refresh token.
	Username, Password string
	// DeviceCode, when true, makes the client sign in as a user with the
	// device code flow (RFC 8628), as a tool run by a person does: it asks
	// DeviceCodeURL for a code, shows the user the identity platform's
	// message (ShowDeviceCode) and polls TokenURL until the user has
	// signed in at the verification page, honouring the answer's interval,
	// authorization_pending and slow_down (5 s more each time). A declined
	// sign-in fails with ErrSignInDeclined, an expired code with
	// ErrDeviceCodeExpired. It asks for offline_access and renews the
	// access token with the refresh token, as with Username; only when the
	// identity platform refuses the refresh token does the user sign in
	// with a new device code. ClientSecret is optional (sent to the token
	// endpoint when set); Username and Password must be empty.
	DeviceCode bool
	// DeviceCodeURL is the device authorization endpoint; when empty,
	// TokenURL with its last segment, token, replaced by devicecode
	// (…/oauth2/v2.0/devicecode, or v1's …/oauth2/devicecode).
	DeviceCodeURL string
	// ShowDeviceCode shows the user the code to enter; when nil, the
	// identity platform's message is written to standard error. It is
	// called once per device code, before the first poll, and should not
	// block: the client polls after it returns.
	ShowDeviceCode func(DeviceCodePrompt)
	// Scope is the scope asked of the token endpoint; DefaultScope when
	// empty.
	Scope string
	// HTTPClient makes the HTTP calls; when nil, a client with
	// DefaultHTTPTimeout per call.
	HTTPClient *http.Client
	// PollInterval is how often Wait polls an action;
	// DefaultPollInterval when zero.
	PollInterval time.Duration
	// Logger receives a Debug record for each HTTP call and each wait
	// before a retry; nothing is logged when nil.
	Logger *slog.Logger
}

// policy is the client's retry and pacing policy. It is fixed by New; the
// package's tests shorten it (see export_test.go).
type policy struct {
	maxThrottleRetries int           // 429s repeated per call
	throttleJitter     time.Duration // added to Retry-After, at most
	defaultRetryAfter  time.Duration // for a 429 without Retry-After
	maxRetries         int           // 5xx and network errors repeated per call
	backoffBase        time.Duration // first backoff delay
	backoffMax         time.Duration // largest backoff delay
	busyRetries        int           // resubmissions after ActiveRequestAlreadyExists
	busyDelay          time.Duration // wait before each of them
	notFoundGrace      time.Duration // how long after a submit a 404 is retried
	maxLinkRenewals    int           // new download links after a 403 from the blob
	deviceCodeSecond   time.Duration // a second of the device code's interval and slow_down
}

var defaultPolicy = policy{
	maxThrottleRetries: 10,
	throttleJitter:     500 * time.Millisecond,
	defaultRetryAfter:  5 * time.Second,
	maxRetries:         6,
	backoffBase:        time.Second,
	backoffMax:         15 * time.Second,
	busyRetries:        3,
	busyDelay:          10 * time.Second,
	notFoundGrace:      30 * time.Second,
	maxLinkRenewals:    3,
	deviceCodeSecond:   time.Second,
}

// Client calls the live response API. It is safe for concurrent use; its
// token is shared by every call.
type Client struct {
	apiURL string // without a trailing slash
	hc     *http.Client
	log    *slog.Logger
	poll   time.Duration
	policy policy
	tokens *tokenSource
}

// New returns a Client for cfg, or an error naming every field of cfg
// that is missing or malformed.
func New(cfg Config) (*Client, error) {
	var problems []string
	if cfg.TenantID == "" {
		problems = append(problems, "TenantID is required")
	}
	if cfg.ClientID == "" {
		problems = append(problems, "ClientID is required")
	}
	switch {
	case cfg.DeviceCode && (cfg.Username != "" || cfg.Password != ""):
		problems = append(problems, "Username and Password must be empty with DeviceCode")
	case cfg.DeviceCode:
		// A user's sign-in: the app may be a public client.
	case cfg.Username != "" && cfg.Password == "":
		problems = append(problems, "Password is required with Username")
	case cfg.Username == "" && cfg.Password != "":
		problems = append(problems, "Username is required with Password")
	case cfg.Username == "" && cfg.ClientSecret == "":
		problems = append(problems, "ClientSecret is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.TokenURL == "" && cfg.TenantID != "" {
		cfg.TokenURL = DefaultAuthority + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token"
	}
	if cfg.DeviceCode && cfg.DeviceCodeURL == "" && cfg.TokenURL != "" {
		if base, ok := strings.CutSuffix(strings.TrimRight(cfg.TokenURL, "/"), "/token"); ok {
			cfg.DeviceCodeURL = base + "/devicecode"
		} else {
			problems = append(problems, fmt.Sprintf("DeviceCodeURL is required: TokenURL %q does not end in /token", cfg.TokenURL))
		}
	}
	for _, f := range [][2]string{{"APIURL", cfg.APIURL}, {"TokenURL", cfg.TokenURL}, {"DeviceCodeURL", cfg.DeviceCodeURL}} {
		if u, err := url.Parse(f[1]); f[1] != "" && (err != nil || u.Scheme == "" || u.Host == "") {
			problems = append(problems, fmt.Sprintf("%s %q is not an absolute URL", f[0], f[1]))
		}
	}
	if cfg.PollInterval < 0 {
		problems = append(problems, "PollInterval is negative")
	}
	if len(problems) > 0 {
		return nil, errors.New("client: invalid Config: " + strings.Join(problems, "; "))
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		apiURL: strings.TrimRight(cfg.APIURL, "/"),
		hc:     cfg.HTTPClient,
		log:    cfg.Logger,
		poll:   cfg.PollInterval,
		policy: defaultPolicy,
	}
	c.tokens = newTokenSource(c, cfg)
	return c, nil
}

// api returns the URL of an API path such as "/api/machineactions/ID".
func (c *Client) api(path string) string { return c.apiURL + path }
