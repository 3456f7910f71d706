package model

import (
	"math"
)

// matmulRef is the plain reference product: y[t][n] = b[n] + sum_k x[t][k]*w[n][k]
// for t < T and lo <= n < hi, rows of x, w and y ldx, ldw and ldy floats
// apart. Every fast kernel is tested against it.
func matmulRef(y []float32, ldy int, x []float32, ldx int, w []float32, ldw int, b []float32, T, K, lo, hi int) {
	for t := 0; t < T; t++ {
		xr := x[t*ldx : t*ldx+K]
		for n := lo; n < hi; n++ {
			wr := w[n*ldw : n*ldw+K]
			var s float32
			for k, xv := range xr {
				s += xv * wr[k]
			}
			if b != nil {
				s += b[n]
			}
			y[t*ldy+n] = s
		}
	}
}

// matmul computes the same product as matmulRef with the fastest kernel the
// CPU has: tiles of 4 rows of x by 4 rows of w, so each loaded vector feeds
// four multiply-adds (AVX-512 or AVX2/FMA on amd64, NEON on arm64).
// Without an assembly kernel (kernGo: amd64 without AVX2/FMA, other
// architectures, UNMASK_KERNEL=go) it is matmulGo.
func matmul(y []float32, ldy int, x []float32, ldx int, w []float32, ldw int, b []float32, T, K, lo, hi int) {
	if kern == kernGo || K < 16 {
		matmulGo(y, ldy, x, ldx, w, ldw, b, T, K, lo, hi)
		return
	}
	kv := K &^ 15 // the assembly handles multiples of 16; the tail is added here
	var acc [16]float32
	n := lo
	for ; n+4 <= hi; n += 4 {
		t := 0
		for ; t+4 <= T; t += 4 {
			tile4(&x[t*ldx], ldx, &w[n*ldw], ldw, kv, &acc)
			if kv < K {
				for i := 0; i < 4; i++ {
					for j := 0; j < 4; j++ {
						acc[i*4+j] += dotTail(x[(t+i)*ldx+kv:(t+i)*ldx+K], w[(n+j)*ldw+kv:(n+j)*ldw+K])
					}
				}
			}
			putTile(y, ldy, t, n, &acc, b)
		}
		for ; t < T; t++ {
			tile1(&x[t*ldx], &w[n*ldw], ldw, kv, &acc)
			if kv < K {
				for j := 0; j < 4; j++ {
					acc[j] += dotTail(x[t*ldx+kv:t*ldx+K], w[(n+j)*ldw+kv:(n+j)*ldw+K])
				}
			}
			putRow(y, ldy, t, n, &acc, b)
		}
	}
	if n < hi {
		matmulGo(y, ldy, x, ldx, w, ldw, b, T, K, n, hi)
	}
}

// matmulGo is matmulRef in plain Go, the matrix kernel wherever no
// assembly one is selected (kernGo). The reference's single sum is one
// chain of dependent adds; matmulGo keeps independent sums instead: tiles
// of 4 rows of x by 4 rows of w (tile4x4Go: sixteen sums, each loaded value
// feeding four multiply-adds) where goTile4x4 says the CPU has the
// registers for them, else 1 row of x by 4 rows of w (tile1x4Go: four
// sums). Columns past the last whole tile run as one row of w by 4 rows
// of x, the corner left over as plain dot products.
func matmulGo(y []float32, ldy int, x []float32, ldx int, w []float32, ldw int, b []float32, T, K, lo, hi int) {
	var acc [16]float32
	n := lo
	for ; n+4 <= hi; n += 4 {
		t := 0
		for ; goTile4x4 && t+4 <= T; t += 4 {
			tile4x4Go(x[t*ldx:], ldx, w[n*ldw:], ldw, K, &acc)
			putTile(y, ldy, t, n, &acc, b)
		}
		for ; t < T; t++ {
			tile1x4Go(x[t*ldx:], w[n*ldw:], ldw, K, &acc)
			putRow(y, ldy, t, n, &acc, b)
		}
	}
	for ; n < hi; n++ {
		var bn float32
		if b != nil {
			bn = b[n]
		}
		t := 0
		for ; t+4 <= T; t += 4 {
			tile1x4Go(w[n*ldw:], x[t*ldx:], ldx, K, &acc) // y[t+i][n] = dot(w row n, x row t+i)
			for i := 0; i < 4; i++ {
				y[(t+i)*ldy+n] = acc[i] + bn
			}
		}
		for ; t < T; t++ {
			y[t*ldy+n] = dotTail(x[t*ldx:t*ldx+K], w[n*ldw:n*ldw+K]) + bn
		}
	}
}

