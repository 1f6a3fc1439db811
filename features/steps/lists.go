package steps

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cucumber/godog"
	"github.com/google/go-cmp/cmp"
)

// collection is the body of a list response.
type collection struct {
	Context  string `json:"@odata.context"`
	Count    *int   `json:"@odata.count"`
	NextLink string `json:"@odata.nextLink"`
	Value    []struct {
		ID              string `json:"id"`
		ComputerDNSName string `json:"computerDnsName"`
		FileName        string `json:"fileName"`
	} `json:"value"`
}

func registerLists(sc *godog.ScenarioContext) {
	sc.Step(`^a tenant with (\d+) machines$`, func(ctx context.Context, n int) error {
		w := worldFrom(ctx)
		c, err := w.control()
		if err != nil {
			return err
		}
		return c.LoadFixtures(ctx, []byte(fmt.Sprintf(`tenants:
  - id: %s
    apps:
      - {clientId: %s, clientSecret: %s, displayName: SOAR Automation, roles: [Machine.Read.All]}
    generateMachines: %d
`, defaultTenantID, defaultClientID, defaultSecret, n)))
	})
	sc.Step(`^I list every machine, following the next links$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		w.pages, w.listed = nil, nil
		for target := "/api/machines"; target != ""; {
			if len(w.pages) > 100 {
				return fmt.Errorf("more than 100 pages: the next links do not end")
			}
			if _, err := w.do(ctx, request{method: http.MethodGet, target: target}); err != nil {
				return err
			}
			c, err := w.collection()
			if err != nil {
				return err
			}
			w.pages = append(w.pages, len(c.Value))
			for _, m := range c.Value {
				w.listed = append(w.listed, m.ID)
			}
			target = c.NextLink
		}
		return nil
	})
	sc.Step(`^the pages hold "([^"]*)" machines, each machine once$`, func(ctx context.Context, sizes string) error {
		w := worldFrom(ctx)
		if got := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(w.pages)), ", "), "[]"); got != sizes {
			return fmt.Errorf("pages of %s machines, want %s", got, sizes)
		}
		seen := map[string]bool{}
		for _, id := range w.listed {
			if seen[id] {
				return fmt.Errorf("machine %s listed twice", id)
			}
			seen[id] = true
		}
		return nil
	})
	sc.Step(`^these live response actions, started one minute apart:$`, startActions)
	sc.Step(`^I list machine actions with "([^"]*)"$`, func(ctx context.Context, query string) error {
		return list(ctx, "/api/machineactions", query)
	})
	sc.Step(`^I list machine actions$`, func(ctx context.Context) error {
		return list(ctx, "/api/machineactions", "")
	})
	sc.Step(`^I list machines with "([^"]*)"$`, func(ctx context.Context, query string) error {
		return list(ctx, "/api/machines", query)
	})
	sc.Step(`^I get the machine$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		_, err := w.do(ctx, request{method: http.MethodGet, target: "/api/machines/" + w.machine})
		return err
	})
	sc.Step(`^the listed actions are "([^"]*)"$`, func(ctx context.Context, names string) error {
		w := worldFrom(ctx)
		c, err := w.collection()
		if err != nil {
			return err
		}
		byID := map[string]string{}
		for n, id := range w.named {
			byID[id] = n
		}
		if _, named := byID[w.action]; w.action != "" && !named {
			byID[w.action] = "the action"
		}
		var got []string
		for _, v := range c.Value {
			n, ok := byID[v.ID]
			if !ok {
				n = v.ID
			}
			got = append(got, n)
		}
		if diff := cmp.Diff(splitList(names), got); diff != "" {
			return fmt.Errorf("listed actions (-want +got):\n%s", diff)
		}
		return nil
	})
	sc.Step(`^the list's count is (\d+)$`, func(ctx context.Context, n int) error {
		c, err := worldFrom(ctx).collection()
		if err != nil {
			return err
		}
		if c.Count == nil || *c.Count != n {
			return fmt.Errorf("@odata.count is %v, want %d", c.Count, n)
		}
		return nil
	})
	sc.Step(`^the list has a count$`, func(ctx context.Context) error {
		c, err := worldFrom(ctx).collection()
		if err != nil {
			return err
		}
		if c.Count == nil || *c.Count < len(c.Value) {
			return fmt.Errorf("@odata.count is %v for a page of %d", c.Count, len(c.Value))
		}
		return nil
	})
	sc.Step(`^the list holds (\d+) actions?$`, func(ctx context.Context, n int) error {
		c, err := worldFrom(ctx).collection()
		if err != nil {
			return err
		}
		if len(c.Value) != n {
			return fmt.Errorf("the list holds %d, want %d", len(c.Value), n)
		}
		return nil
	})
	sc.Step(`^the list holds at most (\d+) actions?$`, func(ctx context.Context, n int) error {
		c, err := worldFrom(ctx).collection()
		if err != nil {
			return err
		}
		if len(c.Value) > n {
			return fmt.Errorf("the list holds %d, want at most %d", len(c.Value), n)
		}
		return nil
	})
	sc.Step(`^the list does not include the action$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		c, err := w.collection()
		if err != nil {
			return err
		}
		for _, v := range c.Value {
			if strings.EqualFold(v.ID, w.action) {
				return fmt.Errorf("the list includes the action %s", w.action)
			}
		}
		return nil
	})
	sc.Step(`^the listed machines are "([^"]*)"$`, func(ctx context.Context, names string) error {
		c, err := worldFrom(ctx).collection()
		if err != nil {
			return err
		}
		var got []string
		for _, v := range c.Value {
			got = append(got, v.ComputerDNSName)
		}
		if diff := cmp.Diff(splitList(names), got); diff != "" {
			return fmt.Errorf("listed machines (-want +got):\n%s", diff)
		}
		return nil
	})
	sc.Step(`^the listed machines are exactly that machine$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		c, err := w.collection()
		if err != nil {
			return err
		}
		if len(c.Value) != 1 || !strings.EqualFold(c.Value[0].ID, w.machine) {
			return fmt.Errorf("listed %+v, want only %s", c.Value, w.machine)
		}
		return nil
	})
	sc.Step(`^the response is that machine$`, func(ctx context.Context) error {
		w := worldFrom(ctx)
		var m struct {
			ID string `json:"id"`
		}
		if err := w.decode(&m); err != nil {
			return err
		}
		if !strings.EqualFold(m.ID, w.machine) {
			return fmt.Errorf("machine %q, want %q", m.ID, w.machine)
		}
		return nil
	})
}

// splitList splits "C, B, A"; the empty string is the empty list.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// machineRoles maps the machines of an actions table to their placeholder
// names and ids.
func (w *world) machineRole(role string) (name, id string, err error) {
	m := w.target.Machines()
	switch role {
	case "the Windows machine":
		name, id = "Windows machine", m.Windows
	case "the second Windows machine":
		name, id = "second Windows machine", m.Windows2
	case "the Linux machine":
		name, id = "Linux machine", m.Linux
	default:
		return "", "", fmt.Errorf("unknown machine %q (the Windows machine, the second Windows machine, the Linux machine)", role)
	}
	if id == "" {
		return "", "", fmt.Errorf("the target offers no %s; tag the scenario @emulator-only", name)
	}
	return name, id, nil
}

// startActions starts the actions of a table | name | machine | script |,
// one emulated minute apart.
func startActions(ctx context.Context, table *godog.Table) error {
	w := worldFrom(ctx)
	for i, row := range table.Rows {
		if i == 0 {
			continue
		}
		if len(row.Cells) != 3 {
			return fmt.Errorf("row %d: want | name | machine | script |", i)
		}
		name, role, script := row.Cells[0].Value, row.Cells[1].Value, row.Cells[2].Value
		if i > 1 {
			if err := w.advance(ctx, time.Minute); err != nil {
				return err
			}
		}
		placeholderName, id, err := w.machineRole(role)
		if err != nil {
			return err
		}
		w.extra[placeholderName] = id
		w.machine, w.machineName = id, ""
		if err := runScript(ctx, script, "", "", ""); err != nil {
			return err
		}
		if w.last.status != http.StatusCreated {
			return fmt.Errorf("starting action %s: %s", name, w.last)
		}
		created, err := time.Parse(time.RFC3339Nano, w.view.CreationDateTimeUtc)
		if err != nil {
			return fmt.Errorf("action %s: creationDateTimeUtc %q: %v", name, w.view.CreationDateTimeUtc, err)
		}
		w.named[name], w.created[name] = w.action, created
	}
	return nil
}

// list gets a collection with an OData query written as in the docs
// ("$filter=status eq 'Failed'&$top=1"), its placeholders expanded.
func list(ctx context.Context, path, query string) error {
	w := worldFrom(ctx)
	query, err := w.expand(ctx, query)
	if err != nil {
		return err
	}
	target := path
	if query != "" {
		var parts []string
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			parts = append(parts, k+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
		target += "?" + strings.Join(parts, "&")
	}
	_, err = w.do(ctx, request{method: http.MethodGet, target: target})
	return err
}

func (w *world) collection() (*collection, error) {
	r, err := w.lastResponse()
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, fmt.Errorf("the list failed: %s", r)
	}
	var c collection
	if err := w.decode(&c); err != nil {
		return nil, err
	}
	return &c, nil
}
