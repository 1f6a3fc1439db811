package emulator

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// strictResponses validates every /api response against the OpenAPI
// document before it is sent; a response that does not match becomes a 500
// naming the mismatch (Options.StrictResponses, for tests and conformance
// runs).
func (s *Server) strictResponses(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		// The body as the handlers read it, not read ahead of them: a
		// refusal does not wait for the body (closeIfBodyUnread).
		var reqBody bytes.Buffer
		if req.Body != nil && req.Body != http.NoBody {
			req.Body = &teeBody{ReadCloser: req.Body, copy: &reqBody}
		}
		res := c.Response()
		orig := res.Writer
		rec := &bufferedWriter{header: http.Header{}, under: orig}
		res.Writer = rec
		err := next(c)
		if err != nil {
			s.handleHTTPError(err, c)
		}
		res.Writer = orig
		check, _ := http.NewRequestWithContext(req.Context(), req.Method, req.URL.String(), bytes.NewReader(reqBody.Bytes()))
		check.Header = req.Header
		if verr := s.validator.ValidateResponse(check, rec.status, rec.header, rec.body.Bytes()); verr != nil {
			// The mismatch may quote the response, and a response may
			// hold a result link: its signature is scrubbed.
			msg := redactText(verr.Error())
			s.log.Error("response does not match the OpenAPI document", "method", req.Method, "path", req.URL.Path, "err", msg)
			res.Committed = false
			res.Status = 0
			for k := range orig.Header() {
				orig.Header().Del(k)
			}
			return s.writeError(c, apierr.New(apierr.InternalServerError, "The emulator's response does not match its OpenAPI document: %s", msg))
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

// teeBody is a request body that copies what is read of it, up to
// maxUploadBody bytes.
type teeBody struct {
	io.ReadCloser
	copy *bytes.Buffer
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if room := maxUploadBody - t.copy.Len(); room > 0 {
		t.copy.Write(p[:min(n, room)])
	}
	return n, err
}

// bufferedWriter keeps a response in memory.
type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	under  http.ResponseWriter // the writer it buffers for
}

// SetReadDeadline and SetWriteDeadline reach the connection under the
// buffer, for http.ResponseController (extendDeadlines).
func (w *bufferedWriter) SetReadDeadline(t time.Time) error {
	return http.NewResponseController(w.under).SetReadDeadline(t)
}

func (w *bufferedWriter) SetWriteDeadline(t time.Time) error {
	return http.NewResponseController(w.under).SetWriteDeadline(t)
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
