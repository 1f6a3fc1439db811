package emulator

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/apierr"
	"github.com/mdelive/mde-emulator/internal/guid"
)

// downloadBlob serves a result link (in place of Azure Blob Storage). It
// needs no token: the link's signature and expiry are the credential.
func (s *Server) downloadBlob(c echo.Context) error {
	r := c.Request()
	if p, ok := parseBlobPath(r.URL.Path); ok {
		noteCommand(c, p.actionID, p.index) // journaled whatever the answer
		if x := exchangeOf(c); x != nil {
			x.tenantID = p.tenantID // no token: the link names its tenant
		}
	}
	b, berr := s.links.open(r.URL.Path, r.URL.Query())
	if berr != nil {
		return s.writeBlobError(c, berr)
	}
	n := b.result.SizeHint()
	if !s.blobs.take(n) {
		c.Response().Header().Set("Retry-After", "1")
		return s.writeBlobError(c, blobFault(http.StatusServiceUnavailable, "", "", false, r.URL.Query())) // ServerBusy
	}
	defer s.blobs.give(n)
	h := c.Response().Header()
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("Last-Modified", s.clock.Now().UTC().Format(http.TimeFormat))
	return c.Blob(http.StatusOK, b.ContentType(), b.Content())
}

// maxBlobBytes bounds the bytes of result files the emulator holds for
// the downloads in flight. A download makes its file before it sends it
// (a GetFile's gzipped: up to a library file's 20 MB, or a fixture's
// file), and a link may be fetched by any number of connections at once,
// each holding its copy until the client has read it. Past the bound a
// download is answered 503 ServerBusy with Retry-After: 1, as Azure
// Storage answers a busy account; a file larger than the bound is still
// served when no other download is in flight.
const maxBlobBytes = 256 << 20

// blobBudget counts the bytes of the downloads in flight against max.
type blobBudget struct {
	max  int64
	used atomic.Int64
}

// take counts n more bytes and reports whether they fit; past the bound
// it counts nothing, unless nothing else is in flight.
func (b *blobBudget) take(n int64) bool {
	if u := b.used.Add(n); u > b.max && u != n {
		b.used.Add(-n)
		return false
	}
	return true
}

// give stops counting n bytes a download held.
func (b *blobBudget) give(n int64) { b.used.Add(-n) }

// writeBlobError answers with an error of the blob store in Azure
// Storage's terms: its XML error body, x-ms-error-code and x-ms-request-id.
// Every error under /_blob goes through it, injected faults included.
func (s *Server) writeBlobError(c echo.Context, berr *blobError) error {
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

// blobError is an error of the blob store, in Azure Storage's terms.
type blobError struct {
	Status  int
	Code    string // AuthenticationFailed, BlobNotFound, ...
	Message string
	Detail  string // AuthenticationErrorDetail
}

// Error returns the code and the message.
func (e *blobError) Error() string { return e.Code + ": " + e.Message }

// authFailed is the blob store's refusal of a link's credentials.
func authFailed(detail string) *blobError {
	return &blobError{Status: 403, Code: "AuthenticationFailed",
		Message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
		Detail:  detail}
}

// expiredLinkError is the blob store's answer to a link whose time is up
// (q is the link's query: its se is named). A fault rule that fails a
// download with 403 answers with it too.
func expiredLinkError(q url.Values) *blobError {
	return authFailed(fmt.Sprintf("Signed expiry time [%s] must be after signed start time [%s]",
		formatSE(q.Get("se")), clock.Wall().UTC().Format(time.RFC1123)))
}

// blobFault is the blob store's answer when a fault rule fails a download
// with status. A 403 is exactly the refusal of an expired link. Other
// statuses carry Azure Storage's code for them (400 InvalidInput, 404
// BlobNotFound, 429 and 503 ServerBusy, 500 InternalError) with its
// message, unless the rule named a code of its own (custom true), which is
// kept with the rule's message.
func blobFault(status int, code, message string, custom bool, q url.Values) *blobError {
	if status == 403 {
		return expiredLinkError(q)
	}
	if !custom {
		switch status {
		case 400:
			code, message = "InvalidInput", "One of the request inputs is not valid."
		case 404:
			code, message = "BlobNotFound", "The specified blob does not exist."
		case 429, 503:
			code, message = "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
		case 500:
			code, message = "InternalError", "The server encountered an internal error. Please retry the request."
		}
	}
	return &blobError{Status: status, Code: code, Message: message}
}

// formatSE shows a link's se as Azure Storage does in its error detail.
func formatSE(se string) string {
	if t, err := time.Parse(time.RFC3339, se); err == nil {
		return t.UTC().Format(time.RFC1123)
	}
	return se
}
