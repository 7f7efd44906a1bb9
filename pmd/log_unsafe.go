package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

// DPDK's own log (rte_log: the EAL, libraries, PMDs) goes through zerolog
// like the rest of the program: Init makes DPDK's log stream one that
// hands each line to logLine, which logs it at the zerolog level matching
// DPDK's (see logLevel) with the field dpdk=<logtype name> ("lib.eal",
// "pmd.net.null", ...) and the text, whitespace trimmed, as the message.
// The EAL's --log-level arguments still decide what DPDK writes; zerolog's
// global level then decides what is printed. DPDK's stream replaces the
// EAL's default one, so nothing goes to syslog.
//
// A line costs no allocation once its logtype's name is known (the names
// are read from rte_log_dump when an unknown logtype first logs). Nothing
// in the data path logs through DPDK.

var (
	// logTypes maps a DPDK logtype id to its name.
	logTypes   atomic.Pointer[[]string]
	logTypesMu sync.Mutex // one refresh at a time

	// logSink, when set, receives DPDK's lines instead of log.Logger
	// (tests capture them with it).
	logSink atomic.Pointer[zerolog.Logger]
)

// routeDPDKLog makes DPDK's log stream the one that goes to zerolog. It
// works before rte_eal_init, so the EAL's early failures are logged too.
func routeDPDKLog() error {
	if rc := C.opmd_log_open(); rc < 0 {
		return rteError("route DPDK's log to zerolog", rc)
	}
	return nil
}

// opmdLogLine receives one line of DPDK's log (without its newline) from
// the C stream, on whichever thread logged it: an lcore, the EAL's
// interrupt or telemetry threads, or one DPDK created before Go knew it.
// line is C memory that stays valid for the call only.
//
//export opmdLogLine
func opmdLogLine(level, logtype C.int, line *C.char, n C.int) {
	logLine(int(level), int(logtype), unsafe.String((*byte)(unsafe.Pointer(line)), int(n)))
}

// logLine logs one DPDK line. text may be C memory: zerolog copies it
// before returning.
func logLine(level, logtype int, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	l := logSink.Load()
	if l == nil {
		l = &log.Logger
	}
	ev := l.WithLevel(logLevel(level))
	if ev == nil {
		return // below zerolog's level: skip the name lookup too
	}
	ev = ev.Str("dpdk", logTypeName(logtype))
	if level >= 1 && level <= 3 {
		// Three of DPDK's levels share zerolog's error; say which.
		ev = ev.Str("dpdk_level", dpdkLevelNames[level])
	}
	ev.Msg(text)
}

var dpdkLevelNames = [...]string{1: "emerg", 2: "alert", 3: "crit"}

// logLevel maps a DPDK log level (RTE_LOG_EMERG 1 .. RTE_LOG_DEBUG 8) to
// zerolog's: EMERG, ALERT, CRIT and ERR are errors (never fatal: DPDK
// decides itself whether to abort), WARNING a warning, NOTICE and INFO
// info, DEBUG debug. A level DPDK did not set (a write to its stream
// outside rte_log) is info.
func logLevel(level int) zerolog.Level {
	switch {
	case level >= int(C.RTE_LOG_EMERG) && level <= int(C.RTE_LOG_ERR):
		return zerolog.ErrorLevel
	case level == int(C.RTE_LOG_WARNING):
		return zerolog.WarnLevel
	case level >= int(C.RTE_LOG_DEBUG):
		return zerolog.DebugLevel
	default:
		return zerolog.InfoLevel
	}
}

// logTypeName names DPDK logtype id; it reads the names again (without
// holding up other lines) the first time an id it does not know logs.
func logTypeName(id int) string {
	if t := logTypes.Load(); t != nil && id >= 0 && id < len(*t) && (*t)[id] != "" {
		return (*t)[id]
	}
	return refreshLogTypes(id)
}

// refreshLogTypes reads the logtypes' names from rte_log_dump ("id 0:
// lib.eal, level is info" lines) and returns id's. An id without a name
// (DPDK registered none) is kept as "logtype<id>" so it costs one refresh.
func refreshLogTypes(id int) string {
	logTypesMu.Lock()
	defer logTypesMu.Unlock()
	var names []string
	if t := logTypes.Load(); t != nil {
		if id >= 0 && id < len(*t) && (*t)[id] != "" {
			return (*t)[id] // another thread just read it
		}
		names = append(names, *t...)
	}
	var n C.size_t
	if buf := C.opmd_log_dump(&n); buf != nil {
		dump := C.GoStringN(buf, C.int(n))
		C.free(unsafe.Pointer(buf))
		for _, line := range strings.Split(dump, "\n") {
			i, name, ok := parseLogDumpLine(line)
			if !ok {
				continue
			}
			for len(names) <= i {
				names = append(names, "")
			}
			names[i] = name
		}
	}
	if id < 0 {
		return fmt.Sprintf("logtype%d", id)
	}
	for len(names) <= id {
		names = append(names, "")
	}
	if names[id] == "" {
		names[id] = "logtype" + strconv.Itoa(id)
	}
	logTypes.Store(&names)
	return names[id]
}

// parseLogDumpLine reads one logtype line of rte_log_dump (22.11):
// "id 5: lib.pmd, level is info".
func parseLogDumpLine(line string) (id int, name string, ok bool) {
	rest, found := strings.CutPrefix(line, "id ")
	if !found {
		return 0, "", false
	}
	num, rest, found := strings.Cut(rest, ": ")
	if !found {
		return 0, "", false
	}
	name, _, found = strings.Cut(rest, ", level is ")
	id, err := strconv.Atoi(num)
	if !found || err != nil || id < 0 || id > 1<<16 || name == "" {
		return 0, "", false
	}
	return id, name, true
}

// dpdkLog logs msg through rte_log with logtype typ at level, as DPDK's
// own code does (tests use it; msg carries its own newline, if any).
func dpdkLog(level, typ uint32, msg string) int {
	cmsg := C.CString(msg)
	defer C.free(unsafe.Pointer(cmsg))
	return int(C.opmd_log_test(C.uint32_t(level), C.uint32_t(typ), cmsg))
}

// dpdkLogRegister registers (or finds) a DPDK logtype and sets its level.
func dpdkLogRegister(name string, level uint32) (uint32, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	id := C.rte_log_register(cname)
	if id < 0 {
		return 0, rteError("register logtype "+name, id)
	}
	if rc := C.rte_log_set_level(C.uint32_t(id), C.uint32_t(level)); rc < 0 {
		return 0, rteError("set logtype "+name+" level", rc)
	}
	return uint32(id), nil
}
