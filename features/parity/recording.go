// Package parity records the HTTP exchanges of a conformance run, scrubbed
// of everything that differs from run to run (tokens, secrets, machine
// and action ids, SAS signatures, timestamps), and compares two recordings
// field by field: an emulator run against a tenant run shows where the
// emulator and the real service disagree (LocalStack's parity tests, with
// go-cloud's record/replay scrubbing).
package parity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Recording is the exchanges of one scenario, in order.
type Recording struct {
	// Feature is the feature file the scenario is in.
	Feature string `json:"feature"`
	// Scenario is the scenario's name (an outline's row has its own).
	Scenario string `json:"scenario"`
	// Exchanges are the scenario's requests and responses.
	Exchanges []Exchange `json:"exchanges"`
}

// Exchange is one request and its response, scrubbed.
type Exchange struct {
	Request  Request  `json:"request"`
	Response Response `json:"response"`
}

// Request is a recorded request.
type Request struct {
	Method string `json:"method"`
	// URL is the path and query, decoded and scrubbed; the target's own
	// base URL is written <base>.
	URL    string            `json:"url"`
	Header map[string]string `json:"header,omitempty"`
	Body   any               `json:"body,omitempty"`
}

// Response is a recorded response.
type Response struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   any               `json:"body,omitempty"`
}

// Key identifies a scenario in a run.
type Key struct {
	Feature  string
	Scenario string
}

// String returns "feature: scenario".
func (k Key) String() string { return k.Feature + ": " + k.Scenario }

type scenarioKey struct{}

// WithScenario returns ctx carrying the scenario whose requests a Recorder
// should file under k.
func WithScenario(ctx context.Context, k Key) context.Context {
	return context.WithValue(ctx, scenarioKey{}, k)
}

func scenarioOf(ctx context.Context) (Key, bool) {
	k, ok := ctx.Value(scenarioKey{}).(Key)
	return k, ok
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// fileName returns where the recording of k is stored in a directory.
func fileName(k Key) string {
	feature := strings.TrimSuffix(filepath.Base(k.Feature), ".feature")
	name := strings.Trim(unsafeName.ReplaceAllString(k.Scenario, "-"), "-")
	if len(name) > 120 {
		name = name[:120]
	}
	return filepath.Join(feature, name+".json")
}

// Write stores r in dir, one file per scenario.
func Write(dir string, r Recording) error {
	path := filepath.Join(dir, fileName(Key{r.Feature, r.Scenario}))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Load reads every recording stored in dir.
func Load(dir string) (map[Key]Recording, error) {
	out := map[Key]Recording{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var r Recording
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		out[Key{r.Feature, r.Scenario}] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New(dir + ": no recordings")
	}
	return out, nil
}

// sortedKeys returns the keys of a and b, sorted.
func sortedKeys(a, b map[Key]Recording) []Key {
	seen := map[Key]bool{}
	var keys []Key
	for _, m := range []map[Key]Recording{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.SortFunc(keys, func(x, y Key) int { return strings.Compare(x.String(), y.String()) })
	return keys
}
