package pmd_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/offloadpmd/offloadpmd/pmd"
	"github.com/offloadpmd/offloadpmd/pmd/pmdtest"
)

// thread is one line of /proc/self/task.
type thread struct {
	tid  int
	name string
	cpus unix.CPUSet
}

func threads(t *testing.T) []thread {
	t.Helper()
	dirs, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		t.Fatal(err)
	}
	var out []thread
	for _, d := range dirs {
		tid, _ := strconv.Atoi(filepath.Base(d))
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil {
			continue // exited meanwhile
		}
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil {
			continue
		}
		out = append(out, thread{tid, strings.TrimSpace(string(comm)), set})
	}
	return out
}

// worker is a worker lcore of eal.
func worker(eal *pmd.EAL) pmd.Lcore {
	var w pmd.Lcore
	for _, l := range eal.Lcores() {
		if !l.Main {
			w = l
		}
	}
	return w
}

func TestWorkerRunsAsItsLcoreOnItsCPU(t *testing.T) {
	eal := pmdtest.Need(t)
	w := worker(eal)
	var got uint
	var set unix.CPUSet
	if err := eal.Launch(w.ID, func(lc uint) error {
		got = pmd.LcoreID()
		return unix.SchedGetaffinity(0, &set)
	}); err != nil {
		t.Fatal(err)
	}
	if err := eal.Wait(w.ID); err != nil {
		t.Fatal(err)
	}
	if got != w.ID {
		t.Errorf("rte_lcore_id() on the worker = %d, want %d", got, w.ID)
	}
	if set.Count() != 1 || !set.IsSet(w.CPU) {
		t.Errorf("worker lcore %d runs with %d CPUs allowed, want only CPU %d", w.ID, set.Count(), w.CPU)
	}
}

// TestWorkerClonesNoThreads starts goroutines from a worker lcore, each
// holding a thread of its own, so the runtime must start new threads while
// the worker runs. None may be a clone of the worker's thread: a clone
// inherits its one-CPU affinity and would take turns with the busy-polling
// worker on its CPU.
func TestWorkerClonesNoThreads(t *testing.T) {
	eal := pmdtest.Need(t)
	w := worker(eal)
	const holders = 8
	release := make(chan struct{})
	var workerTID int
	var pinned []thread
	if err := eal.Launch(w.ID, func(uint) error {
		workerTID = unix.Gettid()
		held := make(chan struct{}, holders)
		for range holders {
			go func() {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				held <- struct{}{}
				<-release
			}()
		}
		for range holders {
			<-held
		}
		for _, th := range threads(t) {
			if th.tid != workerTID && th.cpus.Count() == 1 && th.cpus.IsSet(w.CPU) {
				pinned = append(pinned, th)
			}
		}
		close(release)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := eal.Wait(w.ID); err != nil {
		t.Fatal(err)
	}
	for _, th := range pinned {
		t.Errorf("thread %d (%s) is pinned to the worker's CPU %d alone: cloned off the worker", th.tid, th.name, w.CPU)
	}
}

func TestLaunchErrors(t *testing.T) {
	eal := pmdtest.Need(t)
	if err := eal.Launch(eal.MainLcore(), func(uint) error { return nil }); !errors.Is(err, pmd.ErrInvalid) {
		t.Errorf("launch on the main lcore: %v, want ErrInvalid", err)
	}
	w := eal.Workers()[0]
	boom := errors.New("boom")
	if err := eal.Launch(w, func(uint) error { return boom }); err != nil {
		t.Fatal(err)
	}
	if err := eal.Wait(w); !errors.Is(err, boom) {
		t.Errorf("Wait = %v, want the function's error", err)
	}
	if err := eal.Launch(w, func(uint) error { panic("lcore bug") }); err != nil {
		t.Fatal(err)
	}
	if err := eal.Wait(w); err == nil || !strings.Contains(err.Error(), "lcore bug") {
		t.Errorf("Wait after a panic = %v, want it reported", err)
	}
}

// TestGoRuntimeNotSqueezed checks the thread placement EAL init leaves:
// the main lcore's thread pinned to its CPU, and every other Go thread on
// the control CPUs, which on a two-CPU machine are both CPUs.
func TestGoRuntimeNotSqueezed(t *testing.T) {
	eal := pmdtest.Need(t)
	var main pmd.Lcore
	for _, l := range eal.Lcores() {
		if l.Main {
			main = l
		}
	}
	orig := eal.OriginalCPUs()
	control := eal.ControlCPUs()
	if orig.Count() > 1 && control.Count() < 2 {
		t.Fatalf("control CPUs %d: the Go runtime is squeezed onto one core", control.Count())
	}
	if runtime.GOMAXPROCS(0) != orig.Count() {
		t.Errorf("GOMAXPROCS %d, want the %d CPUs the process started with", runtime.GOMAXPROCS(0), orig.Count())
	}
	goName := eal.GoThreadName()
	var sawMain, goThreads int
	for _, th := range threads(t) {
		switch {
		case th.tid == eal.MainThreadID():
			sawMain++
			if th.cpus.Count() != 1 || !th.cpus.IsSet(main.CPU) {
				t.Errorf("main lcore thread %d: %d CPUs allowed, want CPU %d only", th.tid, th.cpus.Count(), main.CPU)
			}
		case th.name == goName:
			goThreads++
			if th.cpus != control {
				t.Errorf("Go thread %d has %d CPUs allowed, want the %d control CPUs", th.tid, th.cpus.Count(), control.Count())
			}
		}
	}
	if sawMain != 1 {
		t.Errorf("main lcore thread %d not found", eal.MainThreadID())
	}
	if goThreads < 2 {
		t.Errorf("found %d Go threads, want the runtime's several", goThreads)
	}
	// Threads the runtime starts from now on inherit the control set too.
	done := make(chan struct{})
	for range 8 {
		go func() {
			runtime.LockOSThread()
			<-done
		}()
	}
	runtime.Gosched()
	for _, th := range threads(t) {
		if th.name == goName && th.tid != eal.MainThreadID() && th.cpus != control {
			t.Errorf("new Go thread %d has %d CPUs allowed, want %d", th.tid, th.cpus.Count(), control.Count())
		}
	}
	close(done)
}
