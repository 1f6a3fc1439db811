package state

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

const tick = Tick

// TestLifecycleSteps follows one action through every change, checking the
// whole view just before and at each instant something happens.
func TestLifecycleSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	comment := "steps"
	cmds := []Command{runScript("ok.ps1"), getFile(reportPath)}
	v, err := e.ten.Submit(caller, win1, SubmitRequest{Comment: &comment, Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	want := pendingView(v.ID, win1, "win1.contoso.local", 0, &comment, cmds...)
	steps := []struct {
		at     time.Duration
		change func(v *ActionView)
	}{
		{5 * time.Second, func(v *ActionView) { // picked up; first command starts
			setStatus(v, StatusInProgress, 5*time.Second)
			setCmd(v, 0, CommandInProgress, 5*time.Second, running)
		}},
		{8 * time.Second, func(v *ActionView) { // script done after 3s; GetFile starts
			v.LastUpdateDateTimeUtc = stamp(8 * time.Second)
			setCmd(v, 0, CommandCompleted, 5*time.Second, 8*time.Second)
			setCmd(v, 1, CommandInProgress, 8*time.Second, running)
		}},
		{10 * time.Second, func(v *ActionView) { // GetFile done after 2s; settling
			v.LastUpdateDateTimeUtc = stamp(10 * time.Second)
			setCmd(v, 1, CommandCompleted, 8*time.Second, 10*time.Second)
		}},
		{12 * time.Second, func(v *ActionView) { // settled
			setStatus(v, StatusSucceeded, 12*time.Second)
		}},
	}
	checkView(t, "at 0", want, e.view(t, v.ID))
	for _, st := range steps {
		e.at(st.at - tick)
		checkView(t, fmt.Sprintf("just before %v", st.at), want, e.view(t, v.ID))
		e.at(st.at)
		st.change(&want)
		checkView(t, fmt.Sprintf("at %v", st.at), want, e.view(t, v.ID))
	}
	if n := e.ten.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d after the end, want 0", n)
	}
	e.at(100 * time.Hour)
	checkView(t, "100h later", want, e.view(t, v.ID))
}

