package emulator_test

// hostileFixtureCases returns the hostile inputs of this area for
// TestHostileInput.
func hostileFixtureCases() []hostileCase {
	// repeat returns s n times (no imports: this function is the area's).
	repeat := func(s string, n int) string {
		b := make([]byte, len(s)*n)
		for k := copy(b, s); k < len(b); {
			k += copy(b[k:], b[:k])
		}
		return string(b)
	}
	put := func(e *env, body string) resp {
		return e.call("PUT", "/_emulator/fixtures", "", body, "Content-Type", "application/yaml")
	}
	// unchanged checks that the refused fixture left the default one in
	// place: its app's token still lists its ten machines.
	unchanged := func(e *env) {
		e.t.Helper()
		r := e.api("GET", "/api/machines", "")
		if r.status != 200 {
			e.t.Fatalf("GET /api/machines after the refused fixture: %d %s", r.status, r.body)
		}
		var body struct{ Value []struct{ ID string } }
		r.decode(&body)
		found := false
		for _, m := range body.Value {
			found = found || m.ID == winMachine
		}
		if len(body.Value) != 10 || !found {
			e.t.Errorf("after the refused fixture: %d machines (want the default 10, with %s)", len(body.Value), winMachine)
		}
	}
	const tenant = "tenants:\n  - id: 11111111-1111-4111-8111-111111111111\n"
	// A merge-key bomb: each level merges the one below nine times, so
	// expanding it walks 9^9 (387 million) copies of the first machine.
	bomb := tenant + "    machines:\n      - &m0 {id: 82fb3b669b460cf8436780882296d90371d68ad6, computerDnsName: a, osPlatform: Linux}\n"
	for i := 1; i <= 9; i++ {
		ref := "*m" + string(rune('0'+i-1))
		bomb += "      - &m" + string(rune('0'+i)) + " {<<: [" + ref + repeat(", "+ref, 8) + "]}\n"
	}
	return []hostileCase{
		{
			name:   "a fixture over the control plane's 32 MB",
			do:     func(e *env) resp { return put(e, tenant+"#"+repeat("x", 32<<20)+"\n") },
			status: 413, code: "RequestEntityTooLarge",
			after: unchanged,
		},
		{
			name:   "a YAML merge-key bomb",
			do:     func(e *env) resp { return put(e, bomb) },
			status: 400, code: "InvalidFixtures",
			within: 1e9, // 1s
			after:  unchanged,
		},
		{
			name: "a YAML alias used inside its own anchor",
			do: func(e *env) resp {
				return put(e, "tenants:\n  - &a {id: 11111111-1111-4111-8111-111111111111, <<: *a}\n")
			},
			status: 400, code: "InvalidFixtures",
			within: 1e9,
			after:  unchanged,
		},
		{
			name:   "a 10 MB YAML flow list",
			do:     func(e *env) resp { return put(e, "tenants: ["+repeat("a,", 5<<20)+"a]\n") },
			status: 400, code: "InvalidFixtures",
			after: unchanged,
		},
		{
			name:   "a million generated machines",
			do:     func(e *env) resp { return put(e, tenant+"    generateMachines: 1000000\n") },
			status: 400, code: "InvalidFixtures",
			after: unchanged,
		},
		{
			name: "three tenants within the per-tenant bound of generated machines but over the total",
			do: func(e *env) resp {
				return put(e, `tenants:
  - {id: 11111111-1111-4111-8111-111111111111, generateMachines: 100000}
  - {id: 22222222-2222-4222-8222-222222222222, generateMachines: 100000}
  - {id: 33333333-3333-4333-8333-333333333333, generateMachines: 100000}
`)
			},
			status: 400, code: "InvalidFixtures",
			after: unchanged,
		},
		{
			// A machine's outcome queue took every POST: outcomes no
			// command matches (GetFile ones on a machine that never
			// collects) stayed for good, a megabyte each. A machine now
			// holds 100, and their bytes count in the tenant's storage
			// (TestQueuedOutcomesBound).
			// Fault rules were kept without a bound, and every API call
			// walks them: a suite adding one per test slowed every call.
			name: "a 1,001st fault rule",
			do: func(e *env) resp {
				rule := `{"match":{"path":"/api/nothing/*"},"calls":{"next":1},"effect":{"status":503}}`
				for i := range 1000 {
					if r := e.call("POST", "/_emulator/faults", "", rule); r.status != 201 {
						e.t.Fatalf("rule %d: %d %s", i+1, r.status, r.body)
					}
				}
				return e.call("POST", "/_emulator/faults", "", rule)
			},
			status: 409, code: "Conflict",
			after: func(e *env) {
				var l struct{ Rules []struct{ ID string } }
				e.call("GET", "/_emulator/faults", "", "").decode(&l)
				if len(l.Rules) != 1000 {
					e.t.Errorf("%d rules in force, want 1000", len(l.Rules))
				}
			},
		},
		{
			name: "a fault rule with a 5,000-byte path",
			do: func(e *env) resp {
				return e.call("POST", "/_emulator/faults", "", `{"match":{"path":"/`+repeat("a", 5000)+`"},"effect":{"status":503}}`)
			},
			status: 400, code: "InvalidInput",
		},
		{
			name: "a 101st outcome queued on a machine",
			do: func(e *env) resp {
				path := "/_emulator/machines/" + winMachine + "/next-outcomes"
				one := `{"outcomes":[{"type":"GetFile","content":"` + repeat("x", 1000) + `"}]}`
				for i := range 100 {
					if r := e.call("POST", path, "", one); r.status != 200 {
						e.t.Fatalf("outcome %d: %d %s", i, r.status, r.body)
					}
				}
				return e.call("POST", path, "", one)
			},
			status: 409, code: "Conflict",
			after: func(e *env) {
				var q struct{ Outcomes []struct{ Type string } }
				e.call("GET", "/_emulator/machines/"+winMachine+"/next-outcomes", "", "").decode(&q)
				if len(q.Outcomes) != 100 {
					e.t.Errorf("%d outcomes queued, want 100", len(q.Outcomes))
				}
			},
		},
	}
}
