// Package infill is the diffusion fill-in-the-middle decoder: it lays out a
// prefix and a suffix for the loaded checkpoint, runs denoising steps through
// the engine contract (package engine) and commits many masked positions per
// forward pass.
//
// # Layouts
//
// Our checkpoints (Info.Attention == engine.ContextCausal, Info.Shift): the
// known tokens are
//
//	<fim_suffix> S <fim_prefix> P <fim_middle> m_0 .. m_{k-1}
//
// and the session's KV cache holds all of them but the last. Each block is
// [anchor = last known token] + B masks, bidirectional inside and attending to
// the whole context; the prediction at block position j is for block token
// j+1. Positions past the middle's end are EOS, so the first committed EOS
// ends the middle and every later position of the block is implied EOS
// (never a step of its own). A
// block finished without EOS joins the known tokens (prefilled onto the cache)
// and the next block starts all-mask. Decoding stops at EOS, at
// Settings.MaxTokens, or when the time budget runs out.
//
// Bidirectional checkpoints (LLaDA unshifted; Dream, DiffuCoder, Open-dCoder
// shifted): one sequence [BOS] P [mask]×L S [EOS], as DreamOn builds it; the
// whole sequence is recomputed each step (Prefill only records the context).
// The length L is the main way these models fail at infilling (the notes
// quote Open-dCoder-0.5B at 32.5 pass@1 on HumanEval-Infill with a fixed
// length against 77.4 with the oracle length). Vanilla checkpoints have no
// DreamOn [expand]/[delete] states, so we use what they do have: they were
// trained to pad a too-long canvas with EOS/pad. The strategy is
// "start short-ish, shrink on an end run, grow when full": L starts at
// Settings.MiddleLength, or one block (Info.BlockSize, 32) when it is 0, which
// covers the typical one-to-few-line completion; the first committed EOS/pad
// ends the middle (the rest of the canvas is implied padding, which shrinks
// the answer and saves the steps); a canvas filled to its end with no EOS/pad
// means the middle is probably longer, so L masks more are appended after the
// committed tokens (which stay) and decoding continues, up to MaxTokens.
//
// # Schedules
//
// Each step scores every masked position and commits some of them:
// "confidence" commits every position whose top-1 probability reaches
// Threshold (Fast-dLLM; at least the best one per step); "count" commits a
// fixed number per step in LLaDA's linear schedule; "margin" (top-1 minus
// top-2 probability) and "entropy" (exp(-entropy), so it lies in (0,1] like
// the others) rank positions the same way, with PerStep > 0 selecting a fixed
// count and otherwise the Threshold rule. Ties go to the leftmost position.
// "sequential" commits the leftmost PerStep masked positions, whatever their
// scores: with 1 it decodes in autoregressive order, one token per forward,
// the reference a parallel schedule is measured against.
//
// The end of the middle is decided left to right: an end token (EOS, or pad
// where the checkpoint has one) is a candidate only at the leftmost open
// position (a threshold schedule also takes it in the step whose commits
// made it leftmost). The padding positions at a block's far end are a
// diffusion model's most confident predictions; committing them first makes
// each left neighbour look like padding in turn, and on an early checkpoint
// of ours that crept over the whole block and returned an empty middle.
//
// The one exception is the end prior (Settings.EndPrior, on by default): on
// a canvas's first pass, before anything is written, the end-token
// probabilities along the block are the model's estimate of the middle's
// length, and the leftmost position p >= 1 from which every later position
// passes EndPrior takes the end token at once. Decided once, it cannot
// creep; without it an unsure model rarely proposes the end at the leftmost
// position and writes on to MaxTokens (measured on the default model: 372
// of 400 held-out answers did).
//
// # Context lookup
//
// Code repeats itself, so with Settings.Lookup a request that brings no
// draft of its own starts from one taken from its context: the rest of the
// line after the longest earlier occurrence of the prefix's tail, then an
// end token. The first pass verifies it as it verifies any warm start's
// draft, keeping the tokens the model gives at least Settings.DraftFloor;
// lookup.go has the rule and why the floor is low.
//
// # Context budget
//
// The middle and one block must fit the checkpoint's window
// (Info.MaxContext) with the context: MaxTokens is halved until the middle,
// a block and its anchor take at most half the window. Prefix and suffix
// tokens then get the rest of the window, or Settings.MaxContext (layout
// tokens included) when that is smaller. Over budget, the tokens nearest the
// cursor are kept: the prefix loses its beginning, the suffix its end; the
// suffix keeps at most a fifth of the budget (llama.vim's 256 prefix lines
// against 64 suffix lines) unless the prefix is shorter than its share. The
// prefix's cut moves in steps of an eighth of the budget, so that typing
// (which grows the prefix at its end) keeps the kept prefix's start, and
// with it the session's cache, for that many tokens. Stats.Trimmed counts
// the dropped tokens.
//
// # Input
//
// Prefix and suffix are encoded with EncodePlain, so user text that spells
// a control token ("<|fim_middle|>") stays text. Text that is not valid UTF-8
// is rejected with ErrInvalidUTF8 (and its byte offset) rather than replaced:
// an editor sends UTF-8, so invalid bytes mean a caller bug or a binary file.
package infill

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/unmask/unmask/engine"
)

