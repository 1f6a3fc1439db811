package emulator

import "github.com/labstack/echo/v4"

// tenantRoutes adds the control plane's tenants routes to g.
func (s *Server) tenantRoutes(g *echo.Group) {}
