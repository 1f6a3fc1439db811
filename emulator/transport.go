package emulator

import (
	"net/http"
	"net/http/httptest"
)

// Client returns an HTTP client that calls the emulator in memory, with no
// listener: every request, whatever its host, is served by Handler. Use it
// in tests that run the emulator in-process.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: handlerTransport{s.echo}}
}

// handlerTransport is a RoundTripper that serves requests with a handler.
type handlerTransport struct{ h http.Handler }

// RoundTrip serves r in memory.
func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	resp := w.Result()
	resp.Request = r
	return resp, nil
}
