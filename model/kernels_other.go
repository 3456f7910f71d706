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
