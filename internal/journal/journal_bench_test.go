package journal_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mdelive/mde-emulator/internal/journal"
)

// benchEntry is a typical request: a runliveresponse POST with a small body.
var benchEntry = journal.Entry{
	Time:        t0,
	Wall:        t0,
	Method:      "POST",
	Path:        "/api/machines/1e5bc9d7e413ddd7902c2932e418702b84d0cc07/runliveresponse",
	TenantID:    "00000000-0000-0000-0000-00000000000a",
	AppID:       "00000000-0000-0000-0000-0000000000b1",
	Status:      201,
	ActionID:    "7c3e1b5a-1111-2222-3333-444455556666",
	RequestBody: `{"Commands":[{"type":"RunScript","params":[{"key":"ScriptName","value":"x.ps1"}]}],"Comment":"bench"}`,
	DurationMs:  0.4,
}

func BenchmarkRecord(b *testing.B) {
	b.Run("no waiters", func(b *testing.B) {
		j := journal.New(1000, 0)
		b.ReportAllocs()
		for b.Loop() {
			j.Record(benchEntry)
		}
	})
	b.Run("body truncated", func(b *testing.B) {
		j := journal.New(1000, 64)
		e := benchEntry
		e.RequestBody = strings.Repeat("x", 1024)
		b.ReportAllocs()
		for b.Loop() {
			j.Record(e)
		}
	})
	b.Run("10 waiters", func(b *testing.B) {
		j := journal.New(1000, 0)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		started := make(chan struct{})
		for range 10 {
			go func() {
				started <- struct{}{}
				j.Wait(ctx, journal.Filter{Method: "DELETE", Path: "/api/machineactions/*"}, 1)
			}()
			<-started
		}
		for j.Stats().Waiters < 10 {
			j.Stats() // spin until the waiters are registered
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			j.Record(benchEntry)
		}
	})
}

func BenchmarkRecordParallel(b *testing.B) {
	j := journal.New(0, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			j.Record(benchEntry)
		}
	})
}

func BenchmarkQuery(b *testing.B) {
	j := journal.New(0, 0)
	for range journal.DefaultCapacity {
		j.Record(benchEntry)
	}
	b.Run("full scan glob", func(b *testing.B) {
		f := journal.Filter{Path: "/api/machines/*/runliveresponse", StatusClass: 4}
		for b.Loop() {
			j.Query(f)
		}
	})
	b.Run("after seq", func(b *testing.B) {
		f := journal.Filter{AfterSeq: uint64(journal.DefaultCapacity - 10)}
		for b.Loop() {
			j.Query(f)
		}
	})
}
