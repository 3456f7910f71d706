package model

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/unmask/unmask/engine"
)

// TestMatmulDot holds the AVX-512 BF16 dot-product kernel to its plain
// reference over shapes with row, column and K tails (K not a multiple of
// 32 is summed in Go), and strided rows.
func TestMatmulDot(t *testing.T) {
	if !BF16DotAvailable() {
		t.Skip("no AVX-512 BF16")
	}
	r := rng{s: 11}
	for _, sh := range []struct{ T, N, K, pad int }{
		{1, 4, 32, 0}, {4, 4, 64, 0}, {5, 9, 32, 0}, {33, 37, 100, 0}, {4, 12, 896, 0},
		{7, 10, 256, 24}, {3, 5, 31, 0}, {32, 704, 256, 0},
	} {
		ld := sh.K + sh.pad
		x, w := toBF16(randSlice(&r, sh.T*ld)), toBF16(randSlice(&r, sh.N*ld))
		bias := randSlice(&r, sh.N)
		want, got := make([]float32, sh.T*sh.N), make([]float32, sh.T*sh.N)
		matmulDotRef(want, sh.N, x, ld, w, ld, bias, sh.T, sh.K, 0, sh.N)
		matmulDot(got, sh.N, x, ld, w, ld, bias, sh.T, sh.K, 0, sh.N)
		for i := range want {
			// The hardware adds each pair's products before the
			// accumulator and sums 16 lanes at the end: the same terms
			// in another order.
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*float64(sh.K) {
				t.Fatalf("matmulDot %dx%dx%d (ld %d) [%d] = %g, want %g", sh.T, sh.N, sh.K, ld, i, got[i], want[i])
			}
		}
		// A column range, as the pool splits it.
		part := make([]float32, sh.T*sh.N)
		lo, hi := sh.N/3, sh.N-sh.N/4
		matmulDot(part, sh.N, x, ld, w, ld, nil, sh.T, sh.K, lo, hi)
		for tt := 0; tt < sh.T; tt++ {
			for n := 0; n < sh.N; n++ {
				v := part[tt*sh.N+n]
				if n < lo || n >= hi {
					if v != 0 {
						t.Fatalf("matmulDot wrote column %d outside [%d, %d)", n, lo, hi)
					}
					continue
				}
				if d := math.Abs(float64(v + bias[n] - want[tt*sh.N+n])); d > 1e-5*float64(sh.K) {
					t.Fatalf("matmulDot columns [%d, %d): [%d][%d] = %g, want %g", lo, hi, tt, n, v+bias[n], want[tt*sh.N+n])
				}
			}
		}
	}
}

// TestRoundBF16 holds the vector conversion to f32ToBF16 (nearest even)
// on values around the rounding points, signs, zeros and tails; subnormal
// floats, which VCVTNEPS2BF16 reads as zero, give a signed zero.
func TestRoundBF16(t *testing.T) {
	var src []float32
	for _, base := range []uint32{0x3F800000, 0xBF800000, 0x40490FDB, 0x00000000, 0x80000000, 0x7F7FFFFF, 0x3A83126F} {
		for _, low := range []uint32{0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0x18000, 0x28000} {
			src = append(src, math.Float32frombits(base&0xFFFF0000), math.Float32frombits(base&0xFFFF0000+low))
		}
	}
	src = append(src, 1.5, -2.25, 3) // a tail after the multiples of 16
	dst := make([]uint16, len(src))
	roundBF16(dst, src)
	for i, f := range src {
		want := f32ToBF16(f)
		if bits := math.Float32bits(f); bits&0x7F800000 == 0 && hasDPBF16 && i < len(src)&^15 {
			want = uint16(bits>>16) & 0x8000 // the instruction reads subnormals as zero
		}
		if dst[i] != want {
			t.Errorf("roundBF16(%#08x) = %#04x, want %#04x", math.Float32bits(f), dst[i], want)
		}
	}
}

