package state

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator/apierr"
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
	// se has whole seconds: round up, so that a link is valid for at least
	// the whole lifetime, never a fraction of a second less.
	expiry := t.store.clock.Now().Add(t.store.Profile().LinkLifetime).UTC()
	if whole := expiry.Truncate(time.Second); whole.Before(expiry) {
		expiry = whole.Add(time.Second)
	}
	se := expiry.Format(time.RFC3339)
	path := fmt.Sprintf("%s%s/%s/CustomPlaybookCommandOutput/%d", BlobPrefix, t.ID, a.id, index)
	q := url.Values{"se": {se}, "sp": {"r"}, "sv": {"2019-07-07"}, "sr": {"b"}, "sig": {t.sign(path, se)}}
	return strings.TrimSuffix(baseURL, "/") + path + "?" + q.Encode(), nil
}

func (t *Tenant) sign(path, se string) string {
	h := hmac.New(sha256.New, t.linkKey)
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write([]byte(se))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
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

// Blob serves the result blob at path (below BlobPrefix) with the query of
// a link made by DownloadLink.
func (s *Store) Blob(path string, q url.Values) (Blob, *BlobError) {
	authFailed := func(detail string) *BlobError {
		return &BlobError{Status: 403, Code: "AuthenticationFailed",
			Message: "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
			Detail:  detail}
	}
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
	if !hmac.Equal([]byte(sig), []byte(t.sign(path, se))) {
		return Blob{}, authFailed("Signature did not match. String to sign used was r\n\n" + se)
	}
	expiry, err := time.Parse(time.RFC3339, se)
	if err != nil {
		return Blob{}, authFailed("Signature fields not well formed.")
	}
	now := s.clock.Now()
	if !now.Before(expiry) {
		return Blob{}, authFailed(fmt.Sprintf("Signed expiry time [%s] must be after signed start time [%s]",
			expiry.Format(time.RFC1123), now.UTC().Format(time.RFC1123)))
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
