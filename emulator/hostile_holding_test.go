package emulator_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// hostileHoldingCases returns the hostile inputs that already held when
// the table was made: forged tokens, tenant crossing, tampered links, deep
// JSON, traversal in path parameters.
func hostileHoldingCases() []hostileCase {
	return []hostileCase{
		{
			name:   "a token with alg none",
			do:     func(e *env) resp { return e.call("GET", "/api/machines", resign(e.token, "none", nil), "") },
			status: 401, code: "Unauthorized",
		},
		{
			name: "a token signed with HMAC instead of the emulator's RSA key",
			do: func(e *env) resp {
				return e.call("GET", "/api/machines", resign(e.token, "HS256", []byte("guessed")), "")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "a token whose roles were edited",
			do: func(e *env) resp {
				lr := e.mint(`{"clientId":"` + lrClientID + `"}`) // Machine.LiveResponse only
				return e.call("GET", "/api/machines", editClaims(lr, `"roles":["Machine.LiveResponse"]`, `"roles":["Machine.Read.All"]`), "")
			},
			status: 401, code: "Unauthorized",
		},
		{
			name: "a token of one tenant for another tenant's action",
			do: func(e *env) resp {
				if r := e.call("PUT", "/_emulator/fixtures", "", twoTenants); r.status != 200 {
					e.t.Fatalf("load two tenants: %d %s", r.status, r.body)
				}
				e.token = e.mint(`{"tenantId":"11111111-1111-4111-8111-111111111111"}`)
				id := e.submit("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"a.ps1"}]}]}`)
				beta := e.mint(`{"tenantId":"22222222-2222-4222-8222-222222222222"}`)
				return e.call("GET", "/api/machineactions/"+id, beta, "")
			},
			status: 404, code: "ResourceNotFound",
		},
		{
			name: "a result link with a tampered signature",
			do: func(e *env) resp {
				id := e.submit(winMachine, runScriptThenGetFile)
				e.advance(time.Minute)
				link, err := url.Parse(e.downloadLink(id, 0))
				if err != nil {
					e.t.Fatal(err)
				}
				q := link.Query()
				sig := []byte(q.Get("sig"))
				sig[len(sig)/2] ^= 1
				q.Set("sig", string(sig))
				return e.call("GET", link.Path+"?"+q.Encode(), "", "")
			},
			status: 403,
		},
		{
			name: "a submit body nested 100,000 arrays deep",
			do: func(e *env) resp {
				body := `{"Commands":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`
				return e.api("POST", "/api/machines/"+winMachine+"/runliveresponse", body)
			},
			status: 400,
		},
		{
			name: "a machine id that climbs out of the API path",
			do: func(e *env) resp {
				return e.api("POST", "/api/machines/..%2F..%2F_emulator%2Freset/runliveresponse", runScriptThenGetFile)
			},
			status: 404,
			after: func(e *env) {
				if r := e.call("GET", "/_emulator/journal?path=/_emulator/*", "", ""); strings.Contains(string(r.body), "reset") {
					e.t.Errorf("the control plane was reached: %s", r.body)
				}
			},
		},
	}
}

// resign returns token with its header's alg replaced and signed with key
// by HMAC-SHA256 (nil: no signature), the claims unchanged.
func resign(token, alg string, key []byte) string {
	parts := strings.Split(token, ".")
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","typ":"JWT"}`))
	signed := header + "." + parts[1]
	if key == nil {
		return signed + "."
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// editClaims returns token with old replaced by new in its claims and the
// original signature kept.
func editClaims(token, old, new string) string {
	parts := strings.Split(token, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	edited := strings.Replace(string(claims), old, new, 1)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(edited)) + "." + parts[2]
}