// tile4x4Go sets acc[i*4+j] = dot(x row i, w row j) over K floats, rows
// ldx and ldw floats apart. Every row is cut to length K first, so the
// loop carries no bounds checks (go build -gcflags=-d=ssa/check_bce); the
// sixteen sums are locals, in registers where the CPU has 24 to spare.
func tile4x4Go(x []float32, ldx int, w []float32, ldw int, K int, acc *[16]float32) {
	x0, x1, x2, x3 := x[:K], x[ldx:][:K], x[2*ldx:][:K], x[3*ldx:][:K]
	w0, w1, w2, w3 := w[:K], w[ldw:][:K], w[2*ldw:][:K], w[3*ldw:][:K]
	var s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33 float32
	for k, a0 := range x0 {
		a1, a2, a3 := x1[k], x2[k], x3[k]
		b0, b1, b2, b3 := w0[k], w1[k], w2[k], w3[k]
		s00 += a0 * b0
		s01 += a0 * b1
		s02 += a0 * b2
		s03 += a0 * b3
		s10 += a1 * b0
		s11 += a1 * b1
		s12 += a1 * b2
		s13 += a1 * b3
		s20 += a2 * b0
		s21 += a2 * b1
		s22 += a2 * b2
		s23 += a2 * b3
		s30 += a3 * b0
		s31 += a3 * b1
		s32 += a3 * b2
		s33 += a3 * b3
	}
	*acc = [16]float32{s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33}
}

// tile1x4Go sets acc[j] = dot(x[:K], w row j) for j < 4, rows of w ldw
// floats apart.
func tile1x4Go(x []float32, w []float32, ldw int, K int, acc *[16]float32) {
	x0 := x[:K]
	w0, w1, w2, w3 := w[:K], w[ldw:][:K], w[2*ldw:][:K], w[3*ldw:][:K]
	var s0, s1, s2, s3 float32
	for k, a := range x0 {
		s0 += a * w0[k]
		s1 += a * w1[k]
		s2 += a * w2[k]
		s3 += a * w3[k]
	}
	acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
}

// putRow stores a row of 4 products, acc[0..3] plus the bias b (nil:
// none), at row t and columns n..n+3 of y: the end of the fast products'
// rows left over below the last whole tile.
func putRow(y []float32, ldy, t, n int, acc *[16]float32, b []float32) {
	yr := y[t*ldy+n : t*ldy+n+4 : t*ldy+n+4]
	if b == nil {
		yr[0], yr[1], yr[2], yr[3] = acc[0], acc[1], acc[2], acc[3]
		return
	}
	bb := b[n : n+4 : n+4]
	yr[0], yr[1], yr[2], yr[3] = acc[0]+bb[0], acc[1]+bb[1], acc[2]+bb[2], acc[3]+bb[3]
}

// putTile stores a 4×4 tile of products, plus the bias b (nil: none), at
// rows t..t+3 and columns n..n+3 of y: the fast products' common end.
func putTile(y []float32, ldy, t, n int, acc *[16]float32, b []float32) {
	if b != nil {
		bb := b[n : n+4 : n+4]
		for i := 0; i < 16; i += 4 {
			acc[i] += bb[0]
			acc[i+1] += bb[1]
			acc[i+2] += bb[2]
			acc[i+3] += bb[3]
		}
	}
	for i := 0; i < 4; i++ {
		o := (t+i)*ldy + n
		yr := y[o : o+4 : o+4]
		a := acc[i*4 : i*4+4 : i*4+4]
		yr[0], yr[1], yr[2], yr[3] = a[0], a[1], a[2], a[3]
	}
}

// matmulBF16Ref is matmulRef with BF16 weights (widened exactly to float32).
func matmulBF16Ref(y []float32, ldy int, x []float32, ldx int, w []uint16, ldw int, b []float32, T, K, lo, hi int) {
	for t := 0; t < T; t++ {
		xr := x[t*ldx : t*ldx+K]
		for n := lo; n < hi; n++ {
			wr := w[n*ldw : n*ldw+K]
			var s float32
			for k, xv := range xr {
				s += xv * math.Float32frombits(uint32(wr[k])<<16)
			}
			if b != nil {
				s += b[n]
			}
			y[t*ldy+n] = s
		}
	}
}

