package infill

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

const M = tMask

// decode runs one request on b with the byte codec and records the stream.
func decode(t *testing.T, b *fakeBackend, req Request) (Result, []Partial) {
	t.Helper()
	var parts []Partial
	req.OnStep = func(p Partial) { parts = append(parts, p) }
	res, err := newDecoder(b, byteCodec{}).Infill(context.Background(), req)
	if err != nil {
		t.Fatalf("Infill: %v", err)
	}
	return res, parts
}

// settings returns DefaultSettings changed by f, without the end prior,
// the lookup and the leftmost fallback: each schedule test pins one rule
// (a threshold step with nothing at the threshold commits the most
// confident position), and TestEndPrior, TestLeftmostFallback and the
// lookup tests pin those.
func settings(f func(*Settings)) Settings {
	s := DefaultSettings()
	s.EndPrior, s.Lookup, s.DraftFloor, s.LeftmostFallback = 0, false, 0, false
	f(&s)
	return s
}

func blocks(b *fakeBackend) [][]int32 {
	var out [][]int32
	for _, c := range b.denoises {
		out = append(out, c.block)
	}
	return out
}

func checkDraft(t *testing.T, d *Draft, tokens []int32, steps []int32) {
	t.Helper()
	if !slices.Equal(d.Tokens, tokens) {
		t.Errorf("draft tokens = %v, want %v", d.Tokens, tokens)
	}
	if !slices.Equal(d.Steps, steps) {
		t.Errorf("draft steps = %v, want %v", d.Steps, steps)
	}
}

// The confidence schedule commits every masked position at or above τ; the
// end (EOS) commits only as the leftmost open position, here in the step
// that commits the content before it, and implies the rest of the block; the
// stream follows the left-to-right committed run.
func TestConfidenceSchedule(t *testing.T) {
	b := &fakeBackend{info: ourInfo(4), script: table(
		[]dist{d1('a', 0.95), d1('b', 0.5), d1(tEOS, 0.97), d1(tEOS, 0.99)},
		[]dist{d1('a', 0.95), d1('b', 0.6), d1(tEOS, 0.97), d1(tEOS, 0.99)},
	)}
	res, parts := decode(t, b, Request{Prefix: "P", Suffix: "S", Settings: settings(func(s *Settings) {})})
	if res.Text != "ab" || res.Stop != StopEOS {
		t.Errorf("Infill = %q (%s), want %q (eos)", res.Text, res.Stop, "ab")
	}
	wantBlocks := [][]int32{
		{tFIMMiddle, M, M, M, M},
		{tFIMMiddle, 'a', M, M, M},
	}
	if got := blocks(b); !reflect.DeepEqual(got, wantBlocks) {
		t.Errorf("blocks = %v, want %v", got, wantBlocks)
	}
	wantCtx := []int32{tFIMSuffix, 'S', tFIMPrefix, 'P'}
	if !reflect.DeepEqual(b.prefills, [][]int32{wantCtx}) {
		t.Errorf("prefills = %v, want %v", b.prefills, [][]int32{wantCtx})
	}
	wantParts := []Partial{
		{Text: "a", Step: 1, Committed: 1, Masked: 3},
		{Text: "ab", Step: 2, Committed: 2, Masked: 0},
	}
	if !reflect.DeepEqual(parts, wantParts) {
		t.Errorf("stream = %+v, want %+v", parts, wantParts)
	}
	checkDraft(t, res.Draft, []int32{'a', 'b', tEOS}, []int32{1, 2, 2})
	st := res.Stats
	if st.Forwards != 2 || st.Committed != 2 || st.TokensPerForward != 1 || st.ContextTokens != 4 || st.Reused != 0 {
		t.Errorf("stats = %+v", st)
	}
	if !res.Draft.Done {
		t.Errorf("draft.Done = false, want true")
	}
}

