package replay

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/unmask/unmask/completion"
	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/tokenizer"
)

// realConfigs are caches off and completion's cache over a real filler:
// two fillers on the same backend, so that each has its own caches.
func realConfigs(t testing.TB, file string, b engine.Backend, tok *tokenizer.Tokenizer, s completion.Settings, fp string) []Config {
	t.Helper()
	off := completion.NewInfillFiller(b, tok)
	on := completion.NewInfillFiller(b, tok)
	c, err := completion.NewCache(fp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	on.Cache = c
	return []Config{
		{Name: "real engine, caches off", File: file, Settings: s, Filler: off},
		{Name: "real engine, completion.Cache", File: file, Settings: s, Filler: on, Cache: c},
	}
}

// TestReplayRealFiller runs the replay through completion's InfillFiller on
// the real CPU engine (a small random-weight model over a byte vocabulary):
// it holds the harness to the real decoder, sessions and drafts, not to
// the quality of a model.
func TestReplayRealFiller(t *testing.T) {
	tok, err := tokenizer.Load("../../infill/testdata/bytes-tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	id := func(s string) int32 { v, _ := tok.TokenID(s); return v }
	m, err := model.NewRandom(model.Config{
		Family: model.FamilyUnmask, Hidden: 32, Intermediate: 64, Layers: 2, Heads: 4, KVHeads: 2,
		Vocab: tok.VocabSize(), MaxPosition: 1024, QKVBias: true,
		Attention: engine.ContextCausal, Shift: true, BlockSize: 8,
		MaskID: id("<|mask|>"), EOSID: id("<|endoftext|>"), PadID: id("<|pad|>"), BOSID: engine.NoToken,
		FIMPrefixID: id("<|fim_prefix|>"), FIMMiddleID: id("<|fim_middle|>"), FIMSuffixID: id("<|fim_suffix|>"),
	}, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	file := strings.Join(strings.SplitAfter(goFile(t), "\n")[:8], "")
	s := completion.DefaultSettings()
	s.ContextTokens, s.MaxTokens = 128, 8
	var reps []Report
	for _, cfg := range realConfigs(t, file, m, tok, s, "random") {
		r, err := Run(cfg)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Name, err)
		}
		reps = append(reps, r)
	}
	t.Logf("\n%s", Table(reps))
	off, on := reps[0], reps[1]
	if off.EngineCalls != off.Keystrokes || off.Answered+off.Cancelled != off.Keystrokes {
		t.Errorf("caches off: %d engine calls, %d answered + %d cancelled, want one call and one outcome per keystroke (%d)", off.EngineCalls, off.Answered, off.Cancelled, off.Keystrokes)
	}
	if on.EngineCalls+on.TypedHits != on.Keystrokes {
		t.Errorf("caches on: %d engine calls + %d hits, want %d keystrokes", on.EngineCalls, on.TypedHits, on.Keystrokes)
	}
	if on.Stats.Sessions.Hits == 0 {
		t.Errorf("caches on: no session reused (Stats %v)", on.Stats)
	}
}

// BenchmarkReplayModel replays the first 40 lines of the file with the
// embedded default model, caches off against completion's cache, on the
// wall clock (go test -run '^$' -bench ReplayModel -benchtime 1x -v). It
// skips when the build embeds no default model.
func BenchmarkReplayModel(b *testing.B) {
	m, tok, err := model.Open("")
	if errors.Is(err, model.ErrNoDefault) {
		b.Skip("no embedded default model")
	}
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	lines := 40
	if os.Getenv("UNMASK_REPLAY_LINES") == "all" {
		lines = -1
	}
	file := goFile(b)
	if lines > 0 {
		file = strings.Join(strings.SplitAfter(file, "\n")[:lines], "")
	}
	var reps []Report
	for b.Loop() {
		reps = reps[:0]
		for _, cfg := range realConfigs(b, file, m, tok, completion.DefaultSettings(), m.Info().Name) {
			r, err := Run(cfg)
			if err != nil {
				b.Fatalf("%s: %v", cfg.Name, err)
			}
			reps = append(reps, r)
		}
	}
	b.Logf("replay of the first %d lines of $GOROOT/%s, 10 chars/s, default model on the CPU engine:\n%s", lines, replayFile, Table(reps))
}
