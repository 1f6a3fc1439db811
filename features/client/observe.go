package client

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// observer records what the client was answered when it polled an
// action: the journal keeps requests, not what their responses said, and
// whether a client saw a final status is judged on what it saw.
type observer struct {
	next http.Handler

	mu   sync.Mutex
	seen map[string][]string // poll path (lower case) → action status of each 200, in order
}

func newObserver(next http.Handler) *observer {
	return &observer{next: next, seen: map[string][]string{}}
}

// maxObservedBody bounds the response body an observer reads.
const maxObservedBody = 1 << 20

func (o *observer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
