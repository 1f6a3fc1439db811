package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/cucumber/godog"
)

// probeScript is the script the portable scenarios upload and run: it
// exists in no library before, so a real tenant needs nothing prepared.
const (
	probeScript  = "conformance-probe.ps1"
	probeContent = "Write-Output \"conformance probe\"\n"
)

func registerSubmit(sc *godog.ScenarioContext) {
	sc.Step(`^(an online Windows machine|a second online Windows machine|an online Linux machine|an offline machine|a machine on an unsupported platform|a machine in a device group without a remediation level|a machine with a file larger than 3 GB)$`, chooseMachine)
	sc.Step(`^a machine that does not exist$`, func(ctx context.Context) {
		w := worldFrom(ctx)
		w.machine, w.machineName = unknownMachine, ""
	})
	sc.Step(`^the library holds the conformance probe script$`, holdProbe)
	sc.Step(`^I run the script "([^"]*)" on it$`, func(ctx context.Context, script string) error {
		return runScript(ctx, script, "", "", "")
	})
	sc.Step(`^I run the script "([^"]*)" on it again$`, func(ctx context.Context, script string) error {
		return runScript(ctx, script, "", "", "")
	})
	sc.Step(`^I run the script "([^"]*)" on it with the comment "([^"]*)"$`, func(ctx context.Context, script, comment string) error {
		return runScript(ctx, script, "", comment, "")
	})
	sc.Step(`^I run the script "([^"]*)" with the arguments "([^"]*)" on it$`, func(ctx context.Context, script, args string) error {
		return runScript(ctx, script, args, "", "")
	})
	sc.Step(`^I run the script "([^"]*)" on it through the path "([^"]*)"$`, func(ctx context.Context, script, path string) error {
		return runScript(ctx, script, "", "", path)
	})
	sc.Step(`^I run these commands on it:$`, runCommands)
	sc.Step(`^I submit the request body '(.*)' for it$`, func(ctx context.Context, body string) error {
		w := worldFrom(ctx)
		_, err := w.submit(ctx, "", []byte(body))
		return err
	})
	sc.Step(`^I send (GET|POST|DELETE) "([^"]*)"$`, func(ctx context.Context, method, path string) error {
		return send(ctx, method, path, "")
	})
	sc.Step(`^I send (GET|POST|DELETE) "([^"]*)" with the body '(.*)'$`, send)

	sc.Step(`^the response status is (\d+)$`, responseStatus)
	sc.Step(`^the response status is (\d+) or (\d+)$`, func(ctx context.Context, a, b int) error {
		r, err := worldFrom(ctx).lastResponse()
		if err != nil {
			return err
		}
		if r.status != a && r.status != b {
			return fmt.Errorf("status %d, want %d or %d: %s", r.status, a, b, r)
		}
		return nil
	})
	sc.Step(`^the error code is "([^"]*)"$`, func(ctx context.Context, code string) error {
		e, err := lastError(ctx)
		if err != nil {
			return err
		}
		if e.Error.Code != code {
			return fmt.Errorf("error code %q, want %q: %s", e.Error.Code, code, worldFrom(ctx).last)
		}
		return nil
	})
	sc.Step(`^the error message is "([^"]*)"$`, func(ctx context.Context, msg string) error {
		e, err := lastError(ctx)
		if err != nil {
			return err
		}
		if e.Error.Message != msg {
			return fmt.Errorf("error message %q, want %q", e.Error.Message, msg)
		}
		return nil
	})
	sc.Step(`^the error message contains "([^"]*)"$`, func(ctx context.Context, part string) error {
		e, err := lastError(ctx)
		if err != nil {
			return err
		}
		if !strings.Contains(e.Error.Message, part) {
			return fmt.Errorf("error message %q does not contain %q", e.Error.Message, part)
		}
		return nil
	})
	sc.Step(`^the response has the OData context "([^"]*)"$`, func(ctx context.Context, suffix string) error {
		var v struct {
			Context string `json:"@odata.context"`
		}
		if err := worldFrom(ctx).decode(&v); err != nil {
			return err
		}
		if !strings.HasSuffix(v.Context, suffix) || !strings.Contains(v.Context, "/api/$metadata") {
			return fmt.Errorf("@odata.context %q, want …/api/$metadata%s", v.Context, suffix)
		}
		return nil
	})
	sc.Step(`^the response field "([^"]*)" is "([^"]*)"$`, func(ctx context.Context, field, want string) error {
		var v map[string]any
		if err := worldFrom(ctx).decode(&v); err != nil {
			return err
		}
		got, ok := v[field]
		if !ok {
			return fmt.Errorf("the response has no field %q", field)
		}
		if fmt.Sprint(got) != want {
			return fmt.Errorf("%s is %v, want %q", field, got, want)
		}
		return nil
	})
}

