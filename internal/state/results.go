package state

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/apierr"
)

// result is what a completed command left to download.
type result struct {
	script *ScriptResult // RunScript
	file   []byte        // GetFile: the file's bytes
	path   string
}

// ScriptResult is the JSON file a RunScript produces.
type ScriptResult struct {
	ScriptName   string `json:"script_name"`
	ExitCode     int    `json:"exit_code"`
	ScriptOutput string `json:"script_output"`
	ScriptErrors string `json:"script_errors"`
}

// BlobPrefix is the path under which the emulator serves result blobs, in
// place of Azure Blob Storage.
const BlobPrefix = "/_blob/investigation-actions-data/"

// DownloadLink returns a fresh link to the result of command index of the
// action id, valid for the profile's link lifetime. baseURL is where the
// emulator is reached (scheme and host).
func (t *Tenant) DownloadLink(id string, index int, baseURL string) (string, error) {
	a, err := t.Action(id)
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	if index < 0 || index >= len(a.commands) {
		n := len(a.commands)
		a.mu.Unlock()
		return "", apierr.New(apierr.ResourceNotFound,
			"Command index %d was not found in machine action %s, which has %d command(s).", index, a.id, n)
	}
	c := a.commands[index]
	a.mu.Unlock()
	switch {
	case c.Type == PutFile:
		return "", apierr.New(apierr.BadRequest, "Command %d of machine action %s is a PutFile, which has no result.", index, a.id)
	case c.status != CommandCompleted || c.result == nil:
		return "", apierr.New(apierr.BadRequest,
			"Command %d of machine action %s has no result: its status is %s.", index, a.id, c.status)
	}
	// A link works for the profile's link lifetime of the client's wall
	// time (docs/time.md). se, the expiry a client reads, is the wall-clock
	// instant, rounded up to the whole second. What the emulator checks is
	// the emulated instant the lifetime ends at (the lifetime converted to
	// emulated time, rounded up to the whole second too), carried inside
	// sig so that it is signed with the path and se.
	clk := t.store.clock
	lifetime := t.store.Profile().LinkLifetime
	se := ceilSecond(clock.Wall().Add(lifetime)).UTC().Format(time.RFC3339)
	expiry := ceilSecond(clk.Now().Add(clk.EmulatedDuration(lifetime)))
	path := fmt.Sprintf("%s%s/%s/CustomPlaybookCommandOutput/%d", BlobPrefix, t.ID, a.id, index)
	q := url.Values{"se": {se}, "sp": {"r"}, "sv": {"2019-07-07"}, "sr": {"b"}, "sig": {t.sign(path, se, expiry)}}
	return strings.TrimSuffix(baseURL, "/") + path + "?" + q.Encode(), nil
}

// ceilSecond rounds t up to the whole second.
func ceilSecond(t time.Time) time.Time {
	if whole := t.Truncate(time.Second); whole.Before(t) {
		return whole.Add(time.Second)
	}
	return t
}

// sign returns the sig of a link to path with the shown expiry se and the
// emulated expiry: the emulated expiry (8 bytes, Unix nanoseconds) followed
// by the HMAC of all three, in base64. A client treats it as opaque.
func (t *Tenant) sign(path, se string, expiry time.Time) string {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(expiry.UnixNano()))
	return base64.StdEncoding.EncodeToString(append(exp[:], t.mac(path, se, exp[:])...))
}

func (t *Tenant) mac(path, se string, exp []byte) []byte {
	h := hmac.New(sha256.New, t.linkKey)
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write([]byte(se))
	h.Write([]byte{0})
	h.Write(exp)
	return h.Sum(nil)
}

// verify checks sig against path and se and returns the emulated expiry it
// carries.
func (t *Tenant) verify(path, se, sig string) (time.Time, bool) {
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(b) != 8+sha256.Size {
		return time.Time{}, false
	}
	if !hmac.Equal(b[8:], t.mac(path, se, b[:8])) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))).UTC(), true
}

