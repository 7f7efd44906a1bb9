//go:build amd64 && !purego

#include "go_asm.h"
#include "textflag.h"

// tailMask<>+r, for r in [0, 32], is a 32-byte mask that keeps the last r
// bytes of a vector (and, inverted, its first 32-r bytes).
DATA tailMask<>+0x00(SB)/8, $0
DATA tailMask<>+0x08(SB)/8, $0
DATA tailMask<>+0x10(SB)/8, $0
DATA tailMask<>+0x18(SB)/8, $0
DATA tailMask<>+0x20(SB)/8, $0xffffffffffffffff
DATA tailMask<>+0x28(SB)/8, $0xffffffffffffffff
DATA tailMask<>+0x30(SB)/8, $0xffffffffffffffff
DATA tailMask<>+0x38(SB)/8, $0xffffffffffffffff
GLOBL tailMask<>(SB), RODATA|NOPTR, $64

// swapCtl<> is two VPSHUFB controls: +0 keeps the bytes in place, +32 swaps
// the two bytes of every 16-bit word.
DATA swapCtl<>+0x00(SB)/8, $0x0706050403020100
DATA swapCtl<>+0x08(SB)/8, $0x0f0e0d0c0b0a0908
DATA swapCtl<>+0x10(SB)/8, $0x0706050403020100
DATA swapCtl<>+0x18(SB)/8, $0x0f0e0d0c0b0a0908
DATA swapCtl<>+0x20(SB)/8, $0x0607040502030001
DATA swapCtl<>+0x28(SB)/8, $0x0e0f0c0d0a0b0809
DATA swapCtl<>+0x30(SB)/8, $0x0607040502030001
DATA swapCtl<>+0x38(SB)/8, $0x0e0f0c0d0a0b0809
GLOBL swapCtl<>(SB), RODATA|NOPTR, $64

// FOLD folds the sum in AX to 16 bits with end-around carries, as fold
// does, leaving it zero-extended in AX. It clobbers DX.
#define FOLD \
	MOVQ    AX, DX;  \
	SHRQ    $32, DX; \
	ADDL    DX, AX;  \
	ADCL    $0, AX;  \
	MOVL    AX, DX;  \
	SHRL    $16, DX; \
	ADDW    DX, AX;  \
	ADCW    $0, AX;  \
	MOVWQZX AX, AX

// ADD_DX adds the 16-bit DX to the 16-bit AX as Add does, leaving the sum
// in the low 16 bits of AX. It clobbers DX.
#define ADD_DX \
	ADDL DX, AX;     \
	MOVL AX, DX;     \
	SHRL $16, DX;    \
	ADDL DX, AX

// func sum(b []byte, initial uint16) uint16
//
// Sum: sumScalar below vectorMin bytes; sumVector from there on if
// useVector is set and up to vectorMax bytes; sumGeneric otherwise.
TEXT ·sum(SB), NOSPLIT, $0-34
	MOVQ b_len+8(FP), CX
	CMPQ CX, $const_vectorMin
	JB   scalar
	CMPB ·useVector(SB), $0
	JEQ  generic
	MOVQ $const_vectorMax, DX
	CMPQ CX, DX
	JA   generic
	JMP  ·sumVector(SB)

scalar:
	JMP ·sumScalar(SB)

generic:
	JMP ·sumGeneric(SB)

// func sumScalar(b []byte, initial uint16) uint16
//
// Sum, for len(b) <= 2^33, in general-purpose registers: it adds the
// 32-bit little-endian words of b, then a 16-bit word and a byte, at their
// offsets, into two 64-bit registers that cannot overflow (each takes fewer
// than len(b)/8 + 2 values below 2^32). The sum S is congruent to b's
// 16-bit little-endian word sum modulo 0xffff (2^16 is 1) and 0 only if all
// bytes of b are 0, so it folds as sumLEGeneric's would (see sumLEGeneric);
// the folded sum is swapped and added to initial.
TEXT ·sumScalar(SB), NOSPLIT, $0-34
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX
	XORL AX, AX
	XORL BX, BX
	SUBQ $8, CX
	JB   tail4