// With nothing above τ, a step still commits its best position; ties go to
// the leftmost.
func TestConfidenceAtLeastOne(t *testing.T) {
	b := &fakeBackend{info: ourInfo(3), script: table(
		[]dist{d1('x', 0.4), d1('y', 0.5), d1('z', 0.5)},
	)}
	res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.MaxTokens = 3 })})
	checkDraft(t, res.Draft, []int32{'x', 'y', 'z'}, []int32{3, 1, 2})
	if res.Text != "xyz" || res.Stop != StopMaxTokens || res.Stats.Forwards != 3 {
		t.Errorf("Infill = %q (%s, %d forwards), want xyz (max_tokens, 3)", res.Text, res.Stop, res.Stats.Forwards)
	}
}

// The count schedule follows LLaDA's linear plan: 5 positions, 2 per step
// -> 3 steps of 2, 2, 1 (the remainder goes first: ceil(5/2)=3 steps, base 1,
// remainder 2).
func TestCountSchedule(t *testing.T) {
	if got, want := linearPlan(5, 2), []int{2, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("linearPlan(5, 2) = %v, want %v", got, want)
	}
	if got, want := linearPlan(10, 4), []int{4, 3, 3}; !slices.Equal(got, want) {
		t.Errorf("linearPlan(10, 4) = %v, want %v", got, want)
	}
	if got, want := linearPlan(32, 1), slices.Repeat([]int{1}, 32); !slices.Equal(got, want) {
		t.Errorf("linearPlan(32, 1) = %v, want %v", got, want)
	}
	row := []dist{d1('a', 0.3), d1('b', 0.99), d1('c', 0.5), d1('d', 0.7), d1('e', 0.98)}
	b := &fakeBackend{info: ourInfo(5), script: table(row)}
	res, parts := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) {
		s.Schedule, s.PerStep, s.MaxTokens = Count, 2, 5
	})})
	checkDraft(t, res.Draft, []int32{'a', 'b', 'c', 'd', 'e'}, []int32{3, 1, 2, 2, 1})
	var texts []string
	for _, p := range parts {
		texts = append(texts, p.Text)
	}
	if want := []string{"", "", "abcde"}; !slices.Equal(texts, want) {
		t.Errorf("stream = %q, want %q", texts, want)
	}
}

// Margin ranks by top-1 minus top-2; entropy by exp(-entropy). Each picks a
// different first position than confidence would.
func TestMarginAndEntropy(t *testing.T) {
	tests := []struct {
		sched Schedule
		row   []dist
		steps []int32
	}{
		// confidence would take slot 0 (0.6) first; margin takes slot 1 (0.45 > 0.21).
		{Margin, []dist{{{'a', 0.6}, {'x', 0.39}}, {{'b', 0.5}, {'y', 0.05}}}, []int32{2, 1}},
		// confidence would take slot 1 (0.45); entropy takes slot 0
		// (H=1.05 nats against 3.7: the rest of slot 1's mass is spread).
		{Entropy, []dist{{{'a', 0.4}, {'x', 0.4}, {'z', 0.2}}, {{'b', 0.45}}}, []int32{1, 2}},
		{Confidence, []dist{{{'a', 0.4}, {'x', 0.4}, {'z', 0.2}}, {{'b', 0.45}}}, []int32{2, 1}},
	}
	for _, tt := range tests {
		b := &fakeBackend{info: ourInfo(2), script: table(tt.row)}
		res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) {
			s.Schedule, s.MaxTokens = tt.sched, 2
			if tt.sched != Confidence {
				s.PerStep = 1
			}
		})})
		if !slices.Equal(res.Draft.Steps, tt.steps) {
			t.Errorf("%s: steps = %v, want %v", tt.sched, res.Draft.Steps, tt.steps)
		}
	}
	// With PerStep 0 margin uses the threshold: both margins are under 0.9,
	// so one per step, the best first.
	b := &fakeBackend{info: ourInfo(3), script: table([]dist{
		{{'a', 0.95}, {'x', 0.01}}, {{'b', 0.5}, {'y', 0.45}}, {{'c', 0.6}, {'z', 0.1}},
	})}
	res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.Schedule, s.MaxTokens = Margin, 3 })})
	checkDraft(t, res.Draft, []int32{'a', 'b', 'c'}, []int32{1, 3, 2})
}

