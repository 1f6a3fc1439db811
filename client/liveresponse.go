package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Submit starts a live response action on machine (a machine id or a
// computer name) and returns it as the service accepted it (Pending).
//
// A machine busy with another session (400 ActiveRequestAlreadyExists) is
// asked again 10 s later, at most 3 times; then Submit returns the
// *APIError. After an attempt that ended without an answer the fate of the
// submission is unknown, so a busy answer is not retried: the action that
// keeps the machine busy may be this one.
func (c *Client) Submit(ctx context.Context, machine string, req Request) (*Action, error) {
	if len(req.Commands) == 0 {
		return nil, errors.New("client: Submit: a request needs at least one command")
	}
	if req.Comment == "" {
		req.Comment = DefaultComment
	}
	cl := &call{
		method: "POST", url: c.api("/api/machines/" + url.PathEscape(machine) + "/runliveresponse"),
		body: jsonBody(req), contentType: "application/json", auth: true,
	}
	for busy := 0; ; busy++ {
		body, err := c.do(ctx, cl)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Code == CodeActiveRequestAlreadyExists {
			if cl.uncertain || busy >= c.policy.busyRetries {
				return nil, fmt.Errorf("machine %s is busy with another live response session (%d submissions): %w", machine, busy+1, err)
			}
			if err := c.wait(ctx, c.policy.busyDelay, "machine busy", cl, apiErr.Error()); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		a, err := decodeAction(cl, body)
		if err != nil {
			return nil, err
		}
		a.submitted = time.Now()
		c.log.DebugContext(ctx, "submitted", "action", a.ID, "machine", machine, "status", a.Status)
		return a, nil
	}
}

// Action returns the machine action id as the service reports it now.
func (c *Client) Action(ctx context.Context, id string) (*Action, error) {
	cl := &call{method: "GET", url: c.api("/api/machineactions/" + url.PathEscape(id)), auth: true}
	body, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	return decodeAction(cl, body)
}

// Wait polls action a every Config.PollInterval until its status is final
// and returns it as the last poll saw it. It never resubmits. When the
// action did not succeed, the error is an *ActionError (which holds the
// same action).
//
// For an action Submit returned, a 404 in the first 30 s after the submit
// is the service's eventual consistency and is polled again.
func (c *Client) Wait(ctx context.Context, a *Action) (*Action, error) {
	for !a.Status.Final() {
		if err := sleep(ctx, c.poll); err != nil {
			return a, fmt.Errorf("waiting for action %s (last seen %s): %w", a.ID, a.Status, err)
		}
		got, err := c.Action(ctx, a.ID)
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound &&
			!a.submitted.IsZero() && time.Since(a.submitted) < c.policy.notFoundGrace {
			c.log.DebugContext(ctx, "action not visible yet", "action", a.ID)
			continue
		}
		if err != nil {
			return a, fmt.Errorf("waiting for action %s (last seen %s): %w", a.ID, a.Status, err)
		}
		got.submitted = a.submitted
		a = got
	}
	if a.Status != StatusSucceeded {
		return a, &ActionError{Action: a}
	}
	return a, nil
}

// Run submits commands to machine and waits for the action to end, as
// Submit and Wait do. The action is returned whenever it was submitted,
// with an *ActionError when it did not succeed.
func (c *Client) Run(ctx context.Context, machine string, req Request) (*Action, error) {
	a, err := c.Submit(ctx, machine, req)
	if err != nil {
		return nil, err
	}
	return c.Wait(ctx, a)
}

// RunScript runs the library script on machine with args (none when
// empty), waits for it and returns its result. A script that exits
// non-zero returns its result and a *ScriptError; an action that did not
// succeed returns an *ActionError.
func (c *Client) RunScript(ctx context.Context, machine, script, args string) (*ScriptResult, error) {
	a, err := c.Run(ctx, machine, Request{Commands: []Command{RunScriptCommand(script, args)}})
	if err != nil {
		return nil, err
	}
	res, err := c.ScriptResult(ctx, a.ID, 0)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return res, &ScriptError{ActionID: a.ID, Result: res}
	}
	return res, nil
}

// ScriptResult downloads and parses the result of the RunScript command
// at index of action id.
func (c *Client) ScriptResult(ctx context.Context, id string, index int) (*ScriptResult, error) {
	b, err := c.DownloadResult(ctx, id, index)
	if err != nil {
		return nil, err
	}
	var res ScriptResult
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, fmt.Errorf("result %d of action %s is not a script result: %w", index, id, err)
	}
	return &res, nil
}

