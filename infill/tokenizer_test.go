package infill

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/tokenizer"
)

// The production path: New over a real *tokenizer.Tokenizer (a tiny
// byte-level BPE, testdata/gen_tokenizer.py) and the CPU engine with random
// weights over its vocabulary.
func realStack(t *testing.T, maxPos int) (*Decoder, *model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	tok, err := tokenizer.Load("testdata/bytes-tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	id := func(s string) int32 {
		v, ok := tok.TokenID(s)
		if !ok {
			t.Fatalf("tokenizer has no %s", s)
		}
		return v
	}
	m, err := model.NewRandom(model.Config{
		Family: model.FamilyUnmask, Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KVHeads: 2,
		Vocab: tok.VocabSize(), MaxPosition: maxPos, QKVBias: true,
		Attention: engine.ContextCausal, Shift: true, BlockSize: 8,
		MaskID: id("<|mask|>"), EOSID: id("<|endoftext|>"), PadID: id("<|pad|>"), BOSID: engine.NoToken,
		FIMPrefixID: id("<|fim_prefix|>"), FIMMiddleID: id("<|fim_middle|>"), FIMSuffixID: id("<|fim_suffix|>"),
	}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return New(m, tok), m, tok
}

func TestRealTokenizer(t *testing.T) {
	dec, m, tok := realStack(t, 512)
	info := m.Info()
	sess, err := m.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	// User text that spells a control token stays text.
	prefix := "s := \"<|fim_middle|>\"\n\treturn "
	suffix := "\n}\n<|endoftext|>"
	var parts []Partial
	res, err := dec.Infill(context.Background(), Request{
		Prefix: prefix, Suffix: suffix, Session: sess,
		Settings: settings(func(s *Settings) { s.Schedule, s.PerStep, s.MaxTokens = Count, 1, 12 }),
		OnStep:   func(p Partial) { parts = append(parts, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{info.FIMSuffixID}
	want = append(want, tok.EncodePlain(suffix)...)
	want = append(want, info.FIMPrefixID)
	want = append(want, tok.EncodePlain(prefix)...)
	// The session holds the context minus its last token (<fim_middle>)
	// plus the middle's finished blocks minus their last token.
	got := sess.Tokens()
	if !slices.Equal(got[:len(want)], want) {
		t.Errorf("context = %v, want %v", got[:len(want)], want)
	}
	ctxToks := got[:len(want)]
	for _, special := range []int32{info.FIMMiddleID, info.EOSID} {
		if slices.Contains(ctxToks, special) {
			t.Errorf("user text produced control token %d: %v", special, ctxToks)
		}
	}
	for _, special := range []int32{info.FIMPrefixID, info.FIMSuffixID} {
		if n := count(ctxToks, special); n != 1 {
			t.Errorf("control token %d appears %d times in the context, want once: %v", special, n, ctxToks)
		}
	}
	oneStepInvariants(t, "real tokenizer", res, 12)
	prev := ""
	for i, p := range parts {
		if !utf8.ValidString(p.Text) || !strings.HasPrefix(p.Text, prev) {
			t.Errorf("stream %d: %q after %q: want valid UTF-8 extending the last", i, p.Text, prev)
		}
		prev = p.Text
	}
}

// Over-long text on a small window: the trim keeps the nearest parts and
// the request still fits the engine.
func TestRealTokenizerTrim(t *testing.T) {
	dec, _, _ := realStack(t, 128)
	prefix := strings.Repeat("x = x + 1\n", 50) + "return "
	suffix := "\n" + strings.Repeat("print(x)\n", 50)
	res, err := dec.Infill(context.Background(), Request{Prefix: prefix, Suffix: suffix,
		Settings: settings(func(s *Settings) { s.MaxTokens = 16 })})
	if err != nil {
		t.Fatalf("Infill: %v", err)
	}
	// window 128 - (16 + 8 + 1) - 3 = 100 tokens of ~1000, less under an
	// eighth of that for the prefix cut's rounding; 2 of the 3 layout tokens
	// (<fim_middle> is the anchor).
	if n := res.Stats.ContextTokens; n > 100+2 || n <= 100+2-100/8 || res.Stats.Trimmed == 0 {
		t.Errorf("context %d tokens (trimmed %d), want 90..102", n, res.Stats.Trimmed)
	}
}

func count(s []int32, v int32) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
