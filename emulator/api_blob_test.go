package emulator_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Result downloads in flight hold at most maxBlobBytes (256 MiB): past
// it a download is answered 503 ServerBusy with Retry-After, in Azure
// Storage's terms, and served again once the others are read.
func TestBlobDownloadsInFlightAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.submit(winMachine, runScriptThenGetFile)
	e.advance(time.Minute)
	link := strings.TrimPrefix(e.downloadLink(id, 1), testBase)
	release := e.srv.HoldBlobBytes(256 << 20) // others' downloads, not read yet
	r := e.call("GET", link, "", "")
	if r.status != http.StatusServiceUnavailable || r.header.Get("x-ms-error-code") != "ServerBusy" ||
		r.header.Get("Retry-After") != "1" || !strings.Contains(string(r.body), "<Code>ServerBusy</Code>") {
		t.Fatalf("a download past the bound: %d %v %s", r.status, r.header, r.body)
	}
	release()
	if r := e.call("GET", link, "", ""); r.status != http.StatusOK || len(r.body) == 0 {
		t.Fatalf("the download once the others were read: %d %s", r.status, r.body)
	}
	// Its own bytes were given back: another download fits beside a hold
	// of all but a few KB.
	defer e.srv.HoldBlobBytes(256<<20 - 64<<10)()
	if r := e.call("GET", link, "", ""); r.status != http.StatusOK {
		t.Errorf("a small download beside the others: %d %s", r.status, r.body)
	}
}
