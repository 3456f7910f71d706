package infill

import (
	"context"
	"testing"
	"unicode/utf8"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// These tests run the decoder on the real CPU engine (package model) with
// random weights over the fake byte vocabulary: they hold the decoder's
// bookkeeping (anchor, shift, block prefill, sessions) against a real
// backend, not the quality of a model.

func randomModel(t *testing.T, family string, att engine.Attention, shift bool, block int) *model.Model {
	t.Helper()
	cfg := model.Config{
		Family: family, Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KVHeads: 2,
		Vocab: fakeVocab, MaxPosition: 512, QKVBias: true,
		Attention: att, Shift: shift, BlockSize: block,
		MaskID: tMask, EOSID: tEOS, PadID: tPad, BOSID: engine.NoToken,
		FIMPrefixID: tFIMPrefix, FIMMiddleID: tFIMMiddle, FIMSuffixID: tFIMSuffix,
	}
	if att == engine.Bidirectional {
		cfg.BOSID = tBOS
		cfg.FIMPrefixID, cfg.FIMMiddleID, cfg.FIMSuffixID = engine.NoToken, engine.NoToken, engine.NoToken
	}
	m, err := model.NewRandom(cfg, 1)
	if err != nil {
		t.Fatalf("NewRandom: %v", err)
	}
	return m
}

// oneStepInvariants checks a one-commit-per-step decode: every forward
// committed exactly one position (the end token's step included).
func oneStepInvariants(t *testing.T, name string, res Result, maxTokens int) {
	t.Helper()
	n := res.Stats.Committed
	switch res.Stop {
	case StopEOS:
		n++
		if res.Stats.Committed >= maxTokens {
			t.Errorf("%s: eos after %d tokens, limit %d", name, res.Stats.Committed, maxTokens)
		}
	case StopMaxTokens:
		if res.Stats.Committed != maxTokens {
			t.Errorf("%s: max_tokens stop with %d tokens, want %d", name, res.Stats.Committed, maxTokens)
		}
	default:
		t.Errorf("%s: stop %q", name, res.Stop)
	}
	if res.Stats.Forwards != n {
		t.Errorf("%s: %d forwards for %d commits, want one each", name, res.Stats.Forwards, n)
	}
	if !utf8.ValidString(res.Text) {
		t.Errorf("%s: text %q is not valid UTF-8", name, res.Text)
	}
}

func TestEngineOurLayout(t *testing.T) {
	m := randomModel(t, model.FamilyUnmask, engine.ContextCausal, true, 8)
	dec := newDecoder(m, byteCodec{})
	req := Request{Prefix: "func add(a, b int) int {\n\treturn ", Suffix: "\n}\n", Settings: settings(func(s *Settings) {
		s.Schedule, s.PerStep, s.MaxTokens = Count, 1, 20
	})}
	var parts []Partial
	req.OnStep = func(p Partial) { parts = append(parts, p) }
	res, err := dec.Infill(context.Background(), req)
	if err != nil {
		t.Fatalf("Infill: %v", err)
	}
	t.Logf("count 1: %q stop %s %+v", res.Text, res.Stop, res.Stats)
	oneStepInvariants(t, "count 1", res, 20)
	if len(parts) != res.Stats.Forwards {
		t.Errorf("%d stream events for %d forwards", len(parts), res.Stats.Forwards)
	}
	for i, p := range parts {
		if !utf8.ValidString(p.Text) {
			t.Errorf("stream %d: %q is not valid UTF-8", i, p.Text)
		}
	}

	// The same request on a session that held another document first must
	// give the same middle: the cache is reused only where it matches.
	sess, err := m.NewSession(engine.SessionOptions{MaxBlock: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	other := req
	other.OnStep = nil
	other.Prefix, other.Session = "package main\n", sess
	if _, err := dec.Infill(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	again := req
	again.OnStep, again.Session = nil, sess
	res2, err := dec.Infill(context.Background(), again)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Text != res.Text || res2.Stats.Forwards != res.Stats.Forwards {
		t.Errorf("reused session: %q in %d forwards, fresh: %q in %d", res2.Text, res2.Stats.Forwards, res.Text, res.Stats.Forwards)
	}
	// Typing one more character reuses the cache up to it.
	typed := again
	typed.Prefix += "a"
	res3, err := dec.Infill(context.Background(), typed)
	if err != nil {
		t.Fatal(err)
	}
	if res3.Stats.Reused == 0 || res3.Stats.Reused >= res3.Stats.ContextTokens {
		t.Errorf("typing: reused %d of %d context tokens", res3.Stats.Reused, res3.Stats.ContextTokens)
	}

	// The default confidence schedule with a random model rarely reaches
	// τ; whatever it commits, it is deterministic.
	conf := req
	conf.OnStep = nil
	conf.Settings = settings(func(s *Settings) { s.MaxTokens = 20 })
	a, err := dec.Infill(context.Background(), conf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := dec.Infill(context.Background(), conf)
	if a.Text != b.Text || a.Stats.Forwards != b.Stats.Forwards {
		t.Errorf("confidence twice: %q/%d then %q/%d", a.Text, a.Stats.Forwards, b.Text, b.Stats.Forwards)
	}
}

func TestEngineBidirectional(t *testing.T) {
	for _, tt := range []struct {
		family string
		shift  bool
	}{{model.FamilyDream, true}, {model.FamilyLLaDA, false}} {
		m := randomModel(t, tt.family, engine.Bidirectional, tt.shift, 8)
		dec := newDecoder(m, byteCodec{})
		res, err := dec.Infill(context.Background(), Request{Prefix: "x = ", Suffix: "\nprint(x)\n", Settings: settings(func(s *Settings) {
			s.Schedule, s.PerStep, s.MaxTokens, s.MiddleLength = Count, 1, 20, 8
		})})
		if err != nil {
			t.Fatalf("%s: Infill: %v", tt.family, err)
		}
		t.Logf("%s: %q stop %s %+v", tt.family, res.Text, res.Stop, res.Stats)
		oneStepInvariants(t, tt.family, res, 20)
	}
}

// One Decoder serves concurrent requests (each with its own session) and
// gives each the answer it gives alone.
func TestEngineConcurrent(t *testing.T) {
	m := randomModel(t, model.FamilyUnmask, engine.ContextCausal, true, 8)
	dec := newDecoder(m, byteCodec{})
	prefixes := []string{"a = ", "def f(x):\n    return ", "for i in range(", "x := "}
	want := make([]string, len(prefixes))
	for i, p := range prefixes {
		res, err := dec.Infill(context.Background(), Request{Prefix: p, Suffix: "\n", Settings: settings(func(s *Settings) { s.MaxTokens = 12 })})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res.Text
	}
	got := make([]string, len(prefixes))
	errs := make([]error, len(prefixes))
	done := make(chan int)
	for i, p := range prefixes {
		go func() {
			res, err := dec.Infill(context.Background(), Request{Prefix: p, Suffix: "\n", Settings: settings(func(s *Settings) { s.MaxTokens = 12 })})
			got[i], errs[i] = res.Text, err
			done <- i
		}()
	}
	for range prefixes {
		<-done
	}
	for i := range prefixes {
		if errs[i] != nil || got[i] != want[i] {
			t.Errorf("concurrent %q = %q (%v), alone %q", prefixes[i], got[i], errs[i], want[i])
		}
	}
}
