package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
	texttemplate "text/template"

	"github.com/labstack/echo/v4"

	"github.com/mdelive/mde-emulator/emulator/fixture"
	"github.com/mdelive/mde-emulator/internal/identity"
	"github.com/mdelive/mde-emulator/internal/state"
)

// A classroom of tenants: POST /_emulator/tenants makes a tenant on the
// fly, a copy of one of the fixtures' tenants (the template) with fresh
// ids and fresh credentials (state.FromTemplate), one per trainee. Each
// is isolated as the fixtures' tenants are from each other: tokens name
// their tenant, machines and actions are the tenant's, rate limits and
// sessions are counted per tenant and app, the journal filters by
// tenantId. DELETE removes one; POST /_emulator/reset and PUT
// /_emulator/fixtures remove them all. Bounds: state.MaxCreatedTenants
// (200) tenants, names of state.MaxTenantNameLen (64) characters, a
// template of at most state.MaxTemplateMachines (1,000) machines, a body
// of at most maxJSONBody (1 MiB).

// tenantRoutes adds the control plane's tenants routes to g.
func (s *Server) tenantRoutes(g *echo.Group) {
	g.GET("/tenants", s.listTenants)
	g.POST("/tenants", s.postTenant)
	g.GET("/tenants/credentials", s.getAllCredentials)
	g.GET("/tenants/:id", s.getTenant)
	g.DELETE("/tenants/:id", s.deleteTenant)
	g.GET("/tenants/:id/credentials", s.getCredentials)
}

// tenantView is a tenant as the control plane lists it: no secret.
type tenantView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Created is true for a tenant made by POST /_emulator/tenants, false
	// for one of the fixtures.
	Created     bool             `json:"created"`
	Template    string           `json:"template,omitempty"`
	CreatedAt   *state.Timestamp `json:"createdAt,omitempty"`
	Machines    int              `json:"machines"`
	LiveActions int              `json:"liveActions"`
	Sessions    int              `json:"sessions"`
	Apps        []tenantApp      `json:"apps"`
	Users       []tenantUser     `json:"users"`
}

// tenantApp is an app of a tenant, without its secret.
type tenantApp struct {
	ClientID    string   `json:"clientId"`
	DisplayName string   `json:"displayName"`
	Roles       []string `json:"roles"`
}

// tenantUser is a user of a tenant, without a password.
type tenantUser struct {
	UserPrincipalName string `json:"userPrincipalName"`
	ObjectID          string `json:"objectId"`
	DisplayName       string `json:"displayName,omitempty"`
}

// tenantList is the body of GET /_emulator/tenants.
type tenantList struct {
	Value      []tenantView `json:"value"`
	Created    int          `json:"created"`
	MaxCreated int          `json:"maxCreated"`
}

// tenantCredentials is what a trainee needs to reach a tenant: where,
// and as whom, secrets included.
type tenantCredentials struct {
	TenantID   string           `json:"tenantId"`
	Name       string           `json:"name"`
	APIURL     string           `json:"apiUrl"`
	TokenURL   string           `json:"tokenUrl"`   // v2.0, with Scope
	TokenURLV1 string           `json:"tokenUrlV1"` // v1, with Resource
	Scope      string           `json:"scope"`
	Resource   string           `json:"resource"`
	Apps       []appCredentials `json:"apps"`
	Users      []userCredential `json:"users"`
	Machines   []tenantMachine  `json:"machines"`
}

// appCredentials is an app's client id and secret.
type appCredentials struct {
	ClientID     string   `json:"clientId"`
	ClientSecret string   `json:"clientSecret"`
	DisplayName  string   `json:"displayName"`
	Roles        []string `json:"roles"`
}

