package emulator

import (
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// apiLiterals maps the lower-case form of every literal path segment under
// /api to its canonical spelling.
var apiLiterals = map[string]string{
	"api":             "api",
	"machines":        "machines",
	"runliveresponse": "runliveresponse",
	"machineactions":  "machineactions",
	"cancel":          "cancel",
	"libraryfiles":    "libraryfiles",
}

var downloadLinkSegment = regexp.MustCompile(`(?i)^GetLiveResponseResultDownloadLink\(index=([0-9]+)\)$`)

// canonicalAPIPath makes paths under /api case-insensitive, as the service
// is (its documentation writes both /API/machines/... and /api/...): every
// literal segment is rewritten to its canonical spelling before routing,
// while ids and file names keep theirs.
func canonicalAPIPath(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		p := r.URL.Path
		if len(p) < 4 || !strings.EqualFold(p[:4], "/api") || (len(p) > 4 && p[4] != '/') {
			return next(c)
		}
		if isCanonicalFast(p) {
			return next(c)
		}
		segs := strings.Split(p[1:], "/")
		changed := false
		for i, seg := range segs {
			if canon, ok := apiLiterals[strings.ToLower(seg)]; ok {
				if canon != seg && !(i > 1 && isParamSlot(segs, i)) {
					segs[i], changed = canon, true
				}
				continue
			}
			if m := downloadLinkSegment.FindStringSubmatch(seg); m != nil {
				canon := "GetLiveResponseResultDownloadLink(index=" + m[1] + ")"
				if canon != seg {
					segs[i], changed = canon, true
				}
			}
		}
		if changed {
			r.URL.Path = "/" + strings.Join(segs, "/")
			r.URL.RawPath = ""
		}
		return next(c)
	}
}

// isParamSlot reports whether segment i of an /api path holds an id or a
// name rather than a literal: /api/machines/{id}, /api/machineactions/{id},
// /api/libraryfiles/{fileName}.
func isParamSlot(segs []string, i int) bool {
	switch strings.ToLower(segs[i-1]) {
	case "machines", "machineactions", "libraryfiles":
		return i == 2
	}
	return false
}

// isCanonicalFast reports, without allocating, that p needs no rewriting:
// it has no upper-case letter (so every literal is in its lower-case
// canonical spelling) and no download-link segment (whose canonical
// spelling is mixed-case).
func isCanonicalFast(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return !strings.Contains(p, "getliveresponseresultdownloadlink")
}
