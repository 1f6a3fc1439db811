package emulator

import "github.com/labstack/echo/v4"

// scenarioRoutes adds the control plane's scenarios routes to g.
func (s *Server) scenarioRoutes(g *echo.Group) {}
