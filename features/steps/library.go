package steps

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/cucumber/godog"
)

// libraryFile is a library file as the API returns it.
type libraryFile struct {
	FileName        string `json:"fileName"`
	SHA256          string `json:"sha256"`
	CreationTime    string `json:"creationTime"`
	LastUpdatedTime string `json:"lastUpdatedTime"`
}

func registerLibrary(sc *godog.ScenarioContext) {
	sc.Step(`^I upload the file "([^"]*)" with the content "([^"]*)"$`, func(ctx context.Context, name, content string) error {
		return uploadFile(ctx, name, []byte(content), nil)
	})
	sc.Step(`^I upload the file "([^"]*)" with the content "([^"]*)" and OverrideIfExists "(true|false)"$`, func(ctx context.Context, name, content, override string) error {
		return uploadFile(ctx, name, []byte(content), map[string]string{"OverrideIfExists": override})
	})
	sc.Step(`^I upload a file "([^"]*)" of (\d+) bytes$`, func(ctx context.Context, name string, size int) error {
		return uploadFile(ctx, name, bytes.Repeat([]byte("a"), size), nil)
	})
	sc.Step(`^I upload a form without a file$`, func(ctx context.Context) error {
		_, err := worldFrom(ctx).upload(ctx, "", nil, map[string]string{"Description": "a form without a file"})
		return err
	})
	sc.Step(`^I delete the library file "([^"]*)"$`, func(ctx context.Context, name string) error {
		w := worldFrom(ctx)
		_, err := w.do(ctx, request{method: http.MethodDelete, target: "/api/libraryfiles/" + url.PathEscape(name)})
		return err
	})
	sc.Step(`^I list the library$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		_, err := w.do(ctx, request{method: http.MethodGet, target: "/api/libraryfiles"})
		return err
	})
	sc.Step(`^the library lists "([^"]*)"$`, func(ctx context.Context, name string) error {
		found, err := libraryHas(ctx, name)
		if err == nil && !found {
			err = fmt.Errorf("the library does not list %q", name)
		}
		return err
	})
	sc.Step(`^the library does not list "([^"]*)"$`, func(ctx context.Context, name string) error {
		found, err := libraryHas(ctx, name)
		if err == nil && found {
			err = fmt.Errorf("the library lists %q", name)
		}
		return err
	})
	sc.Step(`^the uploaded file is "([^"]*)" with the SHA-256 of "([^"]*)"$`, func(ctx context.Context, name, content string) error {
		var f libraryFile
		if err := worldFrom(ctx).decode(&f); err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(content))
		if want := hex.EncodeToString(sum[:]); f.FileName != name || f.SHA256 != want {
			return fmt.Errorf("uploaded %q with sha256 %s, want %q with %s", f.FileName, f.SHA256, name, want)
		}
		return nil
	})
	sc.Step(`^the uploaded file was created (\d+) minutes? before its last update$`, func(ctx context.Context, n int) error {
		var f libraryFile
		if err := worldFrom(ctx).decode(&f); err != nil {
			return err
		}
		created, err1 := time.Parse(time.RFC3339Nano, f.CreationTime)
		updated, err2 := time.Parse(time.RFC3339Nano, f.LastUpdatedTime)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("creationTime %q, lastUpdatedTime %q", f.CreationTime, f.LastUpdatedTime)
		}
		if got := updated.Sub(created); got != time.Duration(n)*time.Minute {
			return fmt.Errorf("last update %s after creation, want %d minutes", got, n)
		}
		return nil
	})
}

// uploadFile uploads a library file and remembers it for the clean-up.
func uploadFile(ctx context.Context, name string, content []byte, fields map[string]string) error {
	w := worldFrom(ctx)
	r, err := w.upload(ctx, name, content, fields)
	if err != nil {
		return err
	}
	if r.status == http.StatusOK && name != probeScript {
		w.uploaded = append(w.uploaded, name)
	}
	return nil
}

func libraryHas(ctx context.Context, name string) (bool, error) {
	c, err := worldFrom(ctx).collection()
	if err != nil {
		return false, err
	}
	for _, f := range c.Value {
		if f.FileName == name {
			return true, nil
		}
	}
	return false, nil
}