// TestSetBF16Dot compares a model on BF16 dot products with the same model
// on float32 arithmetic over BF16 weights: the top candidate agrees
// everywhere and log-probabilities to within BF16 rounding of the
// activations. The second shape fills the session, so that attention's
// padded P·V meets the end of its buffers.
func TestSetBF16Dot(t *testing.T) {
	if !BF16DotAvailable() {
		t.Skip("no AVX-512 BF16")
	}
	cfg := tinyConfig(engine.ContextCausal)
	cfg.HeadDim, cfg.Hidden, cfg.Intermediate = 16, 64, 128
	a, _ := NewRandom(cfg, 5)
	b, _ := NewRandom(cfg, 5)
	if err := a.UseBF16(); err != nil {
		t.Fatal(err)
	}
	if err := b.SetBF16Dot(true); err != nil {
		t.Fatal(err)
	}
	for _, sh := range []struct{ ctx, maxCtx, maxBlk int }{{70, 96, 0}, {88, 90, 5}} {
		var outs [2][]engine.Prediction
		for i, m := range []*Model{a, b} {
			s, err := m.NewSession(engine.SessionOptions{MaxContext: sh.maxCtx, MaxBlock: sh.maxBlk})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Prefill(context.Background(), seqTokens(sh.ctx, 2)); err != nil {
				t.Fatal(err)
			}
			outs[i] = engine.NewPredictions(5, 0)
			if err := s.Denoise(context.Background(), []int32{4, 96, 96, 96, 96}, 0, outs[i]); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
		worst := 0.0
		for i := range outs[0] {
			f, d := outs[0][i].Candidates[0], outs[1][i].Candidates[0]
			if f.ID != d.ID {
				t.Errorf("context %d of %d: pos %d: top candidate %d on float32, %d on BF16 dot products", sh.ctx, sh.maxCtx, i, f.ID, d.ID)
			}
			worst = max(worst, math.Abs(float64(f.LogProb-d.LogProb)))
		}
		if worst > 0.05 {
			t.Errorf("context %d of %d: log-probabilities differ by up to %.4f, want within 0.05", sh.ctx, sh.maxCtx, worst)
		}
		t.Logf("context %d of %d: largest top-1 log-probability difference: %.5f", sh.ctx, sh.maxCtx, worst)
	}
}

// BenchmarkMatmulDot times BF16 dot products beside the float32 kernel
// and BF16 weights in place on the embedded model's MLP products and the
// Qwen2.5-0.5B MLP's, one goroutine (conversion of the input rows
// included).
func BenchmarkMatmulDot(b *testing.B) {
	if !BF16DotAvailable() {
		b.Skip("no AVX-512 BF16")
	}
	for _, sh := range []struct{ T, N, K int }{{33, 704, 256}, {33, 256, 704}, {32, 4864, 896}} {
		r := rng{s: 1}
		x, w := randSlice(&r, sh.T*sh.K), randSlice(&r, sh.N*sh.K)
		wb, xb := toBF16(w), make([]uint16, len(x))
		y := make([]float32, sh.T*sh.N)
		name := fmt.Sprintf("%dx%dx%d", sh.T, sh.N, sh.K)
		b.Run("avx512/"+name, func(b *testing.B) {
			benchFlops(b, sh.T, sh.N, sh.K, func() {
				matmul(y, sh.N, x, sh.K, w, sh.K, nil, sh.T, sh.K, 0, sh.N)
			})
		})
		b.Run("avx512-bf16-weights/"+name, func(b *testing.B) {
			benchFlops(b, sh.T, sh.N, sh.K, func() {
				matmulBF16(y, sh.N, x, sh.K, wb, sh.K, nil, sh.T, sh.K, 0, sh.N)
			})
		})
		b.Run("avx512-bf16-dot/"+name, func(b *testing.B) {
			benchFlops(b, sh.T, sh.N, sh.K, func() {
				roundBF16(xb, x)
				matmulDot(y, sh.N, xb, sh.K, wb, sh.K, nil, sh.T, sh.K, 0, sh.N)
			})
		})
	}
}

// UseFastest leaves a float32 checkpoint on float32 arithmetic: rounding
// its weights would change the model.
func TestUseFastestKeepsFloat32(t *testing.T) {
	m, err := Load("testdata/tiny-qwen2")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	on, err := m.UseFastest()
	if err != nil || on || m.BF16Dot() {
		t.Errorf("UseFastest on a float32 checkpoint = %v, %v (BF16Dot %v), want false", on, err, m.BF16Dot())
	}
}
