package emulator_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/state"
)

// The credentials pages are HTML, which the validator of the responses
// (validatingTransport) reads as a string, as the document describes it.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder) }

// classroomTenant is what POST /_emulator/tenants answers.
type classroomTenant struct {
	Tenant struct {
		ID, Name, Template string
		Created            bool
		Machines           int
	} `json:"tenant"`
	Credentials struct {
		TenantID, Name, APIURL, TokenURL, TokenURLV1, Scope string
		Apps                                                []struct {
			ClientID, ClientSecret, DisplayName string
			Roles                               []string
		}
		Users []struct {
			UserPrincipalName, Password string
		}
		Machines []struct {
			ID, ComputerDNSName string
		}
	} `json:"credentials"`
}

// createTenant makes a tenant through the control plane.
func (e *env) createTenant(body string) classroomTenant {
	e.t.Helper()
	r := e.call("POST", "/_emulator/tenants", "", body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("POST /_emulator/tenants %s: %d %s", body, r.status, r.body)
	}
	var ct classroomTenant
	r.decode(&ct)
	return ct
}

// clientToken gets an app token from the token endpoint with a client
// secret, as a trainee's client does.
func (e *env) clientToken(tokenURL, clientID, secret, scope string) (string, resp) {
	e.t.Helper()
	f := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope}}
	path := strings.TrimPrefix(tokenURL, testBase)
	r := e.call("POST", path, "", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if r.status == http.StatusOK {
		r.decode(&tok)
	}
	return tok.AccessToken, r
}

// trainee is a created tenant with a token of its first app (every role).
type trainee struct {
	classroomTenant
	token string
}

func (e *env) trainee(name string) trainee {
	e.t.Helper()
	ct := e.createTenant(`{"name":"` + name + `"}`)
	app := ct.Credentials.Apps[0]
	tok, r := e.clientToken(ct.Credentials.TokenURL, app.ClientID, app.ClientSecret, ct.Credentials.Scope)
	if tok == "" {
		e.t.Fatalf("token of %s: %d %s", name, r.status, r.body)
	}
	return trainee{ct, tok}
}

// machineNamed returns the id of the trainee's machine with computer name
// name.
func (tr trainee) machineNamed(t *testing.T, name string) string {
	t.Helper()
	for _, m := range tr.Credentials.Machines {
		if m.ComputerDNSName == name {
			return m.ID
		}
	}
	t.Fatalf("%s has no machine %s", tr.Tenant.Name, name)
	return ""
}

