//go:build cuda

package gpu

// These tests need a CUDA device: the binary that runs them exits at start
// without one (gorgonia.org/cu's init). Build them here with
//   go test -c -tags cuda -o gpu.test ./gpu
// and run them on the device from this folder (gpu/device/run.sh does).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// Tolerances of each CUDA operation against its reference (absolute, on
// values of order 1). The kernels use __expf (2 ulp) and other summation
// orders than the reference; cuBLAS with bf16 weights also rounds the
// activations to bf16.
const (
	tolExact     = 0
	tolNorm      = 1e-5
	tolMatmul    = 2e-4
	tolCublasF32 = 2e-4
	tolCublasBF  = 3e-2
	tolRope      = 1e-6
	tolAttention = 1e-4
	tolSilu      = 1e-5
	tolTopK      = 1e-5
	tolEntropy   = 1e-4
)

func randVec(r *rand.Rand, n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (r.Float32()*2 - 1) * scale
	}
	return v
}

// pair holds one buffer on both executors.
type pair struct {
	h, d vec
	n    int
}

type opHarness struct {
	t *testing.T
	e *cudaExec
}

func (o *opHarness) pair(data []float32) pair {
	h, _ := hostExec{}.alloc(len(data))
	copy(h.h, data)
	d, err := o.e.alloc(len(data))
	if err != nil {
		panic(err)
	}
	if err := o.e.upload(d, data); err != nil {
		panic(err)
	}
	return pair{h: h, d: d, n: len(data)}
}

func (o *opHarness) check(name string, p pair, tol float64) {
	o.t.Helper()
	got := make([]float32, p.n)
	if err := o.e.download(got, p.d); err != nil {
		panic(err)
	}
	worst, at := 0.0, 0
	for i, v := range got {
		d := math.Abs(float64(v - p.h.h[p.h.off+i]))
		if math.IsNaN(float64(v)) {
			d = math.Inf(1)
		}
		if d > worst {
			worst, at = d, i
		}
	}
	if worst > tol {
		o.t.Errorf("%s: |cuda - reference| = %.3g at %d (%g vs %g), tolerance %.3g", name, worst, at, got[at], p.h.h[p.h.off+at], tol)
	} else {
		o.t.Logf("%s: max |cuda - reference| = %.3g (tolerance %.3g)", name, worst, tol)
	}
}

func (o *opHarness) weight(r *rand.Rand, out, in int, bf16, bias bool) (hw, dw *weight) {
	data := randVec(r, out*in, 1/float32(math.Sqrt(float64(in))))
	hw = &weight{out: out, in: in, bf16: bf16}
	dw = &weight{out: out, in: in, bf16: bf16}
	if bf16 {
		hw.h16 = make([]uint16, len(data))
		for i, v := range data {
			hw.h16[i] = toBF16(v)
		}
		dw.h16 = append([]uint16(nil), hw.h16...)
	} else {
		hw.h32 = data
		dw.h32 = append([]float32(nil), data...)
	}
	if err := o.e.uploadWeight(dw); err != nil {
		panic(err)
	}
	if bias {
		b := o.pair(randVec(r, out, 0.1))
		hw.bias, dw.bias = &b.h, &b.d
	}
	return hw, dw
}

func TestCUDAOpsMatchReference(t *testing.T) {
	for _, mode := range []string{"kernel", "cublas"} {
		e, err := newCUDAExec(mode)
		if err != nil {
			if mode == "cublas" {
				t.Logf("cuBLAS not available: %v", err)
				continue
			}
			t.Fatal(err)
		}
		t.Logf("device %+v, matmul %s", e.info, mode)
		// The ops run on the device thread, where t.Fatal (runtime.Goexit)
		// would end the thread: failures there panic and are recovered.
		err = e.do(func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("%v", r)
				}
			}()
			runOps(t, e, mode)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		e.shutdown()
	}
}