// A block finished without EOS joins the context (prefilled, minus its last
// token, which anchors the next block); the next block starts all-mask.
func TestMultiBlock(t *testing.T) {
	b := &fakeBackend{info: ourInfo(2), script: oracle("abc", tFIMMiddle, 1, func(int) float64 { return 0.95 })}
	res, parts := decode(t, b, Request{Prefix: "P", Suffix: "S"})
	if res.Text != "abc" || res.Stop != StopEOS || res.Stats.Forwards != 2 {
		t.Errorf("Infill = %q (%s, %d forwards), want abc (eos, 2)", res.Text, res.Stop, res.Stats.Forwards)
	}
	wantBlocks := [][]int32{{tFIMMiddle, M, M}, {'b', M, M}}
	if got := blocks(b); !reflect.DeepEqual(got, wantBlocks) {
		t.Errorf("blocks = %v, want %v", got, wantBlocks)
	}
	ctx := []int32{tFIMSuffix, 'S', tFIMPrefix, 'P'}
	wantPrefills := [][]int32{ctx, append(slices.Clone(ctx), tFIMMiddle, 'a')}
	if !reflect.DeepEqual(b.prefills, wantPrefills) {
		t.Errorf("prefills = %v, want %v", b.prefills, wantPrefills)
	}
	if want := []string{"ab", "abc"}; len(parts) != 2 || parts[0].Text != want[0] || parts[1].Text != want[1] {
		t.Errorf("stream = %+v, want texts %q", parts, want)
	}
	checkDraft(t, res.Draft, []int32{'a', 'b', 'c', tEOS}, []int32{1, 1, 1, 1})
}

// MaxTokens cuts the last block: only its first positions may commit, the
// rest stay masks in the input.
func TestMaxTokens(t *testing.T) {
	b := &fakeBackend{info: ourInfo(2), script: oracle("abcdefgh", tFIMMiddle, 1, func(int) float64 { return 0.95 })}
	res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.MaxTokens = 3 })})
	if res.Text != "abc" || res.Stop != StopMaxTokens {
		t.Errorf("Infill = %q (%s), want abc (max_tokens)", res.Text, res.Stop)
	}
	wantBlocks := [][]int32{{tFIMMiddle, M, M}, {'b', M, M}}
	if got := blocks(b); !reflect.DeepEqual(got, wantBlocks) {
		t.Errorf("blocks = %v, want %v", got, wantBlocks)
	}
	if res.Draft.Done {
		t.Errorf("draft.Done = true for a max_tokens stop")
	}
}

