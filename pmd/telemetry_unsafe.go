package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"unsafe"

	"github.com/rs/zerolog/log"
)

var (
	telMu       sync.RWMutex
	telHandlers = map[string]TelHandler{}
)

// RegisterTelemetry makes fn answer the telemetry command cmd ("/" and
// then letters, digits, '_' and '/', at most 55 bytes), listed with help
// (at most 127 bytes) by the library's /help. Registering cmd again
// replaces its handler: DPDK 22.11 cannot unregister a command.
//
// A reply that breaks the library's rules or limits (see TelValue) is
// answered {"error": "<what breaks which rule>"} instead of going out
// truncated; so is a handler's panic.
func (e *EAL) RegisterTelemetry(cmd, help string, fn TelHandler) error {
	if err := checkTelCommand(cmd, help); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("telemetry command %s: %w: no handler", cmd, ErrInvalid)
	}
	if slices.Contains(e.args, "--no-telemetry") {
		log.Warn().Str("command", cmd).Msg("telemetry command registered, but the EAL runs with --no-telemetry: no client can reach it")
	}
	telMu.Lock()
	defer telMu.Unlock()
	if _, ok := telHandlers[cmd]; ok {
		telHandlers[cmd] = fn
		return nil
	}
	ccmd, chelp := C.CString(cmd), C.CString(help)
	defer C.free(unsafe.Pointer(ccmd))
	defer C.free(unsafe.Pointer(chelp))
	if rc := C.opmd_tel_register(ccmd, chelp); rc < 0 {
		return rteError("telemetry command "+cmd+": register", rc)
	}
	telHandlers[cmd] = fn
	return nil
}

// TelemetrySocket is the path of the telemetry library's socket
// (dpdk-telemetry.py -f <file prefix> connects to it).
func (e *EAL) TelemetrySocket() string {
	return filepath.Join(e.RuntimeDir(), "dpdk_telemetry.v2")
}

// opmdTelemetry answers every registered command: called by the C
// trampoline on a telemetry thread (one of DPDK's, not Go's), it runs the
// command's handler and fills d with the reply or the error.
//
//export opmdTelemetry
func opmdTelemetry(cmd, params *C.char, d *C.struct_rte_tel_data) C.int {
	name := C.GoString(cmd)
	telMu.RLock()
	fn := telHandlers[name]
	telMu.RUnlock()
	if fn == nil {
		return -1 // the client gets null, as for an unknown command
	}
	var p string
	if params != nil {
		p = C.GoString(params)
	}
	v, err := runTelHandler(fn, name, p)
	if err == nil {
		if err = checkTelReply(name, v); err != nil {
			err = fmt.Errorf("telemetry %s: %w", name, err)
			log.Warn().Err(err).Msg("telemetry reply refused")
		}
	}
	if err == nil {
		if err = fillTel(d, v); err != nil {
			log.Warn().Err(err).Str("command", name).Msg("telemetry reply")
		}
	}
	if err != nil {
		if fillTel(d, telErrorReply(err)) != nil {
			return -1
		}
	}
	return 0
}

// runTelHandler runs a handler, turning a panic into an error: the
// telemetry thread must not take the process down.
func runTelHandler(fn TelHandler, cmd, params string) (v TelValue, err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error().Str("command", cmd).Str("stack", string(debug.Stack())).Msgf("telemetry handler panic: %v", r)
			v, err = nil, fmt.Errorf("internal error in %s: %v", cmd, r)
		}
	}()
	return fn(params)
}

// telBuilder copies a checked TelValue tree into struct rte_tel_data.
type telBuilder struct {
	name, val *C.char // scratch C strings of telMaxString+1 bytes
	// containers allocated so far: passed to DPDK (which frees them after
	// writing the reply) if the whole tree goes in, freed here if not.
	containers []*C.struct_rte_tel_data
}

