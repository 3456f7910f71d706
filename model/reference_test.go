package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
)

// refForward is a plain, unchunked, uncached forward over a whole sequence
// with an explicit attention mask, written independently of the session
// code: the cached paths are held to it.
func refForward(m *Model, toks []int32, allowed func(i, j int) bool) [][]float64 {
	c := &m.cfg
	T, H, hd := len(toks), c.Hidden, c.HeadDim
	x := make([][]float64, T)
	for t := range x {
		x[t] = make([]float64, H)
		for i := range x[t] {
			v := float64(m.embed[int(toks[t])*H+i])
			if c.EmbedScale != 0 {
				v *= float64(c.EmbedScale)
			}
			x[t][i] = v
		}
	}
	norm := func(v []float64, w []float32) []float64 {
		var ss float64
		for _, a := range v {
			ss += a * a
		}
		r := 1 / math.Sqrt(ss/float64(len(v))+c.RMSEps)
		out := make([]float64, len(v))
		for i := range v {
			out[i] = float64(w[i]) * v[i] * r
		}
		return out
	}
	lin := func(v []float64, l *linear) []float64 {
		out := make([]float64, l.out)
		for n := range out {
			var s float64
			for k := range v {
				s += v[k] * float64(l.w[n*l.in+k])
			}
			if l.b != nil {
				s += float64(l.b[n])
			}
			out[n] = s
		}
		return out
	}
	inv := c.RopeInvFreqs()
	rot := func(v []float64, pos int) {
		half := hd / 2
		for i := 0; i < half; i++ {
			a := float64(float32(pos) * inv[i])
			cs, sn := math.Cos(a), math.Sin(a)
			p, q := v[i], v[i+half]
			v[i] = p*cs - q*sn
			v[i+half] = q*cs + p*sn
		}
	}
	group := c.Heads / c.KVHeads
	for li := range m.layers {
		L := &m.layers[li]
		Q, K, V := make([][]float64, T), make([][]float64, T), make([][]float64, T)
		for t := 0; t < T; t++ {
			xn := norm(x[t], L.attnNorm)
			Q[t], K[t], V[t] = lin(xn, &L.q), lin(xn, &L.k), lin(xn, &L.v)
			for h := 0; h < c.Heads; h++ {
				rot(Q[t][h*hd:(h+1)*hd], t)
			}
			for h := 0; h < c.KVHeads; h++ {
				rot(K[t][h*hd:(h+1)*hd], t)
			}
		}
		for t := 0; t < T; t++ {
			att := make([]float64, c.Heads*hd)
			for h := 0; h < c.Heads; h++ {
				kh := h / group
				w := make([]float64, T)
				mx := math.Inf(-1)
				for j := 0; j < T; j++ {
					if !allowed(t, j) {
						w[j] = math.Inf(-1)
						continue
					}
					var d float64
					for i := 0; i < hd; i++ {
						d += Q[t][h*hd+i] * K[j][kh*hd+i]
					}
					w[j] = d / math.Sqrt(float64(hd))
					mx = math.Max(mx, w[j])
				}
				var sum float64
				for j := range w {
					w[j] = math.Exp(w[j] - mx)
					sum += w[j]
				}
				for j := range w {
					for i := 0; i < hd; i++ {
						att[h*hd+i] += w[j] / sum * V[j][kh*hd+i]
					}
				}
			}
			o := lin(att, &L.o)
			for i := range o {
				x[t][i] += o[i]
			}
			xn := norm(x[t], L.mlpNorm)
			g, u := lin(xn, &L.gate), lin(xn, &L.up)
			for i := range g {
				g[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
			}
			d := lin(g, &L.down)
			for i := range d {
				x[t][i] += d[i]
			}
		}
	}
	logits := make([][]float64, T)
	for t := range logits {
		logits[t] = lin(norm(x[t], m.norm), &m.head)
		if c.LogitScale != 0 {
			for i := range logits[t] {
				logits[t][i] *= float64(c.LogitScale)
			}
		}
	}
	return logits
}

// refPrediction is top-k log-probabilities and entropy from float64 logits.
func refPrediction(l []float64, k int) ([]int32, []float64, float64) {
	mx := math.Inf(-1)
	for _, v := range l {
		mx = math.Max(mx, v)
	}
	var s float64
	for _, v := range l {
		s += math.Exp(v - mx)
	}
	lse := mx + math.Log(s)
	var ent float64
	for _, v := range l {
		p := math.Exp(v - lse)
		ent -= p * (v - lse)
	}
	ids := make([]int32, 0, k)
	lps := make([]float64, 0, k)
	used := map[int]bool{}
	for len(ids) < k {
		best := -1
		for i, v := range l {
			if !used[i] && (best < 0 || v > l[best]) {
				best = i
			}
		}
		used[best] = true
		ids = append(ids, int32(best))
		lps = append(lps, l[best]-lse)
	}
	return ids, lps, ent
}

func tinyConfig(att engine.Attention) Config {
	return Config{
		Family: FamilyUnmask, Hidden: 48, Intermediate: 80, Layers: 2, Heads: 6, KVHeads: 2,
		Vocab: 97, MaxPosition: 256, RMSEps: 1e-6, RopeTheta: 10000, QKVBias: true,
		Attention: att, Shift: true, BlockSize: 4,
		MaskID: 96, EOSID: 95, PadID: engine.NoToken, BOSID: engine.NoToken,
		FIMPrefixID: 92, FIMMiddleID: 93, FIMSuffixID: 94,
	}
}

func seqTokens(n int, seed int32) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = (seed*31 + int32(i)*17 + int32(i*i)) % 90
	}
	return out
}

