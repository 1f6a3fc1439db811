package steps

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cucumber/godog"
)

// scriptResult is the JSON file of a RunScript result.
type scriptResult struct {
	ScriptName   string `json:"script_name"`
	ExitCode     int    `json:"exit_code"`
	ScriptOutput string `json:"script_output"`
	ScriptErrors string `json:"script_errors"`
}

func registerResults(sc *godog.ScenarioContext) {
	sc.Step(`^I ask for the download link of command (\d+)$`, func(ctx context.Context, i int) error {
		_, err := worldFrom(ctx).askLink(ctx, i)
		return err
	})
	sc.Step(`^I download the result of command (\d+)$`, func(ctx context.Context, i int) error {
		w := worldFrom(ctx)
		r, err := w.askLink(ctx, i)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("asking for the download link: %s", r)
		}
		return w.openLink(ctx, w.link)
	})
	sc.Step(`^I open the same link again$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		if w.link == "" {
			return fmt.Errorf("no download link yet")
		}
		return w.openLink(ctx, w.link)
	})
	sc.Step(`^I open that link with a forged signature$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		u, err := url.Parse(w.link)
		if err != nil || w.link == "" {
			return fmt.Errorf("no download link to forge (%v)", err)
		}
		q := u.Query()
		q.Set("sig", "Zm9yZ2VkIHNpZ25hdHVyZSBvZiB0aGUgY29uZm9ybWFuY2Uga2l0")
		u.RawQuery = q.Encode()
		return w.openLink(ctx, u.String())
	})
	sc.Step(`^the download succeeded$`, func(ctx context.Context) error {
		d, err := worldFrom(ctx).downloaded()
		if err != nil {
			return err
		}
		if d.status != http.StatusOK {
			return fmt.Errorf("download: %s", d)
		}
		return nil
	})
	sc.Step(`^the download is refused with the storage error "([^"]*)"$`, func(ctx context.Context, code string) error {
		d, err := worldFrom(ctx).downloaded()
		if err != nil {
			return err
		}
		if d.status != http.StatusForbidden || !bytes.Contains(d.body, []byte("<Code>"+code+"</Code>")) {
			return fmt.Errorf("download: %s; want 403 with the code %s", d, code)
		}
		return nil
	})
	sc.Step(`^the result is a script result for "([^"]*)" with exit code (\d+)$`, func(ctx context.Context, name string, code int) error {
		s, err := worldFrom(ctx).scriptResult()
		if err != nil {
			return err
		}
		if s.ScriptName != name || s.ExitCode != code {
			return fmt.Errorf("script result for %q with exit code %d, want %q and %d", s.ScriptName, s.ExitCode, name, code)
		}
		return nil
	})
	sc.Step(`^the script output contains "([^"]*)"$`, func(ctx context.Context, part string) error {
		s, err := worldFrom(ctx).scriptResult()
		if err != nil {
			return err
		}
		if !strings.Contains(s.ScriptOutput, part) {
			return fmt.Errorf("script_output %q does not contain %q", s.ScriptOutput, part)
		}
		return nil
	})
	sc.Step(`^the script errors contain "([^"]*)"$`, func(ctx context.Context, part string) error {
		s, err := worldFrom(ctx).scriptResult()
		if err != nil {
			return err
		}
		if !strings.Contains(s.ScriptErrors, part) {
			return fmt.Errorf("script_errors %q does not contain %q", s.ScriptErrors, part)
		}
		return nil
	})
	sc.Step(`^the script errors are empty$`, func(ctx context.Context) error {
		s, err := worldFrom(ctx).scriptResult()
		if err != nil {
			return err
		}
		if s.ScriptErrors != "" {
			return fmt.Errorf("script_errors %q, want empty", s.ScriptErrors)
		}
		return nil
	})
	sc.Step(`^the result is a gzip file named "([^"]*)"$`, func(ctx context.Context, name string) error {
		got, _, err := worldFrom(ctx).gunzip()
		if err != nil {
			return err
		}
		if got != name {
			return fmt.Errorf("the gzip header names %q, want %q", got, name)
		}
		return nil
	})
	sc.Step(`^the file contains "([^"]*)"$`, func(ctx context.Context, part string) error {
		_, content, err := worldFrom(ctx).gunzip()
		if err != nil {
			return err
		}
		if !strings.Contains(string(content), part) {
			return fmt.Errorf("the file %q does not contain %q", content, part)
		}
		return nil
	})
	sc.Step(`^the file's content is "([^"]*)"$`, func(ctx context.Context, want string) error {
		_, content, err := worldFrom(ctx).gunzip()
		if err != nil {
			return err
		}
		if string(content) != want {
			return fmt.Errorf("the file is %q, want %q", content, want)
		}
		return nil
	})
}

// askLink asks for the download link of command i of the current action.
func (w *world) askLink(ctx context.Context, i int) (*response, error) {
	if w.action == "" {
		return nil, fmt.Errorf("no action was started")
	}
	r, err := w.do(ctx, request{method: http.MethodGet,
		target: "/api/machineactions/" + w.action + "/GetLiveResponseResultDownloadLink(index=" + strconv.Itoa(i) + ")"})
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusOK {
		var l struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(r.body, &l); err != nil || l.Value == "" {
			return nil, fmt.Errorf("the download link response has no value: %s", r)
		}
		w.link = l.Value
	}
	return r, nil
}

// openLink downloads a result link, without the API token.
func (w *world) openLink(ctx context.Context, link string) error {
	r, err := w.once(ctx, request{method: http.MethodGet, target: link, noAuth: true})
	if err != nil {
		return err
	}
	w.download = r
	return nil
}

func (w *world) downloaded() (*response, error) {
	if w.download == nil {
		return nil, fmt.Errorf("nothing was downloaded yet")
	}
	return w.download, nil
}

func (w *world) scriptResult() (*scriptResult, error) {
	d, err := w.downloaded()
	if err != nil {
		return nil, err
	}
	var s scriptResult
	if d.status != http.StatusOK || json.Unmarshal(d.body, &s) != nil {
		return nil, fmt.Errorf("the download is not a RunScript result: %s", d)
	}
	return &s, nil
}

func (w *world) gunzip() (name string, content []byte, err error) {
	d, err := w.downloaded()
	if err != nil {
		return "", nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(d.body))
	if err != nil {
		return "", nil, fmt.Errorf("the download is not gzip (%v): %s", err, d)
	}
	content, err = io.ReadAll(zr)
	if err != nil {
		return "", nil, fmt.Errorf("the download is not valid gzip: %v", err)
	}
	return zr.Name, content, nil
}
