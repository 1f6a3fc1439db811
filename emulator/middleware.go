package emulator

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/apierr"
	"github.com/mdelive/mde-emulator/emulator/limits"
)

// rateLimit counts every authenticated call against the limits of its
// (tenant, app, endpoint): runliveresponse 10 a minute, the rest 100 a
// minute and 1,500 an hour. A refused call gets 429 with Retry-After and
// is not counted itself.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principal(c)
		endpoint := c.Request().Method + " " + c.Path()
		class := limits.Other
		if c.Path() == "/api/machines/:id/runliveresponse" {
			class = limits.LiveResponse
		}
		wait, ok := s.limiter.Allow(limits.Key{Tenant: p.TenantID, App: p.ClientID, Endpoint: endpoint}, class, s.clock.Now())
		if !ok {
			e := apierr.New(apierr.TooManyRequests,
				"Too many requests: the rate limit of this API for the application was reached. Retry after the time in the Retry-After header.")
			e.RetryAfter = wait
			return s.writeError(c, e)
		}
		return next(c)
	}
}

// validate checks the request against the OpenAPI document and answers
// the service's 400 when it does not match.
func (s *Server) validate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		upload := r.Method == http.MethodPost && c.Path() == "/api/libraryfiles"
		limit := int64(maxJSONBody)
		if upload {
			limit = maxUploadBody
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		if e := s.validator.ValidateRequest(r); e != nil {
			if upload && e.Code == apierr.RequestEntityTooLarge {
				e = apierr.New(apierr.InvalidInput, "Invalid input: the file is larger than 20 MB, the largest library file the API accepts.")
			}
			return s.writeError(c, e)
		}
		return next(c)
	}
}

// handleHTTPError renders every error that reaches echo in the service's
// error body.
func (s *Server) handleHTTPError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	_ = s.writeError(c, err)
}