// The end is decided left to right: the far EOS (0.99) never commits
// ahead of the content; an EOS at the leftmost open position does.
func TestEndLeftToRight(t *testing.T) {
	b := &fakeBackend{info: ourInfo(4), script: table(
		[]dist{d1('a', 0.5), d1('b', 0.4), d1('c', 0.3), d1(tEOS, 0.99)},
		[]dist{d1('a', 0.5), d1(tEOS, 0.95), d1('c', 0.3), d1(tEOS, 0.99)},
	)}
	res, parts := decode(t, b, Request{Prefix: "P"})
	if res.Text != "a" || res.Stop != StopEOS || res.Stats.Forwards != 2 {
		t.Errorf("Infill = %q (%s, %d forwards), want a (eos, 2)", res.Text, res.Stop, res.Stats.Forwards)
	}
	wantBlocks := [][]int32{
		{tFIMMiddle, M, M, M, M},
		{tFIMMiddle, 'a', M, M, M},
	}
	if got := blocks(b); !reflect.DeepEqual(got, wantBlocks) {
		t.Errorf("blocks = %v, want %v", got, wantBlocks)
	}
	if parts[0].Masked != 3 {
		t.Errorf("after step 1 masked = %d, want 3", parts[0].Masked)
	}

	// A model that thinks a position is padding whenever its right
	// neighbour is (the EOS creep): committing the far EOS first would
	// empty the middle one step at a time.
	creep := func(_ int, _, block []int32) []dist {
		out := make([]dist, 4)
		for i := range out {
			if i == 3 || block[1+i+1] == tEOS {
				out[i] = d1(tEOS, 0.95)
			} else {
				out[i] = d1(int32('x'+i), 0.6)
			}
		}
		return out
	}
	b = &fakeBackend{info: ourInfo(4), script: creep}
	res, _ = decode(t, b, Request{Prefix: "P"})
	if res.Text != "xyz" || res.Stats.Forwards != 3 {
		t.Errorf("creeping EOS: Infill = %q in %d forwards, want xyz in 3", res.Text, res.Stats.Forwards)
	}
	checkDraft(t, res.Draft, []int32{'x', 'y', 'z', tEOS}, []int32{1, 2, 3, 3})

	// With FreeEnd (LLaDA's behaviour) the creep empties the middle.
	b = &fakeBackend{info: ourInfo(4), script: creep}
	res, _ = decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.FreeEnd = true })})
	if res.Text != "" || res.Stats.Forwards != 4 {
		t.Errorf("creeping EOS with FreeEnd: Infill = %q in %d forwards, want empty in 4", res.Text, res.Stats.Forwards)
	}
}

// A UTF-8 character split over tokens streams only once complete.
func TestStreamValidUTF8(t *testing.T) {
	e := "é" // 0xC3 0xA9
	b := &fakeBackend{info: ourInfo(3), script: table(
		[]dist{d1(int32(e[0]), 0.95), d1(int32(e[1]), 0.5), d1(tEOS, 0.95)},
	)}
	res, parts := decode(t, b, Request{Prefix: "P"})
	if res.Text != e {
		t.Errorf("Infill = %q, want %q", res.Text, e)
	}
	if parts[0].Text != "" || parts[1].Text != e {
		t.Errorf("stream = %q, %q, want %q, %q", parts[0].Text, parts[1].Text, "", e)
	}
}

// Cancellation is checked every step and is an error wrapping ctx.Err().
func TestCancel(t *testing.T) {
	b := &fakeBackend{info: ourInfo(4), script: table([]dist{d1('a', 0.95), d1('b', 0.3), d1('c', 0.3), d1('d', 0.3)})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := newDecoder(b, byteCodec{}).Infill(ctx, Request{Prefix: "P", OnStep: func(Partial) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Infill after cancel: err = %v, want context.Canceled", err)
	}
	// The partial result comes with the error: its draft can warm-start
	// the next request.
	if res.Stop != "" || res.Text != "a" || res.Draft == nil || !slices.Equal(res.Draft.Tokens, []int32{'a', M, M, M}) {
		t.Errorf("cancelled Infill = %q (%q), draft %+v; want a, no stop, draft [a M M M]", res.Text, res.Stop, res.Draft)
	}
	if b.calls != 1 {
		t.Errorf("denoise calls = %d, want 1", b.calls)
	}
	cancel()
	if _, err := newDecoder(b, byteCodec{}).Infill(ctx, Request{Prefix: "P"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Infill on a cancelled ctx: err = %v, want context.Canceled", err)
	}
}

// Running out of the time budget is success with what is committed; the
// draft keeps out-of-order commits.
func TestBudget(t *testing.T) {
	b := &fakeBackend{
		info:   ourInfo(4),
		script: table([]dist{d1('a', 0.95), d1('b', 0.3), d1('c', 0.95), d1('d', 0.3)}),
		sleep:  map[int]time.Duration{1: 30 * time.Millisecond},
	}
	res, err := newDecoder(b, byteCodec{}).Infill(context.Background(), Request{
		Prefix: "P", Settings: settings(func(s *Settings) { s.TimeBudget = 10 * time.Millisecond }),
	})
	if err != nil {
		t.Fatalf("Infill: %v", err)
	}
	if res.Stop != StopBudget || res.Text != "a" || res.Stats.Forwards != 1 || res.Stats.Committed != 1 {
		t.Errorf("Infill = %q (%s, %+v), want a (budget, 1 forward)", res.Text, res.Stop, res.Stats)
	}
	checkDraft(t, res.Draft, []int32{'a', M, 'c', M}, []int32{1, 0, 1, 0})
}

// Revision re-masks a committed token whose probability fell below the
// floor (or left the top-k); it is decided again the step after.
func TestRevision(t *testing.T) {
	b := &fakeBackend{info: ourInfo(2), script: table(
		[]dist{d1('x', 0.95), d1('b', 0.3)},
		[]dist{d1('a', 0.6), d1('b', 0.3)}, // 'x' left the candidates: re-mask; commit b
		[]dist{d1('a', 0.6), d1('b', 0.8)},
	)}
	res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) {
		s.ReviseBelow, s.MaxTokens = 0.2, 2
	})})
	if res.Text != "ab" || res.Stats.Remasked != 1 || res.Stats.Forwards != 3 {
		t.Errorf("Infill = %q (%+v), want ab, 1 re-masked, 3 forwards", res.Text, res.Stats)
	}
	checkDraft(t, res.Draft, []int32{'a', 'b'}, []int32{3, 2})
	wantBlocks := [][]int32{{tFIMMiddle, M, M}, {tFIMMiddle, 'x', M}, {tFIMMiddle, M, 'b'}}
	if got := blocks(b); !reflect.DeepEqual(got, wantBlocks) {
		t.Errorf("blocks = %v, want %v", got, wantBlocks)
	}
}