// fillTel fills d with v, which checkTelReply accepted. On failure d is
// left for the caller to start again and nothing is leaked.
func fillTel(d *C.struct_rte_tel_data, v TelValue) error {
	if s, ok := v.(TelString); ok {
		cs := C.CString(string(s))
		defer C.free(unsafe.Pointer(cs))
		if rc := C.rte_tel_data_string(d, cs); rc != 0 {
			return rteError("telemetry string reply", rc)
		}
		return nil
	}
	b := telBuilder{
		name: (*C.char)(C.malloc(telMaxString + 1)),
		val:  (*C.char)(C.malloc(telMaxString + 1)),
	}
	defer C.free(unsafe.Pointer(b.name))
	defer C.free(unsafe.Pointer(b.val))
	if b.name == nil || b.val == nil {
		return fmt.Errorf("telemetry reply: %w", ErrNoMemory)
	}
	if err := b.fill(d, v); err != nil {
		for _, c := range b.containers {
			C.rte_tel_data_free(c)
		}
		return err
	}
	return nil
}

// cstr copies s (at most telMaxString bytes, no NUL) into the scratch
// buffer dst.
func cstr(dst *C.char, s string) *C.char {
	buf := unsafe.Slice((*byte)(unsafe.Pointer(dst)), telMaxString+1)
	buf[copy(buf[:telMaxString], s)] = 0
	return dst
}

func (b *telBuilder) fill(d *C.struct_rte_tel_data, v TelValue) error {
	switch x := v.(type) {
	case *TelDict:
		C.rte_tel_data_start_dict(d)
		for _, e := range x.entries {
			var rc C.int
			switch y := e.v.(type) {
			case TelString:
				rc = C.rte_tel_data_add_dict_string(d, cstr(b.name, e.name), cstr(b.val, string(y)))
			case TelInt:
				rc = C.rte_tel_data_add_dict_int(d, cstr(b.name, e.name), C.int(y))
			case TelBool:
				rc = C.rte_tel_data_add_dict_int(d, cstr(b.name, e.name), C.int(telBoolInt(y)))
			case TelUint:
				rc = C.rte_tel_data_add_dict_u64(d, cstr(b.name, e.name), C.uint64_t(y))
			default:
				c, err := b.container(e.v)
				if err != nil {
					return err
				}
				// keep=0: the library frees c once it has written it.
				rc = C.rte_tel_data_add_dict_container(d, cstr(b.name, e.name), c, 0)
			}
			if rc != 0 {
				return rteError("telemetry reply: add "+e.name, rc)
			}
		}
	case TelArray:
		C.rte_tel_data_start_array(d, telArrayType(x))
		for i, e := range x {
			var rc C.int
			switch y := e.(type) {
			case TelString:
				rc = C.rte_tel_data_add_array_string(d, cstr(b.val, string(y)))
			case TelInt:
				rc = C.rte_tel_data_add_array_int(d, C.int(y))
			case TelBool:
				rc = C.rte_tel_data_add_array_int(d, C.int(telBoolInt(y)))
			case TelUint:
				rc = C.rte_tel_data_add_array_u64(d, C.uint64_t(y))
			default:
				c, err := b.container(e)
				if err != nil {
					return err
				}
				rc = C.rte_tel_data_add_array_container(d, c, 0)
			}
			if rc != 0 {
				return rteError(fmt.Sprintf("telemetry reply: add array entry %d", i), rc)
			}
		}
	default:
		return fmt.Errorf("telemetry reply: %w: a %s where a dict or array was expected", ErrInvalid, telKind(v))
	}
	return nil
}

// container allocates a nested dict or array and fills it.
func (b *telBuilder) container(v TelValue) (*C.struct_rte_tel_data, error) {
	c := C.rte_tel_data_alloc()
	if c == nil {
		return nil, fmt.Errorf("telemetry reply: container: %w", ErrNoMemory)
	}
	b.containers = append(b.containers, c)
	return c, b.fill(c, v)
}

// telArrayType is the element type an array starts with; an empty array
// takes any.
func telArrayType(a TelArray) C.enum_rte_tel_value_type {
	if len(a) == 0 {
		return C.RTE_TEL_U64_VAL
	}
	switch a[0].(type) {
	case TelString:
		return C.RTE_TEL_STRING_VAL
	case TelInt, TelBool:
		return C.RTE_TEL_INT_VAL
	case TelUint:
		return C.RTE_TEL_U64_VAL
	}
	return C.RTE_TEL_CONTAINER
}

func telBoolInt(b TelBool) int {
	if b {
		return 1
	}
	return 0
}
