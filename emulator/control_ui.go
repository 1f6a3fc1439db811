package emulator

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/scenario"
)

// The training dashboard at /_emulator/ui: one server-rendered page
// (html/template, embedded with its stylesheet and a little plain
// JavaScript, no build step) whose sections a server-sent event stream
// (/_emulator/ui/events, control_ui_events.go) replaces as the emulator
// changes. Its buttons post forms to /_emulator/ui/..., which call the
// same functions as the JSON control plane. It is a control-plane route:
// guardControl lets it answer loopback peers, or, exposed, the holder of
// the control token (control_ui_auth.go).

//go:embed ui
var dashboardFiles embed.FS

// dashboardTemplates returns the page and its sections, each a template of
// its own so that an update renders one section. It and the other pages
// (sign-in, device login, credentials) are parsed on first use, not
// while the emulator starts: most runs never serve them, and parsing
// them was most of this package's initialization (TestPagesParse holds
// them to parse).
var dashboardTemplates = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("ui").Funcs(template.FuncMap{
		"json": func(v any) string {
			b, _ := json.Marshal(v)
			return string(b)
		},
		"pct":   func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) + "%" },
		"short": func(id string) string { return id[:min(len(id), 8)] },
		"list":  func(v ...string) []string { return v },
	}).ParseFS(dashboardFiles, "ui/*.html"))
})

// dashboardAssets are the stylesheet and the script the page inlines.
var dashboardAssets = struct {
	CSS template.CSS
	JS  template.JS
}{CSS: template.CSS(mustRead("ui/dashboard.css")), JS: template.JS(mustRead("ui/dashboard.js"))}

