package infill

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/unmask/unmask/engine"
)

func dreamInfo(block int) engine.Info {
	return engine.Info{
		Name: "fake-dream", Family: "dream", VocabSize: fakeVocab, MaxContext: 4096,
		Attention: engine.Bidirectional, Shift: true, BlockSize: block,
		MaskID: tMask, EOSID: tEOS, PadID: tPad, BOSID: tBOS,
		FIMPrefixID: engine.NoToken, FIMSuffixID: engine.NoToken, FIMMiddleID: engine.NoToken,
	}
}

// bidiOracle scripts a bidirectional model that knows the middle: slot i
// predicts target[i], then end tokens; tail is the number of block tokens
// after the canvas (suffix + EOS).
func bidiOracle(target string, end int32, anchor, tail int) script {
	return func(_ int, _, block []int32) []dist {
		n := len(block) - anchor - tail
		out := make([]dist, n)
		for i := range out {
			id := end
			if i < len(target) {
				id = int32(target[i])
			}
			out[i] = d1(id, 0.95)
		}
		return out
	}
}

// Shifted bidirectional checkpoints (Dream): [BOS] P [mask]×L S [EOS], the
// last prefix token anchoring the canvas; a pad run shrinks the middle.
func TestBidirectionalShifted(t *testing.T) {
	b := &fakeBackend{info: dreamInfo(4), script: bidiOracle("ab", tPad, 1, 2)}
	res, parts := decode(t, b, Request{Prefix: "PQ", Suffix: "S"})
	if res.Text != "ab" || res.Stop != StopEOS || res.Stats.Forwards != 1 {
		t.Errorf("Infill = %q (%s, %d forwards), want ab (eos, 1)", res.Text, res.Stop, res.Stats.Forwards)
	}
	if want := [][]int32{{tBOS, 'P'}}; !reflect.DeepEqual(b.prefills, want) {
		t.Errorf("prefills = %v, want %v", b.prefills, want)
	}
	if want := [][]int32{{'Q', M, M, M, M, 'S', tEOS}}; !reflect.DeepEqual(blocks(b), want) {
		t.Errorf("blocks = %v, want %v", blocks(b), want)
	}
	if len(parts) != 1 || parts[0].Text != "ab" {
		t.Errorf("stream = %+v, want one step with ab", parts)
	}
	checkDraft(t, res.Draft, []int32{'a', 'b', tPad}, []int32{1, 1, 1})
}

// Unshifted checkpoints (LLaDA) have no anchor: the whole prefix is context.
func TestBidirectionalUnshifted(t *testing.T) {
	info := dreamInfo(4)
	info.Family, info.Shift, info.BOSID, info.PadID = "llada", false, engine.NoToken, engine.NoToken
	b := &fakeBackend{info: info, script: bidiOracle("xyz", tEOS, 0, 2)}
	res, _ := decode(t, b, Request{Prefix: "PQ", Suffix: "S"})
	if res.Text != "xyz" || res.Stop != StopEOS {
		t.Errorf("Infill = %q (%s), want xyz (eos)", res.Text, res.Stop)
	}
	if want := [][]int32{{'P', 'Q'}}; !reflect.DeepEqual(b.prefills, want) {
		t.Errorf("prefills = %v, want %v", b.prefills, want)
	}
	if want := [][]int32{{M, M, M, M, 'S', tEOS}}; !reflect.DeepEqual(blocks(b), want) {
		t.Errorf("blocks = %v, want %v", blocks(b), want)
	}
}