// TestLifecycleOutcomes checks the final view (exact times) and the
// results of actions of every kind.
func TestLifecycleOutcomes(t *testing.T) {
	t.Parallel()
	const s = time.Second
	timeoutErr := "Script execution timed out after 10m0s; the script was stopped."
	tests := []struct {
		name    string
		machine string
		cmds    []Command
		end     time.Duration // when to look
		want    func(v *ActionView)
		blobs   map[int]string // index → script JSON or file content
	}{
		{
			name: "first failure stops", machine: win1,
			cmds: []Command{putFile("tool.exe"), runScript("fail.ps1"), getFile(reportPath)},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 6*s)
				setCmd(v, 1, CommandFailed, 6*s, 10*s, "Access is denied.")
				setStatus(v, StatusFailed, 10*s)
			},
		},
		{
			name: "script over 10 minutes is cut at 10 minutes", machine: win1,
			cmds: []Command{runScript("hang.ps1"), getFile(reportPath)},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandFailed, 5*s, 5*s+10*time.Minute, timeoutErr)
				setStatus(v, StatusTimeOut, 5*s+10*time.Minute)
			},
		},
		{
			name: "script of exactly 10 minutes completes", machine: win1,
			cmds: []Command{runScript("tenmin.ps1")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 5*s+10*time.Minute)
				setStatus(v, StatusSucceeded, 7*s+10*time.Minute)
			},
			blobs: map[int]string{0: `{"script_name":"tenmin.ps1","exit_code":0,"script_output":"` + psOutput("just in time") + `","script_errors":""}`},
		},
		{
			name: "exit code 3 still completes", machine: win1,
			cmds: []Command{runScript("exit3.sh")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 8*s)
				setStatus(v, StatusSucceeded, 10*s)
			},
			blobs: map[int]string{0: `{"script_name":"exit3.sh","exit_code":3,"script_output":"partial","script_errors":"warning: disk"}`},
		},
		{
			name: "byArgs slow", machine: win1,
			cmds: []Command{runScript("args.ps1", "-slow")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 25*s)
				setStatus(v, StatusSucceeded, 27*s)
			},
			blobs: map[int]string{0: `{"script_name":"args.ps1","exit_code":0,"script_output":"` + psOutput("slow") + `","script_errors":""}`},
		},
		{
			name: "byArgs fail", machine: win1,
			cmds: []Command{runScript("args.ps1", "-fail"), runScript("ok.ps1")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandFailed, 5*s, 6*s, "bad argument")
				setStatus(v, StatusFailed, 6*s)
			},
		},
		{
			name: "byArgs other value uses the default", machine: win1,
			cmds: []Command{runScript("args.ps1", "-other")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 8*s)
				setStatus(v, StatusSucceeded, 10*s)
			},
			blobs: map[int]string{0: `{"script_name":"args.ps1","exit_code":0,"script_output":"` + psOutput("default") + `","script_errors":""}`},
		},
		{
			name: "byArgs without Args uses the default", machine: win1,
			cmds: []Command{runScript("args.ps1")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 8*s)
				setStatus(v, StatusSucceeded, 10*s)
			},
			blobs: map[int]string{0: `{"script_name":"args.ps1","exit_code":0,"script_output":"` + psOutput("default") + `","script_errors":""}`},
		},
		{
			name: "two scripts one after the other", machine: win1,
			cmds: []Command{runScript("ok.ps1"), runScript("exit3.sh")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 8*s)
				setCmd(v, 1, CommandCompleted, 8*s, 11*s)
				setStatus(v, StatusSucceeded, 13*s)
			},
			blobs: map[int]string{
				0: `{"script_name":"ok.ps1","exit_code":0,"script_output":"` + psOutput("done") + `","script_errors":""}`,
				1: `{"script_name":"exit3.sh","exit_code":3,"script_output":"partial","script_errors":"warning: disk"}`,
			},
		},
		{
			name: "PutFile then GetFile of it (Windows)", machine: win1,
			cmds: []Command{putFile("tool.exe"), runScript("ok.ps1"), getFile(winPutPath)},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 6*s)
				setCmd(v, 1, CommandCompleted, 6*s, 9*s)
				setCmd(v, 2, CommandCompleted, 9*s, 11*s)
				setStatus(v, StatusSucceeded, 13*s)
			},
			blobs: map[int]string{2: toolBytes},
		},
		{
			name: "PutFile then GetFile of it (Linux, pickup 10s)", machine: lin1,
			cmds: []Command{putFile("TOOL.EXE"), getFile(linPutPath)},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 10*s, 11*s)
				setCmd(v, 1, CommandCompleted, 11*s, 13*s)
				setStatus(v, StatusSucceeded, 15*s)
			},
			blobs: map[int]string{1: toolBytes},
		},
		{
			name: "GetFile before the PutFile that makes it", machine: win1,
			cmds: []Command{getFile(winPutPath)},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandFailed, 5*s, 7*s, "The file "+winPutPath+" was not found on the device.")
				setStatus(v, StatusFailed, 7*s)
			},
		},
		{
			name: "GetFile of a fixture file, any case and slash on Windows", machine: win1,
			cmds: []Command{getFile("c:/temp/REPORT.TXT")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 7*s)
				setStatus(v, StatusSucceeded, 9*s)
			},
			blobs: map[int]string{0: reportText},
		},
		{
			name: "GetFile is case-sensitive on Linux", machine: lin1,
			cmds: []Command{getFile("/var/log/APP.log")},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandFailed, 10*s, 12*s, "The file /var/log/APP.log was not found on the device.")
				setStatus(v, StatusFailed, 12*s)
			},
		},
		{
			name: "GetFile of a missing path", machine: win1,
			cmds: []Command{getFile(`C:\Temp\nope.txt`), getFile(reportPath)},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandFailed, 5*s, 7*s, `The file C:\Temp\nope.txt was not found on the device.`)
				setStatus(v, StatusFailed, 7*s)
			},
		},
		{
			name: "GetFile over 3 GB", machine: win1,
			cmds: []Command{getFile(`C:\Temp\huge.bin`)},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandFailed, 5*s, 7*s, `The file C:\Temp\huge.bin is 3221225473 bytes; GetFile collects files of up to 3 GB.`)
				setStatus(v, StatusFailed, 7*s)
			},
		},
		{
			name: "GetFile of exactly 3 GB", machine: win1,
			cmds: []Command{getFile(`C:\Temp\limit.bin`)},
			end:  time.Hour,
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 7*s)
				setStatus(v, StatusSucceeded, 9*s)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			a := e.submit(t, tc.machine, tc.cmds...)
			e.at(tc.end)
			want := pendingView(a.ID, tc.machine, e.machine(t, tc.machine).ComputerDNSName(), 0, nil, tc.cmds...)
			tc.want(&want)
			checkView(t, "final view", want, e.view(t, a.ID))
			for i, content := range tc.blobs {
				content = withTranscript(content, a.ID, i)
				if got := string(e.result(t, a.ID, i)); got != content {
					t.Errorf("result of command %d = %q, want %q", i, got, content)
				}
			}
			if n := e.ten.Sessions(); n != 0 {
				t.Errorf("Sessions() = %d after the end, want 0", n)
			}
		})
	}
}

