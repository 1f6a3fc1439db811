package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
)

const killFixture = `
profile: unlimited
tenants:
  - id: 8ac829e3-bb83-48d7-8cfb-45ebe834d8e1
    apps:
      - {clientId: 0120a4f9-196a-4f9e-b9f5-23f31f914da7, clientSecret: s, displayName: Kill, roles: [Machine.LiveResponse, Machine.Read.All, Library.Manage]}
    generateMachines: 40
    library:
      - {fileName: minidump.ps1, content: "x"}
`

// acked is what the emulator answered 2xx to, over every round.
type acked struct {
	mu        sync.Mutex
	actions   map[string]bool // id → cancelled
	libraries map[string]bool
}

// TestDataSurvivesSIGKILL starts the emulator with --data, runs a
// concurrent load of submits, cancels and uploads, kills it with SIGKILL
// in the middle, restarts it and checks that every change it answered
// 2xx to is there; 5 rounds, 20 with MDE_SLOW_TESTS=1. The store is
// compacted every 20 records.
func TestDataSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the emulator")
	}
	rounds := 5
	if os.Getenv("MDE_SLOW_TESTS") != "" {
		rounds = 20
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "emulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	fx := filepath.Join(tmp, "fixtures.yaml")
	if err := os.WriteFile(fx, []byte(killFixture), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(tmp, "data")
	a := &acked{actions: map[string]bool{}, libraries: map[string]bool{}}
	for round := range rounds {
		// A tiny compaction threshold: the kill often lands during a
		// compaction, or right after one.
		cmd, base := startEmulator(t, bin, "--fixtures", fx, "--data", data, "--key-file", "", "--profile", "unlimited", "--data-compact-after", "20")
		tok := clientToken(t, base)
		if round > 0 {
			checkAcked(t, base, tok, a, round)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				load(base, tok, round, w, a, stop)
			}()
		}
		clock.SleepWall(t.Context(), time.Duration(150+rand.IntN(350))*time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		close(stop)
		wg.Wait()
	}
	cmd, base := startEmulator(t, bin, "--fixtures", fx, "--data", data, "--key-file", "")
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	checkAcked(t, base, clientToken(t, base), a, rounds)
	t.Logf("%d rounds: %d actions, %d uploads acknowledged and found", rounds, len(a.actions), len(a.libraries))
	if len(a.actions) == 0 || len(a.libraries) == 0 {
		t.Fatal("the load made no change: the test checked nothing")
	}
}

// startEmulator starts bin with args on a free port and returns it and
// its base URL, read from its banner.
func startEmulator(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "listening on "); ok {
			go io.Copy(io.Discard, out)
			return cmd, strings.TrimSpace(after)
		}
	}
	cmd.Wait()
	t.Fatalf("the emulator did not start: %s", stderr.String())
	return nil, ""
}

func clientToken(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.PostForm(base+"/8ac829e3-bb83-48d7-8cfb-45ebe834d8e1/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"0120a4f9-196a-4f9e-b9f5-23f31f914da7"},
		"client_secret": {"s"}, "scope": {"https://api.securitycenter.microsoft.com/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %v %d", err, resp.StatusCode)
	}
	return tok.AccessToken
}

func killCall(method, u, tok, contentType string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// load submits, cancels and uploads until stop, noting every change
// answered 2xx (an answer cut by the kill is not acknowledged).
func load(base, tok string, round, worker int, a *acked, stop chan struct{}) {
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		switch n % 3 {
		case 0, 1:
			ms := machinesOf(base, tok)
			if len(ms) == 0 {
				continue
			}
			m := ms[(round*8+worker*5+n)%len(ms)]
			code, b, err := killCall("POST", base+"/api/machines/"+m+"/runliveresponse", tok, "application/json",
				[]byte(`{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"minidump.ps1"}]}]}`))
			if err != nil || code != http.StatusCreated {
				continue
			}
			var v struct{ ID string }
			if json.Unmarshal(b, &v) != nil {
				continue
			}
			a.mu.Lock()
			a.actions[v.ID] = false
			a.mu.Unlock()
			if n%3 == 1 {
				code, _, err := killCall("POST", base+"/api/machineactions/"+v.ID+"/cancel", tok, "application/json", []byte(`{"Comment":"kill test"}`))
				if err == nil && code == http.StatusOK {
					a.mu.Lock()
					a.actions[v.ID] = true
					a.mu.Unlock()
				}
			}
		case 2:
			name := fmt.Sprintf("r%d-w%d-%d.ps1", round, worker, n)
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("file", name)
			fw.Write([]byte("Write-Output " + name))
			mw.Close()
			code, _, err := killCall("POST", base+"/api/libraryfiles", tok, mw.FormDataContentType(), body.Bytes())
			if err == nil && code == http.StatusOK {
				a.mu.Lock()
				a.libraries[name] = true
				a.mu.Unlock()
			}
		}
	}
}

