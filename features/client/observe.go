package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// observer records what the client was answered when it polled an
// action, and the device codes it was given: the journal keeps requests,
// not what their responses said; whether a client saw a final status is
// judged on what it saw, and the kit signs in with the codes it was given.
type observer struct {
	next http.Handler

	mu     sync.Mutex
	seen   map[string][]string // poll path (lower case) → action status of each 200, in order
	issued []issuedCode        // the device codes the client was given, in order
}

// issuedCode is a device code's user code the emulator gave the client,
// and when (wall time).
type issuedCode struct {
	userCode string
	at       time.Time
}

func newObserver(next http.Handler) *observer {
	return &observer{next: next, seen: map[string][]string{}}
}

// maxObservedBody bounds the response body an observer reads.
const maxObservedBody = 1 << 20

func (o *observer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && isDeviceCodePath(r.URL.Path) {
		o.deviceCode(w, r)
		return
	}
	if r.Method != http.MethodGet || !isPollPath(r.URL.Path) {
		o.next.ServeHTTP(w, r)
		return
	}
	rec := &teeWriter{ResponseWriter: w, status: http.StatusOK}
	o.next.ServeHTTP(rec, r)
	if rec.status != http.StatusOK {
		return
	}
	var body struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(rec.body.Bytes(), &body) != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	p := strings.ToLower(r.URL.Path)
	o.seen[p] = append(o.seen[p], body.Status)
}

// statuses returns the statuses the polls of path were answered with (the
// 200s only), in order.
func (o *observer) statuses(path string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.seen[strings.ToLower(path)]...)
}

// deviceCode passes a device authorization request through and keeps the
// user code of a 200.
func (o *observer) deviceCode(w http.ResponseWriter, r *http.Request) {
	rec := &teeWriter{ResponseWriter: w, status: http.StatusOK}
	o.next.ServeHTTP(rec, r)
	var body struct {
		UserCode string `json:"user_code"`
	}
	if rec.status != http.StatusOK || json.Unmarshal(rec.body.Bytes(), &body) != nil || body.UserCode == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.issued = append(o.issued, issuedCode{userCode: body.UserCode, at: clock.Wall()})
}

// deviceCodes returns the device codes the client was given so far.
func (o *observer) deviceCodes() []issuedCode {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]issuedCode(nil), o.issued...)
}

// isDeviceCodePath reports whether p is a device authorization endpoint,
// /{tenant}/oauth2[/v2.0]/devicecode.
func isDeviceCodePath(p string) bool {
	p = strings.ToLower(p)
	return strings.HasSuffix(p, "/oauth2/devicecode") || strings.HasSuffix(p, "/oauth2/v2.0/devicecode")
}

// isPollPath reports whether p is /api/machineactions/{id}.
func isPollPath(p string) bool {
	rest, ok := strings.CutPrefix(strings.ToLower(p), "/api/machineactions/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// teeWriter passes a response through and keeps its status and the start
// of its body.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (t *teeWriter) WriteHeader(status int) {
	t.status = status
	t.ResponseWriter.WriteHeader(status)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if room := maxObservedBody - t.body.Len(); room > 0 {
		t.body.Write(p[:min(len(p), room)])
	}
	return t.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (a dropped
// connection is a panic the server handles; nothing here needs it).
func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
