package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/emulator/scenario"
)

// --scenario list prints every shipped scenario's name and title and
// returns at once, without serving.
func TestScenarioList(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--scenario", "list"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	names := scenario.Names()
	if len(lines) != len(names) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(names), out.String())
	}
	for i, n := range names {
		sc, err := scenario.Describe(n)
		if err != nil {
			t.Fatal(err)
		}
		if f := strings.Fields(lines[i]); len(f) < 2 || f[0] != n || !strings.HasSuffix(lines[i], sc.Title) {
			t.Errorf("line %q, want %s and its title %q", lines[i], n, sc.Title)
		}
	}
}

// --scenario refuses --fixtures beside it, an unknown name and a bad file.
func TestScenarioFlagErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\ncolour: red\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--scenario", "busy-machine", "--fixtures", "f.yaml"}, "exclusive"},
		{[]string{"--scenario", "no-such"}, "no such scenario"},
		{[]string{"--scenario", bad}, "bad.yaml:2: field colour not found"},
	} {
		err := run(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, tt.args...), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want %q", tt.args, err, tt.want)
		}
	}
}

// --scenario NAME serves with the scenario loaded.
func TestScenarioFlagLoads(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--clock", "manual", "--scenario", "laptop-day-2"}, out)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	addr := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	var base string
	for i := 0; i < 500 && base == ""; i++ {
		if m := addr.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "scenario:") {
			base = m[1]
			break
		}
		_ = clock.SleepWall(ctx, 10*time.Millisecond)
	}
	if base == "" {
		t.Fatalf("no banner with the scenario: %q", out.String())
	}
	res, err := http.Get(base + "/_emulator/scenario")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st struct{ Name, State string }
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil || res.StatusCode != 200 || st.Name != "laptop-day-2" || st.State != "running" {
		t.Errorf("GET /_emulator/scenario: %d %+v %v", res.StatusCode, st, err)
	}
}

// runUntilBanner runs the emulator with args until ctx ends; it returns
// its base URL once the banner holds want, and the channel of run's end.
func runUntilBanner(ctx context.Context, t *testing.T, args []string, want string) (string, *syncBuffer, chan error) {
	t.Helper()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--addr", "127.0.0.1:0", "--key-file", ""}, args...), out) }()
	addr := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	for i := 0; i < 500; i++ {
		if m := addr.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), want) {
			return m[1], out, done
		}
		_ = clock.SleepWall(ctx, 10*time.Millisecond)
	}
	t.Fatalf("no banner with %q: %q", want, out.String())
	return "", nil, nil
}

// --scenario NAME --data DIR loads the scenario into an empty store; a
// second start with the same flags keeps the stored state (the timeline
// where it stood, the action the scenario started) instead of loading it
// anew.
func TestScenarioWithDataKeptAcrossStarts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	args := []string{"--clock", "manual", "--scenario", "busy-machine", "--data", dir}
	status := func(base string) (string, map[string]any) {
		t.Helper()
		res, err := http.Get(base + "/_emulator/scenario")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var st map[string]any
		if err := json.NewDecoder(res.Body).Decode(&st); err != nil || res.StatusCode != 200 {
			t.Fatalf("GET /_emulator/scenario: %d %v", res.StatusCode, err)
		}
		delete(st, "journalAfterSeq") // the journal is not kept
		b, _ := json.Marshal(st)
		return string(b), st
	}

	ctx, cancel := context.WithCancel(context.Background())
	base, _, done := runUntilBanner(ctx, t, args, "scenario:")
	res, err := http.Post(base+"/_emulator/clock/advance", "application/json", strings.NewReader(`{"by":"11m"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("advance: %d", res.StatusCode)
	}
	first, st := status(base)
	if st["name"] != "busy-machine" || !strings.Contains(first, `"status":"fired"`) || !strings.Contains(first, `"status":"pending"`) {
		t.Fatalf("after the first start and 11m: %s", first)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("first run: %v", err)
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	base, out, done := runUntilBanner(ctx, t, args, "scenario:")
	second, _ := status(base)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("second run: %v", err)
	}
	if second != first {
		t.Errorf("the second start did not keep the state:\nfirst  %s\nsecond %s", first, second)
	}
	if !strings.Contains(out.String(), "kept by the store") {
		t.Errorf("the banner does not say the store's scenario is kept:\n%s", out)
	}
}
