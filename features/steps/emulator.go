package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Ids of the emulator's default fixture (fixtures/default.yaml).
const (
	defaultTenantID = "8ac829e3-bb83-48d7-8cfb-45ebe834d8e1"
	defaultClientID = "0120a4f9-196a-4f9e-b9f5-23f31f914da7"
	defaultSecret   = "emulator-secret"
	apiScope        = "https://api.securitycenter.microsoft.com/.default"
)

// DefaultMachines are the machines of the emulator's default fixture.
var DefaultMachines = MachineRefs{
	Windows:       "82fb3b669b460cf8436780882296d90371d68ad6", // ws-finance-01
	Windows2:      "f45a8efeefb10869d728d02342d2eb47c912451b", // ws-hr-02
	Linux:         "e24f72fad403d65f806416d37ac095acbe885dc6", // lnx-web-01
	Offline:       "7aa93d5bc275bde72983349b54d58e53a3da1827", // ws-travel-03
	Unsupported:   "3dc9735464e734e29a54cc3595e095e2e8d30d0e", // ws-legacy-01, Windows7
	NoRemediation: "365ae2f395cd9cb719f027c161adcfbb3b7d3702", // kiosk-lobby-01
	LargeFile:     "dd38de6352ff2ebe86f2b2c3966d5e6ff67e82e1", // srv-dc-01
}

// DefaultUsers are the users of the emulator's default fixture, all
// signing in through "SOAR Automation".
var DefaultUsers = UserRefs{
	Test:                UserCredentials{"analyst@contoso.onmicrosoft.com", defaultUserPassword},
	Basic:               UserCredentials{"tier1@contoso.onmicrosoft.com", defaultUserPassword},
	NoLiveResponse:      UserCredentials{"auditor@contoso.onmicrosoft.com", defaultUserPassword},
	Workstations:        UserCredentials{"helpdesk@contoso.onmicrosoft.com", defaultUserPassword},
	OutsideWorkstations: "dd38de6352ff2ebe86f2b2c3966d5e6ff67e82e1", // srv-dc-01, a server
}

const defaultUserPassword = "emulator-password"

// EmulatorTarget is an emulator reached over HTTP, with its control plane:
// a real listener, or an in-process emulator's in-memory client
// (emulator.Server.Client) with any base URL. It expects the emulator's
// default fixture.
type EmulatorTarget struct {
	base    string
	client  *http.Client
	control *HTTPControl
}

// NewEmulatorTarget returns the emulator at base (scheme://host), called
// with client (nil: http.DefaultClient).
func NewEmulatorTarget(base string, client *http.Client) *EmulatorTarget {
	if client == nil {
		client = http.DefaultClient
	}
	base = strings.TrimSuffix(base, "/")
	return &EmulatorTarget{base: base, client: client, control: NewHTTPControl(base, client)}
}

// BaseURL implements Target.
func (e *EmulatorTarget) BaseURL() string { return e.base }

// HTTPClient implements Target.
func (e *EmulatorTarget) HTTPClient() *http.Client { return e.client }

// Token implements Target: every token is minted by the control plane.
func (e *EmulatorTarget) Token(ctx context.Context, app AppRef) (string, error) {
	return e.control.Mint(ctx, app)
}

// Credentials implements Target: the default fixture's first app.
func (e *EmulatorTarget) Credentials() Credentials {
	return Credentials{
		TokenURL: e.base + "/" + defaultTenantID + "/oauth2/v2.0/token",
		TenantID: defaultTenantID, ClientID: defaultClientID, ClientSecret: defaultSecret, Scope: apiScope,
	}
}

// Control implements Target.
func (e *EmulatorTarget) Control() Control { return e.control }

// Machines implements Target.
func (e *EmulatorTarget) Machines() MachineRefs { return DefaultMachines }

// Users implements Target.
func (e *EmulatorTarget) Users() UserRefs { return DefaultUsers }

// HTTPControl is the control plane of an emulator, over HTTP.
type HTTPControl struct {
	base   string
	client *http.Client
}

// NewHTTPControl returns the control plane of the emulator at base.
func NewHTTPControl(base string, client *http.Client) *HTTPControl {
	return &HTTPControl{base: strings.TrimSuffix(base, "/"), client: client}
}

// call sends a control-plane request and decodes a 200 answer into out
// (when not nil).
func (c *HTTPControl) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/_emulator"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("control plane %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("control plane %s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("control plane %s %s: %v in %s", method, path, err, b)
		}
	}
	return nil
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Reset implements Control: the emulator goes back to the fixtures it was
// started with (even after a scenario loaded others), and its clock to its
// start, in manual mode whatever mode the emulator was started in.
func (c *HTTPControl) Reset(ctx context.Context) error {
	if err := c.call(ctx, http.MethodPost, "/reset", []byte(`{"fixtures":"start"}`), nil); err != nil {
		return err
	}
	return c.call(ctx, http.MethodPut, "/clock", []byte(`{"mode":"manual"}`), nil)
}

// Advance implements Control.
func (c *HTTPControl) Advance(ctx context.Context, d time.Duration) error {
	return c.call(ctx, http.MethodPost, "/clock/advance", jsonBody(map[string]string{"by": d.String()}), nil)
}

// SetOnline implements Control.
func (c *HTTPControl) SetOnline(ctx context.Context, machine string, online bool) error {
	return c.call(ctx, http.MethodPatch, "/machines/"+machine, jsonBody(map[string]bool{"online": online}), nil)
}

// Mint implements Control.
func (c *HTTPControl) Mint(ctx context.Context, app AppRef) (string, error) {
	req := map[string]any{}
	if app.TenantID != "" {
		req["tenantId"] = app.TenantID
	}
	if app.ClientID != "" {
		req["clientId"] = app.ClientID
	}
	if app.Roles != nil {
		req["roles"] = app.Roles
	}
	if app.Audience != "" {
		req["audience"] = app.Audience
	}
	if app.ExpiresIn != 0 {
		req["expiresIn"] = app.ExpiresIn.String()
	}
	if app.User != "" {
		req["user"] = app.User
	}
	if app.Scopes != nil {
		req["scopes"] = app.Scopes
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.call(ctx, http.MethodPost, "/tokens", jsonBody(req), &tok); err != nil {
		return "", err
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("control plane: no access_token in the minted token")
	}
	return tok.AccessToken, nil
}

// LoadFixtures implements Control.
func (c *HTTPControl) LoadFixtures(ctx context.Context, fixture []byte) error {
	return c.call(ctx, http.MethodPut, "/fixtures", fixture, nil)
}

// Limits implements Control: the profile of /_emulator/health.
func (c *HTTPControl) Limits(ctx context.Context) (Limits, error) {
	var h struct {
		Profile *Limits `json:"profile"`
	}
	if err := c.call(ctx, http.MethodGet, "/health", nil, &h); err != nil {
		return Limits{}, err
	}
	if h.Profile == nil || h.Profile.Name == "" {
		return Limits{}, fmt.Errorf("control plane: /_emulator/health has no profile")
	}
	return *h.Profile, nil
}