// TestPutFileOnMachine: PutFile leaves the library bytes on the machine,
// for later actions too.
func TestPutFileOnMachine(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.submit(t, win1, putFile("tool.exe"))
	e.at(time.Minute)
	f, ok := e.machine(t, win1).file(winPutPath)
	if !ok || string(f.content) != toolBytes || f.size != int64(len(toolBytes)) || f.path != winPutPath {
		t.Fatalf("file(%s) = %+v, %v; want the library bytes", winPutPath, f, ok)
	}
	a := e.submit(t, win1, getFile(winPutPath))
	e.at(2 * time.Minute)
	if got := string(e.result(t, a.ID, 0)); got != toolBytes {
		t.Errorf("a later GetFile returned %q, want %q", got, toolBytes)
	}
}

// TestOfflineMachineComesOnline: the queued action waits, and starts
// after the pickup delay once the machine connects on day 2.
func TestOfflineMachineComesOnline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.submit(t, off1, runScript("ok.ps1"))
	want := pendingView(a.ID, off1, "off1.contoso.local", 0, nil, runScript("ok.ps1"))
	online := 30*time.Hour + 1500*time.Millisecond
	e.at(online)
	checkView(t, "day 2, still offline", want, e.view(t, a.ID))
	if n := e.ten.Sessions(); n != 1 {
		t.Errorf("a queued action holds %d sessions, want 1", n)
	}
	e.machine(t, off1).SetOnline(true)
	e.at(online + 5*time.Second - tick)
	checkView(t, "just before pickup", want, e.view(t, a.ID))
	e.at(online + 5*time.Second)
	setStatus(&want, StatusInProgress, online+5*time.Second)
	setCmd(&want, 0, CommandInProgress, online+5*time.Second, running)
	checkView(t, "at pickup", want, e.view(t, a.ID))
	e.at(100 * time.Hour)
	setCmd(&want, 0, CommandCompleted, online+5*time.Second, online+8*time.Second)
	setStatus(&want, StatusSucceeded, online+10*time.Second)
	checkView(t, "final", want, e.view(t, a.ID))
}

// TestOfflineMachineTimesOut: never online, the action ends TimeOut
// exactly 72h after its creation, its commands untouched.
func TestOfflineMachineTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.at(90 * time.Second)
	cmds := []Command{runScript("ok.ps1"), getFile(reportPath)}
	a := e.submit(t, "off1", cmds...)
	want := pendingView(a.ID, off1, "off1.contoso.local", 90*time.Second, nil, cmds...)
	deadline := 90*time.Second + 72*time.Hour
	e.at(deadline - tick)
	checkView(t, "just before 72h", want, e.view(t, a.ID))
	e.at(deadline)
	setStatus(&want, StatusTimeOut, deadline)
	checkView(t, "at 72h", want, e.view(t, a.ID))
	if n := e.ten.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d after the timeout, want 0", n)
	}
	// The machine is free again: a new action queues.
	b := e.submit(t, off1, runScript("ok.ps1"))
	if b.Status != StatusPending {
		t.Errorf("new action is %s, want Pending", b.Status)
	}
	// A machine coming online later does not revive the old action.
	e.machine(t, off1).SetOnline(true)
	e.at(deadline + time.Hour)
	checkView(t, "an hour after the timeout", want, e.view(t, a.ID))
	if got := e.view(t, b.ID).Status; got != StatusSucceeded {
		t.Errorf("new action on the reconnected machine is %s, want Succeeded", got)
	}
}

