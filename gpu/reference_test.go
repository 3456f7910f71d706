package gpu

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// Tolerances between this package's forward pass and the CPU engine's on
// the same checkpoint. With f32 weights the two differ only in summation
// order; bf16 weights round every matrix entry to 8 bits of mantissa.
const (
	tolF32LogProb  = 2e-4
	tolF32Entropy  = 2e-4
	tolBF16LogProb = 0.1
)

// fixtures are package model's test checkpoints, one per attention family.
var fixtures = []string{"../model/testdata/tiny-qwen2", "../model/testdata/tiny-llada", "../model/testdata/tiny-llama-rope-linear", "../model/testdata/tiny-llama-rope-llama3"}

// compareSessions drives a CPU session and a session of ours through the
// same steps and compares every prediction: top-1 ids must agree where the
// CPU's margin between the first two candidates exceeds twice the
// tolerance, and log-probabilities and entropies within tol.
func compareSessions(t *testing.T, name string, cpu, ours engine.Session, info engine.Info, tol float64) {
	t.Helper()
	ctx := context.Background()
	V := int32(info.VocabSize)
	or := func(id, alt int32) int32 {
		if id == engine.NoToken {
			return alt
		}
		return id
	}
	suf, pre, mid := or(info.FIMSuffixID, 3), or(info.FIMPrefixID, 4), or(info.FIMMiddleID, 6)
	ctxToks := []int32{suf, 5, 9, 14, pre, 33, 7, 1, 2, 60, mid}
	mask := or(info.MaskID, 1)
	steps := []struct {
		prefill []int32
		block   []int32
		from    int
	}{
		{prefill: ctxToks, block: []int32{mid, mask, mask, mask, mask, mask}},
		{block: []int32{mid, 40, mask, 41 % V, mask, mask}, from: 1},
		{prefill: append(append([]int32{}, ctxToks...), 40, 41), block: []int32{41, mask, mask, mask}},
		{prefill: ctxToks[:4], block: []int32{14, mask, mask}},
	}
	for si, st := range steps {
		if st.prefill != nil {
			r1, err1 := cpu.Prefill(ctx, st.prefill)
			r2, err2 := ours.Prefill(ctx, st.prefill)
			if err1 != nil || err2 != nil || r1 != r2 {
				t.Fatalf("%s step %d: Prefill = (%d, %v), CPU (%d, %v)", name, si, r2, err2, r1, err1)
			}
		}
		n := len(st.block) - st.from
		a, b := engine.NewPredictions(n, 8), engine.NewPredictions(n, 8)
		if err := cpu.Denoise(ctx, st.block, st.from, a); err != nil {
			t.Fatalf("%s step %d: CPU Denoise: %v", name, si, err)
		}
		if err := ours.Denoise(ctx, st.block, st.from, b); err != nil {
			t.Fatalf("%s step %d: Denoise: %v", name, si, err)
		}
		for i := range a {
			ca, cb := a[i].Candidates, b[i].Candidates
			margin := float64(ca[0].LogProb - ca[1].LogProb)
			if margin > 2*tol && ca[0].ID != cb[0].ID {
				t.Errorf("%s step %d pos %d: top-1 %d, CPU %d (margin %.3g)", name, si, i, cb[0].ID, ca[0].ID, margin)
			}
			for j := range ca {
				// Compare the probability of the CPU's j-th candidate in both.
				lp := math.Inf(-1)
				for _, c := range cb {
					if c.ID == ca[j].ID {
						lp = float64(c.LogProb)
					}
				}
				if math.IsInf(lp, -1) && float64(ca[j].LogProb) < float64(cb[len(cb)-1].LogProb)+tol {
					continue // fell just below our k-th candidate: within tolerance
				}
				if ca[j].LogProb > -8 && math.Abs(lp-float64(ca[j].LogProb)) > tol {
					t.Errorf("%s step %d pos %d cand %d (id %d): logprob %.6g, CPU %.6g", name, si, i, j, ca[j].ID, lp, ca[j].LogProb)
				}
			}
			if d := math.Abs(float64(a[i].Entropy - b[i].Entropy)); d > tol*10 {
				t.Errorf("%s step %d pos %d: entropy %.6g, CPU %.6g", name, si, i, b[i].Entropy, a[i].Entropy)
			}
		}
	}
}

// causalFixture copies the context-causal Qwen2 fixture with its attention
// switched to causal, the third mask.
func causalFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(fixtures[0], "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte(`"context-causal"`), []byte(`"causal"`), 1)
	st, err := os.ReadFile(filepath.Join(fixtures[0], "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), st, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestReferenceMatchesCPUEngine(t *testing.T) {
	for _, dir := range append(fixtures, causalFixture(t)) {
		for _, wt := range []string{"f32", "bf16"} {
			cpu, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := LoadReference(os.DirFS(dir), Options{Weights: wt})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ours.Info(), cpu.Info(); got != want {
				t.Errorf("%s: Info() = %+v, CPU %+v", dir, got, want)
			}
			t.Logf("%s %s: attention %s", dir, wt, cpu.Info().Attention)
			cs, err := cpu.NewSession(engine.SessionOptions{MaxContext: 64})
			if err != nil {
				t.Fatal(err)
			}
			os_, err := ours.NewSession(engine.SessionOptions{MaxContext: 64})
			if err != nil {
				t.Fatal(err)
			}
			tol := tolF32LogProb
			if wt == "bf16" {
				tol = tolBF16LogProb
			}
			compareSessions(t, dir+" "+wt, cs, os_, cpu.Info(), tol)
			cs.Close()
			os_.Close()
			cpu.Close()
			ours.Close()
		}
	}
}

func TestReferenceSessionErrors(t *testing.T) {
	b, err := LoadReference(os.DirFS(fixtures[0]), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := b.NewSession(engine.SessionOptions{MaxContext: 8, MaxBlock: 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"context full", func() error { _, err := s.Prefill(ctx, make([]int32, 9)); return err }(), engine.ErrContextFull},
		{"token", func() error { _, err := s.Prefill(ctx, []int32{128}); return err }(), engine.ErrToken},
		{"block", s.Denoise(ctx, make([]int32, 5), 0, engine.NewPredictions(5, 8)), engine.ErrBlockSize},
		{"block token", s.Denoise(ctx, []int32{-1}, 0, engine.NewPredictions(1, 8)), engine.ErrToken},
	} {
		if !errorsIs(tc.err, tc.want) {
			t.Errorf("%s: error %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	s.Close()
	if _, err := s.Prefill(ctx, []int32{1}); !errorsIs(err, engine.ErrClosed) {
		t.Errorf("Prefill after Close = %v, want ErrClosed", err)
	}
	if _, err := LoadReference(os.DirFS(fixtures[0]), Options{Weights: "f8"}); err == nil {
		t.Error("LoadReference with weights f8 succeeded")
	}
	if _, err := LoadReference(os.DirFS(t.TempDir()), Options{}); err == nil {
		t.Error("LoadReference of an empty folder succeeded")
	}
}
