package replay

import (
	"context"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// BenchmarkEngineCost measures the real CPU engine (package model, random
// weights, the default model's shape from train/model.py: hidden 256, 6
// layers, 4 heads, 2 KV heads, vocabulary 8192, block 32) on the two costs
// the fake engine models, and reports them beside DefaultCost: prefill per
// context token (a 1,300-token window from scratch) and one forward pass
// of a block against that context.
func BenchmarkEngineCost(b *testing.B) {
	const vocab, ctxTokens, block = 8192, 1300, 32
	m, err := model.NewRandom(model.Config{
		Family: model.FamilyUnmask, Hidden: 256, Intermediate: 768, Layers: 6, Heads: 4, KVHeads: 2,
		Vocab: vocab, MaxPosition: 2048, QKVBias: true,
		Attention: engine.ContextCausal, Shift: true, BlockSize: block,
		MaskID: vocab - 1, EOSID: vocab - 2, PadID: vocab - 3, BOSID: engine.NoToken,
		FIMPrefixID: vocab - 4, FIMMiddleID: vocab - 5, FIMSuffixID: vocab - 6,
	}, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tokens := make([]int32, ctxTokens)
	for i := range tokens {
		tokens[i] = int32(i*7919) % (vocab - 16)
	}
	blk := make([]int32, block+1)
	blk[0] = tokens[len(tokens)-1]
	for i := 1; i < len(blk); i++ {
		blk[i] = vocab - 1
	}
	ctx := context.Background()
	s, err := m.NewSession(engine.SessionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	out := engine.NewPredictions(len(blk), 0)
	var prefill, forward time.Duration
	for b.Loop() {
		if err := s.Truncate(0); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := s.Prefill(ctx, tokens[:len(tokens)-1]); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := s.Denoise(ctx, blk, 0, out); err != nil {
			b.Fatal(err)
		}
		prefill += t1.Sub(t0)
		forward += time.Since(t1)
	}
	n := float64(b.N)
	c := DefaultCost()
	b.ReportMetric(float64(prefill.Microseconds())/n/float64(ctxTokens-1), "real-prefill-µs/token")
	b.ReportMetric(float64(c.PrefillPerToken.Microseconds()), "fake-prefill-µs/token")
	b.ReportMetric(float64(forward.Microseconds())/n/1000, "real-ms/forward")
	b.ReportMetric(float64(c.PerForward.Microseconds())/1000, "fake-ms/forward")
}