// GetFile collects the file at path from machine and returns its bytes,
// decompressed.
func (c *Client) GetFile(ctx context.Context, machine, path string) ([]byte, error) {
	a, err := c.Run(ctx, machine, Request{Commands: []Command{GetFileCommand(path)}})
	if err != nil {
		return nil, err
	}
	return c.FileResult(ctx, a.ID, 0)
}

// FileResult downloads the result of the GetFile command at index of
// action id and returns the file's bytes. The service sends them gzipped;
// a result that is not gzip is returned as it is.
func (c *Client) FileResult(ctx context.Context, id string, index int) ([]byte, error) {
	b, err := c.DownloadResult(ctx, id, index)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("result %d of action %s: %w", index, id, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("result %d of action %s: %w", index, id, err)
	}
	return out, nil
}

// PutFile puts the library file fileName on machine and waits for it.
func (c *Client) PutFile(ctx context.Context, machine, fileName string) (*Action, error) {
	return c.Run(ctx, machine, Request{Commands: []Command{PutFileCommand(fileName)}})
}

// ResultLink returns a link to the result of the command at index of
// action id. The link is valid about 30 minutes and is fetched without the
// API's token.
func (c *Client) ResultLink(ctx context.Context, id string, index int) (string, error) {
	cl := &call{
		method: "GET", auth: true,
		url: c.api("/api/machineactions/" + url.PathEscape(id) +
			"/GetLiveResponseResultDownloadLink(index=" + strconv.Itoa(index) + ")"),
	}
	body, err := c.do(ctx, cl)
	if err != nil {
		return "", err
	}
	var link struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &link); err != nil || link.Value == "" {
		return "", fmt.Errorf("GET %s: the answer holds no link", redact(cl.url))
	}
	return link.Value, nil
}

// DownloadResult returns the raw result of the command at index of action
// id: it fetches a link and downloads it. A 403 from the download (the link
// expired before it was used) fetches a new link, at most 3 times.
func (c *Client) DownloadResult(ctx context.Context, id string, index int) ([]byte, error) {
	for renewals := 0; ; renewals++ {
		link, err := c.ResultLink(ctx, id, index)
		if err != nil {
			return nil, err
		}
		b, err := c.do(ctx, &call{method: "GET", url: link})
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden && renewals < c.policy.maxLinkRenewals {
			c.log.DebugContext(ctx, "download link refused, fetching a new one", "action", id, "index", index, "error", apiErr.Error())
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("downloading result %d of action %s: %w", index, id, err)
		}
		return b, nil
	}
}

// Cancel asks the service to cancel action id with comment
// (DefaultComment when empty) and returns the action as the service
// answered. An action that already ended cannot be cancelled: the service
// answers 400, an *APIError.
func (c *Client) Cancel(ctx context.Context, id, comment string) (*Action, error) {
	if comment == "" {
		comment = DefaultComment
	}
	cl := &call{
		method: "POST", url: c.api("/api/machineactions/" + url.PathEscape(id) + "/cancel"),
		body: jsonBody(struct{ Comment string }{comment}), contentType: "application/json", auth: true,
	}
	body, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	return decodeAction(cl, body)
}

// decodeAction reads the machine action in the answer to cl.
func decodeAction(cl *call, body []byte) (*Action, error) {
	var a Action
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%s %s: the answer is not a machine action: %w", cl.method, redact(cl.url), err)
	}
	if a.ID == "" {
		return nil, fmt.Errorf("%s %s: the answer is not a machine action: no id", cl.method, redact(cl.url))
	}
	return &a, nil
}