func TestTenantsCreateFreshAndIsolated(t *testing.T) {
	e := newEnv(t)
	a, b := e.trainee("alice"), e.trainee("bob")

	if !a.Tenant.Created || a.Tenant.Template != tenantID || a.Tenant.ID == tenantID || a.Tenant.ID == b.Tenant.ID {
		t.Fatalf("tenants: %+v / %+v", a.Tenant, b.Tenant)
	}
	if a.Credentials.TokenURL != testBase+"/"+a.Tenant.ID+"/oauth2/v2.0/token" || a.Credentials.APIURL != testBase+"/api" {
		t.Errorf("credentials URLs: %+v", a.Credentials)
	}
	// Fresh ids: no machine id, client id or secret in common with the
	// template or the other trainee; the computer names are the
	// template's.
	seen := map[string]string{winMachine: "template", soarClientID: "template", defaultSecret: "template"}
	for _, tr := range []trainee{a, b} {
		if len(tr.Credentials.Machines) != 10 || tr.Tenant.Machines != 10 {
			t.Errorf("%s machines: %d", tr.Tenant.Name, len(tr.Credentials.Machines))
		}
		for _, m := range tr.Credentials.Machines {
			if who, dup := seen[m.ID]; dup {
				t.Errorf("%s machine id %s also %s's", tr.Tenant.Name, m.ID, who)
			}
			seen[m.ID] = tr.Tenant.Name
		}
		for _, app := range tr.Credentials.Apps {
			for _, v := range []string{app.ClientID, app.ClientSecret} {
				if who, dup := seen[v]; dup {
					t.Errorf("%s app %s: %s also %s's", tr.Tenant.Name, app.DisplayName, v, who)
				}
				seen[v] = tr.Tenant.Name
			}
		}
		for _, u := range tr.Credentials.Users {
			if u.Password == "" || u.Password == "emulator-password" {
				t.Errorf("%s user %s: password %q, want a fresh one", tr.Tenant.Name, u.UserPrincipalName, u.Password)
			}
		}
	}
	winA, winB := a.machineNamed(t, "ws-finance-01.contoso.local"), b.machineNamed(t, "ws-finance-01.contoso.local")

	// Each runs live response on its own machine, by id and by name.
	ra := e.call("POST", "/api/machines/"+winA+"/runliveresponse", a.token, runScriptThenGetFile)
	rb := e.call("POST", "/api/machines/ws-finance-01/runliveresponse", b.token, runScriptThenGetFile)
	if ra.status != 201 || rb.status != 201 {
		t.Fatalf("submits: %d %s / %d %s", ra.status, ra.body, rb.status, rb.body)
	}
	var actA, actB state.ActionView
	ra.decode(&actA)
	rb.decode(&actB)
	if actA.MachineID != winA || actB.MachineID != winB {
		t.Errorf("machines of the actions: %s, %s; want %s, %s", actA.MachineID, actB.MachineID, winA, winB)
	}
	// The template's machine is busy in neither: its own tenant runs on.
	e.submit(winMachine, runScriptThenGetFile)

	// B's token does not reach A's machines or actions, nor the template's.
	for _, path := range []string{"/api/machines/" + winA, "/api/machineactions/" + actA.ID, "/api/machines/" + winMachine} {
		if r := e.call("GET", path, b.token, ""); r.status != 404 {
			t.Errorf("B's token on %s: %d, want 404", path, r.status)
		}
	}
	if r := e.call("POST", "/api/machines/"+winA+"/runliveresponse", b.token, runScriptThenGetFile); r.status != 404 {
		t.Errorf("B's submit on A's machine: %d, want 404", r.status)
	}
	if r := e.api("GET", "/api/machines/"+winB, ""); r.status != 404 {
		t.Errorf("the template tenant's token on B's machine: %d, want 404", r.status)
	}
	var list struct{ Value []state.ActionView }
	e.call("GET", "/api/machineactions", b.token, "").decode(&list)
	if len(list.Value) != 1 || list.Value[0].ID != actB.ID {
		t.Errorf("B's actions: %+v", list.Value)
	}
	// A secret of A does not get a token of B.
	if tok, r := e.clientToken(b.Credentials.TokenURL, a.Credentials.Apps[0].ClientID, a.Credentials.Apps[0].ClientSecret, a.Credentials.Scope); tok != "" || r.status == 200 {
		t.Errorf("A's app at B's token endpoint: %d", r.status)
	}

	// The journal filters by tenant.
	entries := e.journal("?tenantId=" + a.Tenant.ID).Entries
	if len(entries) == 0 {
		t.Fatal("no journal entry for A")
	}
	for _, en := range entries {
		if !strings.EqualFold(en.TenantID, a.Tenant.ID) {
			t.Errorf("journal for A has %+v", en)
		}
	}

	// Limits are A's own: ten calls a minute to runliveresponse, then 429,
	// while B's next call is accepted.
	for i := 1; i < 10; i++ {
		if r := e.call("POST", "/api/machines/"+winA+"/runliveresponse", a.token, runScriptThenGetFile); r.status != 400 {
			t.Fatalf("A's call %d: %d %s", i+1, r.status, r.body)
		}
	}
	if r := e.call("POST", "/api/machines/"+winA+"/runliveresponse", a.token, runScriptThenGetFile); r.status != 429 {
		t.Errorf("A's 11th call: %d, want 429", r.status)
	}
	if r := e.call("POST", "/api/machines/ws-hr-02/runliveresponse", b.token, runScriptThenGetFile); r.status != 201 {
		t.Errorf("B's call after A was throttled: %d %s", r.status, r.body)
	}
}

