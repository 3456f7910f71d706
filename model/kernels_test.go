package model

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/unmask/unmask/engine"
)

// kernels lists the matrix kernels this CPU can run, for setKernel: the
// plain Go one with each of its tiles ("go-4x4", what arm64 runs with
// UNMASK_KERNEL=go, and "go-1x4", what amd64 runs; see goTile4x4), then
// the assembly ones (amd64's AVX2 and AVX-512, arm64's NEON).
func kernels() []string {
	ks := []string{"go-4x4", "go-1x4"}
	for _, k := range []string{"avx2", "avx512", "neon"} {
		prev := kernelName
		if useKernel(k) {
			ks = append(ks, k)
		}
		useKernel(prev)
	}
	return ks
}

// TestKernelsOffered guards what the kernel tests cover: NEON is listed on
// arm64 and nowhere else, so TestMatmulKernels, TestParity and
// TestSessionMatchesReference hold it to the reference there; and arm64
// starts on it unless UNMASK_KERNEL says otherwise.
func TestKernelsOffered(t *testing.T) {
	ks := kernels()
	arm64 := runtime.GOARCH == "arm64"
	if slices.Contains(ks, "neon") != arm64 {
		t.Errorf("kernels() on %s = %q", runtime.GOARCH, ks)
	}
	if env := os.Getenv("UNMASK_KERNEL"); arm64 && (env == "" || env == "go") {
		want := cmp.Or(env, "neon")
		if KernelName() != want {
			t.Errorf("KernelName() = %q with UNMASK_KERNEL=%q, want %q", KernelName(), env, want)
		}
	}
}

// setKernel selects one of kernels().
func setKernel(k string) {
	switch k {
	case "go-4x4", "go-1x4":
		useKernel("go")
		goTile4x4 = k == "go-4x4"
	default:
		useKernel(k)
	}
}

// keepKernel returns a function that restores the kernel selected now.
func keepKernel() func() {
	name, tile4 := kernelName, goTile4x4
	return func() { useKernel(name); goTile4x4 = tile4 }
}

func randSlice(r *rng, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.sym()
	}
	return v
}