// checkPrediction compares a session's prediction with the float64 reference.
func checkPrediction(t *testing.T, what string, got engine.Prediction, logits []float64, tol float64) {
	t.Helper()
	ids, lps, ent := refPrediction(logits, len(got.Candidates))
	for j, c := range got.Candidates {
		// Near-ties may swap order; compare log-probs by id.
		lp := logits[c.ID]
		mx := math.Inf(-1)
		for _, v := range logits {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range logits {
			s += math.Exp(v - mx)
		}
		want := lp - mx - math.Log(s)
		if math.Abs(float64(c.LogProb)-want) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: candidate %d id %d logprob %g, want %g", what, j, c.ID, c.LogProb, want)
		}
		if math.Abs(want-lps[j]) > tol*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: candidate %d is id %d (logprob %g), reference has id %d (logprob %g)", what, j, c.ID, want, ids[j], lps[j])
		}
	}
	if math.Abs(float64(got.Entropy)-ent) > tol*math.Max(1, ent) {
		t.Errorf("%s: entropy %g, want %g", what, got.Entropy, ent)
	}
}

// TestSessionMatchesReference holds every attention mode's cached path
// (prefill, prefix reuse, truncate, denoise) to an uncached full-sequence
// forward with the mode's explicit mask.
func TestSessionMatchesReference(t *testing.T) {
	defer keepKernel()()
	for _, kn := range kernels() {
		setKernel(kn)
		for _, hd := range []int{8, 32} { // 32: attention products take the assembly path
			for _, att := range []engine.Attention{engine.ContextCausal, engine.Causal, engine.Bidirectional} {
				t.Run(fmt.Sprintf("%s/hd%d/%s", kn, hd, att), func(t *testing.T) { testSessionMatchesReference(t, att, hd) })
			}
		}
	}
}

