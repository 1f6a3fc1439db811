package emulator

import (
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// functionParam is the path parameter of the download-link route,
// /machineactions/:id/:function: echo cannot route the OData segment
// GetLiveResponseResultDownloadLink(index=n) itself, so the route takes any
// segment and the handler answers 404 for one that is not the function.
const functionParam = "function"

// downloadLinkFunction is the function segment as the OpenAPI document
// writes it, with its parameter index.
const downloadLinkFunction = "GetLiveResponseResultDownloadLink(index={index})"

var downloadLinkSegment = regexp.MustCompile(`(?i)^GetLiveResponseResultDownloadLink\(index=([0-9]+)\)$`)

// canonicalAPIPath makes paths under /api case-insensitive, as the service
// is (its documentation writes both /API/machines/... and /api/...): the
// path is rewritten to the document's spelling before routing
// (openapi.Validator.CanonicalPath), while ids and file names keep theirs.
func (s *Server) canonicalAPIPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if p, changed := s.validator.CanonicalPath(r.URL.Path); changed {
			r.URL.Path = p
			r.URL.RawPath = ""
		}
		return next(c)
	}
}

// documentPath is the OpenAPI document's path of the echo route path:
// ":x" becomes "{x}", and ":function" the download-link function segment.
func documentPath(route string) string {
	segs := strings.Split(route, "/")
	for i, seg := range segs {
		if name, ok := strings.CutPrefix(seg, ":"); ok {
			if name == functionParam {
				segs[i] = downloadLinkFunction
			} else {
				segs[i] = "{" + name + "}"
			}
		}
	}
	return strings.Join(segs, "/")
}