// A Schedule names how a step picks the masked positions it commits.
type Schedule string

// Schedules.
const (
	Confidence Schedule = "confidence" // top-1 probability >= Threshold, at least one per step
	Count      Schedule = "count"      // PerStep per step by top-1 probability (LLaDA linear)
	Margin     Schedule = "margin"     // top-1 minus top-2 probability
	Entropy    Schedule = "entropy"    // exp(-entropy) of the position's distribution
	Sequential Schedule = "sequential" // the leftmost PerStep masked positions (1 = autoregressive order)
)

// Settings configure one request.
type Settings struct {
	Schedule    Schedule
	Threshold   float64 // confidence schedule: commit masked positions with p >= Threshold (at least one per step); margin/entropy when PerStep is 0
	PerStep     int     // count schedule: tokens per step; margin/entropy: a fixed count when > 0
	BlockSize   int     // 0 = Info.BlockSize
	MaxTokens   int     // limit on the middle's length in tokens
	Temperature float64 // 0 = greedy
	TopP        float64 // nucleus over the top-k candidates; 0 or 1 = all of them
	Seed        uint64
	ReviseBelow float64       // re-mask committed tokens whose probability fell below this (0 = off)
	TimeBudget  time.Duration // 0 = none; running out = success with what is committed
	MaxContext  int           // context token budget (0 = the window's); trimmed as the package comment states
	// MiddleLength is the bidirectional checkpoints' first canvas length in
	// tokens (0 = automatic: one block); see the package comment.
	MiddleLength int
	// FreeEnd lets an end token commit at any position, as LLaDA's and
	// Fast-dLLM's samplers do, instead of only at the leftmost open one
	// (see the package comment). For measuring that rule; off by default.
	FreeEnd bool
	// StopAtNewline ends decoding once the middle's left-to-right
	// committed text holds a line break, and returns the text before it
	// (Stop "line"): a mid-line completion keeps one line, so the tokens
	// past it would cost forward passes for nothing.
	StopAtNewline bool
	// LeftmostFallback changes what a threshold schedule commits in a
	// step where no masked position reaches the threshold: the leftmost
	// open position (the autoregressive order) instead of the most
	// confident one. An unsure model then writes left to right, each
	// token conditioned on the ones before it, and still commits in
	// parallel wherever it is sure.
	LeftmostFallback bool
	// EndPrior decides where a block's middle ends from the block's first
	// pass (every position still a mask, or a warm start's draft): the leftmost position p
	// (after the first) from which every later position's end-token
	// probability is at least EndPrior commits an end token there, and the
	// positions after it are implied (0 = off). The all-mask pass is the
	// model's estimate of the middle's length from the context alone;
	// deciding it once, before any token is written, keeps an unsure model
	// from writing past the point where the suffix takes over (see the
	// package comment).
	EndPrior float64
	// Lookup drafts a request that brings no Draft from its own context
	// (see lookup.go): the rest of the line after the longest earlier
	// occurrence of the prefix's tail, then an end token.
	Lookup bool
	// LookupRank drafts, with Lookup, from the context's LookupRank-th
	// other continuation (LookupTexts; 0: the best). A request whose
	// context offers fewer ends at once with no text and StopNoDraft:
	// this is how completion's alternatives ask for the context's other
	// continuations.
	LookupRank int
	// DraftFloor is the probability a warm start's verifying pass must
	// give a draft token, the Request's Draft or the lookup's, to keep it
	// (0 = ReviseBelow when that is set, else Threshold).
	DraftFloor float64
}

