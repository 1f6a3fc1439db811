package emulator

import "github.com/labstack/echo/v4"

// metricsRoutes adds the control plane's metrics routes to g.
func (s *Server) metricsRoutes(g *echo.Group) {}
