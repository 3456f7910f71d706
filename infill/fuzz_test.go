package infill

import (
	"context"
	"errors"
	"hash/fnv"
	"testing"
	"time"
	"unicode/utf8"
)

// hashScript is a deterministic pseudo-model: each position's candidates
// and probabilities come from a hash of the block and the position, so
// every schedule meets confident, unsure, EOS and revision cases.
func hashScript(seed uint64) script {
	return func(call int, _, block []int32) []dist {
		out := make([]dist, len(block))
		for i := range out {
			h := fnv.New64a()
			var buf [8]byte
			for _, t := range block {
				buf[0], buf[1] = byte(t), byte(t>>8)
				h.Write(buf[:2])
			}
			buf[0], buf[1], buf[2] = byte(i), byte(seed), byte(call)
			h.Write(buf[:3])
			x := h.Sum64()
			p := 0.05 + float64(x%95)/100
			id := int32(x>>8) % 128
			if (x>>20)%5 == 0 {
				id = tEOS
			}
			out[i] = dist{{id, p}, {int32(x>>30) % 128, (1 - p) / 2}}
		}
		return out
	}
}

func FuzzInfill(f *testing.F) {
	f.Add("func f() {\n\treturn ", "\n}\n", uint8(0), uint8(90), uint8(0), uint8(16), uint8(4), uint8(0), uint64(1))
	f.Add("", "x", uint8(1), uint8(0), uint8(2), uint8(40), uint8(8), uint8(30), uint64(2))
	f.Add("a\xff", "", uint8(2), uint8(50), uint8(1), uint8(3), uint8(1), uint8(0), uint64(3))
	f.Add("é", "ü", uint8(3), uint8(70), uint8(0), uint8(100), uint8(0), uint8(50), uint64(4))
	f.Add("x := «é»\nx := «", "»\n", uint8(0), uint8(90), uint8(0), uint8(16), uint8(4), uint8(0), uint64(5))
	f.Fuzz(func(t *testing.T, prefix, suffix string, sched, thr, perStep, maxTok, block, revise uint8, seed uint64) {
		s := Settings{
			Schedule:    []Schedule{Confidence, Count, Margin, Entropy, Sequential}[sched%5],
			Threshold:   float64(thr%101) / 100,
			PerStep:     int(perStep % 5),
			MaxTokens:   int(maxTok),
			BlockSize:   int(block % 17),
			ReviseBelow: float64(revise%90) / 100,
			Seed:        seed,
		}
		if seed%3 == 0 {
			s.Temperature, s.TopP = 0.7, 0.9
		}
		s.FreeEnd = seed%7 == 0
		if seed%5 < 2 {
			s.Lookup, s.DraftFloor = true, float64(seed%5+1)/100 // drafts from the fuzzed text itself
		}
		info := ourInfo(8)
		if seed%4 == 1 {
			info = dreamInfo(8)
		}
		info.MaxContext = 64 + int(seed%200)
		b := &fakeBackend{info: info, script: hashScript(seed)}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := newDecoder(b, byteCodec{}).Infill(ctx, Request{Prefix: prefix, Suffix: suffix, Settings: s})
		if err != nil {
			for _, want := range []error{ErrEmpty, ErrInvalidUTF8, ErrSettings, ErrWindow} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("Infill(%q, %q, %+v): %v", prefix, suffix, s, err)
		}
		if res.Stop != StopEOS && res.Stop != StopMaxTokens {
			t.Errorf("stop %q", res.Stop)
		}
		if !utf8.ValidString(res.Text) {
			t.Errorf("text %q is not valid UTF-8", res.Text)
		}
		max := s.MaxTokens
		if max == 0 {
			max = DefaultSettings().MaxTokens
		}
		if res.Stats.Committed > max || res.Stats.Forwards == 0 {
			t.Errorf("committed %d (limit %d) in %d forwards", res.Stats.Committed, max, res.Stats.Forwards)
		}
		if len(b.denoises) > 0 && len(b.denoises[0].ctx)+len(b.denoises[0].block) > info.MaxContext {
			t.Errorf("first step uses %d+%d positions, window %d", len(b.denoises[0].ctx), len(b.denoises[0].block), info.MaxContext)
		}
		// Warm-start a second request (the prefix typed on by one
		// character) from the first one's draft.
		var streamed []string
		res2, err := newDecoder(b, byteCodec{}).Infill(ctx, Request{Prefix: prefix + "x", Suffix: suffix, Settings: s, Draft: res.Draft,
			OnStep: func(p Partial) { streamed = append(streamed, p.Text) }})
		if err != nil {
			t.Fatalf("warm Infill: %v", err)
		}
		if res2.Stats.WarmKept > len(res.Draft.Tokens) || res2.Stats.WarmSaved < 0 {
			t.Errorf("warm start kept %d of %d draft tokens, saved %d", res2.Stats.WarmKept, len(res.Draft.Tokens), res2.Stats.WarmSaved)
		}
		for _, p := range streamed {
			if !utf8.ValidString(p) {
				t.Errorf("streamed %q is not valid UTF-8", p)
			}
		}
	})
}