// chooseMachine makes the machine of a description the scenario's.
func chooseMachine(ctx context.Context, desc string) error {
	w := worldFrom(ctx)
	m := w.target.Machines()
	ids := map[string]string{
		"an online Windows machine":                               m.Windows,
		"a second online Windows machine":                         m.Windows2,
		"an online Linux machine":                                 m.Linux,
		"an offline machine":                                      m.Offline,
		"a machine on an unsupported platform":                    m.Unsupported,
		"a machine in a device group without a remediation level": m.NoRemediation,
		"a machine with a file larger than 3 GB":                  m.LargeFile,
	}
	id := ids[desc]
	if id == "" {
		return fmt.Errorf("the target offers no machine for %q; tag the scenario @emulator-only", desc)
	}
	w.machine, w.machineName = id, ""
	return nil
}

// holdProbe uploads the probe script, replacing it if it is there.
func holdProbe(ctx context.Context) error {
	w := worldFrom(ctx)
	r, err := w.upload(ctx, probeScript, []byte(probeContent), map[string]string{
		"Description": "Conformance kit probe: prints a line", "OverrideIfExists": "true",
	})
	if err != nil {
		return err
	}
	if r.status != http.StatusOK {
		return fmt.Errorf("uploading the probe script: %s", r)
	}
	return nil
}

// upload posts a library file as multipart/form-data, the file in the
// "file" field.
func (w *world) upload(ctx context.Context, name string, content []byte, fields map[string]string) (*response, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			return nil, err
		}
		if _, err := fw.Write(content); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"Description", "ParametersDescription", "HasParameters", "OverrideIfExists"} {
		if v, ok := fields[k]; ok {
			if err := mw.WriteField(k, v); err != nil {
				return nil, err
			}
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return w.do(ctx, request{method: http.MethodPost, target: "/api/libraryfiles", body: buf.Bytes(), contentType: mw.FormDataContentType()})
}

// command is one command of a runliveresponse body.
type command struct {
	Type   string  `json:"type"`
	Params []param `json:"params"`
}

type param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type submitBody struct {
	Commands []command `json:"Commands"`
	Comment  string    `json:"Comment"`
}

// runScript submits a RunScript of script on the scenario's machine,
// through path (a template) when not empty.
func runScript(ctx context.Context, script, args, comment, path string) error {
	p := []param{{Key: "ScriptName", Value: script}}
	if args != "" {
		p = append(p, param{Key: "Args", Value: args})
	}
	if comment == "" {
		comment = "Started by the conformance kit"
	}
	b, _ := json.Marshal(submitBody{Commands: []command{{Type: "RunScript", Params: p}}, Comment: comment})
	w := worldFrom(ctx)
	_, err := w.submit(ctx, path, b)
	return err
}

// runCommands submits the commands of a table | type | parameters |, the
// parameters written key=value, separated by ", ".
func runCommands(ctx context.Context, table *godog.Table) error {
	var cmds []command
	for i, row := range table.Rows {
		if i == 0 {
			continue
		}
		if len(row.Cells) != 2 {
			return fmt.Errorf("row %d: want | type | parameters |", i)
		}
		c := command{Type: row.Cells[0].Value, Params: []param{}}
		for _, kv := range strings.Split(row.Cells[1].Value, ", ") {
			if kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("row %d: parameter %q is not key=value", i, kv)
			}
			c.Params = append(c.Params, param{Key: k, Value: v})
		}
		cmds = append(cmds, c)
	}
	b, _ := json.Marshal(submitBody{Commands: cmds, Comment: "Started by the conformance kit"})
	w := worldFrom(ctx)
	_, err := w.submit(ctx, "", b)
	return err
}

// submit posts body to runliveresponse for the scenario's machine (or
// through path) and, on 201, makes the new action the current one.
func (w *world) submit(ctx context.Context, path string, body []byte) (*response, error) {
	if path == "" {
		if w.machine == "" {
			return nil, fmt.Errorf("no machine was chosen")
		}
		path = "/api/machines/" + w.machine + "/runliveresponse"
	}
	path, err := w.expand(ctx, path)
	if err != nil {
		return nil, err
	}
	r, err := w.do(ctx, request{method: http.MethodPost, target: path, body: body, contentType: "application/json"})
	if err != nil {
		return nil, err
	}
	if r.status == http.StatusCreated {
		v, err := w.lastAction()
		if err != nil {
			return nil, err
		}
		w.action = v.ID
		w.started = append(w.started, v.ID)
	}
	return r, nil
}

// send sends a request of the scenario, its path and body expanded.
func send(ctx context.Context, method, path, body string) error {
	w := worldFrom(ctx)
	path, err := w.expand(ctx, path)
	if err != nil {
		return err
	}
	req := request{method: method, target: path}
	if body != "" {
		if body, err = w.expand(ctx, body); err != nil {
			return err
		}
		req.body, req.contentType = []byte(body), "application/json"
	}
	_, err = w.do(ctx, req)
	return err
}

func responseStatus(ctx context.Context, want int) error {
	r, err := worldFrom(ctx).lastResponse()
	if err != nil {
		return err
	}
	if r.status != want {
		return fmt.Errorf("status %d, want %d: %s", r.status, want, r)
	}
	return nil
}

func lastError(ctx context.Context) (*apiError, error) {
	var e apiError
	if err := worldFrom(ctx).decode(&e); err != nil {
		return nil, err
	}
	if e.Error.Code == "" {
		return nil, fmt.Errorf("the response has no error body: %s", worldFrom(ctx).last)
	}
	return &e, nil
}
