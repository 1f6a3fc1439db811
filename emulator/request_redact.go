package emulator

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces a credential's value in what the journal records.
const redacted = "REDACTED"

// secretFormKeys are the form fields whose values are credentials: the
// journal keeps their names, never their values. session: the single-use
// session of the sign-in page's and the device-login page's form.
var secretFormKeys = []string{"client_secret", "client_assertion", "password", "refresh_token", "code", "device_code", "code_verifier", "session"}

// secretQueryKeys are the query parameters whose values are credentials: a
// result link's signature, and the form's secrets (the token endpoints
// read the query too, so a client may send its secret there).
var secretQueryKeys = append([]string{"sig", "access_token", "token"}, secretFormKeys...) // token: the dashboard's ?token= (control_ui_auth.go)

// isFormBody reports whether the body of r is form-encoded: by its
// Content-Type, or because it goes to a token endpoint (which reads its
// body as a form, and may be sent one without the header).
func isFormBody(r *http.Request) bool {
	const form = "application/x-www-form-urlencoded"
	if ct := strings.TrimSpace(r.Header.Get("Content-Type")); len(ct) >= len(form) && strings.EqualFold(ct[:len(form)], form) {
		return true // without parsing the media type: this runs on every request with a body
	}
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token")
}

// redactForm returns the form-encoded body with the values of
// secretFormKeys replaced by REDACTED; everything else is kept byte for
// byte (a body cut by the journal's cap included).
func redactForm(body string) string { return redactPairs(body, secretFormKeys) }

// redactQuery returns the raw query with the values of secretQueryKeys
// replaced by REDACTED.
func redactQuery(raw string) string {
	if !mayHoldSecret(raw) {
		return raw // the common case, without allocating
	}
	return redactPairs(raw, secretQueryKeys)
}

// redactPairs replaces the values of keys in the &-separated key=value
// pairs of s. Keys are compared after unescaping, without case.
func redactPairs(s string, keys []string) string {
	if s == "" {
		return s
	}
	parts := strings.Split(s, "&")
	changed := false
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		name := k
		if u, err := url.QueryUnescape(k); err == nil {
			name = u
		}
		for _, secret := range keys {
			if strings.EqualFold(strings.TrimSpace(name), secret) {
				parts[i] = k + "=" + redacted
				changed = true
				break
			}
		}
	}
	if !changed {
		return s
	}
	return strings.Join(parts, "&")
}

// mayHoldSecret reports whether a raw query may name one of
// secretQueryKeys: a key that is one (without case), or an escaped key
// (redactPairs unescapes it to know). It allocates nothing.
func mayHoldSecret(raw string) bool {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		key, _, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		if strings.ContainsAny(key, "%+ ") {
			return true
		}
		key = strings.TrimSpace(key) // as redactPairs compares it
		for _, k := range secretQueryKeys {
			if strings.EqualFold(key, k) {
				return true
			}
		}
	}
	return false
}

// secretInText finds key=value pairs of secretQueryKeys anywhere in free
// text (a URL quoted in an error message, a JSON string holding a link):
// the value runs to the next '&', quote, backslash, space or end.
var secretInText = regexp.MustCompile(`(?i)\b(` + strings.Join(secretQueryKeys, "|") + `)=[^&"'\\\s]*`)

// redactText returns s with the values of secretQueryKeys pairs found
// anywhere in it replaced by REDACTED: for messages that may quote a
// response body or a URL, such as the strict-response mismatch log.
func redactText(s string) string {
	return secretInText.ReplaceAllString(s, "${1}="+redacted)
}
