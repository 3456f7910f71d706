//go:build !amd64 && !arm64

package model

// useKernel selects the matrix kernel; only the plain Go one (matmulGo)
// exists here.
func useKernel(name string) bool { return name == "go" }

// goTile4x4 is matmulGo's tile: the 64-bit RISCs this file mostly serves
// (riscv64, ppc64le, loong64) have 32 floating-point registers, enough for
// a 4×4 tile's sixteen sums and eight loaded values. A variable so that
// tests can run both tiles on any CPU.
var goTile4x4 = true

// tile4 and tile1 are never called here: kern stays kernGo.
func tile4(x *float32, ldx int, w *float32, ldw int, k int, acc *[16]float32) {}
func tile1(x *float32, w *float32, ldw int, k int, acc *[16]float32)          {}
