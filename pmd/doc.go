// Package pmd is offloadpmd's device layer: thin cgo bindings to DPDK 22.11
// (EAL, lcores, mempools, mbufs, ethdev ports, rings, crypto devices) and
// the Go-native ports that sit behind the same interfaces.
//
// It is the only package that imports "C". Files that use unsafe are named
// *_unsafe.go; opmd.h and opmd.c hold the C side: DPDK's static-inline fast
// path and the one call per burst a forwarding stream makes; opmd_crypto.h
// and opmd_crypto.c the same for crypto devices (see CryptoBurst).
//
// Rules the package keeps:
//   - Burst arrays live in C memory (see Stream), so passing them to DPDK
//     costs no cgocheck scan.
//   - Mbuf fields are read and written from Go through a view of the C
//     layout (see Mbuf); no cgo call per packet.
//   - Errors from DPDK carry the rte_errno (see Error) and match the
//     sentinels below with errors.Is.
//   - Per-lcore counters live in C memory with one writer; readers use
//     64-bit atomic loads.
package pmd