// A model that never stops disowning its tokens still terminates: each
// position is re-masked at most maxRevisions times, and revision stops after
// maxRevisions steps per block position.
func TestRevisionBounded(t *testing.T) {
	// Slot 0 alternates between a and b, so the token it committed is never
	// a candidate next step; slot 1 always scores its own token at 0.1.
	flip := func(call int, _, block []int32) []dist {
		return []dist{d1(int32('a'+call%2), 0.95), d1('q', 0.1), d1('r', 0.1), d1('r', 0.1)}
	}
	tests := []struct {
		block, forwards, remasked int
	}{
		// b | q (b re-masked) | b (q re-masked) | q (b re-masked) | b (q
		// re-masked) | q: both positions used up their revisions.
		{4, 6, 2 * maxRevisions},
		// The same until step 5, past the 2*2 steps of revision of a
		// two-position block: b, q stays.
		{2, 5, 3},
	}
	for _, tt := range tests {
		b := &fakeBackend{info: ourInfo(tt.block), script: flip}
		res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) {
			s.ReviseBelow, s.MaxTokens = 0.5, 2
		})})
		if res.Text != "bq" || res.Stats.Forwards != tt.forwards || res.Stats.Remasked != tt.remasked || res.Stop != StopMaxTokens {
			t.Errorf("block %d: Infill = %q in %d forwards, %d re-masked (%s); want bq in %d, %d re-masked (max_tokens)",
				tt.block, res.Text, res.Stats.Forwards, res.Stats.Remasked, res.Stop, tt.forwards, tt.remasked)
		}
	}
}