func runOps(t *testing.T, e *cudaExec, mode string) {
	o := &opHarness{t: t, e: e}
	r := rand.New(rand.NewPCG(1, 2))
	h := hostExec{}
	const T, H, V = 33, 896, 1000

	if mode == "kernel" {
		for _, bf := range []bool{false, true} {
			hw, dw := o.weight(r, V, H, bf, false)
			x := o.pair(make([]float32, T*H))
			ids := make([]int32, T)
			for i := range ids {
				ids[i] = int32(r.IntN(V))
			}
			h.embed(x.h, hw, ids, 0)
			e.embed(x.d, dw, ids, 0)
			o.check("embed bf16="+boolName(bf), x, tolExact)
		}
		x, w := o.pair(randVec(r, T*H, 3)), o.pair(randVec(r, H, 1))
		dst := o.pair(make([]float32, T*H))
		h.rmsnorm(dst.h, x.h, w.h, T, H, 1e-6)
		e.rmsnorm(dst.d, x.d, w.d, T, H, 1e-6)
		o.check("rmsnorm", dst, tolNorm)
	}

	// Matrix products: denoise-sized (33 rows) and prefill-sized (300 rows),
	// with and without bias and accumulation.
	for _, rows := range []int{T, 300} {
		for _, bf := range []bool{false, true} {
			for _, acc := range []bool{false, true} {
				hw, dw := o.weight(r, 4864, H, bf, true)
				x := o.pair(randVec(r, rows*H, 1))
				y := o.pair(randVec(r, rows*4864, 1))
				h.matmul(y.h, x.h, hw, rows, acc)
				if err := e.matmul(y.d, x.d, dw, rows, acc); err != nil {
					panic(err)
				}
				tol := float64(tolMatmul)
				usesBlas := e.blas != nil && (mode == "cublas" || rows >= CublasMinRows)
				if usesBlas && bf {
					tol = tolCublasBF
				} else if usesBlas {
					tol = tolCublasF32
				}
				o.check("matmul "+mode+" rows="+itoa(rows)+" bf16="+boolName(bf)+" acc="+boolName(acc), y, tol)
			}
		}
	}
	if mode == "cublas" {
		// Products sharing their input reuse one bf16 copy of it; a kernel
		// that rewrites the input in between must invalidate the copy.
		x := o.pair(randVec(r, T*H, 1))
		hw1, dw1 := o.weight(r, 128, H, true, true)
		hw2, dw2 := o.weight(r, 64, H, true, false)
		y1, y2 := o.pair(make([]float32, T*128)), o.pair(make([]float32, T*64))
		w := o.pair(randVec(r, H, 1)) // uploaded before: only the kernel may invalidate
		for round := 0; round < 2; round++ {
			h.matmul(y1.h, x.h, hw1, T, false)
			h.matmul(y2.h, x.h, hw2, T, false)
			if err := e.matmul(y1.d, x.d, dw1, T, false); err != nil {
				panic(err)
			}
			if err := e.matmul(y2.d, x.d, dw2, T, false); err != nil {
				panic(err)
			}
			o.check("shared input round "+itoa(round)+" first", y1, tolCublasBF)
			o.check("shared input round "+itoa(round)+" second", y2, tolCublasBF)
			h.rmsnorm(x.h, x.h, w.h, T, H, 1e-6)
			e.rmsnorm(x.d, x.d, w.d, T, H, 1e-6)
		}
	}
	if mode != "kernel" {
		return
	}

	// RoPE and attention, for the head sizes of the fixtures and of Qwen2.5.
	for _, shape := range []struct{ heads, kvHeads, hd, ctx int }{{4, 2, 8, 20}, {14, 2, 64, 600}, {16, 8, 128, 100}} {
		qd, kvd := shape.heads*shape.hd, shape.kvHeads*shape.hd
		inv := make([]float32, shape.hd/2)
		for i := range inv {
			inv[i] = float32(1 / math.Pow(1e6, float64(2*i)/float64(shape.hd)))
		}
		total := shape.ctx + T
		cs, sn := ropeTables(inv, total)
		cp, sp := o.pair(cs), o.pair(sn)
		q := o.pair(randVec(r, T*qd, 1))
		h.rope(q.h, cp.h, sp.h, shape.ctx, T, shape.heads, shape.hd, qd)
		e.rope(q.d, cp.d, sp.d, shape.ctx, T, shape.heads, shape.hd, qd)
		o.check("rope hd="+itoa(shape.hd), q, tolRope)
		keys, vals := o.pair(randVec(r, total*kvd, 1)), o.pair(randVec(r, total*kvd, 1))
		for _, causal := range []bool{false, true} {
			out := o.pair(make([]float32, T*qd))
			h.attention(out.h, q.h, keys.h, vals.h, shape.ctx, T, causal, shape.heads, shape.kvHeads, shape.hd)
			e.attention(out.d, q.d, keys.d, vals.d, shape.ctx, T, causal, shape.heads, shape.kvHeads, shape.hd)
			o.check("attention hd="+itoa(shape.hd)+" ctx="+itoa(shape.ctx)+" causal="+boolName(causal), out, tolAttention)
		}
		// Bidirectional over the whole sequence (p0 = 0, T = total).
		qa := o.pair(randVec(r, total*qd, 1))
		out := o.pair(make([]float32, total*qd))
		h.attention(out.h, qa.h, keys.h, vals.h, 0, total, false, shape.heads, shape.kvHeads, shape.hd)
		e.attention(out.d, qa.d, keys.d, vals.d, 0, total, false, shape.heads, shape.kvHeads, shape.hd)
		o.check("attention bidirectional hd="+itoa(shape.hd), out, tolAttention)
	}

	g, u := o.pair(randVec(r, T*4864, 4)), o.pair(randVec(r, T*4864, 1))
	h.siluMul(g.h, u.h, T*4864)
	e.siluMul(g.d, u.d, T*4864)
	o.check("silu_mul", g, tolSilu)

	// Top-k and entropy over Qwen2.5's vocabulary, with ties.
	const vocab = 151936
	lg := randVec(r, 4*vocab, 8)
	lg[vocab+7], lg[vocab+9000] = 30, 30 // a tie at the top: lower id first
	lp := o.pair(lg)
	for _, k := range []int{1, 3, 8, 9, 32} { // <= 8: one-pass kernel; above: k passes
		hi, hl, he := make([]int32, 4*k), make([]float32, 4*k), make([]float32, 4)
		di, dl, de := make([]int32, 4*k), make([]float32, 4*k), make([]float32, 4)
		h.topk(lp.h, 4, vocab, k, hi, hl, he)
		if err := e.topk(lp.d, 4, vocab, k, di, dl, de); err != nil {
			panic(err)
		}
		for i := range hi {
			if hi[i] != di[i] || math.Abs(float64(hl[i]-dl[i])) > tolTopK {
				t.Errorf("topk k=%d [%d]: (%d, %g), reference (%d, %g)", k, i, di[i], dl[i], hi[i], hl[i])
			}
		}
		for i := range he {
			if math.Abs(float64(he[i]-de[i])) > tolEntropy {
				t.Errorf("entropy k=%d row %d: %g, reference %g", k, i, de[i], he[i])
			}
		}
	}
}

