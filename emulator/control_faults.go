package emulator

import (
	"errors"
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
	b, err := readBody(c, maxJSONBody)
	if err != nil {
		return controlBodyError(c, err)
	}
	r, err := s.addFaultRule(b)
	if err != nil {
		code := ctlInvalidInput
		if errors.Is(err, faults.ErrTooManyRules) {
			code = ctlConflict // until rules are removed
		}
		return controlChangeError(c, code, err)
	}
	return s.writeJSON(c, http.StatusCreated, r)
}

// addFaultRule parses a rule from its JSON and adds it, as POST
// /_emulator/faults and the dashboard do; with a store, once the rule
// (with its id) is durable.
func (s *Server) addFaultRule(b []byte) (faults.Rule, error) {
	r, err := faults.ParseRule(b)
	if err != nil {
		return faults.Rule{}, err
	}
	return s.AddFault(r)
}

// AddFault adds the fault rule r and returns it with its id, as POST
// /_emulator/faults does: with a store (Options.Data), once the rule is
// durable. Rules added through Faults directly are not recorded.
func (s *Server) AddFault(r faults.Rule) (faults.Rule, error) {
	var added faults.Rule
	err := s.controlChange(func() (string, any, error) {
		var err error
		if added, err = s.faults.Add(r); err != nil {
			return "", nil, err
		}
		return changeFaultAdd, faultChange{ID: added.ID, Rule: &added}, nil
	})
	return added, err
}

// errNoFault is the error of removing a fault rule that is not there.
var errNoFault = errors.New("no such fault rule")

// removeFaultRule removes the rule id, as DELETE /_emulator/faults/{id}
// and the dashboard do: errNoFault when there is none.
func (s *Server) removeFaultRule(id string) error {
	return s.controlChange(func() (string, any, error) {
		if !s.faults.Remove(id) {
			return "", nil, errNoFault
		}
		return changeFaultRemove, faultChange{ID: id}, nil
	})
}

// removeFaultError answers the error of removeFaultRule.
func removeFaultError(c echo.Context, id string, err error) error {
	if errors.Is(err, errNoFault) {
		return controlError(c, ctlResourceNotFound, "Fault rule %s was not found", id)
	}
	return controlChangeError(c, ctlServiceUnavailable, err) // only the store fails it
}

// clearFaults serves DELETE /_emulator/faults.
func (s *Server) clearFaults(c echo.Context) error {
	if err := s.controlChange(func() (string, any, error) {
		s.faults.Clear()
		return changeFaultClear, struct{}{}, nil
	}); err != nil {
		return controlChangeError(c, ctlServiceUnavailable, err) // only the store fails it
	}
	return c.NoContent(http.StatusNoContent)
}

// deleteFault serves DELETE /_emulator/faults/{id}.
func (s *Server) deleteFault(c echo.Context) error {
	if err := s.removeFaultRule(c.Param("id")); err != nil {
		return removeFaultError(c, c.Param("id"), err)
	}
	return c.NoContent(http.StatusNoContent)
}