loop8:
	MOVL (SI), DX
	MOVL 4(SI), DI
	ADDQ DX, AX
	ADDQ DI, BX
	ADDQ $8, SI
	SUBQ $8, CX
	JAE  loop8

tail4:
	// CX+8 < 8 bytes are left, its low 3 bits CX's.
	TESTQ $4, CX
	JZ    tail2
	MOVL  (SI), DX
	ADDQ  DX, AX
	ADDQ  $4, SI

tail2:
	TESTQ   $2, CX
	JZ      tail1
	MOVWQZX (SI), DX
	ADDQ    DX, BX
	ADDQ    $2, SI

tail1:
	TESTQ   $1, CX
	JZ      fold
	MOVBQZX (SI), DX
	ADDQ    DX, AX

fold:
	ADDQ    BX, AX
	FOLD
	ROLW    $8, AX
	MOVWQZX initial+24(FP), DX
	ADD_DX
	MOVW    AX, ret+32(FP)
	RET

// func sumVector(b []byte, initial uint16) uint16
//
// Sum, for 32 <= len(b) <= 2^33, with AVX2.
//
// Modulo 0xffff a byte weighs 1 or 2^8 after the parity of its offset in b
// alone (2^16 is 1), so b may be cut at any even offsets into 64-bit words,
// and those into 32-bit halves, and the halves added as plain integers:
// their sum S is congruent to b's 16-bit little-endian word sum, and 0
// only if all bytes of b are 0, so it folds as sumLEGeneric's sum would
// (see sumLEGeneric).
//
// b is read in 32-byte vectors of four 64-bit words w = lo + hi<<32. Each
// 64-bit lane of a pair of accumulators (F, H) gets F += w, wrapping mod
// 2^64, and H += w>>32, exactly. At the end, per lane, L = F - H<<32 mod
// 2^64 is the exact sum of the lo halves, and S is the sum of the lanes'
// L + H, plus an odd last byte: three vector operations per 32 bytes and
// no carry lost, as long as all these sums stay below 2^64. With N words
// read in all, S is below N*2^33 + 2^8, and N is at most len(b)/8 + 8, so
// 2^30 + 8 for len(b) <= 2^33.
//
// The main loop takes 128 bytes an iteration into two accumulator pairs,
// the second loop the remaining 32-byte blocks. The even part r of the
// last len%32 bytes is summed by loading the 32 bytes that end with it (a
// loop ran at least once, so they lie in b, and they start at an even
// offset) and masking off all but its r bytes; an odd last byte sits at an
// even offset and is added as is.
//
// From 1024 bytes on, where it pays, the loops start at the first 32-byte
// boundary in b, h bytes in, so that no load splits a cache line, and
// offsets count from there. The head, the first h bytes, is loaded as the
// 32 bytes at b with all but those h masked off and, if h is odd, with its
// bytes swapped in pairs, which gives them the parity they have counted
// from the boundary. If h is odd, every byte's weight is then the other
// one, 2^8 times its weight in b (modulo 0xffff; 2^8 * 2^8 is 1): the
// folded S is b's folded sum with its bytes swapped, which makes Sum's own
// swap of the folded sum unnecessary.
TEXT ·sumVector(SB), NOSPLIT, $0-34
	MOVQ b_base+0(FP), SI
	MOVQ b_len+8(FP), CX

	VPXOR Y0, Y0, Y0 // F0
	VPXOR Y1, Y1, Y1 // H0
	VPXOR Y2, Y2, Y2 // F1
	VPXOR Y3, Y3, Y3 // H1
	XORL  BX, BX     // head length h

	CMPQ CX, $1024
	JB   start

	// Start at the first 32-byte boundary: SI += h, CX -= h.
	MOVQ SI, DI
	ADDQ $31, SI
	ANDQ $-32, SI
	MOVQ SI, BX
	SUBQ DI, BX
	SUBQ BX, CX

