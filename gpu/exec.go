package gpu

import "math"

// A vec is a float32 buffer of an executor — a host slice (the reference
// executor) or a device address (the CUDA one) — seen from an element
// offset. Offsets let one allocation (the KV cache of a layer) be addressed
// by row.
type vec struct {
	h   []float32 // host executor
	d   uintptr   // device executor: base address
	off int       // elements
}

// at returns v advanced by i elements.
func (v vec) at(i int) vec { v.off += i; return v }

// A weight is one matrix [out][in] (torch.nn.Linear layout) with its
// optional bias, in bf16 or f32, on the executor's side.
type weight struct {
	out, in int
	bf16    bool
	h16     []uint16  // host, bf16
	h32     []float32 // host, f32
	d       uintptr   // device
	bias    *vec      // [out], nil when absent
}

// An executor runs the transformer's operations. The reference executor
// (host.go) runs them in plain Go; the CUDA executor (cuda.go, build tag
// cuda) launches the kernels of kernels.cu. forward (engine.go) is written
// once against this interface, so the two differ only in the operations,
// and tests hold each CUDA operation to its reference.
type executor interface {
	alloc(n int) (vec, error) // n float32 elements, zeroed
	free(v vec)
	// upload copies host values into v (norm weights, biases, rope tables).
	upload(v vec, src []float32) error
	// embed writes table rows ids[t] (times scale, 0 = 1) into x rows.
	embed(x vec, table *weight, ids []int32, scale float32) error
	rmsnorm(dst, x, w vec, T, H int, eps float64) error
	// matmul computes y[t] = x[t] W^T + b for T rows; accumulate adds to y.
	matmul(y, x vec, w *weight, T int, accumulate bool) error
	// rope rotates T rows of heads vectors (row stride stride) at
	// positions p0.. with the cos/sin tables ([pos][hd/2]).
	rope(v, cos, sin vec, p0, T, heads, hd, stride int) error
	// attention: out rows t < T of q attend to cache positions 0..last,
	// last = p0+t when causal, else p0+T-1.
	attention(out, q, keys, vals vec, p0, T int, causal bool, heads, kvHeads, hd int) error
	siluMul(g, u vec, n int) error
	scale(v vec, s float32, n int) error
	// topk fills, for rows of logits [rows][V], the k best ids with
	// log-probabilities and the entropy, in host slices.
	topk(logits vec, rows, V, k int, ids []int32, logp, ent []float32) error
	// do runs fn where the executor's operations may be called (the CUDA
	// executor's device thread); steps of different sessions take turns.
	do(fn func() error) error
}

// ropeTables returns cos and sin ([rows][hd/2]) for positions 0..rows-1:
// angles in float32, cos/sin of the float32 angle, as transformers does.
func ropeTables(invFreq []float32, rows int) (cos, sin []float32) {
	half := len(invFreq)
	cos, sin = make([]float32, rows*half), make([]float32, rows*half)
	for t := 0; t < rows; t++ {
		pos := float32(t)
		for i, f := range invFreq {
			s, c := math.Sincos(float64(pos * f))
			cos[t*half+i], sin[t*half+i] = float32(c), float32(s)
		}
	}
	return cos, sin
}

// bf16f widens a bfloat16.
func bf16f(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
