package emulator

import (
	"github.com/labstack/echo/v4"
)

// routes builds the emulator's single route table: the main handler and
// one of the control plane alone (the main one holds it too unless
// Options.SeparateControl).
func (s *Server) routes() (main, control *echo.Echo) {
	e := s.newEcho()
	e.Pre(canonicalAPIPath)
	e.Use(s.guardControl(false)) // after routing: /_emulator's peers and token, and the log

	api := e.Group("/api", s.journaled)
	if s.opts.StrictResponses {
		api.Use(s.strictResponses)
	}
	api.Use(s.authenticate, s.injectFaults, s.rateLimit)
	api.POST("/machines/:id/runliveresponse", s.runLiveResponse, requireRoles(rolesLiveResponse...), s.validate("POST", "/machines/{id}/runliveresponse"))
	api.GET("/machines", s.listMachines, requireRoles(rolesRead...), s.validate("GET", "/machines"))
	api.GET("/machines/:id", s.getMachine, requireRoles(rolesRead...), s.validate("GET", "/machines/{id}"))
	api.GET("/machineactions", s.listMachineActions, requireRoles(rolesRead...), s.validate("GET", "/machineactions"))
	api.GET("/machineactions/:id", s.getMachineAction, requireRoles(rolesRead...), s.validate("GET", "/machineactions/{id}"))
	api.POST("/machineactions/:id/cancel", s.cancelMachineAction, requireRoles(rolesCancel...), s.validate("POST", "/machineactions/{id}/cancel"))
	api.GET("/machineactions/:id/:function", s.getLiveResponseResultDownloadLink, requireRoles(rolesDownload...), s.validate("GET", "/machineactions/{id}/GetLiveResponseResultDownloadLink(index={index})"))
	api.GET("/libraryfiles", s.listLibraryFiles, requireRoles(rolesLibrary...), s.validate("GET", "/libraryfiles"))
	api.POST("/libraryfiles", s.uploadLibraryFile, requireRoles(rolesLibrary...), s.validate("POST", "/libraryfiles"))
	api.DELETE("/libraryfiles/:name", s.deleteLibraryFile, requireRoles(rolesLibrary...), s.validate("DELETE", "/libraryfiles/{fileName}"))

	idp := e.Group("/:tenant", s.journaled, s.injectFaults)
	idp.POST("/oauth2/token", s.tokenV1)
	idp.POST("/oauth2/v2.0/token", s.tokenV2)
	idp.GET("/discovery/keys", s.jwks)
	idp.GET("/discovery/v2.0/keys", s.jwks)
	idp.GET("/.well-known/openid-configuration", s.openIDConfigurationV1)
	idp.GET("/v2.0/.well-known/openid-configuration", s.openIDConfigurationV2)

	// Result downloads: journaled (their sig redacted) and faultable, no
	// token (the link is the credential).
	e.GET("/_blob/*", s.downloadBlob, s.journaled, s.injectFaults)

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
	g.POST("/reset", s.reset)
	g.PUT("/fixtures", s.putFixtures)
	g.GET("/journal", s.getJournal)
	g.DELETE("/journal", s.deleteJournal)
	g.POST("/journal/wait", s.waitJournal)
	g.GET("/faults", s.listFaults)
	g.POST("/faults", s.addFault)
	g.DELETE("/faults", s.clearFaults)
	g.DELETE("/faults/:id", s.deleteFault)
}

// newEcho returns an echo instance with the emulator's error rendering.
func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleHTTPError
	return e
}
