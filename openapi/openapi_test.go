package openapi

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func TestLoad(t *testing.T) {
	t.Parallel()
	doc, err := Load()
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if got := doc.OpenAPI; got != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", got)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/api" {
		t.Errorf("servers = %v, want one relative server /api", doc.Servers)
	}
	if got := doc.Components.SecuritySchemes["bearerAuth"]; got == nil || got.Value.Type != "http" || got.Value.Scheme != "bearer" {
		t.Errorf("bearerAuth = %+v, want an http bearer scheme", got)
	}

	var got []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			got = append(got, method+" "+path)
		}
	}
	slices.Sort(got)
	want := []string{
		"DELETE /libraryfiles/{fileName}",
		"GET /libraryfiles",
		"GET /machineactions",
		"GET /machineactions/{id}",
		"GET /machineactions/{id}/GetLiveResponseResultDownloadLink(index={index})",
		"GET /machines",
		"GET /machines/{id}",
		"POST /libraryfiles",
		"POST /machineactions/{id}/cancel",
		"POST /machines/{id}/runliveresponse",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}

	// Every error response carries the Error schema; 429 carries Retry-After.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, resp := range op.Responses.Map() {
				if code[0] != '4' && code[0] != '5' {
					continue
				}
				mt := resp.Value.Content.Get("application/json")
				if mt == nil || mt.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s %s %s: content is not the Error schema", method, path, code)
				}
				if code == "429" && resp.Value.Headers["Retry-After"] == nil {
					t.Errorf("%s %s 429: no Retry-After header", method, path)
				}
			}
		}
	}
}

// TestMachineActionPropertyOrder checks that the document lists the
// properties in the order the real service sends them.
func TestMachineActionPropertyOrder(t *testing.T) {
	t.Parallel()
	var root yaml.Node
	if err := yaml.Unmarshal(Spec, &root); err != nil {
		t.Fatal(err)
	}
	props := lookup(t, root.Content[0], "components", "schemas", "MachineAction", "properties")
	var got []string
	for i := 0; i < len(props.Content); i += 2 {
		got = append(got, props.Content[i].Value)
	}
	want := []string{"@odata.context",
		"id", "type", "title", "requestor", "requestorComment", "status", "machineId", "computerDnsName",
		"creationDateTimeUtc", "lastUpdateDateTimeUtc", "cancellationRequestor", "cancellationComment",
		"cancellationDateTimeUtc", "errorHResult", "scope", "externalId", "requestSource", "relatedFileInfo",
		"commands", "troubleshootInfo"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MachineAction properties (-want +got):\n%s", diff)
	}
	required := lookup(t, root.Content[0], "components", "schemas", "MachineAction", "required")
	var req []string
	for _, n := range required.Content {
		req = append(req, n.Value)
	}
	if diff := cmp.Diff(want[1:], req); diff != "" {
		t.Errorf("MachineAction required (-want +got):\n%s", diff)
	}
}

func lookup(t *testing.T, n *yaml.Node, keys ...string) *yaml.Node {
	t.Helper()
	for _, k := range keys {
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			t.Fatalf("no key %q", k)
		}
		n = next
	}
	return n
}
