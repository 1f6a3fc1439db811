package emulator

import (
	"errors"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/state"
)

// permission is what an endpoint accepts: any one of the application
// permissions (roles, for app tokens) or any one of the delegated
// permissions (scopes, for a user's token), as each endpoint's page lists
// them.
type permission struct {
	roles, scopes []string
}

// The permissions of the Defender for Endpoint API that each endpoint
// accepts (any one of a list suffices).
var (
	permLiveResponse = permission{
		roles:  []string{"Machine.LiveResponse"},
		scopes: []string{"Machine.LiveResponse"},
	}
	permRead = permission{
		roles:  []string{"Machine.Read.All", "Machine.ReadWrite.All"},
		scopes: []string{"Machine.Read", "Machine.ReadWrite"},
	}
	// The result page lists Machine.LiveResponse as its delegated
	// permission.
	permDownload = permission{
		roles:  []string{"Machine.LiveResponse", "Machine.Read.All", "Machine.ReadWrite.All"},
		scopes: []string{"Machine.LiveResponse"},
	}
	permLibrary = permission{
		roles:  []string{"Library.Manage"},
		scopes: []string{"Library.Manage"},
	}
	permCancel = permission{
		roles: []string{
			"Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution",
			"Machine.Scan", "Machine.Offboard", "Machine.StopAndQuarantine", "Machine.LiveResponse",
		},
		scopes: []string{
			"Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution",
			"Machine.Scan", "Machine.Offboard", "Machine.StopAndQuarantine", "Machine.LiveResponse",
		},
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
		t, ok := s.store.Tenant(p.TenantID)
		if !ok {
			return s.writeError(c, apierr.New(apierr.Unauthorized, "The token's tenant %s is not known to this service.", p.TenantID))
		}
		x := exchangeOf(c) // authenticate runs inside journaled
		x.tenant = t
		if p.Delegated {
			u, ok := t.User(p.UserID)
			if !ok {
				return s.writeError(c, apierr.New(apierr.Unauthorized, "The token's user %s is not known to this service.", p.UserID))
			}
			x.user = u
		}
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

// caller returns who makes the request, for the domain: the app, and the
// user of a delegated token.
func caller(c echo.Context) state.Caller {
	p := principal(c)
	cl := state.Caller{TenantID: p.TenantID, AppID: p.ClientID, Name: p.DisplayName}
	if x := exchangeOf(c); x != nil {
		cl.User = x.user
	}
	return cl
}

// tenant returns the tenant of the request's token, as authenticate
// found it: one removed since answers as removed (state), never nil.
func (s *Server) tenant(c echo.Context) *state.Tenant {
	if x := exchangeOf(c); x != nil && x.tenant != nil {
		return x.tenant
	}
	t, _ := s.store.Tenant(principal(c).TenantID)
	return t
}

// requirePermission refuses an app token that has none of perm's roles,
// and a user's token that has none of its scopes, with 403 Forbidden
// naming what the endpoint requires. (The user's role and device groups
// are the domain's to check.)
func requirePermission(perm permission) echo.MiddlewareFunc {
	appMsg := "Missing application roles. API required roles: " + strings.Join(perm.roles, ", ")
	userMsg := "Missing delegated permissions (scp). API required permissions: " + strings.Join(perm.scopes, ", ")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := principal(c)
			if p.Delegated {
				if !p.HasAnyScope(perm.scopes...) {
					return apierr.New(apierr.Forbidden, "%s", userMsg)
				}
			} else if !p.HasAny(perm.roles...) {
				return apierr.New(apierr.Forbidden, "%s", appMsg)
			}
			return next(c)
		}
	}
}