// DefaultSettings returns the settings a request gets when it has no
// opinion: greedy confidence-threshold decoding at τ = 0.9 (Fast-dLLM's and
// dInfer's evaluated threshold), up to 128 tokens, the end decided by the
// first pass at 0.7 (on the default model and 120 held-out cases, edit
// similarity 0.101 → 0.165 and p50 605 → 122 ms against no end prior; 0.5
// and 0.9 scored lower: README, Decoder sweep), and the context lookup with
// drafts kept where the model gives a token at least 0.01 (chosen on the
// first 200 development cases in eval/dev: edit similarity 0.210 → 0.289 and
// 0.94 → 2.34 tokens per forward; floors of 0.05 and 0.2 scored 0.281 and
// 0.263. A warm start from the typed-through answer's draft at 0.01 took
// 1.09 forwards and scored 0.349 there, against 6.32 and 0.243 at the
// threshold, 0.9). A step with no position at the threshold commits the
// leftmost open one (LeftmostFallback): on the development cases with
// d256l4-c5 the answers parse more often at the same cost and edit
// similarity (raw decoder: parse rate 0.630 → 0.640 with the lookup,
// 0.550 → 0.600 without; editor pipeline 0.645 → 0.660), and an unsure
// model writes left to right instead of scattering unlikely tokens across
// the block (`s := := []string{` on examples/hello).
func DefaultSettings() Settings {
	return Settings{
		Schedule:         Confidence,
		Threshold:        0.9,
		MaxTokens:        128,
		TopP:             1,
		EndPrior:         0.7,
		Lookup:           true,
		DraftFloor:       0.01,
		LeftmostFallback: true,
	}
}

// Errors.
var (
	ErrEmpty       = errors.New("infill: prefix and suffix are both empty")
	ErrInvalidUTF8 = errors.New("infill: text is not valid UTF-8")
	ErrSettings    = errors.New("infill: invalid settings")
	ErrCheckpoint  = errors.New("infill: checkpoint cannot be decoded")
	ErrWindow      = errors.New("infill: model window too small for the request")
)

// codec is the part of a tokenizer the decoder needs. Production code passes
// a *tokenizer.Tokenizer (see New); tests use a byte-level fake.
type codec interface {
	EncodePlain(s string) []int32
	Decode(ids []int32) string
	DecodePrefix(ids []int32) string
}

// A Decoder fills the middle between a prefix and a suffix with one loaded
// checkpoint. It holds no per-request state and is safe for concurrent use
// (each request uses its own session).
type Decoder struct {
	b   engine.Backend
	tok codec
}

func newDecoder(b engine.Backend, tok codec) *Decoder {
	return &Decoder{b: b, tok: tok}
}

// Request is one fill-in-the-middle request.
type Request struct {
	Prefix, Suffix string
	// LookupPrefix and LookupSuffix, when set, are wider text around the
	// middle for the context lookup (Settings.Lookup) to search instead
	// of Prefix and Suffix: the document beyond the model's window, which
	// may repeat the line being written although the model cannot see
	// it. LookupPrefix ends, as Prefix does, just before the middle.
	LookupPrefix, LookupSuffix string
	// LookupOthers are more texts for the context lookup, searched after
	// the suffix: other files the user has open, most relevant first.
	LookupOthers []string
	Settings     Settings
	// Session is an optional per-document session whose KV cache is reused
	// (the longest common token prefix survives); nil = a fresh one, closed
	// before Infill returns. Bidirectional checkpoints need a session whose
	// MaxBlock holds [anchor] + L + suffix + 1 tokens.
	Session engine.Session
	Draft   *Draft        // optional warm start
	OnStep  func(Partial) // optional streaming; called after every step
}

// Partial is the state of a request after a step.
type Partial struct {
	Text      string // committed text so far: the left-to-right committed run of the middle, valid UTF-8
	Step      int    // forward passes so far
	Committed int    // committed middle tokens (EOS padding excluded), in any order
	Masked    int    // positions still masked in the current block
}

// Result is a finished request.
type Result struct {
	Text  string // the middle
	Draft *Draft // every committed token (out-of-order ones too), for a later warm start
	Stats Stats
	Stop  string // "eos" | "max_tokens" | "budget"; "" with a cancellation error
}

// Stats describe the work a request took.
type Stats struct {
	Forwards         int           // Denoise calls
	Committed        int           // tokens of the returned middle (EOS excluded)
	TokensPerForward float64       // Committed / Forwards
	Prefill          time.Duration // time in Prefill
	Denoise          time.Duration // time in Denoise
	ContextTokens    int           // tokens of the first Prefill (the context before the middle)
	Reused           int           // of those, taken from the session's cache
	WarmKept         int           // draft tokens kept by the verifying pass (the lookup's too)
	WarmSaved        int           // forward passes a warm start saved (see Draft)
	Lookup           int           // draft tokens the context lookup offered (Settings.Lookup)
	Remasked         int           // committed tokens re-masked by revision
	EndPriorBlocks   int           // blocks whose end Settings.EndPrior decided on their first pass
	Trimmed          int           // prefix+suffix tokens dropped by the trim policy
}

// Stop reasons.
const (
	StopEOS       = "eos"
	StopMaxTokens = "max_tokens"
	StopBudget    = "budget"
	StopLine      = "line"     // Settings.StopAtNewline: the first line is complete
	StopNoDraft   = "no_draft" // Settings.LookupRank: the context offers no such continuation
)

