package emulator

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/limits"
	"github.com/mdelive/mde-emulator/internal/state"
	"github.com/mdelive/mde-emulator/openapi"
)

// rateLimit counts every authenticated call against the limits of its
// (tenant, app, endpoint): runliveresponse 10 a minute, the rest 100 a
// minute and 1,500 an hour. classes holds the class of each route, as
// routes declares it; a path that matches no route is limited as the rest.
// A refused call gets 429 with Retry-After and is not counted itself.
func (s *Server) rateLimit(classes map[string]limits.Class) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			class, ok := classes[c.Path()]
			if !ok {
				class = limits.Other
			}
			now := s.clock.Now()
			wait, ok := s.limiter.Allow(s.rateKey(c, principal(c)), class, now)
			if !ok {
				e := apierr.New(apierr.TooManyRequests,
					"Too many requests: the rate limit of this API for the application was reached. Retry after the time in the Retry-After header.")
				e.RetryAfter = wait
				return s.writeError(c, e)
			}
			if x := exchangeOf(c); x != nil {
				x.rateAt = now
			}
			return next(c)
		}
	}
}

// rateKey is what the rate limits count the call c by principal p
// against: p's tenant and app, and the call's endpoint.
func (s *Server) rateKey(c echo.Context, p *identity.Principal) limits.Key {
	return limits.Key{Tenant: p.TenantID, App: p.ClientID, Endpoint: s.endpointName(c.Request().Method, c.Path())}
}

// endpointName returns "METHOD /route", the endpoint a call is counted
// against, made once per route (the hot path allocates nothing for it).
func (s *Server) endpointName(method, route string) string {
	k := endpointKey{method, route}
	if name, ok := s.endpoints.Load(k); ok {
		return name.(string)
	}
	name := method + " " + route
	s.endpoints.Store(k, name)
	return name
}

type endpointKey struct{ method, route string }

// validate checks the request against the operation method and docPath
// of the OpenAPI document and answers the service's 400 when it does not
// match. The route is known from echo's routing, so the validator skips
// its own lookup.
func (s *Server) validate(method, docPath string) echo.MiddlewareFunc {
	upload := method == http.MethodPost && docPath == "/libraryfiles"
	limit := int64(maxJSONBody)
	if upload {
		limit = maxUploadBody
	}
	withBody := method == http.MethodPost // the operations with a request body (they document 413)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !documentRoute(c) {
				return next(c) // not an operation of the document: the handler answers 404
			}
			r := c.Request()
			var e *apierr.Error
			if withBody && r.ContentLength > limit {
				// Declared over the limit: refused before a byte of it
				// is read (closeIfBodyUnread).
				e = apierr.New(apierr.RequestEntityTooLarge, "Request body is larger than %d bytes.", limit)
			} else {
				if r.Body != http.NoBody {
					r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
				}
				params := func() map[string]string { return documentParams(c) }
				if verr := s.validator.ValidateRouted(r, method, docPath, paramsPresent(c), params); verr != nil {
					e = validationError(verr)
				}
			}
			if e != nil {
				if upload && e.Code == apierr.RequestEntityTooLarge {
					// The body is over its limit: 413, in the words of
					// the library's own 20 MB check.
					e = state.FileTooLarge("")
				}
				return s.writeError(c, e)
			}
			return next(c)
		}
	}
}

// validationError is the service's error for a request the document
// refuses: the validator's code and message, as they are.
func validationError(e *openapi.Error) *apierr.Error {
	return &apierr.Error{Code: apierr.Code(e.Code), Message: e.Message}
}

// documentRoute reports whether the request is an operation of the
// document: the download-link route also matches segments that are not
// GetLiveResponseResultDownloadLink(index=n).
func documentRoute(c echo.Context) bool {
	for _, n := range c.ParamNames() {
		if n == functionParam && !downloadLinkSegment.MatchString(c.Param(n)) {
			return false
		}
	}
	return true
}

// paramsPresent reports whether every path parameter has a value.
func paramsPresent(c echo.Context) bool {
	for _, v := range c.ParamValues() {
		if v == "" {
			return false
		}
	}
	return true
}

// documentParams returns the path parameters of the request, which the
// routes name as the OpenAPI document does; the download-link function
// segment gives its index.
func documentParams(c echo.Context) map[string]string {
	names := c.ParamNames()
	params := make(map[string]string, len(names))
	for _, n := range names {
		v := c.Param(n)
		if n != functionParam {
			params[n] = v
		} else if m := downloadLinkSegment.FindStringSubmatch(v); m != nil {
			params["index"] = m[1]
		}
	}
	return params
}

// handleHTTPError renders every error that reaches echo in the service's
// error body.
func (s *Server) handleHTTPError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	_ = s.writeError(c, err)
}
