package emulator_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// The verification page's answer is journaled like every request of the
// identity platform, with the page's single-use session redacted: the
// journal shows who answered, never the session that let them.
func TestDeviceLoginAnswerIsJournaledWithoutItsSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dc := e.deviceCode()
	_, _, page := e.browse("GET", "/devicelogin?code="+url.QueryEscape(dc.UserCode), nil)
	m := sessionRe.FindStringSubmatch(page)
	oid := userOptionRe(analystUPN).FindStringSubmatch(page)
	if m == nil || oid == nil {
		t.Fatalf("no session or user: %s", page)
	}
	if status, _, done := e.browse("POST", "/devicelogin", url.Values{"session": {m[1]}, "user": {oid[1]}}); status != 200 {
		t.Fatalf("answer: %d %s", status, done)
	}
	// A second answer with the used session is refused, and journaled too.
	if status, _, _ := e.browse("POST", "/devicelogin", url.Values{"session": {m[1]}, "user": {oid[1]}}); status != 400 {
		t.Errorf("session used twice: %d", status)
	}
	posts := e.journal("?method=POST&path=/devicelogin").Entries
	if len(posts) != 2 || posts[0].Status != 200 || posts[1].Status != 400 {
		t.Fatalf("journaled answers %+v, want the 200 and the 400", posts)
	}
	for _, p := range posts {
		v, err := url.ParseQuery(p.RequestBody)
		if err != nil || v.Get("session") != "REDACTED" || v.Get("user") != oid[1] {
			t.Errorf("journaled body %q, want the session REDACTED and the user kept", p.RequestBody)
		}
	}
	for _, en := range e.journal("").Entries {
		if b, _ := json.Marshal(en); strings.Contains(string(b), m[1]) {
			t.Errorf("the page's session in the journal: %s", b)
		}
	}
}
