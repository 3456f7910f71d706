//go:build !amd64

package model

// What only amd64's AVX-512 kernels do, elsewhere: BF16 products are not
// offered and the exp and SiLU loops run their plain references.

// tile4b, tile1b, tile4d, tile1d and toBF16AVX512 are never called here:
// kern is never kernAVX512 and hasDPBF16 is false.
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
