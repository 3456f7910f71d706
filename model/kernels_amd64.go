package model

import (
	"os"

	"golang.org/x/sys/cpu"
)

// The micro-kernels in kernels_amd64.s. k must be a positive multiple of 16.

//go:noescape
func tile4x4AVX512(x *float32, ldx int, w *float32, ldw int, k int, acc *[16]float32)

//go:noescape
func tile1x4AVX512(x *float32, w *float32, ldw int, k int, acc *[16]float32)

//go:noescape
func tile4x4AVX2(x *float32, ldx int, w *float32, ldw int, k int, acc *[16]float32)

//go:noescape
func tile1x4AVX2(x *float32, w *float32, ldw int, k int, acc *[16]float32)

//go:noescape
func tile4x4BF16AVX512(x *float32, ldx int, w *uint16, ldw int, k int, acc *[16]float32)

//go:noescape
func tile1x4BF16AVX512(x *float32, w *uint16, ldw int, k int, acc *[16]float32)

// tile4b and tile1b are tile4 and tile1 for BF16 weights (AVX-512 only).
func tile4b(x *float32, ldx int, w *uint16, ldw int, k int, acc *[16]float32) {
	tile4x4BF16AVX512(x, ldx, w, ldw, k, acc)
}

func tile1b(x *float32, w *uint16, ldw int, k int, acc *[16]float32) {
	tile1x4BF16AVX512(x, w, ldw, k, acc)
}

var (
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL // VL: the reductions use ymm/xmm 16-31
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// goTile4x4 is matmulGo's tile: amd64 has 16 SSE registers (15 for Go),
// too few for a 4×4 tile's sixteen sums plus its loaded values; spilled,
// it ran at 4.2 GFLOP per CPU second here against 9.3 for one row of x at
// a time. A variable so that tests can run both tiles on any CPU.
var goTile4x4 = false

// useKernel selects the matrix kernel: "avx512", "avx2" or "go" (matmulGo,
// what CPUs without AVX2 and FMA run). It reports
// whether this CPU has it. (UNMASK_KERNEL also takes "avx512bf16", the
// default: avx512, and BF16 dot products for BF16 checkpoints; see
// bf16DotDefault.)
func useKernel(name string) bool {
	switch {
	case name == "avx512" && hasAVX512:
		kern = kernAVX512
	case name == "avx2" && hasAVX2:
		kern = kernAVX2
	case name == "go":
		kern = kernGo
	default:
		return false
	}
	kernelName = name
	return true
}

// tile4 sets acc[i*4+j] = dot(x row i, w row j) over k floats (k a
// multiple of 16), rows ldx and ldw floats apart.
func tile4(x *float32, ldx int, w *float32, ldw int, k int, acc *[16]float32) {
	if kern == kernAVX512 {
		tile4x4AVX512(x, ldx, w, ldw, k, acc)
	} else {
		tile4x4AVX2(x, ldx, w, ldw, k, acc)
	}
}

// tile1 sets acc[j] = dot(x, w row j) for j < 4.
func tile1(x *float32, w *float32, ldw int, k int, acc *[16]float32) {
	if kern == kernAVX512 {
		tile1x4AVX512(x, w, ldw, k, acc)
	} else {
		tile1x4AVX2(x, w, ldw, k, acc)
	}
}

func init() {
	// UNMASK_KERNEL forces a kernel (for comparisons); otherwise the best
	// the CPU has.
	if k := os.Getenv("UNMASK_KERNEL"); k == "avx512bf16" {
		// The default, where the CPU has it (bf16DotDefault).
	} else if k != "" && useKernel(k) {
		bf16DotDefault = false
		return
	}
	if !useKernel("avx512") {
		useKernel("avx2")
	}
}

//go:noescape
func softmaxExpAVX512(x *float32, n int, mx float32) float32

//go:noescape
func expStatsAVX512(x *float32, n int, mx float32) (s, sd float32)

// expShift sets x[i] = exp(x[i]-mx) and returns their sum.
func expShift(x []float32, mx float32) float32 {
	if kern != kernAVX512 || len(x) < 16 {
		return expShiftRef(x, mx)
	}
	n := len(x) &^ 15
	return softmaxExpAVX512(&x[0], n, mx) + expShiftRef(x[n:], mx)
}

// expStats returns sum exp(x[i]-mx) and sum exp(x[i]-mx)*(x[i]-mx).
func expStats(x []float32, mx float32) (s, sd float32) {
	if kern != kernAVX512 || len(x) < 16 {
		return expStatsRef(x, mx)
	}
	n := len(x) &^ 15
	s, sd = expStatsAVX512(&x[0], n, mx)
	ts, tsd := expStatsRef(x[n:], mx)
	return s + ts, sd + tsd
}

//go:noescape
func siluMulAVX512(gate *float32, up *float32, n int)

// siluMul sets g[i] = silu(g[i]) * u[i], SwiGLU's gate.
func siluMul(g, u []float32) {
	n := 0
	if kern == kernAVX512 && len(g) >= 16 && len(u) >= len(g) {
		n = len(g) &^ 15
		siluMulAVX512(&g[0], &u[0], n)
	}
	siluMulRef(g[n:], u[n:])
}

//go:generate go run gen_dpbf16.go

// The AVX-512 BF16 kernels in kernels_dpbf16_amd64.s (gen_dpbf16.go):
// BF16 rows of x and w, k a positive multiple of 32.

//go:noescape
func tile4x4DPBF16(x *uint16, ldx int, w *uint16, ldw int, k int, acc *[16]float32)

//go:noescape
func tile1x4DPBF16(x *uint16, w *uint16, ldw int, k int, acc *[16]float32)

// toBF16AVX512 rounds n floats (a positive multiple of 16) to BF16.
//
//go:noescape
func toBF16AVX512(dst *uint16, src *float32, n int)

var hasDPBF16 = hasAVX512 && cpu.X86.HasAVX512BF16

func tile4d(x *uint16, ldx int, w *uint16, ldw int, k int, acc *[16]float32) {
	tile4x4DPBF16(x, ldx, w, ldw, k, acc)
}

func tile1d(x *uint16, w *uint16, ldw int, k int, acc *[16]float32) {
	tile1x4DPBF16(x, w, ldw, k, acc)
}