func TestTenantsUserSignsInWithFreshPassword(t *testing.T) {
	e := newEnv(t)
	ct := e.createTenant(`{"name":"carol","template":"` + strings.ToUpper(tenantID) + `"}`)
	u := ct.Credentials.Users[0]
	app := ct.Credentials.Apps[0]
	path := strings.TrimPrefix(ct.Credentials.TokenURL, testBase)
	for _, tt := range []struct {
		password string
		want     int
	}{{"emulator-password", 400}, {u.Password, 200}} {
		f := url.Values{"grant_type": {"password"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret},
			"username": {u.UserPrincipalName}, "password": {tt.password}, "scope": {ct.Credentials.Scope}}
		r := e.call("POST", path, "", f.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if r.status != tt.want {
			t.Errorf("password grant with %q: %d %s, want %d", tt.password, r.status, r.body, tt.want)
		}
	}
}

func TestTenantsDelete(t *testing.T) {
	e := newEnv(t)
	a := e.trainee("alice")
	win := a.machineNamed(t, "ws-finance-01.contoso.local")
	r := e.call("POST", "/api/machines/"+win+"/runliveresponse", a.token, runScriptThenGetFile)
	if r.status != 201 {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var act state.ActionView
	r.decode(&act)
	ten, _ := e.srv.Store().Tenant(a.Tenant.ID)
	if ten.Sessions() != 1 {
		t.Fatalf("sessions: %d", ten.Sessions())
	}

	del := "/_emulator/tenants/" + a.Tenant.ID
	if r := e.call("DELETE", del, "", ""); r.status != 409 || r.errorCode() != "Conflict" {
		t.Errorf("DELETE with a live action: %d %s", r.status, r.body)
	}
	if r := e.call("DELETE", del+"?force=maybe", "", ""); r.status != 400 || r.errorCode() != "InvalidInput" {
		t.Errorf("force=maybe: %d %s", r.status, r.body)
	}
	if _, ok := metricValue(e.scrape(), "mde_emulator_rate_limit_calls", "tenant", a.Tenant.ID); !ok {
		t.Fatal("no rate-limit series for the trainee's calls")
	}
	if r := e.call("DELETE", del+"?force=true", "", ""); r.status != 204 {
		t.Fatalf("DELETE ?force=true: %d %s", r.status, r.body)
	}
	// What counted its calls goes with it (TestLongRunMemoryIsFlat).
	if v, ok := metricValue(e.scrape(), "mde_emulator_rate_limit_calls", "tenant", a.Tenant.ID); ok {
		t.Errorf("the removed tenant's rate-limit series is still there: %v", v)
	}
	if v, err := ten.Action(act.ID); err != nil || v.View().Status != state.StatusCancelled || ten.Sessions() != 0 {
		t.Errorf("the live action after the removal: %v %+v, sessions %d", err, v, ten.Sessions())
	}
	if r := e.call("GET", "/api/machines", a.token, ""); r.status != 401 {
		t.Errorf("the removed tenant's token: %d, want 401", r.status)
	}
	app := a.Credentials.Apps[0]
	if tok, r := e.clientToken(a.Credentials.TokenURL, app.ClientID, app.ClientSecret, a.Credentials.Scope); tok != "" {
		t.Errorf("token for the removed tenant: %d %s", r.status, r.body)
	}
	for _, path := range []string{del, del + "/credentials"} {
		if r := e.call("GET", path, "", ""); r.status != 404 || r.errorCode() != "ResourceNotFound" {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	if r := e.call("DELETE", del, "", ""); r.status != 404 {
		t.Errorf("DELETE again: %d", r.status)
	}
	if r := e.call("DELETE", "/_emulator/tenants/"+tenantID, "", ""); r.status != 409 || r.errorCode() != "Conflict" {
		t.Errorf("DELETE a tenant of the fixtures: %d %s", r.status, r.body)
	}
	// A tenant whose actions are over goes without force.
	b := e.trainee("bob")
	e.call("POST", "/api/machines/ws-finance-01/runliveresponse", b.token, runScriptThenGetFile)
	e.advance(24 * time.Hour)
	if r := e.call("DELETE", "/_emulator/tenants/"+b.Tenant.ID, "", ""); r.status != 204 {
		t.Errorf("DELETE after its actions ended: %d %s", r.status, r.body)
	}
}

func TestTenantsBounds(t *testing.T) {
	e := newEnv(t, withFixtures(t, `
tenants:
- id: 11111111-1111-4111-8111-111111111111
  apps:
  - {clientId: 21111111-1111-4111-8111-111111111111, clientSecret: s, displayName: A, roles: [Machine.Read.All]}
  generateMachines: 2
- id: 33333333-3333-4333-8333-333333333333
  generateMachines: 1001
`))
	for _, tt := range []struct {
		body   string
		status int
		code   string
	}{
		{`{}`, 400, "MissingRequiredParameter"},
		{`{"name":"x","color":"red"}`, 400, "InvalidRequestBody"},
		{`{"name":"` + strings.Repeat("a", 65) + `"}`, 400, "InvalidInput"},
		{`{"name":"<b>bob</b>"}`, 400, "InvalidInput"},
		{`{"name":" bob"}`, 400, "InvalidInput"},
		{`{"name":"bob","template":"44444444-4444-4444-8444-444444444444"}`, 400, "InvalidInput"},
		{`{"name":"bob","template":"33333333-3333-4333-8333-333333333333"}`, 400, "InvalidInput"}, // 1001 machines
		{`{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "RequestEntityTooLarge"},
	} {
		r := e.call("POST", "/_emulator/tenants", "", tt.body)
		if r.status != tt.status || r.errorCode() != tt.code {
			t.Errorf("%.80s: %d %s, want %d %s", tt.body, r.status, r.body, tt.status, tt.code)
		}
	}
	e.createTenant(`{"name":"` + strings.Repeat("a", 64) + `"}`)
	e.createTenant(`{"name":"Bob Smith-2@class_1.x"}`)
	if r := e.call("POST", "/_emulator/tenants", "", `{"name":"bob smith-2@CLASS_1.x"}`); r.status != 409 || r.errorCode() != "Conflict" {
		t.Errorf("a name taken: %d %s", r.status, r.body)
	}
	for i := 2; i < state.MaxCreatedTenants; i++ {
		e.createTenant(fmt.Sprintf(`{"name":"trainee-%d"}`, i))
	}
	r := e.call("POST", "/_emulator/tenants", "", `{"name":"one-too-many"}`)
	if r.status != 409 || r.errorCode() != "Conflict" {
		t.Fatalf("tenant %d: %d %s", state.MaxCreatedTenants+1, r.status, r.body)
	}
	var list struct {
		Value      []struct{ ID string }
		Created    int
		MaxCreated int
	}
	e.call("GET", "/_emulator/tenants", "", "").decode(&list)
	if list.Created != state.MaxCreatedTenants || list.MaxCreated != state.MaxCreatedTenants || len(list.Value) != state.MaxCreatedTenants+2 {
		t.Fatalf("list: created %d of %d, %d tenants", list.Created, list.MaxCreated, len(list.Value))
	}
	if r := e.call("DELETE", "/_emulator/tenants/"+list.Value[2].ID, "", ""); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	e.createTenant(`{"name":"one-too-many"}`) // room again
}

func TestTenantsResetRemovesThem(t *testing.T) {
	e := newEnv(t)
	a := e.trainee("alice")
	if r := e.call("POST", "/_emulator/reset", "", ""); r.status != 200 {
		t.Fatalf("reset: %d", r.status)
	}
	if r := e.call("GET", "/_emulator/tenants/"+a.Tenant.ID, "", ""); r.status != 404 {
		t.Errorf("GET after reset: %d", r.status)
	}
	if r := e.call("GET", "/api/machines", a.token, ""); r.status != 401 {
		t.Errorf("its token after reset: %d, want 401", r.status)
	}
	app := a.Credentials.Apps[0]
	if tok, r := e.clientToken(a.Credentials.TokenURL, app.ClientID, app.ClientSecret, a.Credentials.Scope); tok != "" {
		t.Errorf("token endpoint after reset: %d", r.status)
	}
	if r := e.api("GET", "/api/machines", ""); r.status != 200 {
		t.Errorf("the fixtures' token after reset: %d", r.status)
	}
	// PUT /_emulator/fixtures drops them too; a name is free again.
	b := e.trainee("alice")
	if r := e.call("POST", "/_emulator/reset", "", `{"fixtures":"start"}`); r.status != 200 {
		t.Fatalf("reset to start: %d", r.status)
	}
	e.trainee("carol")
	if n := e.srv.Store().CreatedTenants(); n != 1 {
		t.Errorf("created tenants after the reset and one more: %d", n)
	}
	if r := e.call("GET", "/api/machines", b.token, ""); r.status != 401 {
		t.Errorf("b's token after reset: %d", r.status)
	}
}

func TestTenantsCredentials(t *testing.T) {
	e := newEnv(t)
	a := e.trainee("alice")
	secret := a.Credentials.Apps[0].ClientSecret
	path := "/_emulator/tenants/" + a.Tenant.ID + "/credentials"
	for _, tt := range []struct {
		query, accept, ctype string
	}{
		{"", "", "application/json"},
		{"", "text/plain", "text/plain"},
		{"", "text/html,application/xhtml+xml,*/*;q=0.8", "text/html"},
		{"?format=text", "text/html", "text/plain"},
		{"?format=html", "", "text/html"},
	} {
		r := e.call("GET", path+tt.query, "", "", "Accept", tt.accept)
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), tt.ctype) {
			t.Errorf("%s Accept %q: %d %s", tt.query, tt.accept, r.status, r.header.Get("Content-Type"))
			continue
		}
		body := string(r.body)
		for _, want := range []string{secret, a.Tenant.ID, a.Credentials.TokenURL, "ws-finance-01.contoso.local", a.Credentials.Users[0].Password} {
			if !strings.Contains(body, want) {
				t.Errorf("%s Accept %q: no %q in\n%s", tt.query, tt.accept, want, body)
			}
		}
	}
	if r := e.call("GET", path+"?format=pdf", "", ""); r.status != 400 || r.errorCode() != "InvalidInput" {
		t.Errorf("format=pdf: %d %s", r.status, r.body)
	}
	// The listings carry no secret.
	for _, p := range []string{"/_emulator/tenants", "/_emulator/tenants/" + a.Tenant.ID} {
		if r := e.call("GET", p, "", ""); r.status != 200 || strings.Contains(string(r.body), secret) ||
			strings.Contains(string(r.body), a.Credentials.Users[0].Password) {
			t.Errorf("GET %s: %d, a secret in %s", p, r.status, r.body)
		}
	}
	// The handout of the class: every created tenant, none of the fixtures.
	b := e.trainee("bob")
	var all struct {
		Value []struct{ TenantID string }
	}
	e.call("GET", "/_emulator/tenants/credentials", "", "").decode(&all)
	if len(all.Value) != 2 || all.Value[0].TenantID != a.Tenant.ID || all.Value[1].TenantID != b.Tenant.ID {
		t.Errorf("all credentials: %+v", all.Value)
	}
	r := e.call("GET", "/_emulator/tenants/credentials", "", "", "Accept", "text/html")
	if n := strings.Count(string(r.body), "<section>"); r.status != 200 || n != 2 {
		t.Errorf("HTML handout: %d, %d sections", r.status, n)
	}
	// The secrets never reach the journal.
	for _, en := range e.journal("").Entries {
		if strings.Contains(en.RequestBody, secret) || strings.Contains(en.Query, secret) {
			t.Errorf("journal entry with a secret: %+v", en)
		}
	}
}

// TestTenantsConcurrentWithTraffic makes and removes tenants while
// clients of the fixtures' tenant and of created tenants call the API:
// run it with -race.
func TestTenantsConcurrentWithTraffic(t *testing.T) {
	e := newEnv(t, func(o *emulator.Options) { o.Profile = "unlimited" })
	stable := e.trainee("stable")
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				r := e.call("POST", "/_emulator/tenants", "", fmt.Sprintf(`{"name":"c%d-%d"}`, g, i))
				if r.status != 201 {
					errs <- fmt.Sprintf("create: %d %s", r.status, r.body)
					return
				}
				var ct classroomTenant
				r.decode(&ct)
				if i%2 == 0 {
					if r := e.call("DELETE", "/_emulator/tenants/"+ct.Tenant.ID+"?force=true", "", ""); r.status != 204 {
						errs <- fmt.Sprintf("delete: %d %s", r.status, r.body)
					}
				}
			}
		}()
	}
	for _, tok := range []string{e.token, stable.token} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				for _, p := range []string{"/api/machines", "/api/machineactions", "/api/machines/ws-hr-02"} {
					if r := e.call("GET", p, tok, ""); r.status != 200 {
						errs <- fmt.Sprintf("GET %s: %d %s", p, r.status, r.body)
					}
				}
				r := e.call("POST", "/api/machines/ws-finance-01/runliveresponse", tok, runScriptThenGetFile)
				if r.status != 201 && r.status != 400 {
					errs <- fmt.Sprintf("submit: %d %s", r.status, r.body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if n := e.srv.Store().CreatedTenants(); n != 1+2*7 { // each goroutine removes 8 of its 15
		t.Errorf("created tenants: %d, want 15", n)
	}
}

// A tenant deleted while one of its requests is past authentication (here
// held by a latency fault) makes the request answer 401 as its token now
// does, and creates nothing; it used to create an action in the removed
// tenant, or panic on the tenant's lookup.
func TestTenantsDeletedMidRequest(t *testing.T) {
	e := newEnv(t)
	a := e.trainee("alice")
	win := a.machineNamed(t, "ws-finance-01.contoso.local")
	if r := e.call("POST", "/_emulator/faults", "", `{"match":{"method":"POST","path":"/api/machines/*/runliveresponse"},"effect":{"latency":"300ms"}}`); r.status != http.StatusCreated {
		t.Fatalf("fault rule: %d %s", r.status, r.body)
	}
	ten, _ := e.srv.Store().Tenant(a.Tenant.ID)
	done := make(chan resp, 1)
	go func() { done <- e.call("POST", "/api/machines/"+win+"/runliveresponse", a.token, runScriptThenGetFile) }()
	clock.SleepWall(t.Context(), 100*time.Millisecond) // the request is in its latency
	if r := e.call("DELETE", "/_emulator/tenants/"+a.Tenant.ID, "", ""); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	r := <-done
	if r.status != http.StatusUnauthorized || r.errorCode() != "Unauthorized" {
		t.Errorf("the request held past its tenant's removal: %d %s, want 401", r.status, r.body)
	}
	if n := len(ten.Actions()); n != 0 || ten.Sessions() != 0 {
		t.Errorf("the removed tenant has %d actions, %d sessions", n, ten.Sessions())
	}
}