// A canvas filled to its end with no end token grows by L masks after the
// committed tokens, up to MaxTokens.
func TestBidirectionalGrow(t *testing.T) {
	b := &fakeBackend{info: dreamInfo(4), script: bidiOracle("abc", tEOS, 1, 2)}
	res, _ := decode(t, b, Request{Prefix: "PQ", Suffix: "S", Settings: settings(func(s *Settings) { s.MiddleLength = 2 })})
	if res.Text != "abc" || res.Stop != StopEOS || res.Stats.Forwards != 2 {
		t.Errorf("Infill = %q (%s, %d forwards), want abc (eos, 2)", res.Text, res.Stop, res.Stats.Forwards)
	}
	want := [][]int32{{'Q', M, M, 'S', tEOS}, {'Q', 'a', 'b', M, M, 'S', tEOS}}
	if !reflect.DeepEqual(blocks(b), want) {
		t.Errorf("blocks = %v, want %v", blocks(b), want)
	}

	b = &fakeBackend{info: dreamInfo(4), script: bidiOracle("abcdef", tEOS, 1, 2)}
	res, _ = decode(t, b, Request{Prefix: "PQ", Suffix: "S", Settings: settings(func(s *Settings) { s.MiddleLength, s.MaxTokens = 2, 3 })})
	if res.Text != "abc" || res.Stop != StopMaxTokens {
		t.Errorf("Infill with MaxTokens 3 = %q (%s), want abc (max_tokens)", res.Text, res.Stop)
	}
	if got := blocks(b)[1]; !slices.Equal(got, []int32{'Q', 'a', 'b', M, 'S', tEOS}) {
		t.Errorf("grown block = %v, want one more mask", got)
	}
}

// A shifted checkpoint with no BOS and an empty prefix anchors on EOS.
func TestBidirectionalEmptyPrefix(t *testing.T) {
	info := dreamInfo(2)
	info.BOSID = engine.NoToken
	b := &fakeBackend{info: info, script: bidiOracle("a", tEOS, 1, 2)}
	res, _ := decode(t, b, Request{Suffix: "S"})
	if res.Text != "a" {
		t.Errorf("Infill = %q, want a", res.Text)
	}
	if want := []int32{tEOS, M, M, 'S', tEOS}; !slices.Equal(blocks(b)[0], want) {
		t.Errorf("block = %v, want %v", blocks(b)[0], want)
	}
}

func TestTrimContext(t *testing.T) {
	seq := func(n int, base int32) []int32 {
		s := make([]int32, n)
		for i := range s {
			s[i] = base + int32(i)
		}
		return s
	}
	tests := []struct {
		name         string
		pre, suf     int
		budget       int
		keepP, keepS int
	}{
		{"fits", 10, 10, 20, 10, 10},
		{"suffix held to a fifth", 100, 100, 50, 40, 10},
		// 47 rounded down so that the 53 dropped become a multiple of 50/8.
		{"short suffix leaves the prefix the rest", 100, 3, 50, 46, 3},
		{"short prefix leaves the suffix the rest", 5, 100, 50, 5, 45},
		{"no prefix", 0, 100, 50, 0, 50},
		{"zero budget", 10, 10, 0, 0, 0},
		{"negative budget", 10, 10, -3, 0, 0},
	}
	for _, tt := range tests {
		pre, suf := seq(tt.pre, 0), seq(tt.suf, 1000)
		p, s, dropped := trimContext(pre, suf, tt.budget)
		// The prefix keeps its end (nearest the cursor), the suffix its start.
		if !slices.Equal(p, pre[tt.pre-tt.keepP:]) || !slices.Equal(s, suf[:tt.keepS]) {
			t.Errorf("%s: trimContext(%d, %d, %d) kept %d, %d tokens (%v.. / ..%v), want %d, %d",
				tt.name, tt.pre, tt.suf, tt.budget, len(p), len(s), p[:min(1, len(p))], s[max(0, len(s)-1):], tt.keepP, tt.keepS)
		}
		if want := tt.pre + tt.suf - tt.keepP - tt.keepS; dropped != want {
			t.Errorf("%s: dropped %d, want %d", tt.name, dropped, want)
		}
	}
}

// While the user types, a trimmed prefix keeps its start for a while: the
// cut moves in steps of an eighth of the budget.
func TestTrimStableWhileTyping(t *testing.T) {
	prefix := make([]int32, 200)
	for i := range prefix {
		prefix[i] = int32(i)
	}
	starts := map[int32]int{}
	for n := 100; n <= 200; n++ {
		p, _, _ := trimContext(prefix[:n], nil, 80)
		if len(p) > 80 || len(p) <= 80-10 || p[len(p)-1] != int32(n-1) {
			t.Fatalf("trimContext(%d tokens, budget 80) kept %d ending at %d", n, len(p), p[len(p)-1])
		}
		starts[p[0]]++
	}
	// 101 prefixes, one start per 10 tokens typed.
	if len(starts) > 11 {
		t.Errorf("kept prefix started at %d different tokens over 101 keystrokes, want at most 11", len(starts))
	}
}

