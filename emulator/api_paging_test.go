package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

// A list longer than a page (10,000) carries @odata.nextLink; following
// the links gives every machine exactly once.
func TestListMachinesNextLink(t *testing.T) {
	set := mustFixtures(t, generated(10001, ""))
	srv, err := emulator.New(emulator.Options{Fixtures: set, Clock: clock.Manual, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tok, _, err := srv.Authority().Mint(identityDefault())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	url, pages := testBase+"/api/machines?$count=true", 0
	for url != "" {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d %s", url, res.StatusCode, b)
		}
		var page struct {
			Count    int    `json:"@odata.count"`
			NextLink string `json:"@odata.nextLink"`
			Value    []struct{ ID string }
		}
		if err := json.Unmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		if page.Count != 10001 {
			t.Errorf("@odata.count = %d", page.Count)
		}
		for _, m := range page.Value {
			if seen[m.ID] {
				t.Fatalf("machine %s twice", m.ID)
			}
			seen[m.ID] = true
		}
		if page.NextLink != "" && !strings.HasPrefix(page.NextLink, testBase+"/api/machines?") {
			t.Fatalf("next link %q", page.NextLink)
		}
		url = page.NextLink
		pages++
	}
	if pages != 2 || len(seen) != 10001 {
		t.Errorf("%d pages, %d machines; want 2 and 10001", pages, len(seen))
	}
}
