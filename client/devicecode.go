package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"
)

// The device code flow (Config.DeviceCode): RFC 8628 as the Microsoft
// identity platform serves it (v2-oauth2-device-code).

// deviceCodeGrant is the grant_type of a device code poll.
const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

// The device code flow's numbers, in seconds: the identity platform's own
// values for an answer that leaves one out, RFC 8628's slow_down step, and
// bounds on what an answer may ask for.
const (
	defaultDeviceInterval = 5         // between polls
	defaultDeviceLifetime = 15 * 60   // how long a code is valid
	slowDownStep          = 5         // what each slow_down adds (RFC 8628 §3.5)
	maxDeviceLifetime     = 24 * 3600 // a longer expires_in is read as this
	maxDeviceInterval     = 10 * 60   // a longer interval is read as this
)

// deviceCodeErrPrefix starts the errors of the device code sign-in.
const deviceCodeErrPrefix = "device code sign-in"

// Errors of the device code sign-in, which errors.Is matches on the error
// of any call that needed the token.
var (
	// ErrSignInDeclined: the user declined the sign-in at the
	// verification page (authorization_declined).
	ErrSignInDeclined = errors.New("the user declined the sign-in")
	// ErrDeviceCodeExpired: nobody signed in before the device code
	// expired (expired_token).
	ErrDeviceCodeExpired = errors.New("the device code expired before the user signed in")
)

// DeviceCodePrompt is what the user needs to sign in with a device code:
// Config.ShowDeviceCode receives it.
type DeviceCodePrompt struct {
	// UserCode is the code the user enters at VerificationURI.
	UserCode string
	// VerificationURI is the page where the user enters it.
	VerificationURI string
	// Message is the identity platform's instruction, naming both ("To
	// sign in, use a web browser to open the page … and enter the code …
	// to authenticate."): show it as it is, it is localised by the
	// platform.
	Message string
	// ExpiresIn is how long the code is valid.
	ExpiresIn time.Duration
}

// showOnStderr is the default Config.ShowDeviceCode: the message on
// standard error, where it does not mix with a command's output.
func showOnStderr(p DeviceCodePrompt) { fmt.Fprintln(os.Stderr, p.Message) }

// deviceAnswer is the device authorization endpoint's answer. v2.0 sends
// numbers and verification_uri; v1 sends strings and verification_url.
type deviceAnswer struct {
	UserCode        string      `json:"user_code"`
	DeviceCode      string      `json:"device_code"`
	VerificationURI string      `json:"verification_uri"`
	VerificationURL string      `json:"verification_url"`
	ExpiresIn       json.Number `json:"expires_in"`
	Interval        json.Number `json:"interval"`
	Message         string      `json:"message"`
}

// seconds reads a number of seconds, def when it is missing, not
// positive or not a number, and at most most.
func seconds(n json.Number, def, most int) int {
	s, err := strconv.ParseFloat(string(n), 64)
	if err != nil || s < 1 {
		return def
	}
	return int(min(s, float64(most)))
}

// deviceSignIn signs the user in with a new device code: it asks for the
// code, shows it, and polls the token endpoint until the user has signed
// in, declined, or the code expired. It returns the token and its
// lifetime, keeping the refresh token as exchange does.
func (ts *tokenSource) deviceSignIn(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"client_id": {ts.clientID}}
	ts.setScope(form)
	body, err := ts.c.do(ctx, &call{
		method: "POST", url: ts.deviceURL,
		body: []byte(form.Encode()), contentType: "application/x-www-form-urlencoded",
	})
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", deviceCodeErrPrefix, err)
	}
	var a deviceAnswer
	if err := json.Unmarshal(body, &a); err != nil || a.DeviceCode == "" || a.UserCode == "" {
		return "", 0, fmt.Errorf("%s: POST %s: the answer holds no device_code and user_code", deviceCodeErrPrefix, redact(ts.deviceURL))
	}
	second := ts.c.policy.deviceCodeSecond
	p := DeviceCodePrompt{
		UserCode:        a.UserCode,
		VerificationURI: a.VerificationURI,
		Message:         a.Message,
		ExpiresIn:       time.Duration(seconds(a.ExpiresIn, defaultDeviceLifetime, maxDeviceLifetime)) * time.Second,
	}
	if p.VerificationURI == "" {
		p.VerificationURI = a.VerificationURL
	}
	if p.Message == "" {
		p.Message = fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", p.VerificationURI, p.UserCode)
	}
	show := ts.show
	if show == nil {
		show = showOnStderr
	}
	show(p)
	interval := time.Duration(seconds(a.Interval, defaultDeviceInterval, maxDeviceInterval)) * second
	// The code's own end, in wall time: past it (and one more interval
	// for the platform to say so), the client stops polling by itself.
	giveUp := time.Now().Add(p.ExpiresIn + interval)
	for {
		ts.c.log.DebugContext(ctx, "device code: waiting for the user", "userCode", p.UserCode, "interval", interval)
		if err := sleep(ctx, interval); err != nil {
			return "", 0, fmt.Errorf("%s: stopped waiting for the user to enter the code %s: %w", deviceCodeErrPrefix, p.UserCode, err)
		}
		t, lifetime, err := ts.exchange(ctx, url.Values{"grant_type": {deviceCodeGrant}, "device_code": {a.DeviceCode}})
		if err == nil {
			return t, lifetime, nil
		}
		var ae *APIError
		if !errors.As(err, &ae) {
			return "", 0, fmt.Errorf("%s: %w", deviceCodeErrPrefix, err)
		}
		switch ae.Code {
		case "authorization_pending":
		case "slow_down":
			interval += slowDownStep * second
		case "authorization_declined":
			return "", 0, fmt.Errorf("%s: %w (code %s): %w", deviceCodeErrPrefix, ErrSignInDeclined, p.UserCode, err)
		case "expired_token", "code_expired":
			return "", 0, fmt.Errorf("%s: %w (code %s): %w", deviceCodeErrPrefix, ErrDeviceCodeExpired, p.UserCode, err)
		default:
			return "", 0, fmt.Errorf("%s: %w", deviceCodeErrPrefix, err)
		}
		if time.Now().After(giveUp) {
			return "", 0, fmt.Errorf("%s: %w (code %s, %s)", deviceCodeErrPrefix, ErrDeviceCodeExpired, p.UserCode, p.ExpiresIn)
		}
	}
}
