package emulator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/servicehosts"
	"github.com/mdelive/mde-emulator/internal/state"
)

// blobPrefix is the path under which the emulator serves result blobs, in
// place of Azure Blob Storage.
const blobPrefix = "/_blob/investigation-actions-data/"

// links makes the result download links of GetLiveResponseResultDownloadLink
// (SAS-like: a path, an expiry se and a signature sig in the query) and
// checks them when a client downloads.
type links struct {
	store *state.Store
	clock *clock.Clock
	key   []byte // signs links, with the generation of the link's tenant
}

func newLinks(store *state.Store, clk *clock.Clock) *links {
	l := &links{store: store, clock: clk, key: make([]byte, 32)}
	_, _ = rand.Read(l.key)
	return l
}

// link returns a fresh link to the result of command index of t's action
// id, valid for the profile's link lifetime. baseURL is where the emulator
// is reached (scheme and host).
func (l *links) link(t *state.Tenant, id string, index int, baseURL string) (string, error) {
	a, err := t.Action(id)
	if err != nil {
		return "", err
	}
	if _, err := a.Result(index); err != nil {
		return "", err
	}
	// A link works for the profile's link lifetime of the client's wall
	// time (docs/time.md). se, the expiry a client reads, is the wall-clock
	// instant, rounded up to the whole second. What the emulator checks is
	// the emulated instant the lifetime ends at (the lifetime converted to
	// emulated time, rounded up to the whole second too), carried inside
	// sig so that it is signed with the path and se.
	lifetime := l.store.Profile().LinkLifetime
	se := ceilSecond(clock.Wall().Add(lifetime)).UTC().Format(time.RFC3339)
	expiry := ceilSecond(l.clock.Now().Add(l.clock.EmulatedDuration(lifetime)))
	path := fmt.Sprintf("%s%s/%s/CustomPlaybookCommandOutput/%d", blobPrefix, t.ID, a.ID(), index)
	q := url.Values{"se": {se}, "sp": {"r"}, "sv": {"2019-07-07"}, "sr": {"b"}, "sig": {l.sign(t, path, se, expiry)}}
	return strings.TrimSuffix(baseURL, "/") + path + "?" + q.Encode(), nil
}

// ceilSecond rounds t up to the whole second.
func ceilSecond(t time.Time) time.Time {
	if whole := t.Truncate(time.Second); whole.Before(t) {
		return whole.Add(time.Second)
	}
	return t
}

// sign returns the sig of t's link to path with the shown expiry se and
// the emulated expiry: the emulated expiry (8 bytes, Unix nanoseconds)
// followed by the HMAC of all three, in base64. A client treats it as
// opaque.
func (l *links) sign(t *state.Tenant, path, se string, expiry time.Time) string {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(expiry.UnixNano()))
	return base64.StdEncoding.EncodeToString(append(exp[:], l.mac(t, path, se, exp[:])...))
}

// mac is the HMAC of a link of t. It covers t's generation: a link stops
// working when the state it was made in is replaced (a reset, new
// fixtures), even for a tenant of the same id.
func (l *links) mac(t *state.Tenant, path, se string, exp []byte) []byte {
	var gen [8]byte
	binary.BigEndian.PutUint64(gen[:], t.Generation())
	h := hmac.New(sha256.New, l.key)
	h.Write(gen[:])
	h.Write([]byte(path))
	h.Write([]byte{0})
	h.Write([]byte(se))
	h.Write([]byte{0})
	h.Write(exp)
	return h.Sum(nil)
}

// verify checks sig against t's path and se and returns the emulated
// expiry it carries.
func (l *links) verify(t *state.Tenant, path, se, sig string) (time.Time, bool) {
	b, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(b) != 8+sha256.Size {
		return time.Time{}, false
	}
	if !hmac.Equal(b[8:], l.mac(t, path, se, b[:8])) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))).UTC(), true
}

// blob is a result a link opened: its file is made when it is sent
// (Content), so that a download can be refused for the bytes in flight
// before they are made (downloadBlob).
type blob struct {
	result *state.Result
	at     time.Time // the instant of the download: a GetFile's gzip header has it
}

// Content returns the result's file.
func (b blob) Content() []byte { return b.result.Content(b.at) }

// ContentType returns the result's media type.
func (b blob) ContentType() string { return b.result.ContentType() }

// blobPath is what a result blob's path names.
type blobPath struct {
	tenantID, actionID string
	index              int
}

// parseBlobPath reads path (blobPrefix + {tenant}/{action}/
// CustomPlaybookCommandOutput/{index}, as link makes it).
func parseBlobPath(path string) (blobPath, bool) {
	rest, ok := strings.CutPrefix(path, blobPrefix)
	if !ok {
		return blobPath{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[2] != "CustomPlaybookCommandOutput" {
		return blobPath{}, false
	}
	index, err := strconv.Atoi(parts[3])
	if err != nil || index < 0 {
		return blobPath{}, false
	}
	return blobPath{tenantID: parts[0], actionID: parts[1], index: index}, true
}

// open serves the result blob at path (below blobPrefix) with the query q
// of a link made by link.
func (l *links) open(path string, q url.Values) (blob, *blobError) {
	notFound := &blobError{Status: 404, Code: "BlobNotFound", Message: "The specified blob does not exist."}
	p, ok := parseBlobPath(path)
	if !ok {
		return blob{}, notFound
	}
	t, ok := l.store.Tenant(p.tenantID)
	if !ok {
		return blob{}, notFound
	}
	se, sig := q.Get("se"), q.Get("sig")
	if se == "" || sig == "" {
		return blob{}, authFailed("Signature fields not well formed.")
	}
	expiry, ok := l.verify(t, path, se, sig)
	if !ok {
		return blob{}, authFailed("Signature did not match. String to sign used was r\n\n" + se)
	}
	if _, err := time.Parse(time.RFC3339, se); err != nil {
		return blob{}, authFailed("Signature fields not well formed.")
	}
	now := l.clock.Now()
	if !now.Before(expiry) {
		return blob{}, expiredLinkError(q)
	}
	a, err := t.Action(p.actionID)
	if err != nil {
		return blob{}, notFound
	}
	r, err := a.Result(p.index)
	if err != nil {
		return blob{}, notFound
	}
	return blob{result: r, at: now}, nil
}

// blobBaseURL returns where a request's result links point: the blob host
// of the real service's names (servicehosts.BlobHost) when the client
// reached the API under a real API host name (the proxy mode, or --tls
// with the real names pointed at the emulator), so that a link looks and
// travels like the service's; else the emulator's own address, as the
// client used it.
func blobBaseURL(c echo.Context) string {
	r := c.Request()
	if servicehosts.Of(r.Host) != servicehosts.API {
		return baseURL(c)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := servicehosts.BlobHost
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != map[string]string{"http": "80", "https": "443"}[scheme] {
		host = net.JoinHostPort(host, port)
	}
	return scheme + "://" + host
}
