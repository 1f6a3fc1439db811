package emulator

import (
	"encoding/xml"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/guid"
	"github.com/mdelive/mde-emulator/internal/state"
)

// downloadBlob serves a result link (in place of Azure Blob Storage). It
// needs no token: the link's signature and expiry are the credential.
func (s *Server) downloadBlob(c echo.Context) error {
	r := c.Request()
	b, berr := s.store.Blob(r.URL.Path, r.URL.Query())
	if berr != nil {
		return s.writeBlobError(c, berr)
	}
	h := c.Response().Header()
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("Last-Modified", s.clock.Now().UTC().Format(http.TimeFormat))
	return c.Blob(http.StatusOK, b.ContentType, b.Content)
}

// writeBlobError answers with an error of the blob store in Azure
// Storage's terms: its XML error body, x-ms-error-code and x-ms-request-id.
// Every error under /_blob goes through it, injected faults included.
func (s *Server) writeBlobError(c echo.Context, berr *state.BlobError) error {
	type storageError struct {
		XMLName xml.Name `xml:"Error"`
		Code    string   `xml:"Code"`
		Message string   `xml:"Message"`
		Detail  string   `xml:"AuthenticationErrorDetail,omitempty"`
	}
	if x := exchangeOf(c); x != nil {
		x.errorCode = apierr.Code(berr.Code)
	}
	reqID := guid.New()
	body, _ := xml.Marshal(storageError{
		Code:    berr.Code,
		Message: berr.Message + "\nRequestId:" + reqID + "\nTime:" + s.clock.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"),
		Detail:  berr.Detail,
	})
	h := c.Response().Header()
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-error-code", berr.Code)
	return c.Blob(berr.Status, "application/xml", append([]byte(xml.Header), body...))
}