// Over-long context: the window (minus the middle's room) and MaxContext
// bound the prefill by the trim policy.
func TestOverLongContext(t *testing.T) {
	prefix := strings.Repeat("0123456789", 10)
	suffix := strings.Repeat("abcdefghij", 10)
	ctxOf := func(p, s string) []int32 {
		c := []int32{tFIMSuffix}
		c = append(c, byteCodec{}.EncodePlain(s)...)
		c = append(c, tFIMPrefix)
		return append(c, byteCodec{}.EncodePlain(p)...)
	}
	tests := []struct {
		name       string
		window     int
		maxContext int
		keepP      int
		keepS      int
	}{
		// 64 - (8 + 4 + 1) - 3 = 48 tokens: 9 of suffix (48/5), 39 of
		// prefix, rounded to 34 (66 dropped, a multiple of 48/8).
		{"window", 64, 0, 34, 9},
		// MaxContext 20 - 3 = 17 tokens: 3 of suffix, 14 of prefix.
		{"max context", 4096, 20, 14, 3},
	}
	for _, tt := range tests {
		info := ourInfo(4)
		info.MaxContext = tt.window
		b := &fakeBackend{info: info, script: table([]dist{d1('z', 0.95), d1(tEOS, 0.95), d1(tEOS, 0.95), d1(tEOS, 0.95)})}
		res, _ := decode(t, b, Request{Prefix: prefix, Suffix: suffix, Settings: settings(func(s *Settings) {
			s.MaxTokens, s.MaxContext = 8, tt.maxContext
		})})
		want := ctxOf(prefix[100-tt.keepP:], suffix[:tt.keepS])
		if !slices.Equal(b.prefills[0], want) {
			t.Errorf("%s: prefill = %v, want %v", tt.name, b.prefills[0], want)
		}
		if res.Stats.Trimmed != 200-tt.keepP-tt.keepS || res.Text != "z" {
			t.Errorf("%s: trimmed %d, text %q; want %d, z", tt.name, res.Stats.Trimmed, res.Text, 200-tt.keepP-tt.keepS)
		}
	}
}

func TestBadInput(t *testing.T) {
	noFIM := ourInfo(4)
	noFIM.FIMMiddleID = engine.NoToken
	tiny := ourInfo(4)
	tiny.MaxContext = 8
	tests := []struct {
		name string
		info engine.Info
		req  Request
		want error
		msg  string
	}{
		{"empty", ourInfo(4), Request{}, ErrEmpty, ""},
		{"invalid prefix", ourInfo(4), Request{Prefix: "a\xffb"}, ErrInvalidUTF8, "prefix at byte 1"},
		{"invalid suffix", ourInfo(4), Request{Prefix: "ok", Suffix: "\xc3"}, ErrInvalidUTF8, "suffix at byte 0"},
		{"schedule", ourInfo(4), Request{Prefix: "a", Settings: Settings{Schedule: "fastest"}}, ErrSettings, `"fastest"`},
		{"threshold", ourInfo(4), Request{Prefix: "a", Settings: Settings{Threshold: 1.5}}, ErrSettings, "threshold"},
		{"top-p", ourInfo(4), Request{Prefix: "a", Settings: Settings{TopP: -1}}, ErrSettings, "top-p"},
		{"no FIM tokens", noFIM, Request{Prefix: "a"}, ErrCheckpoint, "FIM"},
		{"window", tiny, Request{Prefix: "a"}, ErrWindow, "window 8"},
		{"max context", ourInfo(4), Request{Prefix: "a", Settings: Settings{MaxContext: 2}}, ErrWindow, "context budget"},
	}
	for _, tt := range tests {
		b := &fakeBackend{info: tt.info, script: table([]dist{d1(tEOS, 1), d1(tEOS, 1), d1(tEOS, 1), d1(tEOS, 1)})}
		_, err := newDecoder(b, byteCodec{}).Infill(context.Background(), tt.req)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: Infill(%q, %q) error = %v, want %v containing %q", tt.name, tt.req.Prefix, tt.req.Suffix, err, tt.want, tt.msg)
		}
	}
	var nilDec *Decoder
	if _, err := nilDec.Infill(context.Background(), Request{Prefix: "a"}); err == nil {
		t.Errorf("nil decoder: no error")
	}
}

