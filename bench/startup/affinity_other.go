//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

// startOn starts c; binding it to a CPU (cpu ≥ 0) is done on Linux only.
func startOn(c *exec.Cmd, cpu int) error {
	if cpu >= 0 {
		return errors.New("--cpu: binding a process to a CPU is supported on Linux only")
	}
	return c.Start()
}

// affinity is not known off Linux.
func affinity(int) ([]int, error) { return nil, errors.New("CPU affinity: Linux only") }
