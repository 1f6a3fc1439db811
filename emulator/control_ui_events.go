package emulator

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// The dashboard's live updates: GET /_emulator/ui/events is a stream of
// server-sent events. Every dashboardTick of wall time it renders the
// sections and sends those that changed (event: the section's name, data:
// its HTML), and the journal's new entries (event: journal, data: their
// rows, newest first, at most dashboardMaxJournal at a time). It is
// bounded: at most dashboardMaxStreams streams at once (past it 429
// TooManyRequests with Retry-After), a comment line every
// dashboardHeartbeat when nothing changed, and it ends when the browser
// goes away, when the emulator shuts down or closes, or after
// dashboardMaxStream (the browser's EventSource then reconnects).

const (
	dashboardMaxStreams = 16 // concurrent event streams
	dashboardTick       = 500 * time.Millisecond
	dashboardHeartbeat  = 15 * time.Second // a comment line when nothing else was sent
	dashboardWriteSlack = 30 * time.Second // how long one write may take
	dashboardMaxStream  = time.Hour        // a stream's longest life; the browser reconnects
	dashboardRetry      = 2 * time.Second  // how long a browser waits before it reconnects
)

// dashboard is the dashboard's state on the Server: its open streams.
type dashboard struct {
	streams atomic.Int32
}

// dashboardEvents serves GET /_emulator/ui/events[?tenant=ID&status=4xx&
// path=GLOB&after=SEQ]: the dashboard's updates, the journal's from after
// entry SEQ (the last the page showed).
func (s *Server) dashboardEvents(c echo.Context) error {
	f, err := s.parseDashboardFilter(c.QueryParams())
	if err != nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	after := s.journal.Stats().Recorded
	if v := c.QueryParam("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return controlError(c, ctlInvalidInput, "after must be a journal sequence number, not %q", v)
		}
		after = min(n, after)
	}
	if n := s.dashboard.streams.Add(1); n > dashboardMaxStreams {
		s.dashboard.streams.Add(-1)
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(dashboardRetry.Seconds())))
		return controlError(c, ctlTooManyRequests,
			"The dashboard serves at most %d event streams at once; close a dashboard tab or retry later.", dashboardMaxStreams)
	}
	defer s.dashboard.streams.Add(-1)

	ctx, cancel := context.WithCancel(c.Request().Context())
	defer cancel()
	defer context.AfterFunc(s.servingContext(), cancel)()

	w := c.Response()
	h := w.Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	st := &eventStream{w: w, rc: rc}
	st.printf("retry: %d\n\n", dashboardRetry.Milliseconds())

	began := clock.Wall()
	sent := map[string]string{}
	jf := f.journalFilter()
	apps := s.appNames()
	lastWrite := clock.Wall()
	for st.err == nil {
		v := s.dashboardSnapshot(f, false)
		wrote := false
		for _, name := range dashboardSections {
			html, err := renderSection(name, v)
			if err != nil {
				return err
			}
			if sent[name] != html {
				st.event(name, html)
				sent[name], wrote = html, true
			}
		}
		jf.AfterSeq = after
		if entries := s.journal.Query(jf); len(entries) > 0 {
			after = entries[len(entries)-1].Seq
			html, err := renderSection("journalRows", dashboardView{Journal: s.journalRows(entries, apps)})
			if err != nil {
				return err
			}
			st.event("journal", html)
			wrote = true
		}
		now := clock.Wall()
		if !wrote && now.Sub(lastWrite) >= dashboardHeartbeat {
			st.printf(": keep-alive\n\n")
			wrote = true
		}
		if wrote {
			lastWrite = now
			st.flush()
		}
		if now.Sub(began) >= dashboardMaxStream || clock.SleepWall(ctx, dashboardTick) != nil {
			return nil
		}
	}
	return nil // the browser went away mid-write
}

// eventStream writes server-sent events, keeping the first error.
type eventStream struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

// printf writes one piece of the stream, giving the write
// dashboardWriteSlack past the server's write timeout.
func (st *eventStream) printf(format string, args ...any) {
	if st.err != nil {
		return
	}
	_ = st.rc.SetWriteDeadline(clock.Wall().Add(dashboardWriteSlack)) // not supported in memory: no deadline there
	_, st.err = fmt.Fprintf(st.w, format, args...)
}

// event writes one event: its name and its data, a data line for each
// line.
func (st *eventStream) event(name, data string) {
	var b strings.Builder
	b.WriteString("event: " + name + "\n")
	for line := range strings.SplitSeq(data, "\n") {
		b.WriteString("data: " + strings.TrimSuffix(line, "\r") + "\n")
	}
	b.WriteString("\n")
	st.printf("%s", b.String())
}

// flush sends what was written.
func (st *eventStream) flush() {
	if st.err == nil {
		st.err = st.rc.Flush()
	}
}
