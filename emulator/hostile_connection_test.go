package emulator_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/internal/journal"
)

// hostileConnectionCases returns the hostile inputs of this area for
// TestHostileInput.
func hostileConnectionCases() []hostileCase {
	const submitPath = "/api/machines/" + winMachine + "/runliveresponse"
	const submitBody = `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"Get-Processes.ps1"}]}],"Comment":"hostile"}`
	// overMiB is a valid JSON body a little over the 1 MiB JSON limit.
	overMiB := func(prefix string) string {
		return prefix + `"Comment":"` + strings.Repeat("a", 1<<20+1024) + `"}`
	}
	// serve serves e's handler over loopback TCP with the one http.Server
	// constructor and limits, and returns its address.
	serve := func(e *env, limits emulator.ServerLimits) string {
		e.t.Helper()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			e.t.Fatal(err)
		}
		hs := emulator.NewHTTPServer(e.srv.Handler(), limits)
		go func() { _ = hs.Serve(ln) }()
		e.t.Cleanup(func() { _ = hs.Close() })
		return ln.Addr().String()
	}
	dial := func(e *env, addr string) net.Conn {
		e.t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(func() { conn.Close() })
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second)) // the test's own bound
		return conn
	}
	// readResp reads one response from br; a failure is status 0 with the
	// error as the body.
	readResp := func(e *env, br *bufio.Reader) resp {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return resp{t: e.t, body: []byte("no response: " + err.Error())}
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.Close {
			res.Header.Set("Connection", "close") // ReadResponse took it out
		}
		return resp{t: e.t, status: res.StatusCode, header: res.Header, body: b}
	}
	// isReset reports whether err is a connection reset, the other way a
	// server may end a connection with unread input.
	isReset := func(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }
	// mustClose reads a response from br and turns it into status 0
	// unless it came within a second of sent (raceSlowdown seconds under
	// the race detector) and the server ends the connection after it (what
	// a refusal before the body does).
	mustClose := func(e *env, conn net.Conn, br *bufio.Reader, sent time.Time) resp {
		r := readResp(e, br)
		if r.status == 0 {
			return r
		}
		if took := time.Since(sent); took > raceSlowdown*time.Second {
			return resp{t: e.t, body: fmt.Appendf(nil, "answered %d after %s, not at once", r.status, took)}
		}
		if !strings.EqualFold(r.header.Get("Connection"), "close") {
			return resp{t: e.t, body: fmt.Appendf(nil, "answered %d without Connection: close: %s", r.status, r.body)}
		}
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		if n, err := br.Read(make([]byte, 1)); n > 0 || !(errors.Is(err, io.EOF) || isReset(err)) {
			return resp{t: e.t, body: fmt.Appendf(nil, "answered %d, then the connection stayed open: %v", r.status, err)}
		}
		return r
	}
	// journaledUnread checks that the journal has one entry, of status, with no
	// body recorded (it was never read).
	journaledUnread := func(status int) func(e *env) {
		return func(e *env) {
			got := e.journal("").Entries
			if len(got) != 1 || got[0].Status != status || got[0].RequestBody != "" || !got[0].BodyTruncated {
				e.t.Errorf("journal: %+v", got)
			}
		}
	}
	fast := emulator.ServerLimits{ReadTimeout: 5 * time.Second}

	return []hostileCase{
		{
			// Needs no token: the journal kept the whole request line,
			// 640 MB for 10,000 of these. It keeps journal.FieldCap
			// bytes of each field.
			name: "a request line of 60 KB without a token",
			do: func(e *env) resp {
				long := strings.Repeat("a", 30<<10)
				return e.call("GET", "/api/machines/"+long+"?q="+long, "", "")
			},
			status: 401,
			after: func(e *env) {
				en := e.journal("?limit=2").Entries
				if len(en) == 0 || len(en[0].Path) > journal.FieldCap || len(en[0].Query) > journal.FieldCap || !en[0].URLTruncated {
					e.t.Errorf("journal entry of the long request: %+v", en)
				}
			},
		},
		{
			name:   "a JSON body over 1 MiB to runliveresponse",
			do:     func(e *env) resp { return e.api("POST", submitPath, overMiB(`{"Commands":[],`)) },
			status: 413, code: "RequestEntityTooLarge",
			after: func(e *env) {
				if r := e.api("GET", "/api/machineactions", ""); strings.Contains(string(r.body), `"id"`) {
					e.t.Errorf("an action was made: %s", r.body)
				}
			},
		},
		{
			// Only the file is over 20 MB; the body is under its own
			// limit (20 MB and 1 MiB of form): the same 413.
			name: "a library file one byte over 20 MB",
			// The whole body is read (it is under its limit): the bound
			// is on the answer, not on the time 20 MB take under -race.
			do:     func(e *env) resp { return e.upload("file", "big.bin", bytes.Repeat([]byte("a"), 20<<20+1), nil) },
			status: 413, code: "RequestEntityTooLarge", within: time.Minute,
		},
		{
			name:   "a control-plane JSON body over 1 MiB (tokens)",
			do:     func(e *env) resp { return e.call("POST", "/_emulator/tokens", "", overMiB(`{"appId":"`)) },
			status: 413, code: "RequestEntityTooLarge",
		},
		{
			name:   "a control-plane JSON body over 1 MiB (faults)",
			do:     func(e *env) resp { return e.call("POST", "/_emulator/faults", "", overMiB(`{"path":"`)) },
			status: 413, code: "RequestEntityTooLarge",
			after: func(e *env) {
				if r := e.call("GET", "/_emulator/faults", "", ""); !strings.Contains(string(r.body), `"rules":[]`) {
					e.t.Errorf("a fault rule was added: %s", r.body)
				}
			},
		},
		{
			name: "a JSON body over 1 MiB to cancel",
			do: func(e *env) resp {
				id := e.submit(winMachine, submitBody)
				return e.api("POST", "/api/machineactions/"+id+"/cancel", overMiB(`{`))
			},
			status: 413, code: "RequestEntityTooLarge",
		},
		{
			name: "a chunked JSON body over 1 MiB over a connection",
			do: func(e *env) resp {
				conn := dial(e, serve(e, fast))
				sent := time.Now()
				go func() {
					// The rest of the body is never read: this write stops
					// when the server closes the connection.
					w := bufio.NewWriter(conn)
					fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", submitPath, e.token)
					chunk := strings.Repeat("a", 64<<10)
					fmt.Fprintf(w, "%x\r\n%s\r\n", len(`{"Comment":"`), `{"Comment":"`)
					for range 64 { // 4 MiB
						if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk); err != nil {
							return
						}
					}
					_ = w.Flush()
				}()
				br := bufio.NewReader(conn)
				return mustClose(e, conn, br, sent)
			},
			status: 413, code: "RequestEntityTooLarge",
		},
		{
			name: "an upload declared over the body limit, with Expect: 100-continue",
			do: func(e *env) resp {
				conn := dial(e, serve(e, fast))
				sent := time.Now()
				fmt.Fprintf(conn, "POST /api/libraryfiles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
					e.token, 22<<20)
				br := bufio.NewReader(conn)
				return mustClose(e, conn, br, sent)
			},
			status: 413, code: "RequestEntityTooLarge", within: 4 * time.Second,
		},
		{
			name: "a JSON body declared over 1 MiB",
			do: func(e *env) resp {
				conn := dial(e, serve(e, fast))
				sent := time.Now()
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"Comm",
					submitPath, e.token, 2<<20)
				br := bufio.NewReader(conn)
				return mustClose(e, conn, br, sent)
			},
			status: 413, code: "RequestEntityTooLarge", within: 4 * time.Second,
		},
		{
			name: "a 401 with Expect: 100-continue comes at once, without asking for the body",
			do: func(e *env) resp {
				conn := dial(e, serve(e, fast))
				sent := time.Now()
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n", submitPath)
				br := bufio.NewReader(conn)
				return mustClose(e, conn, br, sent) // a 100 Continue first would read as status 100
			},
			status: 401, code: "Unauthorized", within: 4 * time.Second,
			after: journaledUnread(401),
		},
		{
			name: "a 401 to a slow body comes at once",
			do: func(e *env) resp {
				conn := dial(e, serve(e, fast))
				sent := time.Now()
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"Comm", submitPath)
				br := bufio.NewReader(conn)
				return mustClose(e, conn, br, sent)
			},
			status: 401, code: "Unauthorized", within: 4 * time.Second,
		},
		{
			name: "a 404 to an unknown path with Expect: 100-continue comes at once",
			do: func(e *env) resp {
				conn := dial(e, serve(e, fast))
				sent := time.Now()
				fmt.Fprintf(conn, "PUT /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n")
				br := bufio.NewReader(conn)
				return mustClose(e, conn, br, sent)
			},
			status: 404, code: "NotFound", within: 4 * time.Second,
		},
		{
			name: "a token form declared over 64 KiB, with Expect: 100-continue, is refused at once",
			do: func(e *env) resp {
				conn := dial(e, serve(e, fast))
				sent := time.Now()
				fmt.Fprintf(conn, "POST /%s/oauth2/v2.0/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n", tenantID)
				r := mustClose(e, conn, bufio.NewReader(conn), sent)
				if r.status == http.StatusRequestEntityTooLarge && !strings.Contains(string(r.body), `"error":"invalid_request"`) {
					return resp{t: e.t, body: r.body}
				}
				return r
			},
			status: 413, within: 4 * time.Second,
		},
		{
			name: "a slow body is cut by the read timeout",
			do: func(e *env) resp {
				conn := dial(e, serve(e, emulator.ServerLimits{ReadTimeout: 300 * time.Millisecond}))
				sent := time.Now()
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
					submitPath, e.token, len(submitBody), submitBody[:20]) // and the rest never
				br := bufio.NewReader(conn)
				return mustClose(e, conn, br, sent)
			},
			status: 400, code: "InvalidRequestBody", within: 4 * time.Second,
		},
		{
			name: "an idle keep-alive connection is closed after the idle timeout",
			do: func(e *env) resp {
				conn := dial(e, serve(e, emulator.ServerLimits{IdleTimeout: 300 * time.Millisecond}))
				fmt.Fprintf(conn, "GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
				br := bufio.NewReader(conn)
				r := readResp(e, br)
				if r.status != 200 || r.header.Get("Connection") == "close" {
					return resp{t: e.t, body: fmt.Appendf(nil, "health: %d %v %s", r.status, r.header, r.body)}
				}
				idle := time.Now()
				_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
				if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
					return resp{t: e.t, body: fmt.Appendf(nil, "the idle connection was not closed: %v", err)}
				}
				if took := time.Since(idle); took < 250*time.Millisecond {
					return resp{t: e.t, body: fmt.Appendf(nil, "closed after %s, before the idle timeout", took)}
				}
				return r
			},
			status: 200, within: 2 * time.Second,
		},
		{
			// Connections were accepted without a bound, and opening one
			// needs no credentials: each costs a goroutine and buffers.
			name: "a connection past the bound, every connection busy, is closed at once",
			do: func(e *env) resp {
				addr := serve(e, emulator.ServerLimits{MaxConnections: 2})
				var busy []net.Conn
				for range 2 {
					conn := dial(e, addr)
					fmt.Fprintf(conn, "GET /_emulator/health HTTP/1.1\r\n") // the rest of its headers never comes
					busy = append(busy, conn)
				}
				time.Sleep(100 * time.Millisecond) // both read by the server: active
				third := dial(e, addr)
				fmt.Fprintf(third, "GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
				_ = third.SetReadDeadline(time.Now().Add(3 * time.Second))
				if n, err := third.Read(make([]byte, 1)); n > 0 || !(errors.Is(err, io.EOF) || isReset(err)) {
					return resp{t: e.t, body: fmt.Appendf(nil, "the third connection was not closed: %d bytes, %v", n, err)}
				}
				// Once the busy ones are gone, a connection is served again.
				for _, c := range busy {
					c.Close()
				}
				time.Sleep(100 * time.Millisecond)
				again := dial(e, addr)
				fmt.Fprintf(again, "GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
				return readResp(e, bufio.NewReader(again))
			},
			status: 200, within: 2 * time.Second,
		},
		{
			name: "a connection past the bound takes an idle keep-alive connection's place",
			do: func(e *env) resp {
				addr := serve(e, emulator.ServerLimits{MaxConnections: 2})
				var idle []*bufio.Reader
				for range 2 {
					conn := dial(e, addr)
					fmt.Fprintf(conn, "GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
					br := bufio.NewReader(conn)
					if r := readResp(e, br); r.status != 200 {
						return r
					}
					_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
					idle = append(idle, br)
				}
				third := dial(e, addr)
				fmt.Fprintf(third, "GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
				r := readResp(e, bufio.NewReader(third))
				// One of the idle two was closed to make room; the other stays.
				closed := make(chan error, 2)
				for _, br := range idle {
					go func() { _, err := br.ReadByte(); closed <- err }()
				}
				if err := <-closed; !(errors.Is(err, io.EOF) || isReset(err)) {
					return resp{t: e.t, body: fmt.Appendf(nil, "no idle connection was closed: %v", err)}
				}
				if err := <-closed; errors.Is(err, io.EOF) || isReset(err) {
					return resp{t: e.t, body: fmt.Appendf(nil, "both idle connections were closed: %v", err)}
				}
				return r
			},
			status: 200, within: 5 * time.Second,
		},
		{
			name: "request headers over the header limit",
			do: func(e *env) resp {
				conn := dial(e, serve(e, emulator.ServerLimits{MaxHeaderBytes: 8 << 10}))
				fmt.Fprintf(conn, "GET /api/machines HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("b", 16<<10))
				return readResp(e, bufio.NewReader(conn))
			},
			status: 431,
		},
		{
			name: "a journal/wait long-poll outlives the write timeout",
			do: func(e *env) resp {
				// The answer is owed by the write timeout after the wait:
				// 200 ms left no room for a race-detector run on a loaded
				// machine (it came 460 ms late once), so both stretch.
				write, wait := raceSlowdown*200*time.Millisecond, raceSlowdown*700*time.Millisecond
				addr := serve(e, emulator.ServerLimits{WriteTimeout: write})
				res, err := http.Post("http://"+addr+"/_emulator/journal/wait", "application/json",
					strings.NewReader(fmt.Sprintf(`{"filter":{"path":"/nothing"},"count":1,"timeout":%q}`, wait)))
				if err != nil {
					return resp{t: e.t, body: []byte(err.Error())}
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				if !strings.Contains(string(b), `"satisfied":false`) {
					return resp{t: e.t, body: b}
				}
				return resp{t: e.t, status: res.StatusCode, header: res.Header, body: b}
			},
			status: 200, within: 3 * time.Second,
		},
		{
			name: "an injected latency outlives the write and read timeouts",
			do: func(e *env) resp {
				if r := e.call("POST", "/_emulator/faults", "", `{"match":{"method":"POST","path":"/api/machines/*/runliveresponse"},"effect":{"latency":"2500ms"}}`); r.status != 201 {
					return r
				}
				// The timeouts leave the handler a second after the latency:
				// enough under -race on a loaded machine (200 ms was not).
				conn := dial(e, serve(e, emulator.ServerLimits{WriteTimeout: time.Second, ReadTimeout: 1200 * time.Millisecond}))
				// The body is sent whole, and read by the emulator only
				// after the latency, past the read timeout's first deadline.
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
					submitPath, e.token, len(submitBody), submitBody)
				return readResp(e, bufio.NewReader(conn))
			},
			status: 201, within: 8 * time.Second,
		},
	}
}
