package emulator

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/apierr"
)

// strictResponses validates every /api response against the OpenAPI
// document before it is sent; a response that does not match becomes a 500
// naming the mismatch (Options.StrictResponses, for tests and conformance
// runs).
func (s *Server) strictResponses(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		var reqBody []byte
		if req.Body != nil {
			reqBody, _ = readBody(c, maxUploadBody)
			req.Body = readCloser(reqBody)
		}
		res := c.Response()
		orig := res.Writer
		rec := &bufferedWriter{header: http.Header{}}
		res.Writer = rec
		err := next(c)
		if err != nil {
			s.handleHTTPError(err, c)
		}
		res.Writer = orig
		check, _ := http.NewRequestWithContext(req.Context(), req.Method, req.URL.String(), bytes.NewReader(reqBody))
		check.Header = req.Header
		if verr := s.validator.ValidateResponse(check, rec.status, rec.header, rec.body.Bytes()); verr != nil {
			s.log.Error("response does not match the OpenAPI document", "method", req.Method, "path", req.URL.Path, "err", verr)
			res.Committed = false
			res.Status = 0
			for k := range orig.Header() {
				orig.Header().Del(k)
			}
			return s.writeError(c, apierr.New(apierr.InternalServerError, "The emulator's response does not match its OpenAPI document: %v", verr))
		}
		h := orig.Header()
		for k, v := range rec.header {
			h[k] = v
		}
		orig.WriteHeader(rec.status)
		_, werr := orig.Write(rec.body.Bytes())
		return werr
	}
}

// bufferedWriter keeps a response in memory.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedWriter) Header() http.Header { return w.header }

func (w *bufferedWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
