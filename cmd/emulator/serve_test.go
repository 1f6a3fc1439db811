package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
)

// startServing runs the emulator with args until the test cancels it, and
// returns its base URL, the cancel, the end of run and its log.
func startServing(t *testing.T, args ...string) (base string, cancel context.CancelFunc, done <-chan error, log *syncBuffer) {
	t.Helper()
	log = &syncBuffer{}
	old := stderr
	stderr = log
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	end := make(chan error, 1)
	go func() {
		end <- run(ctx, append([]string{"--addr", "127.0.0.1:0", "--clock", "manual"}, args...), out)
		close(end) // for the cleanup, after the test took the result
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-end:
		case <-time.After(15 * time.Second):
			t.Error("run did not return")
		}
		stderr = old
	})
	addr := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for i := 0; i < 200; i++ {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			return m[1], cancel, end, log
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no banner: %q", out.String())
	return
}

// waitServed waits for run to return, at most within, and wants nil.
func waitServed(t *testing.T, done <-chan error, within time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v, want nil (exit 0)", err)
		}
	case <-time.After(within):
		t.Fatalf("run did not return within %s of its context's end", within)
	}
}

// At shutdown a journal/wait long-poll answers at once, unsatisfied, and
// the shutdown is a clean drain.
func TestRunShutdownWakesLongPolls(t *testing.T) {
	base, cancel, done, log := startServing(t, "--shutdown-grace", "10s")
	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := http.Post(base+"/_emulator/journal/wait", "application/json", strings.NewReader(`{"filter":{"path":"/never"},"timeout":"60s"}`))
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		answered <- answer{status: res.StatusCode, body: string(b)}
	}()
	time.Sleep(200 * time.Millisecond) // the long-poll is waiting
	began := time.Now()
	cancel()
	select {
	case a := <-answered:
		if a.err != nil || a.status != 200 || !strings.Contains(a.body, `"satisfied":false`) {
			t.Errorf("long-poll: %d %s %v", a.status, a.body, a.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the long-poll was not woken by the shutdown")
	}
	waitServed(t, done, 5*time.Second)
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("shutdown took %s", took)
	}
	if !strings.Contains(log.String(), "every request finished") {
		t.Errorf("log: %s", log)
	}
}

// A request still running after the grace is cut, named in the log, and
// run still returns nil: no "context deadline exceeded", no exit 1.
func TestRunShutdownCutsRequestsPastTheGrace(t *testing.T) {
	base, cancel, done, log := startServing(t, "--shutdown-grace", "300ms")
	post := func(path, body string) string {
		t.Helper()
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s: %d %s", path, res.StatusCode, b)
		}
		return string(b)
	}
	post("/_emulator/faults", `{"match":{"method":"GET","path":"/api/machines"},"effect":{"latency":"1m"}}`)
	token := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(post("/_emulator/tokens", `{}`))[1]
	cut := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", base+"/api/machines", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		cut <- err
	}()
	time.Sleep(200 * time.Millisecond) // the request is in its latency
	began := time.Now()
	cancel()
	waitServed(t, done, 5*time.Second)
	if took := time.Since(began); took < 300*time.Millisecond || took > 2*time.Second {
		t.Errorf("shutdown took %s, want the grace of 300ms and a little", took)
	}
	select {
	case err := <-cut:
		if err == nil {
			t.Error("the request past the grace was answered")
		}
	case <-time.After(5 * time.Second):
		t.Error("the request past the grace was not cut")
	}
	if !strings.Contains(log.String(), "cut 1 request(s) still running: GET /api/machines (running ") {
		t.Errorf("log does not name the cut request: %s", log)
	}
}

func TestServerFlags(t *testing.T) {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	f := addServerFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if got, want := f.serverLimits(), emulator.DefaultServerLimits(); got != want || f.grace != 10*time.Second {
		t.Errorf("defaults: %+v, grace %s; want %+v, 10s", got, f.grace, want)
	}
	if err := fs.Parse([]string{"--read-timeout", "0", "--write-timeout", "5s", "--idle-timeout", "1m", "--max-header-bytes", "4096", "--max-connections", "0", "--shutdown-grace", "1s"}); err != nil {
		t.Fatal(err)
	}
	l := f.serverLimits()
	if l.ReadTimeout != -1 || l.WriteTimeout != 5*time.Second || l.IdleTimeout != time.Minute || l.MaxHeaderBytes != 4096 || l.MaxConnections != -1 || f.grace != time.Second {
		t.Errorf("parsed: %+v, grace %s", l, f.grace)
	}
	hs := emulator.NewHTTPServer(http.NotFoundHandler(), l)
	if hs.ReadTimeout != 0 || hs.WriteTimeout != 5*time.Second || hs.IdleTimeout != time.Minute || hs.MaxHeaderBytes != 4096 || hs.ReadHeaderTimeout != 10*time.Second {
		t.Errorf("server: read %s write %s idle %s header %s max %d", hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout, hs.ReadHeaderTimeout, hs.MaxHeaderBytes)
	}
	if err := fs.Parse([]string{"--read-timeout", "soon"}); err == nil {
		t.Error("--read-timeout soon: no error")
	}
}

// TestInflight: the requests being served are listed and counted, and
// leave when they are answered.
func TestInflight(t *testing.T) {
	track := newInflight()
	release := make(chan struct{})
	entered := make(chan struct{})
	h := track.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	}))
	const n = 35
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/api/machineactions/%d", i), nil)
			h.ServeHTTP(httptest.NewRecorder(), r)
		}()
	}
	for range n {
		<-entered
	}
	if began, serving := track.activity(); began != n || serving != n {
		t.Errorf("activity with %d in flight = %d begun, %d serving", n, began, serving)
	}
	list := track.list()
	if len(list) != n {
		t.Errorf("list has %d requests, want %d: %q", len(list), n, list)
	}
	for _, l := range list {
		if !strings.HasPrefix(l, "GET /api/machineactions/") {
			t.Errorf("list entry %q", l)
		}
	}
	close(release)
	for range n {
		<-done
	}
	if began, serving := track.activity(); began != n || serving != 0 {
		t.Errorf("activity once answered = %d begun, %d serving; want %d, 0", began, serving, n)
	}
	if list := track.list(); len(list) != 0 {
		t.Errorf("list once answered: %q", list)
	}
}

// BenchmarkInflightWrap is what the tracking of requests costs each one,
// on every core at once (-cpu 1,2,4…): one mutex, 112–120 ns a request on
// one core and 126–141 ns on two (docs/performance.md, "Idle RSS").
func BenchmarkInflightWrap(b *testing.B) {
	h := newInflight().wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	b.RunParallel(func(pb *testing.PB) {
		r := httptest.NewRequest(http.MethodGet, "/api/machineactions/x", nil)
		w := httptest.NewRecorder()
		for pb.Next() {
			h.ServeHTTP(w, r)
		}
	})
}