// A request's session keeps its cache: typing extends the prefix and only
// the new tokens are prefilled.
func TestSessionReuse(t *testing.T) {
	b := &fakeBackend{info: ourInfo(2), script: table([]dist{d1(tEOS, 0.99), d1(tEOS, 0.99)})}
	sess, _ := b.NewSession(engine.SessionOptions{})
	dec := newDecoder(b, byteCodec{})
	if _, err := dec.Infill(context.Background(), Request{Prefix: "ab", Suffix: "S", Session: sess}); err != nil {
		t.Fatal(err)
	}
	res, err := dec.Infill(context.Background(), Request{Prefix: "abc", Suffix: "S", Session: sess})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.ContextTokens != 6 || res.Stats.Reused != 5 || res.Text != "" || res.Stop != StopEOS {
		t.Errorf("second request: %+v %q %s, want 6 context tokens, 5 reused, empty eos", res.Stats, res.Text, res.Stop)
	}
	if sess.(*fakeSession).closed || b.sessions != 1 {
		t.Errorf("request closed or replaced the caller's session")
	}
}

func TestDraftAfter(t *testing.T) {
	dec := newDecoder(&fakeBackend{info: ourInfo(4)}, byteCodec{})
	d := &Draft{Tokens: []int32{'a', 'b', 'c', M, 'e', tEOS}, Probs: []float32{1, 1, 1, 0, 1, 1}, Steps: []int32{1, 2, 3, 0, 1, 1}}
	tests := []struct {
		typed string
		ok    bool
		rest  []int32
	}{
		{"", true, d.Tokens},
		{"a", true, []int32{'b', 'c', M, 'e', tEOS}},
		{"abc", true, []int32{M, 'e', tEOS}},
		{"abx", false, nil},
		{"abce", false, nil}, // crosses an open position
		{"x", false, nil},
	}
	for _, tt := range tests {
		got, ok := dec.DraftAfter(d, tt.typed)
		if ok != tt.ok || (ok && !slices.Equal(got.Tokens, tt.rest)) {
			t.Errorf("DraftAfter(%q) = %v, %v; want %v, %v", tt.typed, got, ok, tt.rest, tt.ok)
		}
	}
	if got, _ := dec.DraftAfter(d, "ab"); !slices.Equal(got.Steps, []int32{3, 0, 1, 1}) {
		t.Errorf("DraftAfter(ab).Steps = %v, want [3 0 1 1]", got.Steps)
	}
}

// ContextBudget is the budget Infill trims to: a context of that many
// tokens is kept whole, one more is trimmed, on both layouts.
func TestContextBudget(t *testing.T) {
	for _, tt := range []struct {
		name string
		info engine.Info
	}{
		{"context-causal", ourInfo(4)},
		{"bidirectional", dreamInfo(4)},
	} {
		tt.info.MaxContext = 64
		set := settings(func(s *Settings) { s.MaxTokens = 8 })
		budget, err := newDecoder(&fakeBackend{info: tt.info}, byteCodec{}).ContextBudget(set)
		if err != nil || budget <= 0 {
			t.Fatalf("%s: ContextBudget = %d, %v", tt.name, budget, err)
		}
		for _, n := range []int{budget, budget + 1} {
			script := table([]dist{d1('z', 0.95), d1(tEOS, 0.95), d1(tEOS, 0.95), d1(tEOS, 0.95)})
			b := &fakeBackend{info: tt.info, script: script}
			prefix := strings.Repeat("p", n-n/4)
			suffix := strings.Repeat("s", n/4)
			res, _ := decode(t, b, Request{Prefix: prefix, Suffix: suffix, Settings: set})
			t.Logf("%s: budget %d, context %d, trimmed %d", tt.name, budget, n, res.Stats.Trimmed)
			if (res.Stats.Trimmed > 0) != (n > budget) {
				t.Errorf("%s: %d context tokens against a budget of %d: %d trimmed", tt.name, n, budget, res.Stats.Trimmed)
			}
		}
	}
}