// userCredential is a user's sign-in name and password ("" for a user
// who signs in only through the control plane).
type userCredential struct {
	UserPrincipalName string `json:"userPrincipalName"`
	Password          string `json:"password,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
}

// tenantMachine names a machine of the tenant.
type tenantMachine struct {
	ID              string `json:"id"`
	ComputerDNSName string `json:"computerDnsName"`
}

// createdTenant is the body of 201 Created: the tenant and its
// credentials.
type createdTenant struct {
	Tenant      tenantView        `json:"tenant"`
	Credentials tenantCredentials `json:"credentials"`
}

// allCredentials returns, as JSON, text or HTML, the credentials of the
// tenants made on the fly, for whoever hands them out: what GET
// /_emulator/tenants/credentials answers, with base as the emulator's
// base URL. format is "json", "text" or "html".
func (s *Server) allCredentials(base, format string) ([]byte, error) {
	var all []tenantCredentials
	for _, t := range s.store.Tenants() {
		if t.Origin() != nil {
			all = append(all, s.credentialsOf(t, base))
		}
	}
	return renderCredentials(format, all, true)
}

// errTemplate is a template that is not a tenant of the fixtures.
var errTemplate = errors.New("unknown template")

// createTenant makes the tenant named name from template and teaches the
// identity platform its apps and users.
func (s *Server) createTenant(name, template string) (*state.Tenant, error) {
	s.classroom.Lock()
	defer s.classroom.Unlock()
	set := s.fixtures.Load()
	var tmpl *fixture.Tenant
	for i := range set.Tenants {
		if template == "" || strings.EqualFold(set.Tenants[i].ID, template) {
			tmpl = &set.Tenants[i]
			break
		}
	}
	if tmpl == nil {
		return nil, fmt.Errorf("%w: template %s is not a tenant of the fixtures", errTemplate, template)
	}
	ft, err := state.FromTemplate(tmpl, name)
	if err != nil {
		return nil, err
	}
	return s.addTenant(ft, tmpl.ID)
}

// addTenant adds the tenant ft, made from the fixtures' tenant template,
// to the state and to the identity platform: createTenant's end, and the
// replay of a tenant a store kept. The caller holds s.classroom.
func (s *Server) addTenant(ft *fixture.Tenant, template string) (*state.Tenant, error) {
	t, err := s.store.AddTenant(ft, template)
	if err != nil {
		return nil, err
	}
	apps, users := identityOf(ft)
	s.authority.AddTenant(ft.ID, apps, users)
	s.log.Info("emulator: tenant created", "tenant", t.ID, "name", t.Name, "template", template)
	return t, nil
}

// createTenantRecorded is createTenant kept, with a store, with its
// fixture (ids and secrets: the store is the user's own file), so that a
// restart recreates it identically.
func (s *Server) createTenantRecorded(name, template string) (*state.Tenant, error) {
	var t *state.Tenant
	err := s.controlChange(func() (string, any, error) {
		var err error
		if t, err = s.createTenant(name, template); err != nil {
			return "", nil, err
		}
		o := t.Origin()
		return changeTenantAdd, tenantChange{ID: t.ID, Template: o.Template, Tenant: o.Fixture}, nil
	})
	return t, err
}

// Errors of removeTenant.
var (
	errTenantOfFixtures = errors.New("tenant of the fixtures")
	errTenantLive       = errors.New("tenant with live actions")
)

// tenantError is an error of removeTenant: its message for the client,
// and its kind for errors.Is.
type tenantError struct {
	kind error
	msg  string
}

func (e tenantError) Error() string { return e.msg }
func (e tenantError) Unwrap() error { return e.kind }

// removeTenant removes the created tenant id, cancelling its live actions
// when force (without force, a tenant with live actions is refused with
// errTenantLive), and keeps the removal with a store.
func (s *Server) removeTenant(id string, force bool) error {
	return s.controlChange(func() (string, any, error) {
		if err := s.removeTenantNow(id, force); err != nil {
			return "", nil, err
		}
		return changeTenantRemove, tenantChange{ID: id, Force: force}, nil
	})
}

// removeTenantNow is removeTenant without the store: what the replay of a
// removal calls.
func (s *Server) removeTenantNow(id string, force bool) error {
	s.classroom.Lock()
	defer s.classroom.Unlock()
	t, ok := s.store.Tenant(id)
	if !ok {
		return tenantError{state.ErrTenantNotFound, fmt.Sprintf("Tenant %s was not found", id)}
	}
	if t.Origin() == nil {
		return tenantError{errTenantOfFixtures, fmt.Sprintf("Tenant %s comes from the fixtures: only tenants made by POST /_emulator/tenants can be removed (PUT /_emulator/fixtures replaces the fixtures).", t.ID)}
	}
	if n := t.LiveActions(); n > 0 && !force {
		return tenantError{errTenantLive, fmt.Sprintf("Tenant %s has %d live action(s): wait for them, cancel them, or remove it with ?force=true, which cancels them.", t.ID, n)}
	}
	s.authority.RemoveTenant(t.ID) // its tokens stop verifying first
	if _, err := s.store.RemoveTenant(t.ID); err != nil {
		return err
	}
	if force {
		t.CancelLive("Emulator control plane", "The tenant was removed.")
	}
	s.limiter.ForgetTenant(t.ID) // its rate-limit windows go with it, as its session counts did (state.Store.RemoveTenant)
	s.log.Info("emulator: tenant removed", "tenant", t.ID, "name", t.Name)
	return nil
}

// postTenant serves POST /_emulator/tenants {"name", "template"}: 201
// with the tenant and its fresh credentials.
func (s *Server) postTenant(c echo.Context) error {
	var req struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := decodeControl(c, &req); err != nil {
		return controlBodyError(c, err)
	}
	if req.Name == "" {
		return controlError(c, ctlMissingRequiredParameter, "name is required: the name of the new tenant, such as the trainee's")
	}
	t, err := s.createTenantRecorded(req.Name, req.Template)
	switch {
	case errors.Is(err, errNotDurable):
		return controlChangeError(c, ctlServiceUnavailable, err)
	case errors.Is(err, state.ErrTenantLimit), errors.Is(err, state.ErrTenantExists):
		return controlError(c, ctlConflict, "%v", err)
	case err != nil: // the name, the template
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	return s.writeJSON(c, http.StatusCreated, createdTenant{Tenant: s.tenantView(t), Credentials: s.credentialsOf(t, s.publicBase(c))})
}

// listTenants serves GET /_emulator/tenants: every tenant, the
// fixtures' first, without secrets.
func (s *Server) listTenants(c echo.Context) error {
	list := tenantList{Value: []tenantView{}, MaxCreated: state.MaxCreatedTenants}
	for _, t := range s.store.Tenants() {
		v := s.tenantView(t)
		if v.Created {
			list.Created++
		}
		list.Value = append(list.Value, v)
	}
	return s.writeJSON(c, http.StatusOK, list)
}

// getTenant serves GET /_emulator/tenants/{id}.
func (s *Server) getTenant(c echo.Context) error {
	t, ok := s.store.Tenant(c.Param("id"))
	if !ok {
		return controlError(c, ctlResourceNotFound, "Tenant %s was not found", c.Param("id"))
	}
	return s.writeJSON(c, http.StatusOK, s.tenantView(t))
}

// deleteTenant serves DELETE /_emulator/tenants/{id}[?force=true]: a
// tenant with live actions is refused (409 Conflict) unless forced,
// which cancels them.
func (s *Server) deleteTenant(c echo.Context) error {
	force := false
	switch f := c.QueryParam("force"); f {
	case "", "false":
	case "true":
		force = true
	default:
		return controlError(c, ctlInvalidInput, "force must be \"true\" or \"false\", not %q", f)
	}
	switch err := s.removeTenant(c.Param("id"), force); {
	case err == nil:
		return c.NoContent(http.StatusNoContent)
	case errors.Is(err, errNotDurable):
		return controlChangeError(c, ctlServiceUnavailable, err)
	case errors.Is(err, errTenantOfFixtures), errors.Is(err, errTenantLive):
		return controlError(c, ctlConflict, "%v", err)
	default:
		return controlError(c, ctlResourceNotFound, "%v", err)
	}
}

// getCredentials serves GET /_emulator/tenants/{id}/credentials: JSON,
// text or a printable HTML page, by Accept or ?format=.
func (s *Server) getCredentials(c echo.Context) error {
	t, ok := s.store.Tenant(c.Param("id"))
	if !ok {
		return controlError(c, ctlResourceNotFound, "Tenant %s was not found", c.Param("id"))
	}
	format, err := credentialsFormat(c)
	if err != nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	b, err := renderCredentials(format, []tenantCredentials{s.credentialsOf(t, s.publicBase(c))}, false)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, credentialsContentType[format], b)
}

// getAllCredentials serves GET /_emulator/tenants/credentials: the
// credentials of every tenant made on the fly, one after the other (a
// printed page each in HTML).
func (s *Server) getAllCredentials(c echo.Context) error {
	format, err := credentialsFormat(c)
	if err != nil {
		return controlError(c, ctlInvalidInput, "%v", err)
	}
	b, err := s.allCredentials(s.publicBase(c), format)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, credentialsContentType[format], b)
}

// credentialsContentType is the Content-Type of each credentials format.
var credentialsContentType = map[string]string{
	"json": jsonContentType,
	"text": "text/plain; charset=utf-8",
	"html": "text/html; charset=utf-8",
}

// credentialsFormat returns the format a credentials request asks for:
// ?format= (json, text, html), else the first of application/json,
// text/plain and text/html its Accept lists, else JSON.
func credentialsFormat(c echo.Context) (string, error) {
	if f := c.QueryParam("format"); f != "" {
		if _, ok := credentialsContentType[f]; !ok {
			return "", fmt.Errorf("format must be \"json\", \"text\" or \"html\", not %q", f)
		}
		return f, nil
	}
	for _, part := range strings.Split(c.Request().Header.Get(echo.HeaderAccept), ",") {
		mt, _, _ := strings.Cut(part, ";")
		switch strings.ToLower(strings.TrimSpace(mt)) {
		case "application/json":
			return "json", nil
		case "text/plain":
			return "text", nil
		case "text/html":
			return "html", nil
		}
	}
	return "json", nil
}

// publicBase returns the emulator's base URL for clients: the first
// public URL it was given, else the address the request reached.
func (s *Server) publicBase(c echo.Context) string {
	if len(s.opts.PublicURLs) > 0 {
		return strings.TrimSuffix(s.opts.PublicURLs[0], "/")
	}
	return baseURL(c)
}

// fixtureOf returns the fixture t was made from: its Origin's for a
// tenant made on the fly, else the fixtures' tenant with its id.
func (s *Server) fixtureOf(t *state.Tenant) *fixture.Tenant {
	if o := t.Origin(); o != nil {
		return o.Fixture
	}
	set := s.fixtures.Load()
	for i := range set.Tenants {
		if strings.EqualFold(set.Tenants[i].ID, t.ID) {
			return &set.Tenants[i]
		}
	}
	return &fixture.Tenant{ID: t.ID, Name: t.Name}
}

// tenantView returns t as the control plane lists it.
func (s *Server) tenantView(t *state.Tenant) tenantView {
	ft := s.fixtureOf(t)
	v := tenantView{
		ID: t.ID, Name: t.Name, Machines: t.MachineCount(),
		LiveActions: t.LiveActions(), Sessions: t.Sessions(),
		Apps: []tenantApp{}, Users: []tenantUser{},
	}
	if o := t.Origin(); o != nil {
		at := state.Stamp(o.Created)
		v.Created, v.Template, v.CreatedAt = true, o.Template, &at
	}
	for _, a := range ft.Apps {
		v.Apps = append(v.Apps, tenantApp{ClientID: a.ClientID, DisplayName: a.DisplayName, Roles: nonNil(a.Roles)})
	}
	for _, u := range ft.Users {
		oid := u.ObjectID
		if oid == "" {
			oid = fixture.UserObjectID(t.ID, u.UserPrincipalName)
		}
		v.Users = append(v.Users, tenantUser{UserPrincipalName: u.UserPrincipalName, ObjectID: strings.ToLower(oid), DisplayName: u.DisplayName})
	}
	return v
}

// credentialsOf returns the credentials of t, with base as the
// emulator's base URL.
func (s *Server) credentialsOf(t *state.Tenant, base string) tenantCredentials {
	ft := s.fixtureOf(t)
	cr := tenantCredentials{
		TenantID: t.ID, Name: t.Name,
		APIURL:     base + "/api",
		TokenURL:   base + "/" + t.ID + "/oauth2/v2.0/token",
		TokenURLV1: base + "/" + t.ID + "/oauth2/token",
		Scope:      identity.DefaultAudience + "/.default",
		Resource:   identity.DefaultAudience,
		Apps:       []appCredentials{}, Users: []userCredential{}, Machines: []tenantMachine{},
	}
	for _, a := range ft.Apps {
		cr.Apps = append(cr.Apps, appCredentials{ClientID: a.ClientID, ClientSecret: a.ClientSecret, DisplayName: a.DisplayName, Roles: nonNil(a.Roles)})
	}
	for _, u := range ft.Users {
		cr.Users = append(cr.Users, userCredential{UserPrincipalName: u.UserPrincipalName, Password: u.Password, DisplayName: u.DisplayName})
	}
	for m := range t.Machines() {
		cr.Machines = append(cr.Machines, tenantMachine{ID: m.ID(), ComputerDNSName: m.ComputerDNSName()})
	}
	return cr
}

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}

// renderCredentials writes creds as format: JSON (one object, or
// {"value": [...]} when list), text, or a printable HTML page.
func renderCredentials(format string, creds []tenantCredentials, list bool) ([]byte, error) {
	var buf bytes.Buffer
	switch format {
	case "text":
		err := credentialsText().Execute(&buf, creds)
		return buf.Bytes(), err
	case "html":
		err := credentialsHTML().Execute(&buf, creds)
		return buf.Bytes(), err
	}
	var v any = creds[0]
	if list {
		if creds == nil {
			creds = []tenantCredentials{}
		}
		v = map[string]any{"value": creds}
	}
	return jsonBytes(v)
}

// jsonBytes encodes v as writeJSON does: no HTML escaping.
func jsonBytes(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// credentialsText and credentialsHTML return the text and HTML forms of
// credentials; the HTML one escapes names and secrets (html/template).
var (
	credentialsText = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("text").Parse(credentialsTextSource))
	})
	credentialsHTML = sync.OnceValue(func() *template.Template {
		return template.Must(template.New("html").Parse(credentialsHTMLSource))
	})
)

const credentialsTextSource = `{{range $i, $c := .}}{{if $i}}
------------------------------------------------------------------------

{{end}}Tenant {{$c.Name}}
  tenant id:     {{$c.TenantID}}
  API base URL:  {{$c.APIURL}}
  token URL:     {{$c.TokenURL}}
                 scope={{$c.Scope}}
  token URL v1:  {{$c.TokenURLV1}}
                 resource={{$c.Resource}}
{{range $c.Apps}}
App {{.DisplayName}}
  client id:     {{.ClientID}}
  client secret: {{.ClientSecret}}
  roles:         {{range $j, $r := .Roles}}{{if $j}}, {{end}}{{$r}}{{end}}
{{end}}{{if $c.Users}}
Users
{{range $c.Users}}  {{.UserPrincipalName}}{{if .Password}}  password: {{.Password}}{{else}}  (no password){{end}}
{{end}}{{end}}{{if $c.Machines}}
Machines
{{range $c.Machines}}  {{.ComputerDNSName}}  {{.ID}}
{{end}}{{end}}{{end}}`

const credentialsHTMLSource = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{if eq (len .) 1}}{{(index . 0).Name}}: {{end}}MDE emulator credentials</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}
section{border:1px solid #999;border-radius:6px;padding:1em 1.5em;margin-bottom:2em;page-break-after:always;break-after:page}
section:last-child{page-break-after:auto;break-after:auto}
h1{font-size:1.4em;margin:0 0 .5em}h2{font-size:1.1em;margin:1em 0 .3em}
table{border-collapse:collapse}td,th{text-align:left;padding:2px 12px 2px 0;vertical-align:top}
code{font:13px ui-monospace,monospace;word-break:break-all}
</style></head><body>
{{range .}}<section>
<h1>Tenant {{.Name}}</h1>
<table>
<tr><th>Tenant id</th><td><code>{{.TenantID}}</code></td></tr>
<tr><th>API base URL</th><td><code>{{.APIURL}}</code></td></tr>
<tr><th>Token URL</th><td><code>{{.TokenURL}}</code><br>scope <code>{{.Scope}}</code></td></tr>
<tr><th>Token URL (v1)</th><td><code>{{.TokenURLV1}}</code><br>resource <code>{{.Resource}}</code></td></tr>
</table>
{{range .Apps}}<h2>App {{.DisplayName}}</h2>
<table>
<tr><th>Client id</th><td><code>{{.ClientID}}</code></td></tr>
<tr><th>Client secret</th><td><code>{{.ClientSecret}}</code></td></tr>
<tr><th>Roles</th><td>{{range $j, $r := .Roles}}{{if $j}}, {{end}}{{$r}}{{end}}</td></tr>
</table>
{{end}}{{if .Users}}<h2>Users</h2>
<table>{{range .Users}}
<tr><td><code>{{.UserPrincipalName}}</code></td><td>{{if .Password}}password <code>{{.Password}}</code>{{else}}(no password){{end}}</td></tr>{{end}}
</table>
{{end}}{{if .Machines}}<h2>Machines</h2>
<table>{{range .Machines}}
<tr><td><code>{{.ComputerDNSName}}</code></td><td><code>{{.ID}}</code></td></tr>{{end}}
</table>
{{end}}</section>
{{else}}<p>No tenant was created: POST /_emulator/tenants {"name": "…"} makes one.</p>
{{end}}</body></html>
`
