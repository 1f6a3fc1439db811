package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/state"
)

// The control plane under /_emulator is the emulator's own JSON API for
// tests: clock, machines, tokens, health. It is outside /api, its token
// checks and its OpenAPI validation. Its errors are {"error":{"code",
// "message"}} like the API's, with codes of its own.

// controlCode is an error code of the control plane, as it appears in
// error.code. The set is closed: every code is one of the constants below,
// each travels with one status (controlCode.Status), and the Error.code
// enum of openapi/control-api.yaml lists exactly these
// (TestControlCodesMatchTheSpec). Clients match on the code, never on the
// message.
type controlCode int

// The control plane's codes. Add a code here, to controlCodeInfo and to
// the spec's enum together.
const (
	ctlBadRequest               controlCode = iota // 400: the request is refused by the domain (a bad remediation level)
	ctlConflict                                    // 409: the state forbids it now (a tenant with live actions, a name taken, too many tenants)
	ctlForbidden                                   // 403: a peer not on loopback, the control plane not exposed
	ctlInvalidFixtures                             // 400: a fixture set that does not load
	ctlInvalidInput                                // 400: a field of the request is wrong
	ctlInvalidRequestBody                          // 400: the body is not the JSON the endpoint takes
	ctlMissingRequiredParameter                    // 400: a required field is missing
	ctlRequestEntityTooLarge                       // 413: the body is over the endpoint's bound
	ctlResourceNotFound                            // 404: no such machine or fault rule
	ctlServiceUnavailable                          // 503: the store (--data) could not keep the change
	ctlTooManyRequests                             // 429: every dashboard event stream is taken
	ctlUnauthorized                                // 401: the control token is missing or wrong
	numControlCodes
)

// controlCodeInfo is each code's name and status, by code.
var controlCodeInfo = [numControlCodes]struct {
	name   string
	status int
}{
	ctlBadRequest:               {"BadRequest", http.StatusBadRequest},
	ctlConflict:                 {"Conflict", http.StatusConflict},
	ctlForbidden:                {"Forbidden", http.StatusForbidden},
	ctlInvalidFixtures:          {"InvalidFixtures", http.StatusBadRequest},
	ctlInvalidInput:             {"InvalidInput", http.StatusBadRequest},
	ctlInvalidRequestBody:       {"InvalidRequestBody", http.StatusBadRequest},
	ctlMissingRequiredParameter: {"MissingRequiredParameter", http.StatusBadRequest},
	ctlRequestEntityTooLarge:    {"RequestEntityTooLarge", http.StatusRequestEntityTooLarge},
	ctlResourceNotFound:         {"ResourceNotFound", http.StatusNotFound},
	ctlServiceUnavailable:       {"ServiceUnavailable", http.StatusServiceUnavailable},
	ctlTooManyRequests:          {"TooManyRequests", http.StatusTooManyRequests},
	ctlUnauthorized:             {"Unauthorized", http.StatusUnauthorized},
}

// String returns the code as it appears in error.code.
func (c controlCode) String() string {
	if c < 0 || c >= numControlCodes {
		return fmt.Sprintf("controlCode(%d)", int(c))
	}
	return controlCodeInfo[c].name
}

// Status returns the HTTP status the code travels with.
func (c controlCode) Status() int {
	if c < 0 || c >= numControlCodes {
		return http.StatusInternalServerError
	}
	return controlCodeInfo[c].status
}

// controlError answers a control-plane request with code, its status and
// a message.
func controlError(c echo.Context, code controlCode, format string, args ...any) error {
	return c.JSON(code.Status(), map[string]any{"error": map[string]string{"code": code.String(), "message": fmt.Sprintf(format, args...)}})
}

