package infill

import (
	"context"
	"testing"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// The model helper's tiny transformers-made checkpoints (random weights,
// vocabulary of 128 with the specials at 122..127): the decoder runs both
// layouts on checkpoints loaded from disk. The byte codec's ids stay below
// 122 for ASCII text without {|}~.
func TestFixtureCheckpoints(t *testing.T) {
	for _, tt := range []struct {
		dir  string
		att  engine.Attention
		mids int // MiddleLength
	}{
		{"../model/testdata/tiny-qwen2", engine.ContextCausal, 0},
		{"../model/testdata/tiny-llada", engine.Bidirectional, 8},
	} {
		m, err := model.Load(tt.dir)
		if err != nil {
			t.Fatalf("Load(%s): %v", tt.dir, err)
		}
		if got := m.Info().Attention; got != tt.att {
			t.Fatalf("%s: attention %q, want %q", tt.dir, got, tt.att)
		}
		dec := newDecoder(m, byteCodec{})
		req := Request{Prefix: "def add(a, b):\n    return ", Suffix: "\n\nprint(add(1, 2))\n",
			Settings: settings(func(s *Settings) { s.Schedule, s.PerStep, s.MaxTokens, s.MiddleLength = Count, 1, 12, tt.mids })}
		res, err := dec.Infill(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: Infill: %v", tt.dir, err)
		}
		oneStepInvariants(t, tt.dir, res, 12)
		again, err := dec.Infill(context.Background(), req)
		if err != nil || again.Text != res.Text || again.Stats.Forwards != res.Stats.Forwards {
			t.Errorf("%s: second run %q/%d (%v), first %q/%d", tt.dir, again.Text, again.Stats.Forwards, err, res.Text, res.Stats.Forwards)
		}
		req.Settings = settings(func(s *Settings) { s.MaxTokens, s.MiddleLength = 12, tt.mids })
		if _, err := dec.Infill(context.Background(), req); err != nil {
			t.Errorf("%s: confidence schedule: %v", tt.dir, err)
		}
		m.Close()
	}
}
