package emulator

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/identity"
)

// tokenV1 serves POST /{tenant}/oauth2/token (client credentials,
// password and refresh-token grants, with resource), as Microsoft's
// identity platform v1 endpoint does.
func (s *Server) tokenV1(c echo.Context) error { return s.token(c, false) }

// tokenV2 serves POST /{tenant}/oauth2/v2.0/token (the same grants, with
// scope).
func (s *Server) tokenV2(c echo.Context) error { return s.token(c, true) }

func (s *Server) token(c echo.Context, v2 bool) error {
	resp, oerr := s.authority.Token(c.Param("tenant"), oauthForm(c), v2)
	return s.writeOAuth(c, resp, oerr)
}

// oauthForm returns the form of a request to an identity endpoint, with
// the client's credentials from HTTP Basic authentication ("client secret
// basic") where the form has none.
func oauthForm(c echo.Context) url.Values {
	form, err := c.FormParams()
	if err != nil {
		form = url.Values{}
	}
	if id, secret, ok := c.Request().BasicAuth(); ok {
		if form.Get("client_id") == "" {
			form.Set("client_id", id)
		}
		if form.Get("client_secret") == "" {
			form.Set("client_secret", secret)
		}
	}
	return form
}

// writeOAuth answers as the identity platform's endpoints do: never
// cached, an error in the platform's shape (and its code journaled), else
// resp.
func (s *Server) writeOAuth(c echo.Context, resp any, oerr *identity.OAuthError) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	if oerr != nil {
		noteErrorCode(c, oerr.Error)
		return s.writeJSON(c, oerr.Status, oerr)
	}
	return s.writeJSON(c, http.StatusOK, resp)
}

// jwks serves the tenant's signing keys.
func (s *Server) jwks(c echo.Context) error {
	return c.JSONBlob(http.StatusOK, s.authority.JWKS())
}

func (s *Server) openIDConfigurationV1(c echo.Context) error { return s.openIDConfiguration(c, false) }

func (s *Server) openIDConfigurationV2(c echo.Context) error { return s.openIDConfiguration(c, true) }

// openIDConfiguration serves the tenant's OpenID Connect discovery
// document.
func (s *Server) openIDConfiguration(c echo.Context, v2 bool) error {
	doc, ok := s.authority.OpenIDConfiguration(c.Param("tenant"), baseURL(c), v2)
	if !ok {
		noteErrorCode(c, "invalid_tenant")
		return c.JSON(http.StatusBadRequest, map[string]any{
			"error":             "invalid_tenant",
			"error_description": "AADSTS90002: Tenant '" + c.Param("tenant") + "' not found.",
		})
	}
	return c.JSONBlob(http.StatusOK, doc)
}