// decodeControl reads a control-plane JSON body into v, strictly.
func decodeControl(c echo.Context, v any) error {
	b, err := readBody(c, maxJSONBody)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// controlBodyError answers a control-plane request whose body could not be
// read or decoded: 413 RequestEntityTooLarge for a body over maxJSONBody
// (1 MiB), 400 InvalidRequestBody for anything else.
func controlBodyError(c echo.Context, err error) error {
	if mbe := (*http.MaxBytesError)(nil); errors.Is(err, errBodyTooLarge) || errors.As(err, &mbe) {
		return controlError(c, ctlRequestEntityTooLarge,
			"The request body is larger than %d bytes (1 MiB), the most the control plane reads.", maxJSONBody)
	}
	return controlError(c, ctlInvalidRequestBody, "Invalid request body: %v", err)
}

// health serves GET /_emulator/health: the status, the limits profile in
// force (in limits.Profile's JSON form) and the clock.
func (s *Server) health(c echo.Context) error {
	return s.writeJSON(c, http.StatusOK, map[string]any{
		"status":  "ok",
		"profile": s.store.Profile(),
		"clock":   s.clockView(),
	})
}

// clockState is the clock as the control plane shows it.
type clockState struct {
	Now   state.Timestamp `json:"now"`
	Mode  clock.Mode      `json:"mode"`
	Scale float64         `json:"scale"`
}

func (s *Server) clockView() clockState {
	return clockState{Now: state.Stamp(s.clock.Now()), Mode: s.clock.Mode(), Scale: s.clock.Scale()}
}

// getClock serves GET /_emulator/clock.
func (s *Server) getClock(c echo.Context) error { return s.writeJSON(c, http.StatusOK, s.clockView()) }

// putClock serves PUT /_emulator/clock {"mode": "manual"|"real", "scale": N}.
func (s *Server) putClock(c echo.Context) error {
	var req struct {
		Mode  clock.Mode `json:"mode"`
		Scale *float64   `json:"scale"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	if err := s.setClock(req.Mode, req.Scale); err != nil {
		return controlChangeError(c, ctlInvalidInput, err)
	}
	return s.writeJSON(c, http.StatusOK, s.clockView())
}

// setClock sets the clock's mode (unless "") and scale (unless nil), as
// PUT /_emulator/clock and the dashboard do; nothing changes when either
// is invalid.
func (s *Server) setClock(mode clock.Mode, scale *float64) error {
	if mode != "" && mode != clock.Real && mode != clock.Manual {
		return fmt.Errorf("mode must be \"real\" or \"manual\", not %q", mode)
	}
	if scale != nil && *scale <= 0 {
		return fmt.Errorf("scale must be positive, not %v", *scale)
	}
	return s.controlChange(func() (string, any, error) {
		if mode != "" {
			s.clock.SetMode(mode)
		}
		if scale != nil {
			s.clock.SetScale(*scale)
		}
		return changeClock, clockChange{Mode: mode, Scale: scale}, nil
	})
}

// advanceClock serves POST /_emulator/clock/advance {"by": "10m"}: it
// answers once everything due in between has happened.
func (s *Server) advanceClock(c echo.Context) error {
	var req struct {
		By string `json:"by"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	if err := s.advanceClockBy(req.By); err != nil {
		return controlChangeError(c, ctlInvalidInput, err)
	}
	return s.writeJSON(c, http.StatusOK, s.clockView())
}

// advanceClockBy moves the clock on by the Go duration by, as POST
// /_emulator/clock/advance and the dashboard do, once everything due in
// between has happened.
func (s *Server) advanceClockBy(by string) error {
	d, err := time.ParseDuration(by)
	if err != nil || d < 0 {
		return fmt.Errorf("by must be a non-negative Go duration such as \"90s\" or \"72h\", not %q", by)
	}
	return s.controlChangeHeld(false, func() (string, any, error) {
		s.clock.Advance(d)
		return changeAdvance, clockChange{By: d}, nil
	})
}

// patchMachine serves PATCH /_emulator/machines/{id} {"online": bool,
// "remediationLevel": string, "tenantId": string}. The machine is looked
// up in the tenant given, else in every tenant.
func (s *Server) patchMachine(c echo.Context) error {
	var req struct {
		TenantID         string  `json:"tenantId"`
		Online           *bool   `json:"online"`
		RemediationLevel *string `json:"remediationLevel"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	m, err := s.store.FindMachine(req.TenantID, c.Param("id"))
	if err != nil {
		return controlError(c, ctlResourceNotFound, "Machine %s was not found", c.Param("id"))
	}
	ch := machineChange{TenantID: req.TenantID, Machine: c.Param("id"), Online: req.Online, RemediationLevel: req.RemediationLevel}
	if err := s.controlChange(func() (string, any, error) {
		return changeMachine, ch, applyMachineChange(changeMachine, m, ch)
	}); err != nil {
		return controlChangeError(c, ctlBadRequest, err)
	}
	return s.writeJSON(c, http.StatusOK, m.View(s.clock.Now()))
}

// mintToken serves POST /_emulator/tokens {"tenantId", "clientId",
// "roles", "audience", "expiresIn"}: a token without the OAuth dance. An
// empty body mints one for the default app with all its roles. With
// "user" (a UPN or object id of the app's tenant) it mints a delegated
// token for that user through the app, with "scopes" in scp (omitted:
// the app's delegated permissions).
func (s *Server) mintToken(c echo.Context) error {
	var req struct {
		TenantID  string   `json:"tenantId"`
		ClientID  string   `json:"clientId"`
		Roles     []string `json:"roles"`
		Audience  string   `json:"audience"`
		ExpiresIn string   `json:"expiresIn"`
		User      string   `json:"user"`
		Scopes    []string `json:"scopes"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	mr := identity.MintRequest{TenantID: req.TenantID, ClientID: req.ClientID, Roles: req.Roles, Audience: req.Audience,
		User: req.User, Scopes: req.Scopes}
	if req.User != "" && req.TenantID == "" && req.ClientID == "" {
		// The user's tenant: the first tenant with a user of that name.
		mr.TenantID = s.userTenant(req.User)
	}
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil {
			return controlError(c, ctlInvalidInput, "expiresIn must be a Go duration such as \"1h\", not %q", req.ExpiresIn)
		}
		mr.ExpiresIn = d
	}
	_, resp, err := s.authority.Mint(mr)
	if err != nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	return s.writeJSON(c, http.StatusOK, resp)
}

// userTenant returns the id of the first tenant with a user named name
// (UPN without case, or object id), or "".
func (s *Server) userTenant(name string) string {
	for _, t := range s.fixtures.Load().Tenants {
		for _, u := range t.Users {
			if strings.EqualFold(u.UserPrincipalName, name) || strings.EqualFold(u.ObjectID, name) {
				return t.ID
			}
		}
	}
	return ""
}

// reset serves POST /_emulator/reset: the state of the fixtures, the clock
// at its start, limits' windows empty. With {"fixtures":"start"} it goes
// back to the fixtures the emulator started with, not the last PUT.
func (s *Server) reset(c echo.Context) error {
	var req struct {
		Fixtures string `json:"fixtures"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	switch req.Fixtures {
	case "", "current":
		if err := s.resetRecorded(); err != nil {
			return controlChangeError(c, ctlServiceUnavailable, err) // only the store fails it
		}
	case "start":
		if err := s.ResetToStart(); err != nil {
			return controlChangeError(c, ctlInvalidFixtures, err)
		}
	default:
		return controlError(c, ctlInvalidInput, "fixtures must be \"current\" or \"start\", not %q", req.Fixtures)
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"status": "reset", "clock": s.clockView()})
}

// putFixtures serves PUT /_emulator/fixtures: the whole state replaced from
// a YAML or JSON body. A bad fixture is refused with the line of each
// problem, and nothing changes. The fixture is parsed within
// fixture.ControlBounds: a body over their MaxSize (32 MB) is refused with
// 413 before it is read, and the parse stops when the client goes away.
func (s *Server) putFixtures(c echo.Context) error {
	limit := fixture.ControlBounds.MaxSize
	tooLarge := func() error {
		return controlError(c, ctlRequestEntityTooLarge,
			"The fixture is larger than %d bytes (%d MB), the most PUT /_emulator/fixtures accepts; load a larger one with --fixtures (up to %d MB).",
			limit, limit>>20, fixture.FileBounds.MaxSize>>20)
	}
	if c.Request().ContentLength > limit {
		return tooLarge()
	}
	b, err := readBody(c, limit)
	if mbe := (*http.MaxBytesError)(nil); errors.Is(err, errBodyTooLarge) || errors.As(err, &mbe) {
		return tooLarge()
	}
	if err != nil {
		return controlBodyError(c, err)
	}
	ctx := c.Request().Context()
	set, err := fixture.ParseBounded(ctx, "fixtures", b, fixture.ControlBounds)
	if err != nil {
		if ctx.Err() != nil {
			// The client went away: nobody reads the answer.
			return controlError(c, ctlInvalidRequestBody, "%v", err)
		}
		return controlError(c, ctlInvalidFixtures, "%v", err)
	}
	if err := s.loadFixtures(set); err != nil { // parsed here: no copy needed
		return controlChangeError(c, ctlInvalidFixtures, err)
	}
	machines := 0
	for _, t := range set.Tenants {
		machines += t.MachineCount()
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"status": "loaded", "tenants": len(set.Tenants), "machines": machines})
}

// postNextOutcomes serves POST /_emulator/machines/{id}/next-outcomes
// {"tenantId", "outcomes": [{"type","script","duration","exitCode","output",
// "errors","fail","content"}]}: how the machine's coming commands end.
func (s *Server) postNextOutcomes(c echo.Context) error {
	var req struct {
		TenantID string          `json:"tenantId"`
		Outcomes []state.Outcome `json:"outcomes"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	if len(req.Outcomes) == 0 {
		return controlError(c, ctlMissingRequiredParameter, "outcomes must list at least one outcome")
	}
	m, err := s.store.FindMachine(req.TenantID, c.Param("id"))
	if err != nil {
		return controlError(c, ctlResourceNotFound, "Machine %s was not found", c.Param("id"))
	}
	ch := machineChange{TenantID: req.TenantID, Machine: c.Param("id"), Outcomes: req.Outcomes}
	if err := s.controlChange(func() (string, any, error) {
		return changeOutcomes, ch, m.QueueOutcomes(req.Outcomes)
	}); err != nil {
		code := ctlInvalidInput
		if errors.Is(err, state.ErrOutcomesFull) {
			code = ctlConflict // the queue or the tenant's storage is full until outcomes are used or cleared
		}
		return controlChangeError(c, code, err)
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"outcomes": m.Outcomes()})
}

// getNextOutcomes serves GET /_emulator/machines/{id}/next-outcomes.
func (s *Server) getNextOutcomes(c echo.Context) error {
	m, err := s.store.FindMachine(c.QueryParam("tenantId"), c.Param("id"))
	if err != nil {
		return controlError(c, ctlResourceNotFound, "Machine %s was not found", c.Param("id"))
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"outcomes": m.Outcomes()})
}

// deleteNextOutcomes serves DELETE /_emulator/machines/{id}/next-outcomes.
func (s *Server) deleteNextOutcomes(c echo.Context) error {
	m, err := s.store.FindMachine(c.QueryParam("tenantId"), c.Param("id"))
	if err != nil {
		return controlError(c, ctlResourceNotFound, "Machine %s was not found", c.Param("id"))
	}
	ch := machineChange{TenantID: c.QueryParam("tenantId"), Machine: c.Param("id")}
	if err := s.controlChange(func() (string, any, error) {
		m.ClearOutcomes()
		return changeOutcomesClear, ch, nil
	}); err != nil {
		return controlChangeError(c, ctlBadRequest, err)
	}
	return c.NoContent(http.StatusNoContent)
}