func mustRead(name string) string {
	b, err := dashboardFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// dashboardSections are the sections an update replaces, by the id of
// their element (sec-NAME) and template.
var dashboardSections = []string{"clock", "machines", "actions", "limits", "faults"}

// dashboardRoutes adds the control plane's ui routes to g.
func (s *Server) dashboardRoutes(g *echo.Group) {
	g.GET("/ui", s.dashboardPage)
	g.GET("/ui/events", s.dashboardEvents)
	g.POST("/ui/machines/:id/online", s.dashboardSetOnline)
	g.POST("/ui/clock", s.dashboardSetClock)
	g.POST("/ui/clock/advance", s.dashboardAdvance)
	g.POST("/ui/faults", s.dashboardAddFault)
	g.POST("/ui/faults/:id/remove", s.dashboardRemoveFault)
	g.POST("/ui/scenario", s.dashboardLoadScenario)
}

// dashboardPage serves GET /_emulator/ui[?tenant=ID&status=4xx&path=GLOB]:
// the whole dashboard. With ?token= (an exposed control plane) it sets the
// dashboard's cookie.
func (s *Server) dashboardPage(c echo.Context) error {
	f, err := s.parseDashboardFilter(c.QueryParams())
	if err != nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	s.setDashboardCookie(c)
	page := struct {
		View   dashboardView
		Assets any
	}{s.dashboardSnapshot(f, true), dashboardAssets}
	var b bytes.Buffer
	if err := dashboardTemplates().ExecuteTemplate(&b, "dashboard.html", page); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer") // the address may hold ?token= until the script drops it
	h.Set("X-Frame-Options", "DENY")
	return c.HTMLBlob(http.StatusOK, b.Bytes())
}

// dashboardForm reads a dashboard action's form, after refusing a
// request from another site's page. It answers the error itself and
// returns ok false.
func (s *Server) dashboardForm(c echo.Context) (url.Values, bool, error) {
	if err := dashboardCrossOrigin.Check(c.Request()); err != nil {
		return nil, false, controlError(c, ctlForbidden, "The dashboard takes its actions from its own page only: %v", err)
	}
	b, err := readBody(c, maxJSONBody)
	if err != nil {
		return nil, false, controlBodyError(c, err)
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, false, controlError(c, ctlInvalidRequestBody, "The body is not a form (application/x-www-form-urlencoded): %v", err)
	}
	return form, true, nil
}

// dashboardSetOnline serves POST /_emulator/ui/machines/{id}/online
// (online=true|false, tenant=ID): PATCH /_emulator/machines/{id}'s
// online switch.
func (s *Server) dashboardSetOnline(c echo.Context) error {
	form, ok, err := s.dashboardForm(c)
	if !ok {
		return err
	}
	online, perr := strconv.ParseBool(form.Get("online"))
	if perr != nil {
		return controlError(c, ctlInvalidInput, "online must be true or false, not %q", form.Get("online"))
	}
	m, ferr := s.store.FindMachine(form.Get("tenant"), c.Param("id"))
	if ferr != nil {
		return controlError(c, ctlResourceNotFound, "Machine %s was not found", c.Param("id"))
	}
	ch := machineChange{TenantID: form.Get("tenant"), Machine: c.Param("id"), Online: &online}
	if err := s.controlChange(func() (string, any, error) {
		return changeMachine, ch, applyMachineChange(changeMachine, m, ch)
	}); err != nil {
		return controlChangeError(c, ctlBadRequest, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// dashboardSetClock serves POST /_emulator/ui/clock (mode=real|manual,
// scale=N; either may be left out): PUT /_emulator/clock. Pausing is the
// manual mode.
func (s *Server) dashboardSetClock(c echo.Context) error {
	form, ok, err := s.dashboardForm(c)
	if !ok {
		return err
	}
	var scale *float64
	if v := form.Get("scale"); v != "" {
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil {
			return controlError(c, ctlInvalidInput, "scale must be a positive number, not %q", v)
		}
		scale = &f
	}
	if err := s.setClock(clock.Mode(form.Get("mode")), scale); err != nil {
		return controlChangeError(c, ctlInvalidInput, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// dashboardAdvance serves POST /_emulator/ui/clock/advance (by=DURATION):
// POST /_emulator/clock/advance.
func (s *Server) dashboardAdvance(c echo.Context) error {
	form, ok, err := s.dashboardForm(c)
	if !ok {
		return err
	}
	if form.Get("by") == "" {
		return controlError(c, ctlMissingRequiredParameter, "by is required: a Go duration such as \"10m\" or \"72h\"")
	}
	if err := s.advanceClockBy(form.Get("by")); err != nil {
		return controlChangeError(c, ctlInvalidInput, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// dashboardAddFault serves POST /_emulator/ui/faults (rule=JSON of a
// fault rule): POST /_emulator/faults.
func (s *Server) dashboardAddFault(c echo.Context) error {
	form, ok, err := s.dashboardForm(c)
	if !ok {
		return err
	}
	if form.Get("rule") == "" {
		return controlError(c, ctlMissingRequiredParameter, "rule is required: a fault rule in JSON")
	}
	if _, err := s.addFaultRule([]byte(form.Get("rule"))); err != nil {
		return controlChangeError(c, ctlInvalidInput, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// dashboardRemoveFault serves POST /_emulator/ui/faults/{id}/remove:
// DELETE /_emulator/faults/{id}.
func (s *Server) dashboardRemoveFault(c echo.Context) error {
	if _, ok, err := s.dashboardForm(c); !ok {
		return err
	}
	if err := s.removeFaultRule(c.Param("id")); err != nil {
		return removeFaultError(c, c.Param("id"), err)
	}
	return c.NoContent(http.StatusNoContent)
}

// dashboardLoadScenario serves POST /_emulator/ui/scenario (name=NAME):
// POST /_emulator/scenarios/{name}/load.
func (s *Server) dashboardLoadScenario(c echo.Context) error {
	form, ok, err := s.dashboardForm(c)
	if !ok {
		return err
	}
	sc, gerr := scenario.Get(form.Get("name"))
	if errors.Is(gerr, scenario.ErrNotFound) {
		return controlError(c, ctlResourceNotFound, "Scenario %q was not found; GET /_emulator/scenarios lists them", form.Get("name"))
	}
	if gerr != nil {
		return gerr
	}
	if err := s.LoadScenario(sc); err != nil {
		return controlChangeError(c, ctlInvalidFixtures, err)
	}
	return c.NoContent(http.StatusNoContent)
}

// renderSection renders one section of v.
func renderSection(name string, v dashboardView) (string, error) {
	var b bytes.Buffer
	if err := dashboardTemplates().ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("dashboard: section %s: %w", name, err)
	}
	return b.String(), nil
}
