package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
)

// TestClassroomFlag starts the emulator with --classroom 2 and checks the
// credentials file: two trainees, each able to get a token with their own
// secret and see their own machines, before and after a reset.
func TestClassroomFlag(t *testing.T) {
	file := filepath.Join(t.TempDir(), "class.json")
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--key-file", "", "--classroom", "2", "--classroom-file", file}, out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	banner := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	var base string
	for i := 0; i < 500 && base == ""; i++ {
		if m := banner.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "classroom:") {
			base = m[1]
		}
		_ = clock.SleepWall(ctx, 10*time.Millisecond)
	}
	if base == "" {
		t.Fatalf("no banner with the classroom: %q", out.String())
	}
	if !strings.Contains(out.String(), "classroom:     2 tenants; their credentials: "+file) {
		t.Errorf("banner: %q", out.String())
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(file)
	var creds struct {
		Value []struct {
			TenantID, Name, TokenURL, APIURL, Scope string
			Apps                                    []struct{ ClientID, ClientSecret string }
			Machines                                []struct{ ID string }
		}
	}
	if err := json.Unmarshal(b, &creds); err != nil || len(creds.Value) != 2 {
		t.Fatalf("credentials: %v %s", err, b)
	}
	if creds.Value[0].Name != "trainee-01" || creds.Value[1].Name != "trainee-02" || creds.Value[0].TenantID == creds.Value[1].TenantID {
		t.Fatalf("trainees: %+v", creds.Value)
	}
	// Each trainee sees their own machines with their own secret; a reset
	// keeps them.
	for round := range 2 {
		for _, c := range creds.Value {
			if len(c.Apps) == 0 || c.Apps[0].ClientSecret == "" || len(c.Machines) == 0 {
				t.Fatalf("trainee %s has no app, secret or machine: %+v", c.Name, c)
			}
			res, err := http.PostForm(c.TokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {c.Apps[0].ClientID}, "client_secret": {c.Apps[0].ClientSecret}, "scope": {c.Scope}})
			if err != nil {
				t.Fatal(err)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			_ = json.NewDecoder(res.Body).Decode(&tok)
			res.Body.Close()
			if res.StatusCode != 200 || tok.AccessToken == "" {
				t.Fatalf("round %d, %s: token %d", round, c.Name, res.StatusCode)
			}
			req, _ := http.NewRequest("GET", c.APIURL+"/machines/"+c.Machines[0].ID, nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			res, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("round %d, %s: GET its machine: %d", round, c.Name, res.StatusCode)
			}
		}
		res, err := http.Post(base+"/_emulator/reset", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
}

func TestClassroomFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--classroom", "201"}, "1 to 200 tenants"},
		{[]string{"--classroom", "-1"}, "1 to 200 tenants"},
		{[]string{"--classroom-file", filepath.Join(dir, "x.json")}, "--classroom-file needs --classroom"},
		{[]string{"--classroom", "2", "--classroom-file", filepath.Join(dir, "x.pdf")}, "extension must be .json, .txt or .html"},
	} {
		err := run(context.Background(), append([]string{"--addr", "127.0.0.1:0", "--key-file", ""}, tc.args...), &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
