package model

import "os"

// The NEON micro-kernels in kernels_arm64.s. k must be a positive multiple
// of 16. Every arm64 CPU has NEON (Advanced SIMD is part of ARMv8-A), so
// there is nothing to detect.

//go:noescape
func tile4x4NEON(x *float32, ldx int, w *float32, ldw int, k int, acc *[16]float32)

//go:noescape
func tile1x4NEON(x *float32, w *float32, ldw int, k int, acc *[16]float32)

// goTile4x4 is matmulGo's tile (UNMASK_KERNEL=go): arm64 has 32
// floating-point registers, enough for a 4×4 tile's sixteen sums and eight
// loaded values; there its step is eight loads and sixteen scalar fused
// multiply-adds (FMADDS), nothing spilled. A variable so that tests can
// run both tiles on any CPU.
var goTile4x4 = true

// useKernel selects the matrix kernel: "neon" (the default) or "go"
// (matmulGo). It reports whether this CPU has it.
func useKernel(name string) bool {
	switch name {
	case "neon":
		kern = kernNEON
	case "go":
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
	tile4x4NEON(x, ldx, w, ldw, k, acc)
}

// tile1 sets acc[j] = dot(x, w row j) for j < 4.
func tile1(x *float32, w *float32, ldw int, k int, acc *[16]float32) {
	tile1x4NEON(x, w, ldw, k, acc)
}

func init() {
	// UNMASK_KERNEL forces a kernel (for comparisons); otherwise NEON.
	if k := os.Getenv("UNMASK_KERNEL"); k != "" && useKernel(k) {
		return
	}
	useKernel("neon")
}
