package infill

import (
	"context"
	"testing"

	"github.com/unmask/unmask/engine"
)

// constBackend answers every Denoise with the same prepared predictions:
// a backend that costs almost nothing, so a benchmark over it measures the
// decoder's own work per step.
type constBackend struct {
	info  engine.Info
	preds []engine.Prediction
}

func newConstBackend(block int) *constBackend {
	b := &constBackend{info: ourInfo(block), preds: engine.NewPredictions(block, engine.DefaultTopK)}
	for i := range b.preds {
		for k := range b.preds[i].Candidates {
			b.preds[i].Candidates[k] = engine.Candidate{ID: int32('a' + k), LogProb: -1 - float32(k) - float32(i)/100}
		}
		b.preds[i].Entropy = 1
	}
	return b
}

func (b *constBackend) Info() engine.Info { return b.info }
func (b *constBackend) Close() error      { return nil }
func (b *constBackend) NewSession(engine.SessionOptions) (engine.Session, error) {
	return &constSession{b: b}, nil
}

type constSession struct {
	b      *constBackend
	tokens []int32
}

func (s *constSession) Tokens() []int32 { return s.tokens }
func (s *constSession) Prefill(_ context.Context, t []int32) (int, error) {
	s.tokens = append(s.tokens[:0], t...)
	return 0, nil
}
func (s *constSession) Denoise(_ context.Context, _ []int32, from int, out []engine.Prediction) error {
	for i := range out {
		out[i].Candidates = out[i].Candidates[:len(s.b.preds[from+i].Candidates)]
		copy(out[i].Candidates, s.b.preds[from+i].Candidates)
		out[i].Entropy = s.b.preds[from+i].Entropy
	}
	return nil
}
func (s *constSession) Truncate(int) error { return nil }
func (s *constSession) Close() error       { return nil }

// BenchmarkDecoderStep measures the decoder's work per denoising step (one
// 32-position block, one commit per step: 32 steps per request) beside the
// reference of the backend's Denoise copy alone. The difference is what
// the decoder adds to each forward pass of a real engine (milliseconds).
func BenchmarkDecoderStep(b *testing.B) {
	const block = 32
	be := newConstBackend(block)
	b.Run("decoder", func(b *testing.B) {
		dec := newDecoder(be, byteCodec{})
		req := Request{Prefix: "func f() {\n\treturn ", Suffix: "\n}\n", Settings: settings(func(s *Settings) {
			s.Schedule, s.PerStep, s.MaxTokens = Count, 1, block
		})}
		steps := 0
		for b.Loop() {
			res, err := dec.Infill(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			steps += res.Stats.Forwards
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/step")
	})
	b.Run("denoise-only", func(b *testing.B) {
		sess, _ := be.NewSession(engine.SessionOptions{})
		out := engine.NewPredictions(block, maxTopK)
		blk := make([]int32, block+1)
		steps := 0
		for b.Loop() {
			for range block {
				sess.Denoise(context.Background(), blk, 0, out)
				steps++
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(steps), "ns/step")
	})
}