// matmulBF16 is matmul with BF16 weights used in place: half the weight
// bytes, float32 arithmetic (the weights widen exactly).
func matmulBF16(y []float32, ldy int, x []float32, ldx int, w []uint16, ldw int, b []float32, T, K, lo, hi int) {
	if kern != kernAVX512 || K < 16 {
		matmulBF16Ref(y, ldy, x, ldx, w, ldw, b, T, K, lo, hi)
		return
	}
	kv := K &^ 15
	var acc [16]float32
	n := lo
	for ; n+4 <= hi; n += 4 {
		t := 0
		for ; t+4 <= T; t += 4 {
			tile4b(&x[t*ldx], ldx, &w[n*ldw], ldw, kv, &acc)
			if kv < K {
				for i := 0; i < 4; i++ {
					for j := 0; j < 4; j++ {
						acc[i*4+j] += dotTailBF16(x[(t+i)*ldx+kv:(t+i)*ldx+K], w[(n+j)*ldw+kv:(n+j)*ldw+K])
					}
				}
			}
			putTile(y, ldy, t, n, &acc, b)
		}
		for ; t < T; t++ {
			tile1b(&x[t*ldx], &w[n*ldw], ldw, kv, &acc)
			if kv < K {
				for j := 0; j < 4; j++ {
					acc[j] += dotTailBF16(x[t*ldx+kv:t*ldx+K], w[(n+j)*ldw+kv:(n+j)*ldw+K])
				}
			}
			putRow(y, ldy, t, n, &acc, b)
		}
	}
	if n < hi {
		matmulBF16Ref(y, ldy, x, ldx, w, ldw, b, T, K, n, hi)
	}
}

// matmulDotRef is the plain reference of BF16 dot products: x and w are
// BF16 bits, each product exact in float32 and summed in float32 (the
// hardware sums each pair before adding it, so the two agree to rounding).
func matmulDotRef(y []float32, ldy int, x []uint16, ldx int, w []uint16, ldw int, b []float32, T, K, lo, hi int) {
	for t := 0; t < T; t++ {
		xr := x[t*ldx : t*ldx+K]
		for n := lo; n < hi; n++ {
			s := dotBF16(xr, w[n*ldw:n*ldw+K])
			if b != nil {
				s += b[n]
			}
			y[t*ldy+n] = s
		}
	}
}

func dotBF16(a, b []uint16) float32 {
	var s float32
	for i, v := range a {
		s += math.Float32frombits(uint32(v)<<16) * math.Float32frombits(uint32(b[i])<<16)
	}
	return s
}

// matmulDot is matmulDotRef on AVX-512 BF16 dot products (Model.SetBF16Dot):
// tiles of 4 rows of x by 4 rows of w over multiples of 32 values, the rest
// in Go.
func matmulDot(y []float32, ldy int, x []uint16, ldx int, w []uint16, ldw int, b []float32, T, K, lo, hi int) {
	if !hasDPBF16 || K < 32 {
		matmulDotRef(y, ldy, x, ldx, w, ldw, b, T, K, lo, hi)
		return
	}
	kv := K &^ 31
	var acc [16]float32
	n := lo
	for ; n+4 <= hi; n += 4 {
		t := 0
		for ; t+4 <= T; t += 4 {
			tile4d(&x[t*ldx], ldx, &w[n*ldw], ldw, kv, &acc)
			if kv < K {
				for i := 0; i < 4; i++ {
					for j := 0; j < 4; j++ {
						acc[i*4+j] += dotBF16(x[(t+i)*ldx+kv:(t+i)*ldx+K], w[(n+j)*ldw+kv:(n+j)*ldw+K])
					}
				}
			}
			putTile(y, ldy, t, n, &acc, b)
		}
		for ; t < T; t++ {
			tile1d(&x[t*ldx], &w[n*ldw], ldw, kv, &acc)
			if kv < K {
				for j := 0; j < 4; j++ {
					acc[j] += dotBF16(x[t*ldx+kv:t*ldx+K], w[(n+j)*ldw+kv:(n+j)*ldw+K])
				}
			}
			putRow(y, ldy, t, n, &acc, b)
		}
	}
	if n < hi {
		matmulDotRef(y, ldy, x, ldx, w, ldw, b, T, K, n, hi)
	}
}

// roundBF16 rounds src to BF16 bits in dst (nearest even, as f32ToBF16;
// the vector instruction reads subnormal floats, below 1.2e-38, as zero,
// as the dot products would read them anyway).
func roundBF16(dst []uint16, src []float32) {
	n := 0
	if hasDPBF16 {
		n = len(src) &^ 15
		if n > 0 {
			toBF16AVX512(&dst[0], &src[0], n)
		}
	}
	for i := n; i < len(src); i++ {
		dst[i] = f32ToBF16(src[i])
	}
}

func dotTailBF16(a []float32, b []uint16) float32 {
	var s float32
	for i, v := range a {
		s += v * math.Float32frombits(uint32(b[i])<<16)
	}
	return s
}