// TestMachineDisconnectsBeforePickup: a machine that goes offline before
// its pickup leaves the action queued, with the usual deadline.
func TestMachineDisconnectsBeforePickup(t *testing.T) {
	t.Parallel()
	t.Run("never back", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		a := e.submit(t, win1, runScript("ok.ps1"))
		e.at(2 * time.Second)
		e.machine(t, win1).SetOnline(false)
		want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, runScript("ok.ps1"))
		e.at(72*time.Hour - tick)
		checkView(t, "just before 72h", want, e.view(t, a.ID))
		e.at(72 * time.Hour)
		setStatus(&want, StatusTimeOut, 72*time.Hour)
		checkView(t, "at 72h", want, e.view(t, a.ID))
	})
	t.Run("back after 10h", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		a := e.submit(t, win1, runScript("ok.ps1"))
		m := e.machine(t, win1)
		e.at(2 * time.Second)
		m.SetOnline(false)
		e.at(10 * time.Hour)
		m.SetOnline(true)
		e.at(20 * time.Hour)
		want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, runScript("ok.ps1"))
		setCmd(&want, 0, CommandCompleted, 10*time.Hour+5*time.Second, 10*time.Hour+8*time.Second)
		setStatus(&want, StatusSucceeded, 10*time.Hour+10*time.Second)
		checkView(t, "final", want, e.view(t, a.ID))
	})
	t.Run("online then offline again", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		a := e.submit(t, off1, runScript("ok.ps1"))
		m := e.machine(t, off1)
		e.at(time.Hour)
		m.SetOnline(true)
		e.at(time.Hour + 2*time.Second)
		m.SetOnline(false)
		e.at(72 * time.Hour)
		want := pendingView(a.ID, off1, "off1.contoso.local", 0, nil, runScript("ok.ps1"))
		setStatus(&want, StatusTimeOut, 72*time.Hour)
		checkView(t, "at 72h", want, e.view(t, a.ID))
	})
}

// TestOneAdvanceEqualsSmallSteps: 200 actions of different lengths and
// outcomes end the same whether the clock moves one hour at once or one
// second at a time.
func TestOneAdvanceEqualsSmallSteps(t *testing.T) {
	t.Parallel()
	const n = 200
	lib := `  library:
  - fileName: var.ps1
    behavior: {duration: 2s, output: d}
    byArgs:
`
	for i := 1; i < 20; i++ {
		switch {
		case i%7 == 0:
			lib += fmt.Sprintf("      %q: {duration: %ds, fail: failed %d}\n", strconv.Itoa(i), i*11, i)
		case i == 19:
			lib += fmt.Sprintf("      %q: {duration: 45m}\n", strconv.Itoa(i)) // times out
		default:
			lib += fmt.Sprintf("      %q: {duration: %dms, exitCode: %d, output: out %d}\n", strconv.Itoa(i), i*7300, i%4, i)
		}
	}
	lib += "  - fileName: tool.exe\n    content: bytes\n"
	yaml := fmt.Sprintf("tenants:\n- id: %s\n  generateMachines: %d\n%s", contosoID, n, lib)

	runWith := func(advance func(e *env)) []ActionView {
		e := newEnvWith(t, parseFixture(t, yaml), profile(t, "unlimited"))
		ms := machinesOf(e.ten)
		for i := range n {
			if i%13 == 0 {
				ms[i].SetOnline(false) // stays queued for the whole hour
			}
			var cmds []Command
			if i%4 == 0 {
				cmds = append(cmds, putFile("tool.exe"))
			}
			cmds = append(cmds, runScript("var.ps1", strconv.Itoa(i%20)))
			if i%5 == 0 {
				cmds = append(cmds, runScript("var.ps1", "x"))
			}
			if i%20 == 0 {
				cmds = append(cmds, getFile(winPutPath))
			}
			if i%3 == 0 {
				cmds = append(cmds, getFile(`C:\missing.txt`))
			}
			if _, err := e.ten.Submit(caller, ms[i].ID(), SubmitRequest{Commands: cmds}); err != nil {
				t.Fatalf("Submit %d: %v", i, err)
			}
			e.clk.Advance(time.Duration(i%9) * 700 * time.Millisecond)
		}
		advance(e)
		return e.ten.Actions()
	}
	// Build the same fixture twice; the sub-second submits above move
	// both clocks the same way.
	once := runWith(func(e *env) { e.clk.Advance(time.Hour) })
	stepped := runWith(func(e *env) {
		for range 3600 {
			e.clk.Advance(time.Second)
		}
	})
	if diff := cmp.Diff(once, stepped, viewOpts, cmpopts.IgnoreFields(ActionView{}, "ID")); diff != "" {
		t.Errorf("views differ (-once +stepped):\n%s", diff)
	}
	count := map[string]int{}
	for _, v := range once {
		count[v.Status]++
	}
	want := map[string]int{StatusPending: 16, StatusSucceeded: 0, StatusFailed: 0, StatusTimeOut: 0}
	if count[StatusPending] != want[StatusPending] || count[StatusSucceeded] == 0 || count[StatusFailed] == 0 ||
		count[StatusTimeOut] == 0 || count[StatusInProgress] != 0 || len(once) != n {
		t.Errorf("status counts %v: want 16 Pending (offline), none InProgress, some Succeeded, Failed and TimeOut", count)
	}
}