start:
	// CX counts the bytes left minus 128 in this loop.
	SUBQ $128, CX
	JB   blocks32

loop128:
	VMOVDQU 0(SI), Y8
	VMOVDQU 32(SI), Y9
	VMOVDQU 64(SI), Y10
	VMOVDQU 96(SI), Y11
	VPADDQ  Y8, Y0, Y0
	VPADDQ  Y9, Y2, Y2
	VPADDQ  Y10, Y0, Y0
	VPADDQ  Y11, Y2, Y2
	VPSRLQ  $32, Y8, Y8
	VPSRLQ  $32, Y9, Y9
	VPSRLQ  $32, Y10, Y10
	VPSRLQ  $32, Y11, Y11
	VPADDQ  Y8, Y1, Y1
	VPADDQ  Y9, Y3, Y3
	VPADDQ  Y10, Y1, Y1
	VPADDQ  Y11, Y3, Y3
	ADDQ    $128, SI
	SUBQ    $128, CX
	JAE     loop128

blocks32:
	// CX counts the bytes left minus 32 in this loop.
	ADDQ $96, CX
	JLT  tail

loop32:
	VMOVDQU (SI), Y8
	VPADDQ  Y8, Y0, Y0
	VPSRLQ  $32, Y8, Y8
	VPADDQ  Y8, Y1, Y1
	ADDQ    $32, SI
	SUBQ    $32, CX
	JAE     loop32

tail:
	// CX < 32 bytes are left at SI; DX is their even part. AX takes an
	// odd last byte.
	XORL    AX, AX
	ADDQ    $32, CX
	JZ      head
	MOVQ    CX, DX
	ANDQ    $-2, DX
	LEAQ    tailMask<>(SB), DI
	VMOVDQU (DI)(DX*1), Y9
	VPAND   -32(SI)(DX*1), Y9, Y8
	VPADDQ  Y8, Y2, Y2
	VPSRLQ  $32, Y8, Y8
	VPADDQ  Y8, Y3, Y3
	TESTQ   $1, CX
	JZ      head
	MOVBQZX (SI)(DX*1), AX

head:
	TESTQ BX, BX
	JZ    reduce

	// The first h = BX bytes of b, swapped in pairs if h is odd.
	MOVQ    b_base+0(FP), SI
	MOVQ    BX, R8
	ANDQ    $1, R8
	SHLQ    $5, R8         // 32 if h is odd
	MOVQ    $32, DI
	SUBQ    BX, DI
	LEAQ    tailMask<>(SB), DX
	VMOVDQU (DX)(DI*1), Y9 // keeps the last 32-h bytes
	VPANDN  (SI), Y9, Y8   // the first h
	LEAQ    swapCtl<>(SB), DX
	VPSHUFB (DX)(R8*1), Y8, Y8
	VPADDQ  Y8, Y0, Y0
	VPSRLQ  $32, Y8, Y8
	VPADDQ  Y8, Y1, Y1

reduce:
	// Per lane, T = F + H - H<<32 = L + H; then add up the lanes.
	VPADDQ       Y2, Y0, Y0
	VPADDQ       Y3, Y1, Y1
	VPSLLQ       $32, Y1, Y2
	VPSUBQ       Y2, Y0, Y0
	VPADDQ       Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ       X1, X0, X0
	VPSHUFD      $0x4e, X0, X1
	VPADDQ       X1, X0, X0
	VMOVQ        X0, DX
	VZEROUPPER
	ADDQ         DX, AX

	// Fold, swap (unless the head was odd) and add initial.
	FOLD
	TESTQ   $1, BX
	JNZ     odd
	ROLW    $8, AX

odd:
	MOVWQZX initial+24(FP), DX
	ADD_DX
	MOVW    AX, ret+32(FP)
	RET
