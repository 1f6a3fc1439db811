package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// maxBody bounds what the client reads of an answer: results are capped by
// the service well below it.
const maxBody = 256 << 20

// call is one logical HTTP call, which do may send several times.
type call struct {
	method, url string
	body        []byte // sent again on each attempt
	contentType string
	// auth sends the bearer token (API calls); result blobs and the token
	// endpoint go without it.
	auth bool

	// uncertain is set by do when an attempt ended without an answer after
	// the request may have reached the service: a POST may have taken
	// effect.
	uncertain bool
}

// do sends cl, repeating it as the package's policy says (see the package
// documentation), and returns the body of its 2xx answer. An error answer
// is an *APIError, wrapped with the number of retries when the retries ran
// out; a context that ends stops the call and its waits.
func (c *Client) do(ctx context.Context, cl *call) ([]byte, error) {
	if u, err := url.Parse(cl.url); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("%s %s: not an absolute URL", cl.method, redact(cl.url))
	}
	p := &c.policy
	var (
		throttled, failures int
		refreshed           bool
	)
	for attempt := 1; ; attempt++ {
		var token string
		if cl.auth {
			t, err := c.tokens.token(ctx)
			if err != nil {
				return nil, err
			}
			token = t
		}
		status, header, body, err := c.send(ctx, cl, token, attempt)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", cl.method, redact(cl.url), context.Cause(ctx))
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				cl.uncertain = true
			}
			if failures >= p.maxRetries {
				return nil, fmt.Errorf("%s %s: giving up after %d retries: %w", cl.method, redact(cl.url), failures, err)
			}
			if err := c.wait(ctx, c.backoff(failures), "network error", cl, err.Error()); err != nil {
				return nil, err
			}
			failures++
			continue
		}
		if status >= 200 && status < 300 {
			return body, nil
		}
		apiErr := parseAPIError(cl.method, redact(cl.url), status, body)
		apiErr.RetryAfter, _ = retryAfter(header.Get("Retry-After"), time.Now())
		switch {
		case status == http.StatusUnauthorized && cl.auth && !refreshed:
			// The token was revoked or expired early: get a new one, once.
			c.tokens.invalidate(token)
			refreshed = true
			continue
		case status == http.StatusTooManyRequests:
			if throttled >= p.maxThrottleRetries {
				return nil, fmt.Errorf("giving up after %d retries: %w", throttled, apiErr)
			}
			d := apiErr.RetryAfter
			if d <= 0 {
				d = p.defaultRetryAfter
			}
			d += rand.N(p.throttleJitter + 1)
			if err := c.wait(ctx, d, "throttled", cl, apiErr.Error()); err != nil {
				return nil, err
			}
			throttled++
			continue
		case status >= 500:
			if failures >= p.maxRetries {
				return nil, fmt.Errorf("giving up after %d retries: %w", failures, apiErr)
			}
			d := max(c.backoff(failures), apiErr.RetryAfter)
			if err := c.wait(ctx, d, "server error", cl, apiErr.Error()); err != nil {
				return nil, err
			}
			failures++
			continue
		}
		return nil, apiErr
	}
}

// send makes one attempt of cl and reads its whole answer, so that a
// connection dropped in the middle of a body is an error like any other.
// A non-empty token is sent as the bearer token.
func (c *Client) send(ctx context.Context, cl *call, token string, attempt int) (status int, header http.Header, body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, bytes.NewReader(cl.body))
	if err != nil {
		return 0, nil, nil, err
	}
	if cl.body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if cl.contentType != "" {
		req.Header.Set("Content-Type", cl.contentType)
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
		status, header = resp.StatusCode, resp.Header
	}
	if c.log.Enabled(ctx, slog.LevelDebug) {
		attrs := []any{"method", cl.method, "url", redact(cl.url), "attempt", attempt,
			"duration", time.Since(start).Round(time.Millisecond)}
		if err != nil {
			attrs = append(attrs, "error", err)
		} else {
			attrs = append(attrs, "status", status)
		}
		c.log.DebugContext(ctx, "http", attrs...)
	}
	return status, header, body, err
}

// backoff returns the delay before retry n (0-based) after a 5xx or a
// network error: base·2ⁿ capped at backoffMax, less up to a quarter of it
// at random, so clients that failed together do not retry together.
func (c *Client) backoff(n int) time.Duration {
	d := c.policy.backoffMax
	if n < 16 {
		d = min(c.policy.backoffBase<<n, d)
	}
	return d - rand.N(d/4+1)
}

// wait sleeps d before a retry of cl, logging why.
func (c *Client) wait(ctx context.Context, d time.Duration, reason string, cl *call, detail string) error {
	c.log.DebugContext(ctx, "retrying", "reason", reason, "method", cl.method, "url", redact(cl.url),
		"after", d.Round(time.Millisecond), "detail", detail)
	if err := sleep(ctx, d); err != nil {
		return fmt.Errorf("%s %s: %s, stopped waiting to retry: %w", cl.method, redact(cl.url), reason, err)
	}
	return nil
}

// sleep waits d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// retryAfter parses a Retry-After header: whole seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// redact drops the query of u: a download link's query is its credential.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.RawQuery, p.Fragment, p.User = "", "", nil
	return p.String()
}