// Infill fills the middle between req.Prefix and req.Suffix. A cancelled ctx
// is an error wrapping ctx.Err(), returned with the partial Result (Stop "",
// Text and Draft of what was committed) when decoding had begun, so the
// caller can keep the draft; running out of Settings.TimeBudget is success
// with what is committed (Stop "budget").
func (d *Decoder) Infill(ctx context.Context, req Request) (Result, error) {
	if d == nil || d.b == nil || d.tok == nil {
		return Result{}, errors.New("infill: decoder has no backend or tokenizer")
	}
	if req.Prefix == "" && req.Suffix == "" {
		return Result{}, ErrEmpty
	}
	if i := invalidUTF8(req.Prefix); i >= 0 {
		return Result{}, fmt.Errorf("%w: prefix at byte %d", ErrInvalidUTF8, i)
	}
	if i := invalidUTF8(req.Suffix); i >= 0 {
		return Result{}, fmt.Errorf("%w: suffix at byte %d", ErrInvalidUTF8, i)
	}
	info := d.b.Info()
	s, err := normalize(req.Settings, info)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("infill: %w", err)
	}
	r := newRun(d, info, s, req)
	if req.Draft == nil && s.Lookup {
		dr := r.lookupDraft()
		if dr == nil && s.LookupRank > 0 {
			return Result{Stop: StopNoDraft}, nil
		}
		if dr != nil {
			r.req.Draft = dr
			r.stats.Lookup = len(dr.Tokens)
		}
	}
	switch info.Attention {
	case engine.ContextCausal, engine.Causal:
		return r.contextCausal(ctx)
	case engine.Bidirectional:
		return r.bidirectional(ctx)
	}
	return Result{}, fmt.Errorf("%w: attention %q", ErrCheckpoint, info.Attention)
}

// invalidUTF8 returns the byte offset of the first invalid UTF-8 sequence in
// s, or -1. User text is rejected rather than silently replaced: the editor
// sends UTF-8, so invalid bytes mean a caller bug or a binary file.
func invalidUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// normalize fills defaults and rejects settings that make no sense.
func normalize(s Settings, info engine.Info) (Settings, error) {
	if s.Schedule == "" {
		s.Schedule = Confidence
	}
	switch s.Schedule {
	case Confidence, Count, Margin, Entropy, Sequential:
	default:
		return s, fmt.Errorf("%w: unknown schedule %q", ErrSettings, s.Schedule)
	}
	if s.Threshold < 0 || s.Threshold > 1 {
		return s, fmt.Errorf("%w: threshold %v outside [0,1]", ErrSettings, s.Threshold)
	}
	if s.Schedule == Confidence && s.Threshold == 0 {
		s.Threshold = DefaultSettings().Threshold
	}
	if s.PerStep < 0 || s.BlockSize < 0 || s.MaxTokens < 0 || s.MaxContext < 0 || s.MiddleLength < 0 {
		return s, fmt.Errorf("%w: negative count", ErrSettings)
	}
	if (s.Schedule == Count || s.Schedule == Sequential) && s.PerStep == 0 {
		s.PerStep = 1
	}
	if (s.Schedule == Margin || s.Schedule == Entropy) && s.PerStep == 0 && s.Threshold == 0 {
		s.Threshold = DefaultSettings().Threshold
	}
	if s.BlockSize == 0 {
		s.BlockSize = info.BlockSize
	}
	if s.BlockSize <= 0 {
		s.BlockSize = 32
	}
	if s.MaxTokens == 0 {
		s.MaxTokens = DefaultSettings().MaxTokens
	}
	if s.EndPrior < 0 || s.EndPrior > 1 {
		return s, fmt.Errorf("%w: end prior %v outside [0,1]", ErrSettings, s.EndPrior)
	}
	if s.Temperature < 0 {
		return s, fmt.Errorf("%w: temperature %v < 0", ErrSettings, s.Temperature)
	}
	if s.TopP < 0 || s.TopP > 1 {
		return s, fmt.Errorf("%w: top-p %v outside [0,1]", ErrSettings, s.TopP)
	}
	if s.TopP == 0 {
		s.TopP = 1
	}
	if s.ReviseBelow < 0 || s.ReviseBelow >= 1 {
		return s, fmt.Errorf("%w: revise-below %v outside [0,1)", ErrSettings, s.ReviseBelow)
	}
	if s.DraftFloor < 0 || s.DraftFloor >= 1 {
		return s, fmt.Errorf("%w: draft floor %v outside [0,1)", ErrSettings, s.DraftFloor)
	}
	if s.TimeBudget < 0 {
		return s, fmt.Errorf("%w: negative time budget", ErrSettings)
	}
	return s, nil
}
