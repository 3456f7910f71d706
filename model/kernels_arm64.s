#include "textflag.h"

// NEON matrix micro-kernels: the contract of amd64's tile4 and tile1
// (kernels_amd64.s), k a positive multiple of 16. Go's assembler has
// VFMLA (lane-wise fused multiply-add) but no vector float add, so the
// pairwise adds of the final reduction, FADDP Vd.4S, Vn.4S, Vm.4S
// (Vd = [n0+n1, n2+n3, m0+m1, m2+m3]), are written as WORDs, each under
// the instruction in GNU syntax; neon_encoding_test.go holds every one to
// GNU as's encoding. Registers: R0-R11 and V0-V31, all scratch in an ABI0
// function (R18, R26-R29 untouched; arm64 has no fixed zero vector register).

// func tile4x4NEON(x *float32, ldx int, w *float32, ldw int, k int, acc *[16]float32)
// acc[i*4+j] = dot(x[i*ldx : i*ldx+k], w[j*ldw : j*ldw+k]).
// V(4i+j) sums x row i times w row j, 4 lanes each; per 8 floats of k:
// 8 loads of two vectors (w rows in V16-V23, x rows in V24-V31) feed 32
// FMLAs, each accumulator two of them.
TEXT ·tile4x4NEON(SB), NOSPLIT, $0-48
	MOVD x+0(FP), R0
	MOVD ldx+8(FP), R10
	LSL  $2, R10, R10
	MOVD w+16(FP), R4
	MOVD ldw+24(FP), R11
	LSL  $2, R11, R11
	MOVD k+32(FP), R8
	MOVD acc+40(FP), R9
	ADD  R10, R0, R1
	ADD  R10, R1, R2
	ADD  R10, R2, R3
	ADD  R11, R4, R5
	ADD  R11, R5, R6
	ADD  R11, R6, R7
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16

loop4:
	VLD1.P 32(R4), [V16.S4, V17.S4]
	VLD1.P 32(R5), [V18.S4, V19.S4]
	VLD1.P 32(R6), [V20.S4, V21.S4]
	VLD1.P 32(R7), [V22.S4, V23.S4]
	VLD1.P 32(R0), [V24.S4, V25.S4]
	VLD1.P 32(R1), [V26.S4, V27.S4]
	VLD1.P 32(R2), [V28.S4, V29.S4]
	VLD1.P 32(R3), [V30.S4, V31.S4]
	VFMLA V16.S4, V24.S4, V0.S4
	VFMLA V18.S4, V24.S4, V1.S4
	VFMLA V20.S4, V24.S4, V2.S4
	VFMLA V22.S4, V24.S4, V3.S4
	VFMLA V16.S4, V26.S4, V4.S4
	VFMLA V18.S4, V26.S4, V5.S4
	VFMLA V20.S4, V26.S4, V6.S4
	VFMLA V22.S4, V26.S4, V7.S4
	VFMLA V16.S4, V28.S4, V8.S4
	VFMLA V18.S4, V28.S4, V9.S4
	VFMLA V20.S4, V28.S4, V10.S4
	VFMLA V22.S4, V28.S4, V11.S4
	VFMLA V16.S4, V30.S4, V12.S4
	VFMLA V18.S4, V30.S4, V13.S4
	VFMLA V20.S4, V30.S4, V14.S4
	VFMLA V22.S4, V30.S4, V15.S4
	VFMLA V17.S4, V25.S4, V0.S4
	VFMLA V19.S4, V25.S4, V1.S4
	VFMLA V21.S4, V25.S4, V2.S4
	VFMLA V23.S4, V25.S4, V3.S4
	VFMLA V17.S4, V27.S4, V4.S4
	VFMLA V19.S4, V27.S4, V5.S4
	VFMLA V21.S4, V27.S4, V6.S4
	VFMLA V23.S4, V27.S4, V7.S4
	VFMLA V17.S4, V29.S4, V8.S4
	VFMLA V19.S4, V29.S4, V9.S4
	VFMLA V21.S4, V29.S4, V10.S4
	VFMLA V23.S4, V29.S4, V11.S4
	VFMLA V17.S4, V31.S4, V12.S4
	VFMLA V19.S4, V31.S4, V13.S4
	VFMLA V21.S4, V31.S4, V14.S4
	VFMLA V23.S4, V31.S4, V15.S4
	SUBS $8, R8, R8
	BNE  loop4

	// Row i: V(4i)..V(4i+3) -> V(24+i) = [sum V(4i), ..., sum V(4i+3)].
	// FADDP V16.4S, V0.4S, V1.4S
	WORD $0x6E21D410
	// FADDP V17.4S, V2.4S, V3.4S
	WORD $0x6E23D451
	// FADDP V24.4S, V16.4S, V17.4S
	WORD $0x6E31D618
	// FADDP V18.4S, V4.4S, V5.4S
	WORD $0x6E25D492
	// FADDP V19.4S, V6.4S, V7.4S
	WORD $0x6E27D4D3
	// FADDP V25.4S, V18.4S, V19.4S
	WORD $0x6E33D659
	// FADDP V20.4S, V8.4S, V9.4S
	WORD $0x6E29D514
	// FADDP V21.4S, V10.4S, V11.4S
	WORD $0x6E2BD555
	// FADDP V26.4S, V20.4S, V21.4S
	WORD $0x6E35D69A
	// FADDP V22.4S, V12.4S, V13.4S
	WORD $0x6E2DD596
	// FADDP V23.4S, V14.4S, V15.4S
	WORD $0x6E2FD5D7
	// FADDP V27.4S, V22.4S, V23.4S
	WORD $0x6E37D6DB
	VST1 [V24.S4, V25.S4, V26.S4, V27.S4], (R9)
	RET

