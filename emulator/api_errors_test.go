package emulator_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/internal/journal"
)

// TestRefusalsKeepTheConnection checks that a refusal of a request with a
// small body (a 429 to a client hammering runliveresponse, a 401) answers
// on a connection the client can use again: a client in a 429 storm must
// not pay a new connection per call.
func TestRefusalsKeepTheConnection(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := emulator.NewHTTPServer(e.srv.Handler(), emulator.ServerLimits{})
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })

	var dials atomic.Int32
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	defer client.CloseIdleConnections()
	body := `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}],"Comment":"storm"}`
	statuses := map[int]int{}
	for i := range 14 {
		// One machine: the first call starts an action, the next ones get
		// 400 ActiveRequestAlreadyExists until the limit's 429s; the last
		// two go without a token (401).
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/api/machines/"+winMachine+"/runliveresponse", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if i < 12 {
			req.Header.Set("Authorization", "Bearer "+e.token)
		}
		var reused bool
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) { reused = ci.Reused }}))
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, res.Body) // a connection is reused once its answer is read
		res.Body.Close()
		statuses[res.StatusCode]++
		if res.Close {
			t.Errorf("call %d: %d with Connection: close", i, res.StatusCode)
		}
		if i > 0 && !reused {
			t.Errorf("call %d (%d): on a new connection", i, res.StatusCode)
		}
	}
	if statuses[429] < 2 || statuses[401] != 2 || statuses[201] != 1 {
		t.Errorf("statuses = %v, want a 201, 429s and two 401s", statuses)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	// The refused bodies reached the journal as read.
	for _, en := range e.srv.Journal().Query(journal.Filter{Status: 429}) {
		if !strings.Contains(en.RequestBody, "storm") || en.BodyTruncated {
			t.Errorf("429 journaled with body %q (cut: %v)", en.RequestBody, en.BodyTruncated)
		}
	}
}