// A warm start keeps draft tokens that still score and reports the forwards
// it saved; the saving matches a cold decode's count.
func TestWarmStart(t *testing.T) {
	// Confidence grows with the number of known block tokens: a cold decode
	// commits one per step until four are known, then the rest at once.
	conf := func(known int) float64 { return min(0.5+0.1*float64(known), 0.99) }
	cold := &fakeBackend{info: ourInfo(8), script: oracle("abcd", tFIMMiddle, 1, conf)}
	res, _ := decode(t, cold, Request{Prefix: "P"})
	if res.Text != "abcd" || res.Stats.Forwards != 5 {
		t.Fatalf("cold Infill = %q in %d forwards, want abcd in 5", res.Text, res.Stats.Forwards)
	}
	checkDraft(t, res.Draft, []int32{'a', 'b', 'c', 'd', tEOS}, []int32{1, 2, 3, 4, 5})

	warm := &fakeBackend{info: ourInfo(8), script: oracle("abcd", tFIMMiddle, 1, conf)}
	wres, _ := decode(t, warm, Request{Prefix: "P", Draft: res.Draft})
	if wres.Text != "abcd" || wres.Stats.Forwards != 1 || wres.Stats.WarmKept != 5 {
		t.Errorf("warm Infill = %q (%+v), want abcd in 1 forward, 5 kept", wres.Text, wres.Stats)
	}
	if got, want := wres.Stats.WarmSaved, res.Stats.Forwards-wres.Stats.Forwards; got != want {
		t.Errorf("WarmSaved = %d, want %d (cold %d - warm %d forwards)", got, want, res.Stats.Forwards, wres.Stats.Forwards)
	}
	if want := []int32{'b', 'c', 'd', tEOS, tEOS, tEOS, tEOS}; !slices.Equal(warm.denoises[0].block[2:], want) {
		t.Errorf("verifying block = %v, want [<fim_middle> a %v]", warm.denoises[0].block, want)
	}

	// A draft that no longer fits: the model now wants "abXd". The verifying
	// pass rejects X (not a candidate) and keeps the rest.
	moved := &fakeBackend{info: ourInfo(8), script: oracle("abcd", tFIMMiddle, 1, conf)}
	bad := &Draft{Tokens: []int32{'a', 'b', 'X', 'd', tEOS}, Steps: []int32{1, 2, 3, 4, 5}}
	mres, _ := decode(t, moved, Request{Prefix: "P", Draft: bad})
	if mres.Text != "abcd" || mres.Stats.WarmKept != 4 || mres.Stats.Forwards != 2 {
		t.Errorf("warm Infill with a wrong token = %q (%+v), want abcd, 4 kept, 2 forwards", mres.Text, mres.Stats)
	}
}

// Sampling is deterministic per seed; a tiny top-p is greedy.
func TestSamplingSeed(t *testing.T) {
	row := make([]dist, 16)
	for i := range row {
		row[i] = dist{{'a', 0.25}, {'b', 0.25}, {'c', 0.25}, {'d', 0.25}}
	}
	run := func(seed uint64, temp, topP float64) string {
		b := &fakeBackend{info: ourInfo(16), script: table(row)}
		res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) {
			s.Temperature, s.TopP, s.Seed, s.MaxTokens = temp, topP, seed, 16
		})})
		return res.Text
	}
	a1, a2, b1 := run(7, 1, 1), run(7, 1, 1), run(8, 1, 1)
	if a1 != a2 {
		t.Errorf("seed 7 twice: %q then %q", a1, a2)
	}
	if a1 == b1 {
		t.Errorf("seeds 7 and 8 gave the same %q (chance 4^-16)", a1)
	}
	if got := run(7, 1, 0.2); got != "aaaaaaaaaaaaaaaa" {
		t.Errorf("top-p 0.2 = %q, want only the first candidate", got)
	}
	// A low temperature sharpens a 0.6/0.4 split towards the first.
	row2 := make([]dist, 16)
	for i := range row2 {
		row2[i] = dist{{'a', 0.6}, {'b', 0.4}}
	}
	b := &fakeBackend{info: ourInfo(16), script: table(row2)}
	res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) {
		s.Temperature, s.Seed, s.MaxTokens = 0.05, 1, 16
	})})
	if res.Text != "aaaaaaaaaaaaaaaa" {
		t.Errorf("temperature 0.05 = %q, want all a", res.Text)
	}
}

// A plain causal checkpoint decodes left to right, one per step.
func TestCausalCheckpoint(t *testing.T) {
	info := ourInfo(3)
	info.Attention = "causal"
	b := &fakeBackend{info: info, script: table([]dist{d1('x', 0.3), d1('y', 0.99), d1(tEOS, 0.99)})}
	res, _ := decode(t, b, Request{Prefix: "P"})
	checkDraft(t, res.Draft, []int32{'x', 'y', tEOS}, []int32{1, 2, 3})
}

