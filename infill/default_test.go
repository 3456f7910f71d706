package infill

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/tokenizer"
)

// TestDefaultModelLayout holds the decoder's layout to the embedded default
// model's training: with the true middle half-masked in a block laid out as
// the decoder lays it out ([anchor] + block after <fim_suffix> S
// <fim_prefix> P <fim_middle>), the prediction at block position j must
// match token j+1 (the shift) more often than it matches token j or j+2. A
// layout or shift error would swap those.
func TestDefaultModelLayout(t *testing.T) {
	m, tok := defaultModel(t)
	info := m.Info()
	src, err := os.ReadFile("decode.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(src), "\n")
	rng := rand.New(rand.NewPCG(3, 4))
	hits := map[int]int{}
	n := 0
	sess, err := m.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out := engine.NewPredictions(info.BlockSize+1, maxTopK)
	for range 40 {
		at := 20 + rng.IntN(len(lines)-40)
		k := 1 + rng.IntN(3)
		pre := tok.EncodePlain(strings.Join(lines[max(0, at-12):at], ""))
		mid := tok.EncodePlain(strings.Join(lines[at:at+k], ""))
		suf := tok.EncodePlain(strings.Join(lines[at+k:at+k+4], ""))
		// The context keeps 160 prefix and 40 suffix tokens, as trimContext would.
		pre, suf, _ = trimContext(pre, suf, 200)
		known := append([]int32{info.FIMSuffixID}, suf...)
		known = append(known, info.FIMPrefixID)
		known = append(known, pre...)
		known = append(known, info.FIMMiddleID)
		if _, err := sess.Prefill(context.Background(), known[:len(known)-1]); err != nil {
			t.Fatal(err)
		}
		B := info.BlockSize
		gold := make([]int32, B)
		block := []int32{known[len(known)-1]}
		var maskedAt []int
		for i := range gold {
			gold[i] = info.EOSID
			if i < len(mid) {
				gold[i] = mid[i]
			}
			if rng.IntN(2) == 0 {
				block = append(block, info.MaskID)
				maskedAt = append(maskedAt, i)
			} else {
				block = append(block, gold[i])
			}
		}
		if err := sess.Denoise(context.Background(), block, 0, out[:B+1]); err != nil {
			t.Fatal(err)
		}
		for _, i := range maskedAt {
			if gold[i] == info.EOSID || i == 0 || i+1 > B {
				continue // content only: EOS runs look alike at every shift
			}
			n++
			for _, s := range []int{-1, 0, 1} { // out[i+s] against gold[i]; s = 0 is the decoder's reading
				if out[i+s].Candidates[0].ID == gold[i] {
					hits[s]++
				}
			}
		}
	}
	t.Logf("top-1 accuracy on %d masked content positions: out[j-1] %d, out[j] %d (the decoder's), out[j+1] %d", n, hits[-1], hits[0], hits[1])
	if hits[0] <= hits[-1] || hits[0] <= hits[1] {
		t.Errorf("the decoder's reading (out[j] predicts block token j+1) scores %d, below a shifted reading (%d, %d)", hits[0], hits[-1], hits[1])
	}
}

// defaultModel opens the embedded default model for a test or benchmark,
// closed when it ends; it skips when none is embedded.
func defaultModel(tb testing.TB) (*model.Model, *tokenizer.Tokenizer) {
	tb.Helper()
	m, tok, err := model.Open("")
	if errors.Is(err, model.ErrNoDefault) {
		tb.Skip("no default model embedded")
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m, tok
}
