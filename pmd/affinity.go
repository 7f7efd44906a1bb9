package pmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ControlCPUs is the CPU set for everything that is not a worker lcore:
// the Go runtime's threads (GC workers, sysmon, timers) and the control
// plane. It is the process's original set minus the CPUs of the worker
// lcores, so busy-polling workers keep their CPUs to themselves, as EAL's
// control-thread placement does for testpmd; but if that would leave a
// single CPU (on a 2-CPU machine with -l 0-1, the main lcore's alone), it
// is the original set: the Go runtime is never squeezed onto one core.
func (e *EAL) ControlCPUs() unix.CPUSet {
	set := e.origMask
	for _, l := range e.Lcores() {
		if !l.Main && l.CPU >= 0 {
			set.Clear(l.CPU)
		}
	}
	if set.Count() < 2 {
		return e.origMask
	}
	return set
}

// confineRuntime gives every Go thread the control CPU set. EAL pinned the
// main lcore's thread and the worker threads itself; the Go runtime's other
// threads had the original mask, and threads it creates later inherit the
// mask of the thread that clones them, which is now the control set.
func (e *EAL) confineRuntime() error {
	set := e.ControlCPUs()
	tasks, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(filepath.Base(t))
		if err != nil || tid == e.mainTID {
			continue
		}
		// Go's threads carry the program's name; EAL names its own
		// (rte-worker-N, eal-intr-thread, ...) and placed them already.
		c, err := os.ReadFile(filepath.Join(t, "comm"))
		if err != nil || strings.TrimSpace(string(c)) != e.goComm {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("thread %d: %w", tid, err)
		}
	}
	return nil
}

// GoThreadName is the name the Go runtime's threads carry.
func (e *EAL) GoThreadName() string { return e.goComm }

// cpuList formats a CPU set as "0-1,4".
func cpuList(s unix.CPUSet) string {
	var parts []string
	for c := 0; c < 1024; c++ {
		if !s.IsSet(c) {
			continue
		}
		end := c
		for end+1 < 1024 && s.IsSet(end+1) {
			end++
		}
		if end == c {
			parts = append(parts, strconv.Itoa(c))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", c, end))
		}
		c = end
	}
	return strings.Join(parts, ",")
}