var machineList struct {
	sync.Mutex
	ids []string
}

func machinesOf(base, tok string) []string {
	machineList.Lock()
	defer machineList.Unlock()
	if machineList.ids != nil {
		return machineList.ids
	}
	code, b, err := killCall("GET", base+"/api/machines", tok, "", nil)
	if err != nil || code != 200 {
		return nil
	}
	var v struct{ Value []struct{ ID string } }
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	for _, m := range v.Value {
		machineList.ids = append(machineList.ids, m.ID)
	}
	return machineList.ids
}

// checkAcked checks that every acknowledged change is there: each action,
// cancelled if its cancel was acknowledged, each upload in the library.
func checkAcked(t *testing.T, base, tok string, a *acked, round int) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, cancelled := range a.actions {
		code, b, err := killCall("GET", base+"/api/machineactions/"+id, tok, "", nil)
		if err != nil || code != 200 {
			t.Fatalf("after kill %d: acknowledged action %s: %d %v %s", round, id, code, err, b)
		}
		if cancelled && !strings.Contains(string(b), `"status":"Cancelled"`) {
			t.Fatalf("after kill %d: acknowledged cancel of %s is lost: %s", round, id, b)
		}
	}
	code, b, err := killCall("GET", base+"/api/libraryfiles", tok, "", nil)
	if err != nil || code != 200 {
		t.Fatalf("after kill %d: library: %d %v", round, code, err)
	}
	for name := range a.libraries {
		if !strings.Contains(string(b), `"fileName":"`+name+`"`) {
			t.Fatalf("after kill %d: acknowledged upload %s is lost", round, name)
		}
	}
}

// TestDataBannerNamesTheStore starts run with --data and checks that the
// banner names the store's file.
func TestDataBannerNamesTheStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--clock", "manual", "--key-file", "", "--data", dir}, out)
	}()
	want := "data:          " + filepath.Join(dir, "emulator.db")
	for i := 0; i < 500 && !strings.Contains(out.String(), want); i++ {
		clock.SleepWall(t.Context(), 10*time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out.String(), want) {
		t.Fatalf("the banner does not name the store (%q):\n%s", want, out)
	}
	var without bytes.Buffer
	printData(&without, emulator.Options{})
	if without.Len() != 0 {
		t.Errorf("a data line without --data: %q", without.String())
	}
}

// TestDataCompactAfterFlag: --data-compact-after reaches the options
// within its bounds, and is refused past them or without --data.
func TestDataCompactAfterFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
		err  string
	}{
		{[]string{"--data", "d"}, 0, ""},
		{[]string{"--data", "d", "--data-compact-after", "1000"}, 1000, ""},
		{[]string{"--data", "d", "--data-compact-after", "9"}, 0, "must be 10 to 10000000"},
		{[]string{"--data", "d", "--data-compact-after", "10000001"}, 0, "must be 10 to 10000000"},
		{[]string{"--data-compact-after", "1000"}, 0, "need --data"},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		f := addDataFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		var opts emulator.Options
		err := f.apply(&opts)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%v: %v", c.args, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%v: error %v, want one with %q", c.args, err, c.err)
		case c.err == "" && opts.DataCompactAfter != c.want:
			t.Errorf("%v: DataCompactAfter %d, want %d", c.args, opts.DataCompactAfter, c.want)
		}
	}
}
