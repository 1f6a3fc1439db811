package parity

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Request and response headers a recording keeps: those a client acts on.
var (
	requestHeaders  = []string{"Content-Type"}
	responseHeaders = []string{"Content-Type", "Retry-After", "Location", "WWW-Authenticate", "x-ms-error-code"}
)

// Recorder records the exchanges of the requests whose context carries a
// scenario (WithScenario), scrubbed, and writes each scenario's recording
// to its directory when the scenario ends.
type Recorder struct {
	dir  string
	base string

	mu        sync.Mutex
	scenarios map[Key]*scenarioRecording
}

type scenarioRecording struct {
	rec   Recording
	scrub *scrubber
}

// NewRecorder returns a recorder that writes to dir. base is the target's
// base URL, written <base> in recordings.
func NewRecorder(dir, base string) *Recorder {
	return &Recorder{dir: dir, base: base, scenarios: map[Key]*scenarioRecording{}}
}

// Transport returns a RoundTripper that records what goes through next
// (nil: http.DefaultTransport).
func (r *Recorder) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &recordingTransport{r: r, next: next}
}

// Begin starts the recording of scenario k, dropping any earlier one.
func (r *Recorder) Begin(k Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scenarios[k] = &scenarioRecording{
		rec:   Recording{Feature: k.Feature, Scenario: k.Scenario, Exchanges: []Exchange{}},
		scrub: newScrubber(r.base),
	}
}

// End writes the recording of scenario k to the directory.
func (r *Recorder) End(k Key) error {
	r.mu.Lock()
	sr := r.scenarios[k]
	delete(r.scenarios, k)
	r.mu.Unlock()
	if sr == nil {
		return nil
	}
	return Write(r.dir, sr.rec)
}

type recordingTransport struct {
	r    *Recorder
	next http.RoundTripper
}

// RoundTrip sends req and records the exchange under its scenario.
func (t *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	k, ok := scenarioOf(req.Context())
	if !ok {
		return t.next.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	res, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resBody, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(resBody))

	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	sr := t.r.scenarios[k]
	if sr == nil {
		return res, nil
	}
	s := sr.scrub
	sr.rec.Exchanges = append(sr.rec.Exchanges, Exchange{
		Request: Request{
			Method: req.Method,
			URL:    s.url(req.URL),
			Header: s.headers(req.Header, requestHeaders...),
			Body:   s.body(req.Header.Get("Content-Type"), reqBody),
		},
		Response: Response{
			Status: res.StatusCode,
			Header: s.headers(res.Header, responseHeaders...),
			Body:   s.body(res.Header.Get("Content-Type"), resBody),
		},
	})
	return res, nil
}