// TestMatmulKernels holds every kernel this CPU has to the plain reference,
// on shapes that hit the 4x4 tiles, the 1x4 row tail, the column tail and
// the k tail (k not a multiple of 16).
func TestMatmulKernels(t *testing.T) {
	defer keepKernel()()
	r := rng{s: 99}
	shapes := []struct{ T, N, K int }{
		{1, 4, 16}, {4, 4, 16}, {5, 9, 32}, {33, 37, 48}, {3, 5, 7}, {8, 12, 100}, {2, 64, 896}, {33, 20, 4864},
	}
	for _, k := range kernels() {
		setKernel(k)
		for _, sh := range shapes {
			x, w, b := randSlice(&r, sh.T*sh.K), randSlice(&r, sh.N*sh.K), randSlice(&r, sh.N)
			for _, bias := range [][]float32{nil, b} {
				want := make([]float32, sh.T*sh.N)
				got := make([]float32, sh.T*sh.N)
				matmulRef(want, sh.N, x, sh.K, w, sh.K, bias, sh.T, sh.K, 0, sh.N)
				// two column ranges, as the pool splits them
				mid := (sh.N / 2) &^ 3
				matmul(got, sh.N, x, sh.K, w, sh.K, bias, sh.T, sh.K, 0, mid)
				matmul(got, sh.N, x, sh.K, w, sh.K, bias, sh.T, sh.K, mid, sh.N)
				for i := range want {
					tol := 1e-5 * math.Sqrt(float64(sh.K)) * 2
					if d := math.Abs(float64(got[i] - want[i])); d > tol {
						t.Fatalf("%s: matmul %dx%dx%d (bias %v) [%d] = %g, want %g", k, sh.T, sh.N, sh.K, bias != nil, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestExpf(t *testing.T) {
	worst := 0.0
	for x := float32(-87); x < 88; x += 0.0137 {
		got, want := float64(expf(x)), math.Exp(float64(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 3e-7 {
		t.Errorf("expf relative error up to %g, want <= 3e-7", worst)
	}
	if expf(-100) != 0 || !math.IsInf(float64(expf(100)), 1) {
		t.Errorf("expf(-100) = %g, expf(100) = %g, want 0 and +Inf", expf(-100), expf(100))
	}
}

// BenchmarkMatmul reports GFLOP/s of each kernel on the products of the
// 0.5B shape's MLP (896 x 4864 weights), one goroutine, beside the plain
// reference (matmulRef, "ref") in the same run: the plain Go kernel with
// both its tiles, then the assembly ones.
func BenchmarkMatmul(b *testing.B) {
	defer keepKernel()()
	for _, sh := range []struct{ T, N, K int }{{32, 4864, 896}, {32, 896, 4864}} {
		r := rng{s: 1}
		x, w := randSlice(&r, sh.T*sh.K), randSlice(&r, sh.N*sh.K)
		y := make([]float32, sh.T*sh.N)
		shape := fmt.Sprintf("%dx%dx%d", sh.T, sh.N, sh.K)
		b.Run("ref/"+shape, func(b *testing.B) {
			benchFlops(b, sh.T, sh.N, sh.K, func() {
				matmulRef(y, sh.N, x, sh.K, w, sh.K, nil, sh.T, sh.K, 0, sh.N)
			})
		})
		for _, k := range kernels() {
			b.Run(k+"/"+shape, func(b *testing.B) {
				setKernel(k)
				benchFlops(b, sh.T, sh.N, sh.K, func() {
					matmul(y, sh.N, x, sh.K, w, sh.K, nil, sh.T, sh.K, 0, sh.N)
				})
			})
		}
		if useKernel("avx512") {
			wb := toBF16(w)
			b.Run("avx512-bf16/"+shape, func(b *testing.B) {
				benchFlops(b, sh.T, sh.N, sh.K, func() {
					matmulBF16(y, sh.N, x, sh.K, wb, sh.K, nil, sh.T, sh.K, 0, sh.N)
				})
			})
		}
	}
}

// TestMatmulGo holds the plain Go kernel, both of its tiles (4×4, what
// arm64 runs with UNMASK_KERNEL=go, and 1×4, what amd64 runs), to the
// reference on any CPU, called directly: shapes whose T, K and column
// ranges are not multiples of the tile, K below 16, one row, strided rows,
// bias and none.
func TestMatmulGo(t *testing.T) {
	defer keepKernel()()
	r := rng{s: 17}
	shapes := []struct{ T, N, K, lo, hi, pad int }{
		{1, 4, 16, 0, 4, 0}, {1, 7, 5, 1, 7, 0}, {4, 4, 1, 0, 4, 0}, {4, 8, 3, 0, 8, 0},
		{5, 9, 15, 0, 9, 0}, {6, 11, 17, 2, 11, 0}, {7, 13, 64, 3, 10, 37}, {8, 16, 100, 0, 16, 0},
		{9, 6, 33, 1, 6, 5}, {33, 37, 48, 0, 37, 0}, {32, 64, 896, 0, 64, 0}, {3, 5, 7, 0, 5, 0},
	}
	for _, tile4 := range []bool{true, false} {
		goTile4x4 = tile4
		for _, sh := range shapes {
			ldx, ldw, ldy := sh.K+sh.pad, sh.K+2*sh.pad, sh.N+sh.pad
			x, w, b := randSlice(&r, sh.T*ldx), randSlice(&r, sh.N*ldw), randSlice(&r, sh.N)
			for _, bias := range [][]float32{nil, b} {
				want, got := make([]float32, sh.T*ldy), make([]float32, sh.T*ldy)
				matmulRef(want, ldy, x, ldx, w, ldw, bias, sh.T, sh.K, sh.lo, sh.hi)
				matmulGo(got, ldy, x, ldx, w, ldw, bias, sh.T, sh.K, sh.lo, sh.hi)
				tol := 1e-5 * math.Sqrt(float64(sh.K)) * 2 // TestMatmulKernels'
				for i := range want {
					if d := math.Abs(float64(got[i] - want[i])); d > tol || (want[i] == 0) != (got[i] == 0) {
						t.Fatalf("matmulGo (4x4 %v) T %d K %d columns [%d, %d) ld +%d (bias %v): y[%d][%d] = %g, want %g",
							tile4, sh.T, sh.K, sh.lo, sh.hi, sh.pad, bias != nil, i/ldy, i%ldy, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestMatmulStrided covers rows apart by more than K, as attention uses
// them (one head of Q against one head of the key cache).
func TestMatmulStrided(t *testing.T) {
	defer keepKernel()()
	r := rng{s: 5}
	const T, N, K, ldx, ldw, ldy = 7, 13, 64, 101, 77, 19
	x, w := randSlice(&r, T*ldx), randSlice(&r, N*ldw)
	for _, k := range kernels() {
		setKernel(k)
		want, got := make([]float32, T*ldy), make([]float32, T*ldy)
		matmulRef(want, ldy, x, ldx, w, ldw, nil, T, K, 0, N)
		matmul(got, ldy, x, ldx, w, ldw, nil, T, K, 0, N)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
				t.Fatalf("%s: strided matmul [%d] = %g, want %g", k, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkDenoise times one denoise step (a block of 32 after 512 cached
// tokens) on a 4-layer slice of the 0.5B shape, full vocabulary.
func BenchmarkDenoise(b *testing.B) {
	cfg := Config{Hidden: 896, Intermediate: 4864, Layers: 4, Heads: 14, KVHeads: 2, Vocab: 151936,
		MaxPosition: 1024, Tied: true, QKVBias: true, Attention: engine.ContextCausal, BlockSize: 32}
	m, err := NewRandom(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.NewSession(engine.SessionOptions{MaxContext: 512, MaxBlock: 32})
	if err != nil {
		b.Fatal(err)
	}
	toks := seqTokens(512, 1)
	if _, err := s.Prefill(context.Background(), toks); err != nil {
		b.Fatal(err)
	}
	block := make([]int32, 32)
	out := engine.NewPredictions(32, 0)
	for b.Loop() {
		if err := s.Denoise(context.Background(), block, 0, out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrefill times a 512-token prefill on the same 4-layer slice.
func BenchmarkPrefill(b *testing.B) {
	cfg := Config{Hidden: 896, Intermediate: 4864, Layers: 4, Heads: 14, KVHeads: 2, Vocab: 151936,
		MaxPosition: 1024, Tied: true, QKVBias: true, Attention: engine.ContextCausal, BlockSize: 32}
	m, err := NewRandom(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.NewSession(engine.SessionOptions{MaxContext: 512, MaxBlock: 32})
	if err != nil {
		b.Fatal(err)
	}
	toks := seqTokens(512, 1)
	for b.Loop() {
		s.Truncate(0)
		if _, err := s.Prefill(context.Background(), toks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(512*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func toBF16(v []float32) []uint16 {
	out := make([]uint16, len(v))
	for i, f := range v {
		out[i] = f32ToBF16(f)
	}
	return out
}

// TestMatmulBF16 holds the BF16-in-place kernel to the float32 reference
// on the widened weights.
func TestMatmulBF16(t *testing.T) {
	defer keepKernel()()
	if !useKernel("avx512") {
		t.Skip("no AVX-512: BF16 weights in place are not offered")
	}
	r := rng{s: 3}
	for _, sh := range []struct{ T, N, K int }{{1, 4, 16}, {5, 9, 32}, {33, 37, 100}, {4, 12, 896}} {
		x, w := randSlice(&r, sh.T*sh.K), randSlice(&r, sh.N*sh.K)
		wb := toBF16(w)
		for i := range w {
			w[i] = math.Float32frombits(uint32(wb[i]) << 16)
		}
		want, got := make([]float32, sh.T*sh.N), make([]float32, sh.T*sh.N)
		matmulRef(want, sh.N, x, sh.K, w, sh.K, nil, sh.T, sh.K, 0, sh.N)
		matmulBF16(got, sh.N, x, sh.K, wb, sh.K, nil, sh.T, sh.K, 0, sh.N)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
				t.Fatalf("matmulBF16 %dx%dx%d [%d] = %g, want %g", sh.T, sh.N, sh.K, i, got[i], want[i])
			}
		}
	}
}

// TestUseBF16 checks a model switched to BF16 weights against the same
// model with its float32 weights rounded to BF16.
func TestUseBF16(t *testing.T) {
	defer keepKernel()()
	if !useKernel("avx512") {
		t.Skip("no AVX-512")
	}
	for _, tied := range []bool{false, true} {
		cfg := tinyConfig(engine.ContextCausal)
		cfg.HeadDim, cfg.Hidden, cfg.Tied = 16, 64, tied
		a, _ := NewRandom(cfg, 5)
		b, _ := NewRandom(cfg, 5)
		for _, tt := range modelTensors(a) {
			if len(tt.shape) != 2 {
				continue // norms and biases stay float32
			}
			for i, v := range tt.data {
				tt.data[i] = math.Float32frombits(uint32(f32ToBF16(v)) << 16)
			}
		}
		if err := b.UseBF16(); err != nil {
			t.Fatal(err)
		}
		var outs [2][]engine.Prediction
		for i, m := range []*Model{a, b} {
			s, err := m.NewSession(engine.SessionOptions{MaxContext: 64})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Prefill(context.Background(), seqTokens(30, 2)); err != nil {
				t.Fatal(err)
			}
			outs[i] = engine.NewPredictions(5, 0)
			if err := s.Denoise(context.Background(), []int32{4, 96, 96, 96, 96}, 0, outs[i]); err != nil {
				t.Fatal(err)
			}
		}
		for i := range outs[0] {
			for j, c := range outs[0][i].Candidates {
				d := outs[1][i].Candidates[j]
				if c.ID != d.ID || math.Abs(float64(c.LogProb-d.LogProb)) > 1e-5 {
					t.Errorf("tied %v pos %d cand %d: float32 %v, BF16 %v", tied, i, j, c, d)
				}
			}
		}
	}
}

// benchFlops runs product, a T×N×K matrix product, b.N times and reports
// GFLOP/s of wall time and of process CPU time; on a shared machine the
// second says what the kernel does with the core it got.
func benchFlops(b *testing.B, T, N, K int, product func()) {
	cpu0 := ProcessCPUTime()
	for b.Loop() {
		product()
	}
	flops := 2 * float64(T*N*K) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu := ProcessCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(flops/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}

// BenchmarkDenoiseDefault times one step of the embedded default model (a
// block of 33 after 200 cached tokens), the latency a completion pays per
// forward pass: with predictions at every block position ("all-33"), and
// at 4 ("rows-4": the LM head, top-k and entropy for those rows only, what
// a step late in a decode needs), on float32 arithmetic and on BF16 dot
// products, side by side.
func BenchmarkDenoiseDefault(b *testing.B) {
	for _, dot := range []bool{false, true} {
		for _, rows := range []int{33, 4} {
			name := fmt.Sprintf("rows-%d", rows)
			if rows == 33 {
				name = "all-33"
			}
			if dot {
				if !BF16DotAvailable() {
					continue
				}
				name += "/bf16dot"
			}
			b.Run(name, func(b *testing.B) { benchDenoiseDefault(b, rows, dot) })
		}
	}
}

// benchDenoiseDefault times the embedded model on float32 arithmetic, or
// on BF16 dot products (dot: what the commands run it on, UseFastest).
func benchDenoiseDefault(b *testing.B, rows int, dot bool) {
	m, _, err := Open("")
	if err != nil {
		b.Skip(err)
	}
	defer m.Close()
	if err := m.SetBF16Dot(dot); err != nil {
		b.Fatal(err)
	}
	s, err := m.NewSession(engine.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Prefill(context.Background(), seqTokens(200, 1)); err != nil {
		b.Fatal(err)
	}
	info := m.Info()
	block := make([]int32, 33)
	for i := range block {
		block[i] = info.MaskID
	}
	out := engine.NewPredictions(rows, 0)
	cpu0 := ProcessCPUTime()
	for b.Loop() {
		if err := s.Denoise(context.Background(), block, 33-rows, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((ProcessCPUTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/step")
}

// TestExpKernels holds the vector exp kernels to the scalar references.
func TestExpKernels(t *testing.T) {
	r := rng{s: 8}
	for _, n := range []int{1, 5, 16, 37, 8192, 151936} {
		x := make([]float32, n)
		for i := range x {
			x[i] = r.sym() * 30
		}
		x[0] = -200 // far below the clamp
		mx := float32(20)
		// references summed in float64: a float32 running sum over 150k terms
		// drifts more than the kernels do
		var ws, wsd float64
		for _, v := range x {
			d := v - mx
			e := float64(expf(d))
			ws += e
			wsd += e * float64(d)
		}
		gs, gsd := expStats(x, mx)
		if math.Abs(float64(gs)-ws) > 1e-5*math.Abs(ws) || math.Abs(float64(gsd)-wsd) > 1e-5*math.Abs(wsd)+1e-6 {
			t.Errorf("expStats(n=%d) = %g, %g, want %g, %g", n, gs, gsd, ws, wsd)
		}
		// The plain path (arm64, amd64 without AVX-512) runs the references.
		if rs, rsd := expStatsRef(x, mx); math.Abs(float64(rs)-ws) > 1e-5*math.Abs(ws) || math.Abs(float64(rsd)-wsd) > 1e-5*math.Abs(wsd)+1e-6 {
			t.Errorf("expStatsRef(n=%d) = %g, %g, want %g, %g", n, rs, rsd, ws, wsd)
		}
		want := append([]float32(nil), x...)
		got := append([]float32(nil), x...)
		rsum := expShiftRef(want, mx)
		gsum := expShift(got, mx)
		if math.Abs(float64(gsum)-ws) > 1e-5*ws || math.Abs(float64(rsum)-ws) > 1e-5*ws {
			t.Errorf("expShift(n=%d) sum = %g, expShiftRef's %g, want %g", n, gsum, rsum, ws)
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*float64(want[i])+1e-37 {
				t.Fatalf("expShift(n=%d)[%d] = %g, want %g (x %g)", n, i, got[i], want[i], x[i])
			}
		}
	}
}

func TestSiluMul(t *testing.T) {
	r := rng{s: 12}
	for _, n := range []int{3, 16, 50, 4864} {
		g, u := randSlice(&r, n), randSlice(&r, n)
		for i := range g {
			g[i] *= 40 // reach both tails of the sigmoid
		}
		want := append([]float32(nil), g...)
		siluMulRef(want, u)
		got := append([]float32(nil), g...)
		siluMul(got, u)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("siluMul(n=%d)[%d] = %g, want %g (g %g)", n, i, got[i], want[i], g[i])
			}
		}
	}
}
