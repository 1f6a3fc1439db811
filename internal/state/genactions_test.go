package state

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mdelive/mde-emulator/internal/apierr"
)

// TestGeneratedSubmitMakesNoMachine: a live response on a generated
// machine, by id or by name, makes no *Machine for it; the action still
// names the machine, holds it (a second submit is refused), is listed
// under it, and is its active action once something makes it.
func TestGeneratedSubmitMakesNoMachine(t *testing.T) {
	t.Parallel()
	e := generatedEnv(t, 8, profile(t, "unlimited"))
	three, four := e.ten.fleet.pristine(e.ten, 3), e.ten.fleet.pristine(e.ten, 4)
	byID := e.submit(t, three.ID(), runScript("ok.ps1"))
	byName := e.submit(t, four.ComputerDNSName(), runScript("ok.ps1"))
	if e.made(3) || e.made(4) {
		t.Fatalf("made after a submit: machine 3 %v, machine 4 %v; want neither", e.made(3), e.made(4))
	}
	if byID.MachineID != three.ID() || byID.ComputerDNSName != three.ComputerDNSName() ||
		byName.MachineID != four.ID() || byName.ComputerDNSName != four.ComputerDNSName() {
		t.Errorf("views name %s %s and %s %s, want machines 3 and 4", byID.MachineID, byID.ComputerDNSName, byName.MachineID, byName.ComputerDNSName)
	}
	_, err := e.ten.Submit(caller, three.ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != apierr.ActiveRequestAlreadyExists {
		t.Errorf("a second submit on machine 3: %v, want ActiveRequestAlreadyExists", err)
	}
	if got := ids(e.ten.ActionsOnFor(caller, []string{three.ID(), four.ID()})); len(got) != 2 || got[0] != byName.ID || got[1] != byID.ID {
		t.Errorf("actions on machines 3 and 4: %v, want [%s %s]", got, byName.ID, byID.ID)
	}
	m, err := e.ten.Machine(three.ID())
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := m.ActiveAction(); !ok || a.ID != byID.ID {
		t.Errorf("machine 3 made: active %q %v, want %s", a.ID, ok, byID.ID)
	}
	e.at(time.Hour)
	if v := e.view(t, byID.ID); v.Status != StatusSucceeded {
		t.Errorf("after an hour: %s, want Succeeded", v.Status)
	}
	if _, ok := m.ActiveAction(); ok {
		t.Error("machine 3 still busy after its action finished")
	}
	again := e.submit(t, three.ID(), runScript("ok.ps1"))
	if got := ids(e.ten.ActionsOnFor(caller, []string{three.ID()})); len(got) != 2 || got[0] != again.ID {
		t.Errorf("actions on machine 3: %v, want [%s %s]", got, again.ID, byID.ID)
	}
	e.checkIndex(t)
}

// TestGeneratedOfflineThenOnline: an action on a generated machine made
// and taken offline waits; the machine coming online picks it up, even
// when the two happen at once (the number's lock), and a machine given
// back is online.
func TestGeneratedOfflineThenOnline(t *testing.T) {
	t.Parallel()
	const machines = 40
	e := generatedEnv(t, machines, profile(t, "unlimited"))
	live := make([]string, machines+1)
	var wg sync.WaitGroup
	for i := 1; i <= machines; i++ {
		m, err := e.ten.Machine(machineID(e, i))
		if err != nil {
			t.Fatal(err)
		}
		m.SetOnline(false)
		wg.Add(2)
		go func() {
			defer wg.Done()
			v, err := e.ten.Submit(caller, m.ID(), SubmitRequest{Commands: []Command{runScript("ok.ps1")}})
			if err != nil {
				t.Error(err)
				return
			}
			live[i] = v.ID
		}()
		go func() {
			defer wg.Done()
			m.SetOnline(true)
		}()
	}
	wg.Wait()
	e.at(time.Hour) // far short of the queue's 3 days
	for i := 1; i <= machines; i++ {
		if v := e.view(t, live[i]); v.Status != StatusSucceeded {
			t.Errorf("machine %d: its action is %s an hour after it came online, want Succeeded", i, v.Status)
		}
	}
	e.checkIndex(t)
}
