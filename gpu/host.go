package gpu

import (
	"math"
	"sync"
)

// hostExec is the reference executor: each operation in plain Go, written
// the way kernels.cu computes it (f32 activations, bf16 or f32 weights). It
// makes the engine runnable — and testable against the CPU engine of
// package model — without a GPU, and it is what the CUDA kernels are held
// to, operation by operation.
type hostExec struct{}

func (hostExec) alloc(n int) (vec, error) { return vec{h: make([]float32, n)}, nil }
func (hostExec) free(vec)                 {}
func (hostExec) upload(v vec, src []float32) error {
	copy(v.h[v.off:], src)
	return nil
}
func (hostExec) do(fn func() error) error { return fn() }

func (w *weight) row(n int, dst []float32) []float32 {
	dst = dst[:w.in]
	if w.bf16 {
		for i, h := range w.h16[n*w.in : (n+1)*w.in] {
			dst[i] = bf16f(h)
		}
	} else {
		copy(dst, w.h32[n*w.in:(n+1)*w.in])
	}
	return dst
}

func (hostExec) embed(x vec, table *weight, ids []int32, scale float32) error {
	H := table.in
	for t, id := range ids {
		r := table.row(int(id), x.h[x.off+t*H:x.off+(t+1)*H])
		if scale != 0 {
			for i := range r {
				r[i] *= scale
			}
		}
	}
	return nil
}

func (hostExec) rmsnorm(dst, x, w vec, T, H int, eps float64) error {
	for t := 0; t < T; t++ {
		xr := x.h[x.off+t*H : x.off+(t+1)*H]
		var ss float32
		for _, v := range xr {
			ss += v * v
		}
		r := float32(1 / math.Sqrt(float64(ss/float32(H))+eps))
		d := dst.h[dst.off+t*H : dst.off+(t+1)*H]
		for i, v := range xr {
			d[i] = w.h[w.off+i] * (v * r)
		}
	}
	return nil
}

func (hostExec) matmul(y, x vec, w *weight, T int, accumulate bool) error {
	N, K := w.out, w.in
	var wg sync.WaitGroup
	// Columns split over goroutines: the reference runs whole checkpoints
	// in tests.
	parts := 4
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			row := make([]float32, K)
			for n := lo; n < hi; n++ {
				wr := w.row(n, row)
				var b float32
				if w.bias != nil {
					b = w.bias.h[w.bias.off+n]
				}
				for t := 0; t < T; t++ {
					xr := x.h[x.off+t*K : x.off+(t+1)*K]
					var acc float32
					for k, v := range wr {
						acc += xr[k] * v
					}
					yp := &y.h[y.off+t*N+n]
					if accumulate {
						*yp += acc + b
					} else {
						*yp = acc + b
					}
				}
			}
		}(N*p/parts, N*(p+1)/parts)
	}
	wg.Wait()
	return nil
}

func (hostExec) rope(v, cos, sin vec, p0, T, heads, hd, stride int) error {
	half := hd / 2
	for t := 0; t < T; t++ {
		c := cos.h[cos.off+(p0+t)*half : cos.off+(p0+t+1)*half]
		s := sin.h[sin.off+(p0+t)*half : sin.off+(p0+t+1)*half]
		for h := 0; h < heads; h++ {
			r := v.h[v.off+t*stride+h*hd : v.off+t*stride+(h+1)*hd]
			for i := 0; i < half; i++ {
				a, b := r[i], r[i+half]
				r[i] = a*c[i] - b*s[i]
				r[i+half] = b*c[i] + a*s[i]
			}
		}
	}
	return nil
}

func (hostExec) attention(out, q, keys, vals vec, p0, T int, causal bool, heads, kvHeads, hd int) error {
	qd, kvd := heads*hd, kvHeads*hd
	group := heads / kvHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	sc := make([]float32, p0+T)
	for t := 0; t < T; t++ {
		last := p0 + T - 1
		if causal {
			last = p0 + t
		}
		for h := 0; h < heads; h++ {
			kvh := h / group
			qr := q.h[q.off+t*qd+h*hd : q.off+t*qd+(h+1)*hd]
			mx := float32(math.Inf(-1))
			for p := 0; p <= last; p++ {
				k := keys.h[keys.off+p*kvd+kvh*hd : keys.off+p*kvd+(kvh+1)*hd]
				var d float32
				for i, v := range qr {
					d += v * k[i]
				}
				sc[p] = d * scale
				mx = max(mx, sc[p])
			}
			var sum float32
			for p := 0; p <= last; p++ {
				sc[p] = float32(math.Exp(float64(sc[p] - mx)))
				sum += sc[p]
			}
			o := out.h[out.off+t*qd+h*hd : out.off+t*qd+(h+1)*hd]
			clear(o)
			for p := 0; p <= last; p++ {
				wgt := sc[p] / sum
				v := vals.h[vals.off+p*kvd+kvh*hd : vals.off+p*kvd+(kvh+1)*hd]
				for i, vv := range v {
					o[i] += wgt * vv
				}
			}
		}
	}
	return nil
}

func (hostExec) siluMul(g, u vec, n int) error {
	gs, us := g.h[g.off:g.off+n], u.h[u.off:u.off+n]
	for i, v := range gs {
		gs[i] = v / (1 + float32(math.Exp(float64(-v)))) * us[i]
	}
	return nil
}

func (hostExec) scale(v vec, s float32, n int) error {
	for i := range v.h[v.off : v.off+n] {
		v.h[v.off+i] *= s
	}
	return nil
}

func (hostExec) topk(logits vec, rows, V, k int, ids []int32, logp, ent []float32) error {
	for r := 0; r < rows; r++ {
		lg := logits.h[logits.off+r*V : logits.off+(r+1)*V]
		ent[r] = topKRef(lg, ids[r*k:(r+1)*k], logp[r*k:(r+1)*k])
	}
	return nil
}

// topKRef fills ids/logp with the len(ids) most probable entries of logits
// (ties: lower id first) and returns the entropy in nats.
func topKRef(lg []float32, ids []int32, logp []float32) float32 {
	mx := float32(math.Inf(-1))
	for _, v := range lg {
		mx = max(mx, v)
	}
	var s, sl float64
	for _, v := range lg {
		d := float64(v - mx)
		e := math.Exp(d)
		s += e
		sl += e * d
	}
	lse := math.Log(s)
	k := len(ids)
	for i := range ids {
		ids[i], logp[i] = -1, float32(math.Inf(-1))
	}
	for i, v := range lg {
		if v <= logp[k-1] {
			continue
		}
		j := k - 1
		for j > 0 && logp[j-1] < v {
			ids[j], logp[j] = ids[j-1], logp[j-1]
			j--
		}
		ids[j], logp[j] = int32(i), v
	}
	for i := range logp {
		logp[i] = logp[i] - mx - float32(lse)
	}
	return float32(max(lse-sl/s, 0))
}