func ExampleDefaultSettings() {
	s := DefaultSettings()
	fmt.Println(s.Schedule, s.Threshold, s.MaxTokens)
	// Output: confidence 0.9 128
}

// The sequential schedule commits left to right whatever the scores, and
// the first EOS ends the block.
func TestSequentialSchedule(t *testing.T) {
	row := []dist{d1('a', 0.3), d1('b', 0.5), d1(tEOS, 0.6), d1(tEOS, 0.99)}
	for _, tt := range []struct {
		perStep int
		steps   []int32
	}{
		{1, []int32{1, 2, 3}},
		{2, []int32{1, 1, 2}},
	} {
		b := &fakeBackend{info: ourInfo(4), script: table(row)}
		res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.Schedule, s.PerStep = Sequential, tt.perStep })})
		if res.Text != "ab" || res.Stop != StopEOS {
			t.Errorf("sequential %d: Infill = %q (%s), want ab (eos)", tt.perStep, res.Text, res.Stop)
		}
		checkDraft(t, res.Draft, []int32{'a', 'b', tEOS}, tt.steps)
	}
	// count 1/step ranks by confidence (b first); the end waits for the
	// leftmost open position.
	b := &fakeBackend{info: ourInfo(4), script: table(row)}
	res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.Schedule, s.PerStep = Count, 1 })})
	checkDraft(t, res.Draft, []int32{'a', 'b', tEOS}, []int32{2, 1, 3})
}

// StopAtNewline ends decoding in the step whose commits complete the first
// line, inside a block or at a block's end, and returns the text before
// the break.
func TestStopAtNewline(t *testing.T) {
	for _, tt := range []struct {
		name     string
		block    int
		conf     float64
		forwards int // with StopAtNewline
		full     int // without
	}{
		{"one commit per step", 8, 0.5, 3, 8},
		{"break ends a block", 3, 0.95, 1, 3},
		{"break opens a block", 2, 0.95, 2, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			run := func(stop bool) Result {
				b := &fakeBackend{info: ourInfo(tt.block), script: oracle("ab\ncdef", tFIMMiddle, 1, func(int) float64 { return tt.conf })}
				res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.StopAtNewline = stop })})
				return res
			}
			res := run(true)
			if res.Text != "ab" || res.Stop != StopLine || res.Stats.Forwards != tt.forwards {
				t.Errorf("StopAtNewline: Infill = %q (%s, %d forwards), want \"ab\" (line, %d)", res.Text, res.Stop, res.Stats.Forwards, tt.forwards)
			}
			if res.Draft.Done {
				t.Error("draft.Done = true for a line stop")
			}
			full := run(false)
			if full.Text != "ab\ncdef" || full.Stop != StopEOS || full.Stats.Forwards != tt.full {
				t.Errorf("without: Infill = %q (%s, %d forwards), want \"ab\\ncdef\" (eos, %d)", full.Text, full.Stop, full.Stats.Forwards, tt.full)
			}
		})
	}
}

// With LeftmostFallback, a step where nothing reaches τ commits the
// leftmost open position instead of the best one; positions above τ still
// commit together.
func TestLeftmostFallback(t *testing.T) {
	b := &fakeBackend{info: ourInfo(3), script: table(
		[]dist{d1('x', 0.4), d1('y', 0.5), d1('z', 0.6)},
		[]dist{d1('x', 0.4), d1('y', 0.95), d1('z', 0.97)},
	)}
	res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.MaxTokens = 3; s.LeftmostFallback = true })})
	checkDraft(t, res.Draft, []int32{'x', 'y', 'z'}, []int32{1, 2, 2})
	if res.Text != "xyz" || res.Stats.Forwards != 2 {
		t.Errorf("Infill = %q (%d forwards), want xyz (2)", res.Text, res.Stats.Forwards)
	}
}