func dotTail(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// The kernel chosen at start by CPU features (kernels_amd64.go; arm64
// always has NEON, kernels_arm64.go). tile4 and tile1 dispatch on it with
// direct calls, so their accumulators stay on the stack (a call through a
// func value would move them to the heap).
const (
	kernGo = iota
	kernAVX2
	kernAVX512
	kernNEON
)

var (
	kern       = kernGo
	kernelName = "go"
)

// KernelName reports which matrix kernel this CPU runs ("avx512", "avx2",
// "neon", "go").
func KernelName() string { return kernelName }

// rmsNorm writes w * x / sqrt(mean(x^2) + eps) for one row, as
// transformers' Qwen2RMSNorm (float32 throughout).
func rmsNorm(dst, x, w []float32, eps float64) {
	var ss float32
	for _, v := range x {
		ss += v * v
	}
	r := float32(1 / math.Sqrt(float64(ss/float32(len(x)))+eps))
	for i, v := range x {
		dst[i] = w[i] * (v * r)
	}
}

// expf is a float32 exp accurate to about 2 ulp: the softmaxes over a
// 150k vocabulary and SiLU call it millions of times per step, where
// math.Exp's float64 path costs more than the products around it.
func expf(x float32) float32 {
	if x < -87.3 {
		return 0
	}
	if x > 88.7 {
		return float32(math.Inf(1))
	}
	// x = n*ln2 + r, |r| <= ln2/2 (Cody-Waite split of ln2).
	n := float32(math.Floor(float64(x*1.44269504088896341 + 0.5)))
	r := x - n*0.693359375
	r -= n * -2.12194440e-4
	// Cephes expf polynomial on the reduced range.
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	return math.Float32frombits(math.Float32bits(p) + uint32(int32(n))<<23)
}

// silu is x * sigmoid(x).
func silu(x float32) float32 {
	return x / (1 + expf(-x))
}

// ropeTables fills cos and sin ([rows][half]) for positions p0..p0+rows-1
// the way transformers computes them: inverse frequencies and angles in
// float32, cos/sin of the float32 angle.
func ropeTables(cos, sin, invFreq []float32, p0, rows int) {
	half := len(invFreq)
	for t := 0; t < rows; t++ {
		pos := float32(p0 + t)
		for i, f := range invFreq {
			a := float64(pos * f)
			s, c := math.Sincos(a)
			cos[t*half+i] = float32(c)
			sin[t*half+i] = float32(s)
		}
	}
}

// rope rotates one head vector in place, halves convention (rotate_half:
// pairs are (i, i+half)), as Qwen2, LLaMA and LLaDA do.
func rope(v, cos, sin []float32) {
	half := len(cos)
	for i := 0; i < half; i++ {
		a, b := v[i], v[i+half]
		v[i] = a*cos[i] - b*sin[i]
		v[i+half] = b*cos[i] + a*sin[i]
	}
}

// topKEntropy fills cands with the k most probable tokens of logits (most
// probable first) with their log-probabilities, and returns the entropy of
// the softmax in nats. Stable: everything is relative to the maximum.
func topKEntropy(logits []float32, cands []candidate) float32 {
	mx := float32(math.Inf(-1))
	for _, v := range logits {
		if v > mx {
			mx = v
		}
	}
	// sum e^(l-m) and sum e^(l-m)*(l-m), in float64 for a 150k-term sum
	var s, sl float64
	for i := 0; i < len(logits); i += 4096 {
		ps, psl := expStats(logits[i:min(i+4096, len(logits))], mx)
		s += float64(ps)
		sl += float64(psl)
	}
	lse := math.Log(s) // log-sum-exp minus the max
	// H = -sum p log p = lse - E[l-m]
	ent := lse - sl/s

	// k-best by insertion: k is small (8) and most logits fail the first test.
	k := len(cands)
	for i := range cands {
		cands[i] = candidate{id: -1, logit: float32(math.Inf(-1))}
	}
	for i, v := range logits {
		if v <= cands[k-1].logit {
			continue
		}
		j := k - 1
		for j > 0 && cands[j-1].logit < v {
			cands[j] = cands[j-1]
			j--
		}
		cands[j] = candidate{id: int32(i), logit: v}
	}
	for i := range cands {
		cands[i].logit = cands[i].logit - mx - float32(lse)
	}
	if ent < 0 {
		ent = 0
	}
	return float32(ent)
}

type candidate struct {
	id    int32
	logit float32
}

// expShiftRef is the plain reference of expShift.
func expShiftRef(x []float32, mx float32) float32 {
	// The sum in float64: a float32 running sum over a vocabulary's 150k
	// terms drifts by 2e-5 of itself, more than the vector kernels' lanes do.
	var s float64
	for i, v := range x {
		e := expf(v - mx)
		x[i] = e
		s += float64(e)
	}
	return float32(s)
}

// expStatsRef is the plain reference of expStats.
func expStatsRef(x []float32, mx float32) (s, sd float32) {
	var s64, sd64 float64 // as in expShiftRef
	for _, v := range x {
		d := v - mx
		e := expf(d)
		s64 += float64(e)
		sd64 += float64(e * d)
	}
	return float32(s64), float32(sd64)
}

// siluMulRef is the plain reference of siluMul.
func siluMulRef(g, u []float32) {
	for i, v := range g {
		g[i] = silu(v) * u[i]
	}
}
