package state

import (
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/emulator/fixture"
)

// TestQueuedOutcomesAndScriptTimeout: a queued outcome's duration, failure
// and result replace the fixtures', and the script timeout still cuts a
// RunScript that runs over it, whether the time is the outcome's or the
// fixtures'.
func TestQueuedOutcomesAndScriptTimeout(t *testing.T) {
	t.Parallel()
	const s = time.Second
	timeoutErr := "Script execution timed out after 10m0s; the script was stopped."
	tests := []struct {
		name  string
		out   Outcome
		cmd   Command
		want  func(v *ActionView)
		blobs map[int]string
	}{
		{
			name: "a failure over the timeout times out",
			out:  Outcome{Fail: "boom", Duration: fixture.Duration(20 * time.Minute)},
			cmd:  runScript("ok.ps1"),
			want: func(v *ActionView) {
				setCmd(v, 0, CommandFailed, 5*s, 5*s+10*time.Minute, timeoutErr)
				setStatus(v, StatusTimeOut, 5*s+10*time.Minute)
			},
		},
		{
			name: "a failure within the timeout fails",
			out:  Outcome{Fail: "boom", Duration: fixture.Duration(time.Minute)},
			cmd:  runScript("ok.ps1"),
			want: func(v *ActionView) {
				setCmd(v, 0, CommandFailed, 5*s, 5*s+time.Minute, "boom")
				setStatus(v, StatusFailed, 5*s+time.Minute)
			},
		},
		{
			name: "no duration of its own: a hanging script's ends at the timeout, completed",
			out:  Outcome{Output: "over"},
			cmd:  runScript("hang.ps1"),
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 5*s+10*time.Minute)
				setStatus(v, StatusSucceeded, 7*s+10*time.Minute)
			},
			blobs: map[int]string{0: `{"script_name":"hang.ps1","exit_code":0,"script_output":"` + psOutput("over") + `","script_errors":""}`},
		},
		{
			name: "a GetFile is never cut",
			out:  Outcome{Type: GetFile, Duration: fixture.Duration(20 * time.Minute)},
			cmd:  getFile(reportPath),
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 5*s+20*time.Minute)
				setStatus(v, StatusSucceeded, 7*s+20*time.Minute)
			},
			blobs: map[int]string{0: reportText},
		},
		{
			name: "a GetFile of a missing file collects an empty one",
			out:  Outcome{Type: GetFile},
			cmd:  getFile(`C:\nope`),
			want: func(v *ActionView) {
				setCmd(v, 0, CommandCompleted, 5*s, 7*s)
				setStatus(v, StatusSucceeded, 9*s)
			},
			blobs: map[int]string{0: ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if err := e.machine(t, win1).QueueOutcomes([]Outcome{tc.out}); err != nil {
				t.Fatal(err)
			}
			v := e.submit(t, win1, tc.cmd)
			e.at(time.Hour)
			want := pendingView(v.ID, win1, "win1.contoso.local", 0, nil, tc.cmd)
			tc.want(&want)
			checkView(t, tc.name, want, e.view(t, v.ID))
			for i, content := range tc.blobs {
				content = withTranscript(content, v.ID, i)
				if got := string(e.result(t, v.ID, i)); got != content {
					t.Errorf("result %d: %q, want %q", i, got, content)
				}
			}
		})
	}
}
