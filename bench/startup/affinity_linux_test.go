package main

import (
	"os/exec"
	"runtime"
	"slices"
	"testing"
)

// TestStartOnBindsTheChildOnly starts a process bound to one CPU: the
// child has that CPU alone, and the thread that forked it has all its
// CPUs back.
func TestStartOnBindsTheChildOnly(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	mine, err := affinity(0)
	if err != nil {
		t.Fatal(err)
	}
	cpu := mine[len(mine)-1]
	c := exec.Command("sleep", "30")
	if err := startOn(c, cpu); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	got, err := affinity(c.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{cpu}) {
		t.Errorf("the child may run on CPUs %v, want only %d", got, cpu)
	}
	after, err := affinity(0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(after, mine) {
		t.Errorf("this thread may run on CPUs %v after the start, want %v as before", after, mine)
	}
}

// TestStartOnUnbound leaves the child on the CPUs this process has.
func TestStartOnUnbound(t *testing.T) {
	mine, err := affinity(0)
	if err != nil {
		t.Fatal(err)
	}
	c := exec.Command("sleep", "30")
	if err := startOn(c, -1); err != nil {
		t.Fatal(err)
	}
	defer func() { c.Process.Kill(); c.Wait() }()
	got, err := affinity(c.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < len(mine) {
		t.Errorf("an unbound child may run on CPUs %v, want at least this process's %v", got, mine)
	}
}
