package emulator_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
)

// listIDs returns the ids of a list response's actions and its next link.
func (e *env) listIDs(path string) (ids []string, next string) {
	e.t.Helper()
	r := e.api("GET", path, "")
	if r.status != 200 {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var body struct {
		NextLink string `json:"@odata.nextLink"`
		Value    []struct{ ID string }
	}
	r.decode(&body)
	for _, v := range body.Value {
		ids = append(ids, v.ID)
	}
	return ids, strings.TrimPrefix(body.NextLink, testBase)
}

// An action the retention forgot answers as one that never existed, on
// every route; the list, its filters and its paging hold only the kept.
func TestEvictedActionIsNotFound(t *testing.T) {
	e := newEnv(t, func(o *emulator.Options) { o.RetainActions = 2 })
	first := e.submit(winMachine, runScriptThenGetFile)
	e.advance(time.Minute)
	link := strings.TrimPrefix(e.downloadLink(first, 0), testBase)
	if r := e.call("GET", link, "", ""); r.status != 200 {
		t.Fatalf("download before eviction: %d %s", r.status, r.body)
	}
	second := e.submit(win10Machine, runScriptThenGetFile)
	e.advance(time.Minute)
	third := e.submit(winMachine, runScriptThenGetFile)
	e.advance(time.Minute)

	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/machineactions/" + first, ""},
		{"POST", "/api/machineactions/" + first + "/cancel", `{"Comment":"late"}`},
		{"GET", "/api/machineactions/" + first + "/GetLiveResponseResultDownloadLink(index=0)", ""},
	} {
		if r := e.api(c.method, c.path, c.body); r.status != 404 || r.errorCode() != "ResourceNotFound" {
			t.Errorf("%s %s: %d %s, want 404 ResourceNotFound", c.method, c.path, r.status, r.body)
		}
	}
	if r := e.call("GET", link, "", ""); r.status != 404 || !strings.Contains(string(r.body), "BlobNotFound") {
		t.Errorf("download after eviction: %d %s, want 404 BlobNotFound", r.status, r.body)
	}
	if r := e.api("GET", "/api/machineactions/"+second, ""); r.status != 200 {
		t.Errorf("kept action: %d %s", r.status, r.body)
	}

	got, next := e.listIDs("/api/machineactions")
	if strings.Join(got, ",") != third+","+second || next != "" {
		t.Errorf("list = %v (next %q), want [%s %s]", got, next, third, second)
	}
	got, _ = e.listIDs("/api/machineactions?$filter=" + url.QueryEscape("machineId eq '"+strings.ToUpper(winMachine)+"'"))
	if strings.Join(got, ",") != third {
		t.Errorf("machineId filter = %v, want [%s]", got, third)
	}
	if got, _ := e.listIDs("/api/machineactions?$top=1"); len(got) != 1 || got[0] != third {
		t.Errorf("$top=1: %v", got)
	}
	got, next = e.listIDs("/api/machineactions?$skip=1")
	if strings.Join(got, ",") != second || next != "" {
		t.Errorf("$skip=1: %v (next %q)", got, next)
	}
}

// Finished actions go after RetainFor of emulated time; live ones stay.
func TestRetainFor(t *testing.T) {
	e := newEnv(t, func(o *emulator.Options) { o.RetainFor = time.Hour })
	done := e.submit(winMachine, runScriptThenGetFile)
	queued := e.submit(offMachine, runScriptThenGetFile)
	e.advance(2 * time.Hour)
	e.token = e.mint(`{}`) // the first expired
	if r := e.api("GET", "/api/machineactions/"+done, ""); r.status != 404 {
		t.Errorf("finished 2 h ago: %d, want 404", r.status)
	}
	if r := e.api("GET", "/api/machineactions/"+queued, ""); r.status != 200 {
		t.Errorf("queued: %d, want 200", r.status)
	}
	if got, _ := e.listIDs("/api/machineactions"); strings.Join(got, ",") != queued {
		t.Errorf("list = %v, want [%s]", got, queued)
	}
}
