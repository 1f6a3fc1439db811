package emulator

import (
	"errors"
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

// RoundTrip serves r in memory. A handler that aborts (a fault rule that
// drops the connection) gives an error, as a reset connection does.
func (t handlerTransport) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			resp, err = nil, errConnectionReset
		}
	}()
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	resp = w.Result()
	resp.Request = r
	return resp, nil
}

// errConnectionReset is what an in-memory client sees when the emulator
// drops the connection.
var errConnectionReset = errors.New("emulator: connection reset by peer (a fault rule dropped it)")
