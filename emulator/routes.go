package emulator

import (
	"github.com/labstack/echo/v4"
)

// routes builds the emulator's single route table.
func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleHTTPError
	e.Pre(canonicalAPIPath)

	api := e.Group("/api", s.authenticate, s.rateLimit)
	api.POST("/machines/:id/runliveresponse", s.runLiveResponse, requireRoles(rolesLiveResponse...), s.validate)
	api.GET("/machines", s.listMachines, requireRoles(rolesRead...), s.validate)
	api.GET("/machines/:id", s.getMachine, requireRoles(rolesRead...), s.validate)
	api.GET("/machineactions", s.listMachineActions, requireRoles(rolesRead...), s.validate)
	api.GET("/machineactions/:id", s.getMachineAction, requireRoles(rolesRead...), s.validate)
	api.POST("/machineactions/:id/cancel", s.cancelMachineAction, requireRoles(rolesCancel...), s.validate)
	api.GET("/machineactions/:id/:function", s.getLiveResponseResultDownloadLink, requireRoles(rolesDownload...), s.validate)
	api.GET("/libraryfiles", s.listLibraryFiles, requireRoles(rolesLibrary...), s.validate)
	api.POST("/libraryfiles", s.uploadLibraryFile, requireRoles(rolesLibrary...), s.validate)
	api.DELETE("/libraryfiles/:name", s.deleteLibraryFile, requireRoles(rolesLibrary...), s.validate)

	e.POST("/:tenant/oauth2/token", s.tokenV1)
	e.POST("/:tenant/oauth2/v2.0/token", s.tokenV2)
	e.GET("/:tenant/discovery/keys", s.jwks)
	e.GET("/:tenant/discovery/v2.0/keys", s.jwks)
	e.GET("/:tenant/.well-known/openid-configuration", s.openIDConfigurationV1)
	e.GET("/:tenant/v2.0/.well-known/openid-configuration", s.openIDConfigurationV2)

	e.GET("/_blob/*", s.downloadBlob)

	ctl := e.Group("/_emulator")
	ctl.GET("/health", s.health)
	ctl.GET("/clock", s.getClock)
	ctl.PUT("/clock", s.putClock)
	ctl.POST("/clock/advance", s.advanceClock)
	ctl.PATCH("/machines/:id", s.patchMachine)
	ctl.POST("/tokens", s.mintToken)
	return e
}
