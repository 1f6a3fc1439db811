package emulator_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/mdelive/mde-emulator/internal/state"
)

// hostileODataCases returns the hostile inputs of this area for
// TestHostileInput.
func hostileODataCases() []hostileCase {
	nested := func(depth int) string {
		return strings.Repeat("(", depth) + "status eq 'Succeeded'" + strings.Repeat(")", depth)
	}
	// library lists the names of the default tenant's library files.
	library := func(e *env) []string {
		r := e.api("GET", "/api/libraryfiles", "")
		var list struct{ Value []struct{ FileName string } }
		r.decode(&list)
		names := make([]string, len(list.Value))
		for i, f := range list.Value {
			names[i] = f.FileName
		}
		return names
	}
	// unchanged runs do and checks afterwards that the library is as it
	// was before.
	unchanged := func(do func(e *env) resp) (func(e *env) resp, func(e *env)) {
		var before []string
		return func(e *env) resp {
				before = library(e)
				return do(e)
			}, func(e *env) {
				if after := library(e); strings.Join(after, "|") != strings.Join(before, "|") {
					e.t.Errorf("library changed: %q, was %q", after, before)
				}
			}
	}
	// refusedUpload is an upload of a file named name that the library's
	// naming rules refuse: 400 InvalidInput, and the library unchanged.
	refusedUpload := func(label, name string) hostileCase {
		do, after := unchanged(func(e *env) resp { return e.upload("file", name, []byte("x"), nil) })
		return hostileCase{name: "a library upload named " + label, do: do, status: 400, code: "InvalidInput", after: after}
	}
	// refusedDelete is a delete of path that the naming rules refuse.
	refusedDelete := func(label, path string) hostileCase {
		do, after := unchanged(func(e *env) resp { return e.api("DELETE", "/api/libraryfiles/"+path, "") })
		return hostileCase{name: "a library delete of " + label, do: do, status: 400, code: "InvalidInput", after: after}
	}
	has := func(e *env, name string) bool {
		for _, n := range library(e) {
			if n == name {
				return true
			}
		}
		return false
	}
	return []hostileCase{
		{
			// Was half a gigabyte of stack per request: the parser
			// recursed once per parenthesis. The length bound refuses it
			// before lexing; TestHostileFilterIsCheap measures the memory.
			name:   "a $filter of 960 KB of nested parentheses",
			do:     func(e *env) resp { return e.api("GET", "/api/machineactions?$filter="+nested(480_000), "") },
			status: 400, code: "ODataError", within: 2 * time.Second,
		},
		{
			name:   "a $filter of 960 KB of nested parentheses on machines",
			do:     func(e *env) resp { return e.api("GET", "/api/machines?$filter="+nested(480_000), "") },
			status: 400, code: "ODataError", within: 2 * time.Second,
		},
		{
			name:   "a $filter nested 101 levels deep, under the length bound",
			do:     func(e *env) resp { return e.api("GET", "/api/machineactions?$filter="+nested(101), "") },
			status: 400, code: "ODataError", within: time.Second,
		},
		{
			name: "a $filter of 16 KB of 'not'",
			do: func(e *env) resp {
				return e.api("GET", "/api/machineactions?$filter="+strings.Repeat("not%20", 4000)+"status%20eq%20'x'", "")
			},
			status: 400, code: "ODataError", within: time.Second,
		},
		{
			name: "a $filter one byte over 16 KB",
			do: func(e *env) resp {
				return e.api("GET", "/api/machineactions?$filter=status%20eq%20'"+strings.Repeat("a", 16<<10)+"'", "")
			},
			status: 400, code: "ODataError", within: time.Second,
		},
		{
			name:   "a $orderby over 16 KB",
			do:     func(e *env) resp { return e.api("GET", "/api/machines?$orderby="+strings.Repeat("id,", 6000)+"id", "") },
			status: 400, code: "ODataError", within: time.Second,
		},
		{
			name: "an in list of 100,000 values",
			do: func(e *env) resp {
				return e.api("GET", "/api/machineactions?$filter=id%20in%20("+strings.Repeat("'a',", 100_000)+"'a')", "")
			},
			status: 400, code: "ODataError", within: 2 * time.Second,
		},
		{
			name: "an in list of 5,000 values under the length bound",
			do: func(e *env) resp {
				return e.api("GET", "/api/machines?$filter=rbacGroupId%20in%20("+strings.Repeat("1,", 5000)+"1)", "")
			},
			status: 400, code: "ODataError", within: time.Second,
		},
		{
			name: "an or chain of 2,000 terms under the length bound",
			do: func(e *env) resp {
				return e.api("GET", "/api/machineactions?$filter="+strings.Repeat("id%20eq%20'a'%20or%20", 1000)+"id%20eq%20'a'", "")
			},
			status: 400, code: "ODataError", within: time.Second,
		},
		{
			name: "an any() lambda with 1,000 terms under the length bound",
			do: func(e *env) resp {
				return e.api("GET", "/api/machines?$filter=machineTags/any(t:"+strings.Repeat("%20t%20eq%20'a'%20or", 700)+"%20t%20eq%20'a')", "")
			},
			status: 400, code: "ODataError", within: time.Second,
		},
		{
			// The largest realistic query: answered, not refused.
			name: "an in list of 300 action ids",
			do: func(e *env) resp {
				ids := make([]string, 300)
				for i := range ids {
					ids[i] = "'3f1ab2c4-5d6e-4f70-8a9b-0c1d2e3f4a5b'"
				}
				return e.api("GET", "/api/machineactions?$filter=id%20in%20("+strings.Join(ids, ",")+")", "")
			},
			status: 200, within: time.Second,
		},
		refusedUpload("'.'", "."),
		refusedUpload("'..'", ".."),
		refusedUpload("'...'", "..."),
		func() hostileCase {
			do, after := unchanged(func(e *env) resp {
				return e.upload("file", "long-description.ps1", []byte("x"), map[string]string{"Description": strings.Repeat("d", 64<<10+1)})
			})
			return hostileCase{name: "a library upload with a Description over 64 KiB", do: do, status: 400, code: "InvalidInput", after: after}
		}(),
		refusedUpload("x.ps1. (a trailing dot)", "x.ps1."),
		refusedUpload("CON", "CON"),
		refusedUpload("nul.txt", "nul.txt"),
		refusedUpload("LPT9.ps1", "LPT9.ps1"),
		refusedUpload("with 5,000 characters", strings.Repeat("a", 5000)+".ps1"),
		refusedUpload("a/b", "a/b"),
		refusedUpload(`a\b`, `a\b`),
		refusedUpload(`C:\Temp\x.ps1`, `C:\Temp\x.ps1`),
		refusedUpload("a%2Fb (percent-encoded)", "a%2Fb"),
		refusedUpload("%2E%2E (percent-encoded)", "%2E%2E"),
		{
			name:   "a library upload with a percent-encoded name",
			do:     func(e *env) resp { return e.upload("file", "Get%2DTriage.ps1", []byte("x"), nil) },
			status: 200,
			after: func(e *env) {
				if !has(e, "Get-Triage.ps1") || has(e, "Get%2DTriage.ps1") {
					e.t.Errorf("library after the upload: %q", library(e))
				}
			},
		},
		{
			name:   "a library delete with a percent-encoded name",
			do:     func(e *env) resp { return e.api("DELETE", "/api/libraryfiles/Get%2DProcesses.ps1", "") },
			status: 204,
			after: func(e *env) {
				if has(e, "Get-Processes.ps1") {
					e.t.Errorf("still in the library: %q", library(e))
				}
			},
		},
		refusedDelete("x.ps1. (a trailing dot)", "x.ps1."),
		refusedDelete("CON", "con"),
		refusedDelete("nul.txt", "nul.txt"),
		refusedDelete("'..' percent-encoded", "%2E%2E"),
		refusedDelete("a percent-encoded path", "..%2F..%2FGet-Processes.ps1"),
		refusedDelete("a 5,000-character name", strings.Repeat("a", 5000)),
		{
			// The library kept every upload: 1,500 an hour of 20 MB
			// each. It now holds state.MaxLibraryFiles files a tenant
			// (and 128 MiB; TestLibraryBytesBound).
			name: "an upload to a library of 1,000 files",
			do: func(e *env) resp {
				for i := len(library(e)); i < state.MaxLibraryFiles; i++ {
					if r := e.upload("file", fmt.Sprintf("f%04d.ps1", i), []byte("x"), nil); r.status != 200 {
						e.t.Fatalf("upload %d: %d %s", i, r.status, r.body)
					}
					e.advance(3 * time.Second) // within 100 a minute, 1,500 an hour
				}
				return e.upload("file", "one-more.ps1", []byte("x"), nil)
			},
			status: 400, code: "BadRequest",
			after: func(e *env) {
				if n := len(library(e)); n != state.MaxLibraryFiles {
					e.t.Errorf("library holds %d files, want %d", n, state.MaxLibraryFiles)
				}
			},
		},
	}
}
