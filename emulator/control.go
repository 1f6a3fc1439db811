package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

// controlError answers a control-plane request with status and message.
func controlError(c echo.Context, status int, code, format string, args ...any) error {
	return c.JSON(status, map[string]any{"error": map[string]string{"code": code, "message": fmt.Sprintf(format, args...)}})
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
		return controlError(c, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
			"The request body is larger than %d bytes (1 MiB), the most the control plane reads.", maxJSONBody)
	}
	return controlError(c, http.StatusBadRequest, "InvalidRequestBody", "Invalid request body: %v", err)
}

// health serves GET /_emulator/health.
func (s *Server) health(c echo.Context) error {
	p := s.store.Profile()
	return s.writeJSON(c, http.StatusOK, map[string]any{
		"status": "ok",
		"profile": profileView{
			Name: p.Name, LiveResponsePerMinute: p.LiveResponsePerMinute, OtherPerMinute: p.OtherPerMinute,
			OtherPerHour: p.OtherPerHour, Sessions: p.Sessions, QueueTimeout: p.QueueTimeout.String(),
			ScriptTimeout: p.ScriptTimeout.String(), LinkLifetime: p.LinkLifetime.String(),
			PendingCountsAsSession: p.PendingCountsAsSession, Unlimited: p.Unlimited,
		},
		"clock": s.clockView(),
	})
}

// profileView is a limits profile as the control plane shows it.
type profileView struct {
	Name                   string `json:"name"`
	LiveResponsePerMinute  int    `json:"liveResponsePerMinute"`
	OtherPerMinute         int    `json:"otherPerMinute"`
	OtherPerHour           int    `json:"otherPerHour"`
	Sessions               int    `json:"sessions"`
	QueueTimeout           string `json:"queueTimeout"`
	ScriptTimeout          string `json:"scriptTimeout"`
	LinkLifetime           string `json:"linkLifetime"`
	PendingCountsAsSession bool   `json:"pendingCountsAsSession"`
	Unlimited              bool   `json:"unlimited"`
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
	switch req.Mode {
	case "":
	case clock.Real, clock.Manual:
		s.clock.SetMode(req.Mode)
	default:
		return controlError(c, http.StatusBadRequest, "InvalidInput", "mode must be \"real\" or \"manual\", not %q", req.Mode)
	}
	if req.Scale != nil {
		if *req.Scale <= 0 {
			return controlError(c, http.StatusBadRequest, "InvalidInput", "scale must be positive, not %v", *req.Scale)
		}
		s.clock.SetScale(*req.Scale)
	}
	return s.writeJSON(c, http.StatusOK, s.clockView())
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
	d, err := time.ParseDuration(req.By)
	if err != nil || d < 0 {
		return controlError(c, http.StatusBadRequest, "InvalidInput", "by must be a non-negative Go duration such as \"90s\" or \"72h\", not %q", req.By)
	}
	s.clock.Advance(d)
	return s.writeJSON(c, http.StatusOK, s.clockView())
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
	m, ok := s.findMachine(req.TenantID, c.Param("id"))
	if !ok {
		return controlError(c, http.StatusNotFound, "ResourceNotFound", "Machine %s was not found", c.Param("id"))
	}
	if req.RemediationLevel != nil {
		if err := m.SetRemediationLevel(*req.RemediationLevel); err != nil {
			return controlError(c, http.StatusBadRequest, "BadRequest", "%v", err)
		}
	}
	if req.Online != nil {
		m.SetOnline(*req.Online)
	}
	return s.writeJSON(c, http.StatusOK, m.View(s.clock.Now()))
}

func (s *Server) findMachine(tenantID, key string) (*state.Machine, bool) {
	for _, t := range s.store.Tenants() {
		if tenantID != "" && t.ID != tenantID {
			continue
		}
		if m, err := t.Machine(key); err == nil {
			return m, true
		}
	}
	return nil, false
}

// mintToken serves POST /_emulator/tokens {"tenantId", "clientId",
// "roles", "audience", "expiresIn"}: a token without the OAuth dance. An
// empty body mints one for the default app with all its roles.
func (s *Server) mintToken(c echo.Context) error {
	var req struct {
		TenantID  string   `json:"tenantId"`
		ClientID  string   `json:"clientId"`
		Roles     []string `json:"roles"`
		Audience  string   `json:"audience"`
		ExpiresIn string   `json:"expiresIn"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	mr := identity.MintRequest{TenantID: req.TenantID, ClientID: req.ClientID, Roles: req.Roles, Audience: req.Audience}
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil {
			return controlError(c, http.StatusBadRequest, "InvalidInput", "expiresIn must be a Go duration such as \"1h\", not %q", req.ExpiresIn)
		}
		mr.ExpiresIn = d
	}
	_, resp, err := s.authority.Mint(mr)
	if err != nil {
		return controlError(c, http.StatusBadRequest, "InvalidInput", "%v", err)
	}
	return s.writeJSON(c, http.StatusOK, resp)
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
		s.Reset()
	case "start":
		if err := s.ResetToStart(); err != nil {
			return controlError(c, http.StatusBadRequest, "InvalidFixtures", "%v", err)
		}
	default:
		return controlError(c, http.StatusBadRequest, "InvalidInput", "fixtures must be \"current\" or \"start\", not %q", req.Fixtures)
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
		return controlError(c, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
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
			return controlError(c, http.StatusBadRequest, "InvalidRequestBody", "%v", err)
		}
		return controlError(c, http.StatusBadRequest, "InvalidFixtures", "%v", err)
	}
	if err := s.LoadFixtures(set); err != nil {
		return controlError(c, http.StatusBadRequest, "InvalidFixtures", "%v", err)
	}
	machines := 0
	for _, t := range set.Tenants {
		machines += len(t.Machines)
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
		return controlError(c, http.StatusBadRequest, "MissingRequiredParameter", "outcomes must list at least one outcome")
	}
	m, ok := s.findMachine(req.TenantID, c.Param("id"))
	if !ok {
		return controlError(c, http.StatusNotFound, "ResourceNotFound", "Machine %s was not found", c.Param("id"))
	}
	if err := m.QueueOutcomes(req.Outcomes); err != nil {
		return controlError(c, http.StatusBadRequest, "InvalidInput", "%v", err)
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"outcomes": m.Outcomes()})
}

// getNextOutcomes serves GET /_emulator/machines/{id}/next-outcomes.
func (s *Server) getNextOutcomes(c echo.Context) error {
	m, ok := s.findMachine(c.QueryParam("tenantId"), c.Param("id"))
	if !ok {
		return controlError(c, http.StatusNotFound, "ResourceNotFound", "Machine %s was not found", c.Param("id"))
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"outcomes": m.Outcomes()})
}

// deleteNextOutcomes serves DELETE /_emulator/machines/{id}/next-outcomes.
func (s *Server) deleteNextOutcomes(c echo.Context) error {
	m, ok := s.findMachine(c.QueryParam("tenantId"), c.Param("id"))
	if !ok {
		return controlError(c, http.StatusNotFound, "ResourceNotFound", "Machine %s was not found", c.Param("id"))
	}
	m.ClearOutcomes()
	return c.NoContent(http.StatusNoContent)
}