// BlobError is an error of the blob store, in Azure Storage's terms.
type BlobError struct {
	Status  int
	Code    string // AuthenticationFailed, BlobNotFound, ...
	Message string
	Detail  string // AuthenticationErrorDetail
}

// Error returns the code and the message.
func (e *BlobError) Error() string { return e.Code + ": " + e.Message }

// Blob is a downloaded result: its bytes and content type.
type Blob struct {
	Content     []byte
	ContentType string
}

// authFailed is the blob store's refusal of a link's credentials.
func authFailed(detail string) *BlobError {
	return &BlobError{Status: 403, Code: "AuthenticationFailed",
		Message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
		Detail:  detail}
}

// ExpiredLinkError is the blob store's answer to a link whose time is up
// (q is the link's query: its se is named). A fault rule that fails a
// download with 403 answers with it too.
func (s *Store) ExpiredLinkError(q url.Values) *BlobError {
	return authFailed(fmt.Sprintf("Signed expiry time [%s] must be after signed start time [%s]",
		formatSE(q.Get("se")), clock.Wall().UTC().Format(time.RFC1123)))
}

// BlobFault is the blob store's answer when a fault rule fails a download
// with status. A 403 is exactly the refusal of an expired link. Other
// statuses carry Azure Storage's code for them (400 InvalidInput, 404
// BlobNotFound, 429 and 503 ServerBusy, 500 InternalError) with its
// message, unless the rule named a code of its own (custom true), which is
// kept with the rule's message.
func (s *Store) BlobFault(status int, code, message string, custom bool, q url.Values) *BlobError {
	if status == 403 {
		return s.ExpiredLinkError(q)
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
	return &BlobError{Status: status, Code: code, Message: message}
}

// formatSE shows a link's se as Azure Storage does in its error detail.
func formatSE(se string) string {
	if t, err := time.Parse(time.RFC3339, se); err == nil {
		return t.UTC().Format(time.RFC1123)
	}
	return se
}

// Blob serves the result blob at path (below BlobPrefix) with the query of
// a link made by DownloadLink.
func (s *Store) Blob(path string, q url.Values) (Blob, *BlobError) {
	notFound := &BlobError{Status: 404, Code: "BlobNotFound", Message: "The specified blob does not exist."}
	rest, ok := strings.CutPrefix(path, BlobPrefix)
	if !ok {
		return Blob{}, notFound
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[2] != "CustomPlaybookCommandOutput" {
		return Blob{}, notFound
	}
	t, ok := s.Tenant(parts[0])
	if !ok {
		return Blob{}, notFound
	}
	se, sig := q.Get("se"), q.Get("sig")
	if se == "" || sig == "" {
		return Blob{}, authFailed("Signature fields not well formed.")
	}
	expiry, ok := t.verify(path, se, sig)
	if !ok {
		return Blob{}, authFailed("Signature did not match. String to sign used was r\n\n" + se)
	}
	if _, err := time.Parse(time.RFC3339, se); err != nil {
		return Blob{}, authFailed("Signature fields not well formed.")
	}
	now := s.clock.Now()
	if !now.Before(expiry) {
		return Blob{}, s.ExpiredLinkError(q)
	}
	index, err := strconv.Atoi(parts[3])
	if err != nil {
		return Blob{}, notFound
	}
	a, aerr := t.Action(parts[1])
	if aerr != nil {
		return Blob{}, notFound
	}
	a.mu.Lock()
	var r *result
	if index >= 0 && index < len(a.commands) {
		r = a.commands[index].result
	}
	a.mu.Unlock()
	if r == nil {
		return Blob{}, notFound
	}
	if r.script != nil {
		b, _ := json.Marshal(r.script)
		return Blob{Content: b, ContentType: "application/json"}, nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Name = baseName(r.path)
	zw.ModTime = now
	_, _ = zw.Write(r.file)
	_ = zw.Close()
	return Blob{Content: buf.Bytes(), ContentType: "application/gzip"}, nil
}

// baseName returns the last element of a Windows or POSIX path.
func baseName(path string) string {
	if i := strings.LastIndexAny(path, `\/`); i >= 0 {
		return path[i+1:]
	}
	return path
}
