package emulator

import "github.com/labstack/echo/v4"

// dashboardRoutes adds the control plane's ui routes to g.
func (s *Server) dashboardRoutes(g *echo.Group) {}