// EndPrior ends the block on its all-mask first pass at the leftmost
// position (after the first) from which every later position predicts an
// end token with at least EndPrior; the content before it decodes as usual.
func TestEndPrior(t *testing.T) {
	eos := func(content int32, pc, pe float64) dist { return dist{{content, pc}, {tEOS, pe}} }
	first := []dist{eos('a', 0.5, 0), eos('b', 0.6, 0.1), eos('c', 0.4, 0.3), eos('q', 0.1, 0.8), d1(tEOS, 0.75), d1(tEOS, 0.9)}
	second := []dist{d1('a', 0.95), d1('b', 0.9), d1('c', 0.95), d1('q', 0.9), d1('r', 0.9), d1('s', 0.9)}
	b := &fakeBackend{info: ourInfo(6), script: table(first, second)}
	res, _ := decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.EndPrior = 0.7 })})
	if res.Text != "abc" || res.Stop != StopEOS || res.Stats.Forwards != 2 || res.Stats.EndPriorBlocks != 1 {
		t.Errorf("Infill = %q (%s, %d forwards, %d prior ends), want abc (eos, 2, 1)", res.Text, res.Stop, res.Stats.Forwards, res.Stats.EndPriorBlocks)
	}
	wantBlocks := [][]int32{
		{tFIMMiddle, M, M, M, M, M, M},
		{tFIMMiddle, M, 'b', M, tEOS, tEOS, tEOS},
	}
	if got := blocks(b); !reflect.DeepEqual(got, wantBlocks) {
		t.Errorf("blocks = %v, want %v", got, wantBlocks)
	}

	// Off, the same model writes past the end.
	b = &fakeBackend{info: ourInfo(6), script: table(first, second)}
	res, _ = decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.MaxTokens = 6 })})
	if res.Text != "abcqrs" || res.Stats.EndPriorBlocks != 0 {
		t.Errorf("without EndPrior: Infill = %q (%d prior ends), want abcqrs (0)", res.Text, res.Stats.EndPriorBlocks)
	}

	// Every later position must pass: position 1's 0.8 does not end the
	// middle while position 2 says 0.3.
	gap := []dist{eos('a', 0.5, 0), eos('b', 0.1, 0.8), eos('c', 0.6, 0.3), d1(tEOS, 0.8), d1(tEOS, 0.8), d1(tEOS, 0.9)}
	b = &fakeBackend{info: ourInfo(6), script: table(gap, second)}
	decode(t, b, Request{Prefix: "P", Settings: settings(func(s *Settings) { s.EndPrior = 0.7 })})
	if got := blocks(b)[1]; !slices.Equal(got[4:], []int32{tEOS, tEOS, tEOS}) || got[2] != M {
		t.Errorf("second block = %v, want the end at position 3", got)
	}
}

// On a warm start the end prior reads the verifying pass: the draft's
// tokens that still score are kept and the end lands after them, in one
// forward pass.
func TestEndPriorWarmStart(t *testing.T) {
	pass := []dist{d1('a', 0.95), d1('b', 0.95), d1(tEOS, 0.8), d1(tEOS, 0.8), d1(tEOS, 0.85), d1(tEOS, 0.9)}
	b := &fakeBackend{info: ourInfo(6), script: table(pass)}
	draft := &Draft{Tokens: []int32{'a', 'b'}, Steps: []int32{1, 2}}
	res, _ := decode(t, b, Request{Prefix: "P", Draft: draft, Settings: settings(func(s *Settings) { s.EndPrior = 0.7 })})
	if res.Text != "ab" || res.Stop != StopEOS || res.Stats.Forwards != 1 || res.Stats.WarmKept != 2 || res.Stats.EndPriorBlocks != 1 {
		t.Errorf("warm Infill = %q (%s, %+v), want ab (eos) in 1 forward, 2 kept, 1 prior end", res.Text, res.Stop, res.Stats)
	}
}
