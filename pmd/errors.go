package pmd

import (
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors. A DPDK failure is an *Error; it matches these with
// errors.Is according to its errno.
var (
	// ErrNotSupported: the device or driver does not do this (ENOTSUP).
	ErrNotSupported = errors.New("not supported")
	// ErrNoDevice: no such port or device (ENODEV).
	ErrNoDevice = errors.New("no such device")
	// ErrInvalid: an argument DPDK rejected (EINVAL).
	ErrInvalid = errors.New("invalid argument")
	// ErrNoMemory: DPDK memory or mbufs exhausted (ENOMEM, ENOBUFS).
	ErrNoMemory = errors.New("out of memory")
	// ErrExists: the name is already taken (EEXIST).
	ErrExists = errors.New("already exists")
	// ErrBusy: the resource is in use or in the wrong state (EBUSY).
	ErrBusy = errors.New("busy")
	// ErrEALInit: the EAL has not been initialised, or already was.
	ErrEALInit = errors.New("EAL state")
)

// Error is a failed DPDK call: the operation, the rte_errno it left (or the
// negative return it gave, made positive) and DPDK's text for it.
type Error struct {
	Op    string // what was being done, e.g. "port 0: configure"
	Errno int    // positive errno or RTE_* error code
	Msg   string // rte_strerror(Errno)
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (rte_errno %d)", e.Op, e.Msg, e.Errno)
}

// Is matches the package sentinels by errno.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotSupported:
		return e.Errno == int(syscall.ENOTSUP) || e.Errno == int(syscall.EOPNOTSUPP)
	case ErrNoDevice:
		return e.Errno == int(syscall.ENODEV)
	case ErrInvalid:
		return e.Errno == int(syscall.EINVAL)
	case ErrNoMemory:
		return e.Errno == int(syscall.ENOMEM) || e.Errno == int(syscall.ENOBUFS)
	case ErrExists:
		return e.Errno == int(syscall.EEXIST)
	case ErrBusy:
		return e.Errno == int(syscall.EBUSY)
	}
	return false
}

// Unwrap exposes the errno as a syscall.Errno where it is one.
func (e *Error) Unwrap() error {
	if e.Errno > 0 && e.Errno < 4096 {
		return syscall.Errno(e.Errno)
	}
	return nil
}
