package emulator

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/state"
)

// Application permissions of the Defender for Endpoint API that each
// endpoint accepts (any one of a list suffices).
var (
	rolesLiveResponse = []string{"Machine.LiveResponse"}
	rolesRead         = []string{"Machine.Read.All", "Machine.ReadWrite.All"}
	rolesDownload     = []string{"Machine.LiveResponse", "Machine.Read.All", "Machine.ReadWrite.All"}
	rolesLibrary      = []string{"Library.Manage"}
	rolesCancel       = []string{
		"Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution",
		"Machine.Scan", "Machine.Offboard", "Machine.StopAndQuarantine", "Machine.LiveResponse",
	}
)

// authenticate checks the bearer token of every /api call: 401 for a
// missing, malformed, badly signed, expired or foreign token; 403 for a
// token minted for another API (the service answered 403 to a wrong aud).
// The audiences a token may have are fixed when the emulator starts (the
// API's, and Options.PublicURLs): nothing a request sends adds one.
// Each message names one cause, and the code stays Unauthorized.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		raw, err := identity.ParseAuthorization(c.Request().Header.Get(echo.HeaderAuthorization))
		if err != nil {
			return s.writeError(c, apierr.New(apierr.Unauthorized, "%s", reason(err)))
		}
		p, err := s.authority.Verify(raw)
		if err != nil {
			var ae *identity.AuthError
			if errors.As(err, &ae) && ae.Kind == identity.WrongAudience {
				return s.writeError(c, apierr.New(apierr.Forbidden, "%s", ae.Reason))
			}
			return s.writeError(c, apierr.New(apierr.Unauthorized, "%s", reason(err)))
		}
		if _, ok := s.store.Tenant(p.TenantID); !ok {
			return s.writeError(c, apierr.New(apierr.Unauthorized, "The token's tenant %s is not known to this service.", p.TenantID))
		}
		x := exchangeOf(c) // authenticate runs inside journaled
		x.principal = p
		x.tenantID, x.appID = p.TenantID, p.ClientID
		return next(c)
	}
}

func reason(err error) string {
	var ae *identity.AuthError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return err.Error()
}

// principal returns the verified caller of an /api request.
func principal(c echo.Context) *identity.Principal {
	if x := exchangeOf(c); x != nil {
		return x.principal
	}
	return nil
}

// caller returns who makes the request, for the domain.
func caller(c echo.Context) state.Caller {
	p := principal(c)
	return state.Caller{TenantID: p.TenantID, AppID: p.ClientID, Name: p.DisplayName}
}

// tenant returns the tenant of the request's token.
func (s *Server) tenant(c echo.Context) *state.Tenant {
	t, _ := s.store.Tenant(principal(c).TenantID)
	return t
}

// requireRoles refuses a token that has none of roles with 403 Forbidden,
// naming the roles the endpoint requires.
func requireRoles(roles ...string) echo.MiddlewareFunc {
	msg := "Missing application roles. API required roles: " + strings.Join(roles, ", ")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !principal(c).HasAny(roles...) {
				return apierr.New(apierr.Forbidden, "%s", msg)
			}
			return next(c)
		}
	}
}
