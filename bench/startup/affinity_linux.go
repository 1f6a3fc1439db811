package main

import (
	"fmt"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// startOn starts c with its process bound to CPU cpu (-1: unbound, as
// this process is). A process inherits the CPU affinity of the thread
// that forks it, so startOn binds its own thread for the fork and
// unbinds it after: the time measured starts at the server's own exec,
// with no taskset exec'd before it.
func startOn(c *exec.Cmd, cpu int) error {
	if cpu < 0 {
		return c.Start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var was, one unix.CPUSet
	if err := unix.SchedGetaffinity(0, &was); err != nil {
		return fmt.Errorf("--cpu: %w", err)
	}
	one.Set(cpu)
	if err := unix.SchedSetaffinity(0, &one); err != nil {
		return fmt.Errorf("--cpu %d: %w", cpu, err)
	}
	err := c.Start()
	if rerr := unix.SchedSetaffinity(0, &was); rerr != nil && err == nil {
		err = fmt.Errorf("--cpu: restoring this thread's CPUs: %w", rerr)
	}
	return err
}

// affinity returns the CPUs process pid may run on.
func affinity(pid int) ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &set); err != nil {
		return nil, err
	}
	var cpus []int
	for i := range 1024 {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus, nil
}
