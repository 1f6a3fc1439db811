package emulator

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/limits"
)

// routes builds the emulator's single route table: the main handler and
// one of the control plane alone (the main one holds it too unless
// Options.SeparateControl).
func (s *Server) routes() (main, control *echo.Echo) {
	e := s.newEcho()
	e.Pre(s.canonicalAPIPath)
	e.Use(s.guardControl(false)) // after routing: /_emulator's peers and token, and the log

	// The middleware of the /api routes is wrapped around each handler
	// once, here, rather than given to echo's Group, which wraps it again
	// on every request (a closure per middleware per call).
	classes := map[string]limits.Class{} // route → its rate limit, filled as the routes are added
	apiMW := []echo.MiddlewareFunc{s.metered, s.journaled}
	if s.opts.StrictResponses {
		apiMW = append(apiMW, s.strictResponses)
	}
	apiMW = append(apiMW, s.authenticate, s.injectFaults, s.rateLimit(classes))
	api := e.Group("/api")
	// Each operation of the OpenAPI document: its path parameters named as
	// the document names them, from which validate finds the operation.
	route := func(method, path string, h echo.HandlerFunc, class limits.Class, perm permission, mw ...echo.MiddlewareFunc) {
		own := append([]echo.MiddlewareFunc{requirePermission(perm), s.validate(method, documentPath(path))}, mw...)
		r := api.Add(method, path, wrapped(wrapped(h, own...), apiMW...))
		classes[r.Path] = class
	}
	route(http.MethodPost, "/machines/:id/runliveresponse", s.runLiveResponse, limits.LiveResponse, permLiveResponse)
	route(http.MethodGet, "/machines", s.listMachines, limits.Other, permRead)
	route(http.MethodGet, "/machines/:id", s.getMachine, limits.Other, permRead)
	route(http.MethodGet, "/machineactions", s.listMachineActions, limits.Other, permRead)
	route(http.MethodGet, "/machineactions/:id", s.getMachineAction, limits.Other, permRead, s.hideYoungActions) // a notFoundFor fault
	route(http.MethodPost, "/machineactions/:id/cancel", s.cancelMachineAction, limits.Other, permCancel)
	route(http.MethodGet, "/machineactions/:id/:"+functionParam, s.getLiveResponseResultDownloadLink, limits.Other, permDownload)
	route(http.MethodGet, "/libraryfiles", s.listLibraryFiles, limits.Other, permLibrary)
	route(http.MethodPost, "/libraryfiles", s.uploadLibraryFile, limits.Other, permLibrary)
	route(http.MethodDelete, "/libraryfiles/:fileName", s.deleteLibraryFile, limits.Other, permLibrary)
	// A path under /api that no route matches goes through the same
	// middleware (metered, journaled, authenticated) to its 404, as
	// echo's Group.Use would have arranged.
	notFound := wrapped(echo.NotFoundHandler, apiMW...)
	api.RouteNotFound("", notFound)
	api.RouteNotFound("/*", notFound)

	idp := e.Group("/:tenant", s.metered, s.journaled, s.injectFaults)
	// Its forms are read within maxIdentityForm (boundedForm): on the
	// routes that take one, not the group, whose middleware also runs
	// for the paths under it that no route matches (their 404).
	idp.POST("/oauth2/token", s.tokenV1, s.boundedForm)
	idp.POST("/oauth2/v2.0/token", s.tokenV2, s.boundedForm)
	idp.POST("/oauth2/devicecode", s.deviceCodeV1, s.boundedForm)
	idp.POST("/oauth2/v2.0/devicecode", s.deviceCodeV2, s.boundedForm)
	idp.GET("/oauth2/authorize", s.authorizeV1)
	idp.POST("/oauth2/authorize", s.authorizeAnswer, s.boundedForm)
	idp.GET("/oauth2/v2.0/authorize", s.authorizeV2)
	idp.POST("/oauth2/v2.0/authorize", s.authorizeAnswer, s.boundedForm)
	idp.GET("/discovery/keys", s.jwks)
	idp.GET("/discovery/v2.0/keys", s.jwks)
	idp.GET("/.well-known/openid-configuration", s.openIDConfigurationV1)
	idp.GET("/v2.0/.well-known/openid-configuration", s.openIDConfigurationV2)
	// The device code's verification page (not under a tenant, as
	// microsoft.com/devicelogin is not). Its form's single-use session is
	// redacted in the journal.
	e.GET(deviceLoginPath, s.deviceLogin, s.metered, s.journaled)
	e.POST(deviceLoginPath, s.deviceLoginAnswer, s.metered, s.journaled)

	// A browser's icon request (the dashboard, the sign-in pages) is no
	// client's call: answered 404 outside the identity group, so that it
	// is neither journaled nor counted as a tenant's.
	e.GET("/favicon.ico", func(c echo.Context) error { return c.NoContent(http.StatusNotFound) })

	// Result downloads: journaled (their sig redacted) and faultable, no
	// token (the link is the credential).
	e.GET("/_blob/*", s.downloadBlob, s.metered, s.journaled, s.injectFaults)

	control = s.newEcho()
	control.Use(s.guardControl(true))
	s.controlRoutes(control.Group("/_emulator"))
	if !s.opts.SeparateControl {
		s.controlRoutes(e.Group("/_emulator"))
	}
	return e, control
}

// controlRoutes adds the control plane's routes to g.
func (s *Server) controlRoutes(g *echo.Group) {
	g.GET("/health", s.health)
	g.GET("/clock", s.getClock)
	g.PUT("/clock", s.putClock)
	g.POST("/clock/advance", s.advanceClock)
	g.PATCH("/machines/:id", s.patchMachine)
	g.POST("/machines/:id/next-outcomes", s.postNextOutcomes)
	g.GET("/machines/:id/next-outcomes", s.getNextOutcomes)
	g.DELETE("/machines/:id/next-outcomes", s.deleteNextOutcomes)
	g.POST("/tokens", s.mintToken)
	g.POST("/devicecode/:userCode", s.approveDeviceCode)
	g.POST("/reset", s.reset)
	g.PUT("/fixtures", s.putFixtures)
	g.GET("/journal", s.getJournal)
	g.DELETE("/journal", s.deleteJournal)
	g.POST("/journal/wait", s.waitJournal)
	g.GET("/faults", s.listFaults)
	g.POST("/faults", s.addFault)
	g.DELETE("/faults", s.clearFaults)
	g.DELETE("/faults/:id", s.deleteFault)
	s.dashboardRoutes(g)
	s.scenarioRoutes(g)
	s.tenantRoutes(g)
	s.metricsRoutes(g)
}

// wrapped returns h inside mw, the first outermost, as echo applies a
// route's middleware.
func wrapped(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) echo.HandlerFunc {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}

// newEcho returns an echo instance with the emulator's error rendering.
func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleHTTPError
	return e
}
