package completion

import (
	"context"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/infill"
	"github.com/unmask/unmask/tokenizer"
)

// An InfillFiller fills with the diffusion decoder over a loaded backend.
type InfillFiller struct {
	Decoder *infill.Decoder
	Backend engine.Backend
	Cache   *Cache // optional: sessions and drafts (see cache.go)
	tok     *tokenizer.Tokenizer
}

// NewInfillFiller returns a Filler over a backend and its tokenizer.
func NewInfillFiller(b engine.Backend, tok *tokenizer.Tokenizer) *InfillFiller {
	return &InfillFiller{Decoder: infill.New(b, tok), Backend: b, tok: tok}
}

// Fill implements Filler.
func (f *InfillFiller) Fill(ctx context.Context, req FillRequest) (FillResult, error) {
	s := infill.DefaultSettings()
	if req.MaxTokens > 0 {
		s.MaxTokens = req.MaxTokens
	}
	if req.Settings.Schedule != "" {
		s.Schedule = infill.Schedule(req.Settings.Schedule)
	}
	if req.Settings.Threshold > 0 {
		s.Threshold = req.Settings.Threshold
	}
	if req.Settings.EndPrior != 0 {
		s.EndPrior = max(req.Settings.EndPrior, 0)
	}
	if req.Settings.NoLookup {
		s.Lookup = false
	}
	s.LookupRank = req.Settings.LookupRank
	if req.Settings.MostConfident {
		s.LeftmostFallback = false
	}
	if req.Settings.Temperature > 0 {
		s.Temperature, s.TopP, s.Seed = req.Settings.Temperature, altTopP, req.Settings.Seed
	}
	s.TimeBudget = req.Settings.TimeBudget
	s.StopAtNewline = req.SingleLine
	// The window was cut to an estimate of ContextTokens; the decoder
	// holds the context to it in real tokens (a tokenizer may spend more
	// tokens per byte than the estimate, and attention cost grows with the
	// square of the context).
	s.MaxContext = req.Settings.ContextTokens
	ireq := infill.Request{Prefix: req.Prefix, Suffix: req.Suffix, Settings: s,
		LookupPrefix: req.LookupPrefix, LookupSuffix: req.LookupSuffix, LookupOthers: req.LookupOthers}
	res, err := f.Cache.infill(ctx, f, req.Document, ireq, req.Settings.ColdOnly || req.Alternative, !req.Alternative)
	if err != nil {
		return FillResult{}, err
	}
	return FillResult{Text: res.Text, Forwards: res.Stats.Forwards, Tokens: res.Stats.Committed, Stop: res.Stop,
		ContextTokens: res.Stats.ContextTokens, Reused: res.Stats.Reused,
		Prefill: res.Stats.Prefill, Denoise: res.Stats.Denoise}, nil
}

// ContextLimit implements ContextLimiter: the prefix and suffix tokens the
// decoder keeps beside a middle of maxTokens (infill.Decoder.ContextBudget),
// so that the window, cut on line and syntax boundaries, is never trimmed
// again by the decoder. (Until 2026-11-29 it reserved one block, not the
// whole middle: the embedded model's windows were cut to a budget of 251 tokens
// and the decoder trimmed them to 188 from the left, mid-line, moving that
// cut every few keystrokes and with it the session's cache.)
func (f *InfillFiller) ContextLimit(maxTokens int) int {
	s := infill.DefaultSettings()
	if maxTokens > 0 {
		s.MaxTokens = maxTokens
	}
	if n, err := f.Decoder.ContextBudget(s); err == nil {
		return n
	}
	info := f.Backend.Info()
	block := info.BlockSize
	if block <= 0 {
		block = 32
	}
	return info.MaxContext - min(maxTokens, block) - 1 - 4
}

// Tokenizer returns the filler's tokenizer.
func (f *InfillFiller) Tokenizer() *tokenizer.Tokenizer { return f.tok }

// CountTokens counts s in the model's tokens (TokenCounter).
func (f *InfillFiller) CountTokens(s string) int { return len(f.tok.EncodePlain(s)) }

// Close releases the caches' sessions, then the backend.
func (f *InfillFiller) Close() error {
	f.Cache.Close()
	return f.Backend.Close()
}