// func tile1x4NEON(x *float32, w *float32, ldw int, k int, acc *[16]float32)
// acc[j] = dot(x[:k], w[j*ldw : j*ldw+k]) for j < 4 (acc[4:] untouched).
// Eight accumulators, V(2j) and V(2j+1) for w row j (a chain of four
// would wait on the FMLA latency); per 16 floats of k: x in V12-V15, w
// rows in V16-V31, 5 loads of four vectors feed 16 FMLAs.
TEXT ·tile1x4NEON(SB), NOSPLIT, $0-40
	MOVD x+0(FP), R0
	MOVD w+8(FP), R4
	MOVD ldw+16(FP), R11
	LSL  $2, R11, R11
	MOVD k+24(FP), R8
	MOVD acc+32(FP), R9
	ADD  R11, R4, R5
	ADD  R11, R5, R6
	ADD  R11, R6, R7
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16

loop1:
	VLD1.P 64(R0), [V12.S4, V13.S4, V14.S4, V15.S4]
	VLD1.P 64(R4), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R5), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P 64(R6), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P 64(R7), [V28.S4, V29.S4, V30.S4, V31.S4]
	VFMLA V16.S4, V12.S4, V0.S4
	VFMLA V20.S4, V12.S4, V2.S4
	VFMLA V24.S4, V12.S4, V4.S4
	VFMLA V28.S4, V12.S4, V6.S4
	VFMLA V17.S4, V13.S4, V1.S4
	VFMLA V21.S4, V13.S4, V3.S4
	VFMLA V25.S4, V13.S4, V5.S4
	VFMLA V29.S4, V13.S4, V7.S4
	VFMLA V18.S4, V14.S4, V0.S4
	VFMLA V22.S4, V14.S4, V2.S4
	VFMLA V26.S4, V14.S4, V4.S4
	VFMLA V30.S4, V14.S4, V6.S4
	VFMLA V19.S4, V15.S4, V1.S4
	VFMLA V23.S4, V15.S4, V3.S4
	VFMLA V27.S4, V15.S4, V5.S4
	VFMLA V31.S4, V15.S4, V7.S4
	SUBS $16, R8, R8
	BNE  loop1

	// V16..V19: row j's two accumulators pairwise; V20, V21: rows 0-1
	// and 2-3 pairwise again; V22 = [sum row 0, ..., sum row 3].
	// FADDP V16.4S, V0.4S, V1.4S
	WORD $0x6E21D410
	// FADDP V17.4S, V2.4S, V3.4S
	WORD $0x6E23D451
	// FADDP V18.4S, V4.4S, V5.4S
	WORD $0x6E25D492
	// FADDP V19.4S, V6.4S, V7.4S
	WORD $0x6E27D4D3
	// FADDP V20.4S, V16.4S, V17.4S
	WORD $0x6E31D614
	// FADDP V21.4S, V18.4S, V19.4S
	WORD $0x6E33D655
	// FADDP V22.4S, V20.4S, V21.4S
	WORD $0x6E35D696
	VST1 [V22.S4], (R9)
	RET
