package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"runtime/cgo"
	"runtime/debug"
	"sync"
)

// LcoreFunc is the body of a worker lcore. It runs on the EAL worker thread
// itself: a goroutine locked to that thread for the whole call, pinned by
// EAL to the lcore's CPU set and registered as that lcore, so rte_lcore_id()
// and per-lcore mempool caches work.
type LcoreFunc func(lcore uint) error

// launch is what the trampoline receives through a cgo.Handle.
type launch struct {
	lcore uint
	fn    LcoreFunc
	err   error
}

var (
	launchMu sync.Mutex
	launched = map[uint]*launch{}
)

// Launch starts fn on worker lcore id (rte_eal_remote_launch). The lcore
// must be idle; Wait collects fn's result.
func (e *EAL) Launch(lcore uint, fn LcoreFunc) error {
	if lcore == e.mainLcore {
		return fmt.Errorf("launch on lcore %d: %w: it is the main lcore", lcore, ErrInvalid)
	}
	l := &launch{lcore: lcore, fn: fn}
	h := cgo.NewHandle(l)
	launchMu.Lock()
	defer launchMu.Unlock()
	if _, busy := launched[lcore]; busy {
		h.Delete()
		return fmt.Errorf("launch on lcore %d: %w: already running", lcore, ErrBusy)
	}
	if rc := C.opmd_lcore_launch(C.uint(lcore), C.uintptr_t(h)); rc != 0 {
		h.Delete()
		return rteError(fmt.Sprintf("launch on lcore %d", lcore), rc)
	}
	launched[lcore] = l
	return nil
}

// Wait blocks until the function launched on lcore returns and gives its
// error; nil if nothing was launched there.
func (e *EAL) Wait(lcore uint) error {
	launchMu.Lock()
	l := launched[lcore]
	launchMu.Unlock()
	if l == nil {
		return nil
	}
	C.rte_eal_wait_lcore(C.uint(lcore))
	launchMu.Lock()
	delete(launched, lcore)
	launchMu.Unlock()
	return l.err
}

// opmdLcoreMain is the Go entry of a worker lcore, called by the C
// trampoline on the EAL worker thread. A panic in the body is recovered and
// reported through Wait rather than taking the process down mid-burst.
//
//export opmdLcoreMain
func opmdLcoreMain(h C.uintptr_t) C.int {
	hd := cgo.Handle(h)
	l := hd.Value().(*launch)
	hd.Delete()
	// Lock the goroutine to the thread as the user would: a locked M
	// never clones the runtime's new threads off itself (newm asks the
	// template thread instead), so no Go thread inherits this thread's
	// one-CPU affinity and lands on the worker's CPU.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	func() {
		defer func() {
			if r := recover(); r != nil {
				l.err = fmt.Errorf("lcore %d: panic: %v\n%s", l.lcore, r, debug.Stack())
			}
		}()
		l.err = l.fn(l.lcore)
	}()
	if l.err != nil {
		return -1
	}
	return 0
}

// LcoreID is rte_lcore_id() of the calling thread: the lcore inside an
// LcoreFunc, LcoreAny elsewhere. Only meaningful on a locked thread.
func LcoreID() uint { return uint(C.opmd_lcore_id()) }

// LcoreAny is LCORE_ID_ANY, the lcore id of a thread EAL does not know.
const LcoreAny = uint(C.LCORE_ID_ANY)
