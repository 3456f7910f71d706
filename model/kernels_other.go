//go:build !amd64

package model

// useKernel selects the matrix kernel; only the plain Go one (matmulGo)
// exists here.
func useKernel(name string) bool { return name == "go" }

// goTile4x4 is matmulGo's tile: arm64 (as the other 64-bit RISCs) has 32
// floating-point registers, enough for a 4×4 tile's sixteen sums and eight
// loaded values; there its step is eight loads and sixteen fused
// multiply-adds (FMADDS), nothing spilled. A variable so that tests can
// run both tiles on any CPU.
var goTile4x4 = true

// tile4 and tile1 are never called here: kern stays kernGo.
func tile4(x *float32, ldx int, w *float32, ldw int, k int, acc *[16]float32) {}
func tile1(x *float32, w *float32, ldw int, k int, acc *[16]float32)          {}
func tile4b(x *float32, ldx int, w *uint16, ldw int, k int, acc *[16]float32) {}
func tile1b(x *float32, w *uint16, ldw int, k int, acc *[16]float32)          {}
func tile4d(x *uint16, ldx int, w *uint16, ldw int, k int, acc *[16]float32)  {}
func tile1d(x *uint16, w *uint16, ldw int, k int, acc *[16]float32)           {}
func toBF16AVX512(dst *uint16, src *float32, n int)                           {}

// hasDPBF16: BF16 dot products are an amd64 kernel.
const hasDPBF16 = false

// expShift sets x[i] = exp(x[i]-mx) and returns their sum.
func expShift(x []float32, mx float32) float32 { return expShiftRef(x, mx) }

// expStats returns sum exp(x[i]-mx) and sum exp(x[i]-mx)*(x[i]-mx).
func expStats(x []float32, mx float32) (s, sd float32) { return expStatsRef(x, mx) }

// siluMul sets g[i] = silu(g[i]) * u[i], SwiGLU's gate.
func siluMul(g, u []float32) { siluMulRef(g, u) }
