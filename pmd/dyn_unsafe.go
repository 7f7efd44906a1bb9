package pmd

/*
#include "opmd.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Dynfield is a registered mbuf dynamic field (rte_mbuf_dynfield_register):
// an offset into struct rte_mbuf that every mbuf of the process shares.
type Dynfield struct {
	Name string
	Off  uintptr
	Size uintptr
}

// RegisterDynfield registers (or looks up, if already registered with the
// same size and alignment) a dynamic field.
func RegisterDynfield(name string, size, align uintptr) (Dynfield, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	off := C.opmd_dynfield_register(cname, C.size_t(size), C.size_t(align))
	if off < 0 {
		return Dynfield{}, rteError(fmt.Sprintf("register dynfield %q (%d bytes)", name, size), off)
	}
	return Dynfield{Name: name, Off: uintptr(off), Size: size}, nil
}

// LookupDynfield finds a dynamic field someone else registered.
func LookupDynfield(name string) (Dynfield, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	off := C.opmd_dynfield_lookup(cname)
	if off < 0 {
		return Dynfield{}, rteError(fmt.Sprintf("lookup dynfield %q", name), off)
	}
	return Dynfield{Name: name, Off: uintptr(off)}, nil
}

// Bytes returns the field in m as a byte slice aliasing the mbuf.
func (f Dynfield) Bytes(m *Mbuf) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(m), f.Off)), f.Size)
}

// U32 reads a 4-byte field (native byte order, as C code sees it).
func (f Dynfield) U32(m *Mbuf) uint32 {
	return *(*uint32)(unsafe.Add(unsafe.Pointer(m), f.Off))
}

// SetU32 writes a 4-byte field.
func (f Dynfield) SetU32(m *Mbuf, v uint32) {
	*(*uint32)(unsafe.Add(unsafe.Pointer(m), f.Off)) = v
}

// U64 reads an 8-byte field; it must have been registered 8-byte aligned.
func (f Dynfield) U64(m *Mbuf) uint64 {
	return *(*uint64)(unsafe.Add(unsafe.Pointer(m), f.Off))
}

// SetU64 writes an 8-byte field.
func (f Dynfield) SetU64(m *Mbuf, v uint64) {
	*(*uint64)(unsafe.Add(unsafe.Pointer(m), f.Off)) = v
}

// Dynflag is a registered mbuf dynamic flag: one bit of ol_flags.
type Dynflag struct {
	Name string
	Bit  uint
}

// RegisterDynflag registers (or looks up) a dynamic flag.
func RegisterDynflag(name string) (Dynflag, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	bit := C.opmd_dynflag_register(cname)
	if bit < 0 {
		return Dynflag{}, rteError(fmt.Sprintf("register dynflag %q", name), bit)
	}
	return Dynflag{Name: name, Bit: uint(bit)}, nil
}

// LookupDynflag finds a dynamic flag someone else registered.
func LookupDynflag(name string) (Dynflag, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	bit := C.opmd_dynflag_lookup(cname)
	if bit < 0 {
		return Dynflag{}, rteError(fmt.Sprintf("lookup dynflag %q", name), bit)
	}
	return Dynflag{Name: name, Bit: uint(bit)}, nil
}

// Mask is the flag's ol_flags bit; 0 for the zero Dynflag (not
// registered), which Test never finds and Set and Clear leave alone.
func (f Dynflag) Mask() uint64 {
	if f.Name == "" {
		return 0
	}
	return 1 << f.Bit
}

// Test reports whether the flag is set in m.
func (f Dynflag) Test(m *Mbuf) bool { return m.olFlags&f.Mask() != 0 }

// Set sets the flag in m.
func (f Dynflag) Set(m *Mbuf) { m.olFlags |= f.Mask() }

// Clear clears the flag in m.
func (f Dynflag) Clear(m *Mbuf) { m.olFlags &^= f.Mask() }