func boolName(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func itoa(n int) string {
	const d = "0123456789"
	if n < 10 {
		return d[n : n+1]
	}
	return itoa(n/10) + d[n%10:n%10+1]
}

// TestCUDAMatchesCPUEngine holds the whole CUDA backend to package model's
// CPU engine on its fixtures (every attention family), as the reference is
// held in reference_test.go.
func TestCUDAMatchesCPUEngine(t *testing.T) {
	for _, dir := range append(fixtures, causalFixture(t)) {
		for _, opts := range []Options{{Weights: "f32", Matmul: "kernel"}, {Weights: "f32", Matmul: "cublas"}, {Weights: "bf16", Matmul: "auto"}} {
			cpu, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := Load(os.DirFS(dir), opts)
			if err != nil {
				if opts.Matmul == "cublas" {
					t.Logf("%s %+v: %v", dir, opts, err)
					continue
				}
				t.Fatal(err)
			}
			cs, _ := cpu.NewSession(engine.SessionOptions{MaxContext: 64})
			gs, err := ours.NewSession(engine.SessionOptions{MaxContext: 64})
			if err != nil {
				t.Fatal(err)
			}
			tol := tolF32LogProb
			if opts.Weights == "bf16" {
				tol = tolBF16LogProb
			}
			compareSessions(t, dir+" "+opts.Weights+" "+opts.Matmul, cs, gs, cpu.Info(), tol)
			gs.Close()
			cs.Close()
			ours.Close()
			cpu.Close()
		}
	}
}
