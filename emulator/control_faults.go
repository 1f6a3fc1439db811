package emulator

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/faults"
)

// listFaults serves GET /_emulator/faults: the rules with how often each
// fired.
func (s *Server) listFaults(c echo.Context) error {
	rules := s.faults.List()
	if rules == nil {
		rules = []faults.Rule{}
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"rules": rules})
}

// addFault serves POST /_emulator/faults with a rule.
func (s *Server) addFault(c echo.Context) error {
	if s.rec != nil {
		return s.refuseUnrecorded(c, "POST /_emulator/faults")
	}
	b, err := readBody(c, maxJSONBody)
	if err != nil {
		return controlBodyError(c, err)
	}
	r, err := s.addFaultRule(b)
	if err != nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	return s.writeJSON(c, http.StatusCreated, r)
}

// addFaultRule parses a rule from its JSON and adds it, as POST
// /_emulator/faults and the dashboard do.
func (s *Server) addFaultRule(b []byte) (faults.Rule, error) {
	r, err := faults.ParseRule(b)
	if err != nil {
		return faults.Rule{}, err
	}
	return s.faults.Add(r)
}

// clearFaults serves DELETE /_emulator/faults.
func (s *Server) clearFaults(c echo.Context) error {
	if s.rec != nil {
		return s.refuseUnrecorded(c, "DELETE /_emulator/faults")
	}
	s.faults.Clear()
	return c.NoContent(http.StatusNoContent)
}

// deleteFault serves DELETE /_emulator/faults/{id}.
func (s *Server) deleteFault(c echo.Context) error {
	if s.rec != nil {
		return s.refuseUnrecorded(c, "DELETE /_emulator/faults/{id}")
	}
	if !s.faults.Remove(c.Param("id")) {
		return controlError(c, ctlResourceNotFound, "Fault rule %s was not found", c.Param("id"))
	}
	return c.NoContent(http.StatusNoContent)
}
