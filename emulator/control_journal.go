package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/internal/journal"
)

// getJournal serves GET /_emulator/journal?method=&path=&status=&appId=
// &tenantId=&actionId=&since=&until=&afterSeq=&limit=.
func (s *Server) getJournal(c echo.Context) error {
	f, err := journal.ParseFilter(c.QueryParams())
	if err != nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	entries := s.journal.Query(f)
	if entries == nil {
		entries = []journal.Entry{}
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"entries": entries, "stats": s.journal.Stats()})
}

// deleteJournal serves DELETE /_emulator/journal.
func (s *Server) deleteJournal(c echo.Context) error {
	s.journal.Clear()
	return c.NoContent(http.StatusNoContent)
}

// maxJournalWait bounds how long POST /_emulator/journal/wait blocks.
const maxJournalWait = 5 * time.Minute

// waitJournal serves POST /_emulator/journal/wait {"filter": {...},
// "count": N, "timeout": "5s"}: it answers once N requests matching the
// filter are in the journal, or when the timeout (wall time) passes, with
// the matching requests and whether the count was reached. At shutdown
// (BeginShutdown) it answers at once with what it has, unsatisfied.
func (s *Server) waitJournal(c echo.Context) error {
	var req struct {
		Filter  map[string]any `json:"filter"`
		Count   int            `json:"count"`
		Timeout string         `json:"timeout"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	q := url.Values{}
	for k, v := range req.Filter {
		switch v := v.(type) {
		case string:
			q.Set(k, v)
		case float64:
			q.Set(k, fmt.Sprint(v))
		default:
			b, _ := json.Marshal(v)
			return controlError(c, ctlInvalidInput, "filter %s must be a string or a number, not %s", k, b)
		}
	}
	f, err := journal.ParseFilter(q)
	if err != nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	if req.Count < 1 {
		req.Count = 1
	}
	timeout := 5 * time.Second
	if req.Timeout != "" {
		if timeout, err = time.ParseDuration(req.Timeout); err != nil || timeout < 0 || timeout > maxJournalWait {
			return controlError(c, ctlInvalidInput, "timeout must be a Go duration from 0s to %s, not %q", maxJournalWait, req.Timeout)
		}
	}
	// The wait is bounded by maxJournalWait, not by the server's write
	// timeout; BeginShutdown ends it early, unsatisfied.
	extendDeadlines(c, timeout, false)
	ctx, cancel := context.WithTimeout(c.Request().Context(), timeout)
	defer cancel()
	defer context.AfterFunc(s.servingContext(), cancel)()
	entries, err := s.journal.Wait(ctx, f, req.Count)
	if err != nil && ctx.Err() == nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	if entries == nil {
		entries = []journal.Entry{}
	}
	return s.writeJSON(c, http.StatusOK, map[string]any{"satisfied": err == nil, "count": len(entries), "entries": entries})
}
