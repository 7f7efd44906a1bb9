package pmd

/*
#cgo pkg-config: libdpdk
#cgo CFLAGS: -O3 -DALLOW_EXPERIMENTAL_API -Wno-deprecated-declarations
#cgo LDFLAGS: -lrte_net_ring
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/rs/zerolog/log"
	"golang.org/x/sys/unix"
)

// rteError builds an *Error from an errno (positive or negative).
func rteError(op string, errno C.int) error {
	if errno < 0 {
		errno = -errno
	}
	return &Error{Op: op, Errno: int(errno), Msg: C.GoString(C.rte_strerror(errno))}
}

// EAL is the initialised DPDK environment. There is one per process: DPDK
// cannot be initialised twice.
//
// The thread that calls rte_eal_init is pinned by EAL to the main lcore's
// CPU, and threads it creates inherit that mask. So Init runs rte_eal_init
// on a dedicated locked thread that stays locked for the life of the EAL
// and serves main-lcore work (Do). Every other Go thread gets the control
// CPU set (ControlCPUs): all the process's CPUs except the worker lcores',
// so the Go runtime's GC workers and the control plane are neither
// squeezed onto the main lcore's core nor running on a busy-polling
// worker's.
type EAL struct {
	args      []string
	mainLcore uint
	mainTID   int    // the main lcore's OS thread
	goComm    string // the name Go's threads carry (the program's)
	origMask  unix.CPUSet
	work      chan func()
	done      chan struct{}
	cleanOnce sync.Once
}

var (
	ealMu  sync.Mutex
	ealCur *EAL
	ealErr error // a failed init is final: DPDK cannot be initialised twice
)

// MainThreadName is the name Init gives the main lcore's OS thread (unless
// that thread is the process's first, whose name is the program's).
const MainThreadName = "opmd-main"

// Init initialises DPDK's EAL with args (without argv[0]). It can succeed
// once per process; later calls return ErrEALInit. From the first call on,
// DPDK's own log lines are zerolog records (see log_unsafe.go).
func Init(args []string) (*EAL, error) {
	ealMu.Lock()
	defer ealMu.Unlock()
	if ealCur != nil {
		return nil, fmt.Errorf("EAL init: %w: already initialised", ErrEALInit)
	}
	if ealErr != nil {
		return nil, fmt.Errorf("EAL init: %w: an earlier init failed: %v", ErrEALInit, ealErr)
	}
	e := &EAL{args: append([]string(nil), args...), work: make(chan func()), done: make(chan struct{})}
	if err := unix.SchedGetaffinity(0, &e.origMask); err != nil {
		return nil, fmt.Errorf("EAL init: read CPU affinity: %w", err)
	}
	if comm, err := os.ReadFile("/proc/self/comm"); err == nil {
		e.goComm = strings.TrimSpace(string(comm))
	}
	// Before rte_eal_init, so its own messages (and why it fails) are
	// zerolog records too.
	if err := routeDPDKLog(); err != nil {
		log.Warn().Err(err).Msg("DPDK's log stays on stderr as plain text")
	}
	ready := make(chan error)
	go e.mainThread(ready)
	if err := <-ready; err != nil {
		ealErr = err
		return nil, err
	}
	ealCur = e
	if err := e.confineRuntime(); err != nil {
		log.Warn().Err(err).Msg("cannot move the Go runtime's threads off the worker lcores' CPUs")
	} else {
		log.Debug().Str("cpus", cpuList(e.ControlCPUs())).Msg("Go runtime threads confined to the control CPUs")
	}
	return e, nil
}

// mainThread is the main lcore: it calls rte_eal_init and then runs Do's
// work until Cleanup. It never unlocks its thread, so the thread EAL pinned
// never runs other goroutines and exits with the EAL.
func (e *EAL) mainThread(ready chan<- error) {
	runtime.LockOSThread()

	// argv lives in C memory and is never freed: EAL may keep pointers
	// into it.
	argv := (**C.char)(C.calloc(C.size_t(len(e.args)+2), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	av := unsafe.Slice(argv, len(e.args)+2)
	av[0] = C.CString(programName())
	for i, a := range e.args {
		av[i+1] = C.CString(a)
	}
	rc := C.opmd_eal_init(C.int(len(e.args)+1), argv)
	if rc < 0 {
		ready <- rteError("EAL init", C.opmd_errno())
		return // exits the locked thread
	}
	e.mainTID = unix.Gettid()
	if e.mainTID != os.Getpid() {
		// Name the thread for ps/top; never the thread-group leader,
		// whose name is the process's.
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(unsafe.StringData(MainThreadName+"\x00"))), 0, 0, 0)
	}
	e.mainLcore = uint(C.rte_get_main_lcore())
	ready <- nil
	for f := range e.work {
		f()
	}
	C.rte_eal_cleanup()
	close(e.done)
}

func programName() string {
	if len(os.Args) > 0 {
		return os.Args[0]
	}
	return "offloadpmd"
}

// Do runs f on the main lcore's thread and waits for it.
func (e *EAL) Do(f func()) {
	finished := make(chan struct{})
	e.work <- func() { f(); close(finished) }
	<-finished
}

// Cleanup releases EAL resources (rte_eal_cleanup) and ends the main lcore
// thread. Ports should be closed first. DPDK cannot be initialised again in
// this process.
func (e *EAL) Cleanup() {
	e.cleanOnce.Do(func() {
		close(e.work)
		<-e.done
	})
}

// Args are the arguments Init was given.
func (e *EAL) Args() []string { return e.args }

// OriginalCPUs is the CPU mask the process had before EAL init.
func (e *EAL) OriginalCPUs() unix.CPUSet { return e.origMask }

// MainThreadID is the OS thread id of the main lcore's thread.
func (e *EAL) MainThreadID() int { return e.mainTID }

// MainLcore is the main lcore's id.
func (e *EAL) MainLcore() uint { return e.mainLcore }

// RuntimeDir is EAL's runtime directory (under /var/run/dpdk).
func (e *EAL) RuntimeDir() string { return C.GoString(C.rte_eal_get_runtime_dir()) }

// Lcore describes one enabled lcore.
type Lcore struct {
	ID     uint
	CPU    int // the first CPU of its set, as testpmd prints it
	Socket int
	Main   bool
}

// Lcores lists the enabled lcores, main first.
func (e *EAL) Lcores() []Lcore {
	var ls []Lcore
	add := func(id C.uint) {
		ls = append(ls, Lcore{
			ID:     uint(id),
			CPU:    int(C.rte_lcore_to_cpu_id(C.int(id))),
			Socket: int(C.rte_lcore_to_socket_id(id)),
			Main:   uint(id) == e.mainLcore,
		})
	}
	add(C.uint(e.mainLcore))
	for id := C.rte_get_next_lcore(C.uint(^uint32(0)), 1, 0); id < C.RTE_MAX_LCORE; id = C.rte_get_next_lcore(id, 1, 0) {
		add(id)
	}
	return ls
}

// Workers lists the worker lcore ids.
func (e *EAL) Workers() []uint {
	var ids []uint
	for _, l := range e.Lcores() {
		if !l.Main {
			ids = append(ids, l.ID)
		}
	}
	return ids
}

// SocketCount is the number of NUMA sockets DPDK detected.
func (e *EAL) SocketCount() int { return int(C.rte_socket_count()) }

// Version is the DPDK version string, e.g. "DPDK 22.11.11".
func Version() string { return C.GoString(C.rte_version()) }

// TSCHz is the TSC frequency EAL measured.
func TSCHz() uint64 { return uint64(C.opmd_tsc_hz()) }
