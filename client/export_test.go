package client

import "time"

// Speed shortens c's waits for tests: the backoff base and cap, the wait
// before a busy machine is asked again, and the default Retry-After.
func Speed(c *Client, backoffBase, backoffMax, busyDelay time.Duration) {
	c.policy.backoffBase, c.policy.backoffMax = backoffBase, backoffMax
	c.policy.busyDelay = busyDelay
}

// Backoff exposes the backoff delay before retry n.
func Backoff(c *Client, n int) time.Duration { return c.backoff(n) }

// RetryAfter exposes the Retry-After parser.
var RetryAfter = retryAfter

// ParseAPIError exposes the error body parser.
var ParseAPIError = parseAPIError

// SpeedDeviceCode makes a second of the device code flow's interval and
// slow_down last d for c's polls.
func SpeedDeviceCode(c *Client, d time.Duration) { c.policy.deviceCodeSecond = d }
