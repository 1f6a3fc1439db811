package emulator_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator"
	"github.com/mdelive/mde-emulator/emulator/clock"
	"github.com/mdelive/mde-emulator/internal/state"
)

// BenchmarkListByMachine measures GET /api/machineactions?$filter=machineId
// eq '…' through the handler, with 200,000 finished actions over 10,000
// machines (20 on each) in the tenant (docs/performance.md).
func BenchmarkListByMachine(b *testing.B) {
	const machines, rounds = 10_000, 20
	srv, tok, ids := benchActions(b, machines, rounds)
	h := srv.Handler()
	filter := func(f string) string { return "$filter=" + url.QueryEscape(f) }
	run := func(b *testing.B, query func(i int) string) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			req := httptest.NewRequest("GET", "/api/machineactions?"+query(i), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			i++
		}
	}
	b.Run("eq", func(b *testing.B) {
		run(b, func(i int) string { return filter(fmt.Sprintf("machineId eq '%s'", ids[i*7919%len(ids)])) })
	})
	b.Run("top-50", func(b *testing.B) {
		run(b, func(int) string { return "$top=50" })
	})
	b.Run("status", func(b *testing.B) {
		run(b, func(int) string { return filter("status eq 'Pending'") + "&$top=50" })
	})
	b.Run("orderby", func(b *testing.B) {
		run(b, func(int) string { return "$orderby=" + url.QueryEscape("lastUpdateDateTimeUtc desc") + "&$top=50" })
	})
	b.Run("eq-and-status", func(b *testing.B) {
		run(b, func(i int) string {
			return filter(fmt.Sprintf("status eq 'Succeeded' and machineId eq '%s'", ids[i*7919%len(ids)]))
		})
	})
}

// benchActions returns an emulator on a manual clock holding rounds
// finished actions on each of n machines, a token of its default app and
// the machines' ids.
func benchActions(b *testing.B, n, rounds int) (*emulator.Server, string, []string) {
	b.Helper()
	set := benchFleet(b, n)
	srv, err := emulator.New(emulator.Options{Fixtures: set, Clock: clock.Manual, RetainActions: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	_, tok, err := srv.Authority().Mint(identityDefault())
	if err != nil {
		b.Fatal(err)
	}
	ten := srv.Store().Tenants()[0]
	c := state.Caller{TenantID: ten.ID, AppID: "0120a4f9-196a-4f9e-b9f5-23f31f914da7", Name: "Bench"}
	req := state.SubmitRequest{Commands: []state.Command{{Type: "RunScript", Params: []state.Param{{Key: "ScriptName", Value: "minidump.ps1"}}}}}
	ids := make([]string, 0, n)
	for m := range ten.Machines() {
		ids = append(ids, m.ID())
	}
	for range rounds {
		for _, id := range ids {
			if _, err := ten.Submit(c, id, req); err != nil {
				b.Fatal(err)
			}
		}
		srv.Clock().Advance(time.Minute)
	}
	if got := len(ten.Actions()); got != n*rounds {
		b.Fatalf("%d actions kept, want %d", got, n*rounds)
	}
	return srv, tok.AccessToken, ids
}