func testSessionMatchesReference(t *testing.T, att engine.Attention, hd int) {
	{
		{
			cfg := tinyConfig(att)
			cfg.HeadDim = hd
			m, err := NewRandom(cfg, 7)
			if err != nil {
				t.Fatal(err)
			}
			m.SetThreads(2)
			ctxToks := seqTokens(70, 3) // longer than one 64-row chunk
			block := []int32{5, 96, 96, 96, 96, 12}
			n := len(ctxToks)
			full := append(append([]int32{}, ctxToks...), block...)
			var allowed func(i, j int) bool
			switch att {
			case engine.ContextCausal:
				allowed = func(i, j int) bool { return j <= i || i >= n }
			case engine.Causal:
				allowed = func(i, j int) bool { return j <= i }
			default:
				allowed = func(i, j int) bool { return true }
			}
			ref := refForward(m, full, allowed)

			s, err := m.NewSession(engine.SessionOptions{MaxContext: 128, MaxBlock: 8})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			// Fill with another context first, so prefix reuse and truncation run.
			other := append(append([]int32{}, ctxToks[:40]...), seqTokens(20, 9)...)
			if _, err := s.Prefill(ctx, other); err != nil {
				t.Fatal(err)
			}
			reused, err := s.Prefill(ctx, ctxToks)
			if err != nil {
				t.Fatal(err)
			}
			if reused < 40 {
				t.Errorf("Prefill reused %d tokens, want >= 40", reused)
			}
			out := engine.NewPredictions(len(block)-1, 0)
			if err := s.Denoise(ctx, block, 1, out); err != nil {
				t.Fatal(err)
			}
			for i := range out {
				checkPrediction(t, string(att)+" block", out[i], ref[n+1+i], 2e-4)
			}
			// Rows inside the block alone (the last layer and the head run
			// for those rows only) match the reference too.
			for _, r := range [][2]int{{3, 1}, {2, 2}, {5, 1}} {
				part := engine.NewPredictions(r[1], 0)
				if err := s.Denoise(ctx, block, r[0], part); err != nil {
					t.Fatal(err)
				}
				for i := range part {
					checkPrediction(t, fmt.Sprintf("%s block rows %d..%d", att, r[0], r[0]+r[1]-1), part[i], ref[n+r[0]+i], 2e-4)
				}
			}
			// A second step on the same context gives the same answer (the
			// block's keys did not join the context).
			out2 := engine.NewPredictions(len(block)-1, 0)
			if err := s.Denoise(ctx, block, 1, out2); err != nil {
				t.Fatal(err)
			}
			for i := range out {
				for j := range out[i].Candidates {
					if out[i].Candidates[j] != out2[i].Candidates[j] {
						t.Fatalf("second Denoise differs at %d/%d: %v vs %v", i, j, out[i].Candidates[j], out2[i].Candidates[j])
					}
				}
			}
			if err := s.Truncate(30); err != nil {
				t.Fatal(err)
			}
			if got := len(s.Tokens()); got != 30 {
				t.Fatalf("after Truncate(30) the context has %d tokens", got)
			}
			if reused, err := s.Prefill(ctx, ctxToks); err != nil || reused != 30 {
				t.Fatalf("Prefill after Truncate reused %d (err %v), want 30", reused, err)
			}
			if err := s.Denoise(ctx, block, 1, out2); err != nil {
				t.Fatal(err)
			}
			for i := range out2 {
				checkPrediction(t, string(att)+" after truncate", out2[i], ref[n+1+i], 2e-4)
			}
		}
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	for _, att := range []engine.Attention{engine.ContextCausal, engine.Bidirectional} {
		cfg := tinyConfig(att)
		cfg.HeadDim = 32 // attention products on the assembly kernels
		m, err := NewRandom(cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		m.SetThreads(2)
		s, err := m.NewSession(engine.SessionOptions{MaxContext: 128})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		a, b := seqTokens(50, 1), seqTokens(50, 2)
		block := []int32{5, 96, 96, 96, 96}
		out := engine.NewPredictions(4, 0)
		i := 0
		allocs := testing.AllocsPerRun(5, func() {
			i++
			toks := a
			if i%2 == 0 {
				toks = b
			}
			if _, err := s.Prefill(ctx, toks); err != nil {
				t.Fatal(err)
			}
			if err := s.Denoise(ctx, block, 1, out); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Prefill+Denoise allocate %v times per run, want 0", att, allocs)
		}
		s.Close()
	}
}

func TestSessionErrors(t *testing.T) {
	m, err := NewRandom(tinyConfig(engine.ContextCausal), 3)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(engine.SessionOptions{MaxContext: 16, MaxBlock: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := engine.NewPredictions(2, 0)
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"prefill too long", func() error { _, err := s.Prefill(ctx, seqTokens(17, 1)); return err }, engine.ErrContextFull},
		{"prefill bad token", func() error { _, err := s.Prefill(ctx, []int32{1, 97}); return err }, engine.ErrToken},
		{"prefill negative token", func() error { _, err := s.Prefill(ctx, []int32{-3}); return err }, engine.ErrToken},
		{"block too long", func() error { return s.Denoise(ctx, []int32{1, 2, 3, 4, 5}, 0, out) }, engine.ErrBlockSize},
		{"empty block", func() error { return s.Denoise(ctx, nil, 0, out[:0]) }, engine.ErrBlockSize},
		{"block bad token", func() error { return s.Denoise(ctx, []int32{1, 200}, 0, out) }, engine.ErrToken},
	}
	for _, tc := range cases {
		if err := tc.run(); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := s.Denoise(ctx, []int32{1, 2}, 1, out); err == nil {
		t.Errorf("Denoise with out past the block's end succeeded")
	}
	if err := s.Truncate(1); err == nil {
		t.Errorf("Truncate(1) of an empty context succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Prefill(cancelled, seqTokens(8, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Prefill on a cancelled context = %v, want context.Canceled", err)
	}
	if err := s.Denoise(cancelled, []int32{1, 2}, 0, out); !errors.Is(err, context.Canceled) {
		t.Errorf("Denoise on a cancelled context = %v, want context.Canceled", err)
	}
	if b := s.(interface{ Bytes() int64 }).Bytes(); b <= 0 {
		t.Errorf("Bytes() = %d, want > 0", b)
	}
	s.Close()
	if _, err := s.Prefill(ctx, []int32{1}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Prefill after Close = %v, want ErrClosed", err)
	}
}

// TestDroppedSessionStopsWorkers: a session dropped without Close must not
// leave its pool's goroutines behind.
func TestDroppedSessionStopsWorkers(t *testing.T) {
	m, err := NewRandom(tinyConfig(engine.ContextCausal), 3)
	if err != nil {
		t.Fatal(err)
	}
	m.SetThreads(4)
	before := runtime.NumGoroutine()
	for range 5 {
		if _, err := m.NewSession(engine.SessionOptions{MaxContext: 16}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 50 && runtime.NumGoroutine() > before; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after dropping 5 sessions, %d before", n, before)
	}
}

func TestSessionTooLarge(t *testing.T) {
	cfg := tinyConfig(engine.Bidirectional)
	cfg.Layers, cfg.MaxPosition = 16, 1<<22 // 16 layers x 4M positions x 2 x 16 floats = 8 GiB of keys and values alone
	m, err := NewRandom(cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.NewSession(engine.SessionOptions{}); err == nil || !strings.Contains(err.Error(), "shorter context") {
		t.Errorf("NewSession at 4M positions = %v, want a refusal", err)
	}
}