// TestStaleStepsAfterLoad: a Load forgets the old actions; their steps
// do not disturb the new state.
func TestStaleStepsAfterLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := e.submit(t, win1, runScript("ok.ps1"))
	e.s.Load(parseFixture(t, contosoYAML))
	ten, _ := e.s.Tenant(contosoID)
	if _, err := ten.Action(old.ID); apierr.CodeOf(err) != apierr.ResourceNotFound {
		t.Errorf("old action after Load: %v, want ResourceNotFound", err)
	}
	v, err := ten.Submit(caller, win1, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
	if err != nil {
		t.Fatalf("Submit on the reloaded machine: %v", err)
	}
	e.at(time.Minute)
	if n := ten.Sessions(); n != 0 {
		t.Errorf("Sessions() = %d, want 0", n)
	}
	a, _ := ten.Action(v.ID)
	if got := a.View().Status; got != StatusSucceeded {
		t.Errorf("new action %s, want Succeeded", got)
	}
}

// TestProfileTimes: the queue and script time limits come from the
// profile in force.
func TestProfileTimes(t *testing.T) {
	t.Parallel()
	t.Run("current profile queues for 2h", func(t *testing.T) {
		t.Parallel()
		e := newEnvWith(t, parseFixture(t, contosoYAML), profile(t, "current"))
		a := e.submit(t, off1, runScript("ok.ps1"))
		want := pendingView(a.ID, off1, "off1.contoso.local", 0, nil, runScript("ok.ps1"))
		e.at(2*time.Hour - tick)
		checkView(t, "just before 2h", want, e.view(t, a.ID))
		e.at(2 * time.Hour)
		setStatus(&want, StatusTimeOut, 2*time.Hour)
		checkView(t, "at 2h", want, e.view(t, a.ID))
	})
	t.Run("script timeout override", func(t *testing.T) {
		t.Parallel()
		p := profile(t, "default")
		p.ScriptTimeout = 15 * time.Second
		e := newEnvWith(t, parseFixture(t, contosoYAML), p)
		a := e.submit(t, win1, runScript("args.ps1", "-slow"))
		e.at(time.Hour)
		want := pendingView(a.ID, win1, "win1.contoso.local", 0, nil, runScript("args.ps1", "-slow"))
		setCmd(&want, 0, CommandFailed, 5*time.Second, 20*time.Second, "Script execution timed out after 15s; the script was stopped.")
		setStatus(&want, StatusTimeOut, 20*time.Second)
		checkView(t, "view", want, e.view(t, a.ID))
	})
	t.Run("SetProfile changes the session cap", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		p := profile(t, "default")
		p.Sessions = 1
		e.s.SetProfile(p)
		if got := e.s.Profile().Sessions; got != 1 {
			t.Errorf("Profile().Sessions = %d, want 1", got)
		}
		e.submit(t, win1, runScript("ok.ps1"))
		_, err := e.ten.Submit(caller, lin1, SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
		checkErr(t, err, apierr.TooManyRequests, "limit of 1 concurrent")
	})
}

// TestActionsOrder: Actions lists the newest first.
func TestActionsOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var ids []string
	for _, m := range []string{win1, lin1, off1} {
		ids = append(ids, e.submit(t, m, runScript("ok.ps1")).ID)
		e.clk.Advance(time.Second)
	}
	var got []string
	for _, v := range e.ten.Actions() {
		got = append(got, v.ID)
	}
	if diff := cmp.Diff([]string{ids[2], ids[1], ids[0]}, got); diff != "" {
		t.Errorf("Actions() order (-want +got):\n%s", diff)
	}
}
