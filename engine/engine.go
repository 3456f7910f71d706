// Package engine defines the engine contract: what a backend that holds one
// loaded checkpoint offers the diffusion decoder (package infill).
//
// Two backends implement it: the pure-Go CPU engine in package model, and the
// CUDA engine in package gpu (build tag cuda), reached through the `unmask
// engine` process. The decoder depends only on this package, so it does not
// know which device runs the model.
//
// # Positions and shift
//
// Denoise returns, for each requested block position, the model's prediction
// at that position, with no shift applied. Checkpoints whose logits at
// position i-1 predict token i (Info.Shift: Dream, DiffuCoder, Open-dCoder and
// ours) are decoded by putting the last known token at the head of the block
// (the "anchor") and reading predictions one position early; checkpoints whose
// logits at i predict token i (LLaDA) are decoded with a block of masks only.
// That bookkeeping lives in the decoder, not in the backends.
package engine

import (
	"context"
	"errors"
	"sync/atomic"
)

// Attention names how positions attend to one another.
type Attention string

const (
	// Causal: every position attends to itself and to earlier positions.
	Causal Attention = "causal"
	// Bidirectional: every position attends to every position. Real open
	// diffusion checkpoints (LLaDA, Dream, DiffuCoder, Open-dCoder) use it;
	// a backend recomputes context and block together at each Denoise.
	Bidirectional Attention = "bidirectional"
	// ContextCausal is ours: the context is causal (so its KV cache survives
	// typing) and the block attends to all the context and to itself
	// bidirectionally.
	ContextCausal Attention = "context-causal"
)

// NoToken marks a special token a checkpoint does not have.
const NoToken int32 = -1

// Info describes the loaded checkpoint: what the decoder needs to lay out a
// request.
type Info struct {
	Name       string    // checkpoint name, for logs and cache keys
	Family     string    // "unmask", "dream", "llada", "qwen2", ...
	VocabSize  int       // rows of the LM head
	MaxContext int       // longest sequence the position encoding is meant for
	Attention  Attention // see the constants above
	Shift      bool      // logits at i-1 predict token i
	BlockSize  int       // block length the checkpoint was trained with (masks, not counting an anchor)

	MaskID      int32 // the mask token
	EOSID       int32 // end of text / end of middle
	PadID       int32 // NoToken when absent
	BOSID       int32 // NoToken when absent
	FIMPrefixID int32 // NoToken when absent
	FIMSuffixID int32 // NoToken when absent
	FIMMiddleID int32 // NoToken when absent
}

// Candidate is one of the top-k tokens predicted at a position.
type Candidate struct {
	ID      int32
	LogProb float32 // natural log of the softmax probability over the whole vocabulary
}

// Prediction is what Denoise returns for one block position.
type Prediction struct {
	// Candidates holds the top-k tokens, most probable first. Its length is
	// the session's TopK (capacity is allocated once, with the session).
	Candidates []Candidate
	// Entropy is the entropy (nats) of the full softmax distribution.
	Entropy float32
}

// SessionOptions configure a session.
type SessionOptions struct {
	TopK       int // candidates per position; 0 means DefaultTopK
	MaxContext int // tokens the session's KV cache holds; 0 means the checkpoint's MaxContext
	MaxBlock   int // longest block Denoise accepts; 0 means 2*BlockSize+1
}

// DefaultTopK is the number of candidates per position when SessionOptions.TopK is 0.
const DefaultTopK = 8

// Backend holds one loaded checkpoint.
type Backend interface {
	Info() Info
	// NewSession allocates a session's buffers (KV cache, activations): a
	// step on it allocates nothing.
	NewSession(opts SessionOptions) (Session, error)
	Close() error
}

// Session is one document context: a KV cache plus work buffers. A session
// is used by one goroutine at a time.
type Session interface {
	// Tokens returns the context tokens the session holds (its KV cache).
	// The caller must not modify the slice.
	Tokens() []int32

	// Prefill makes the session's context equal to tokens, reusing the
	// longest common prefix with the context it already holds (typing appends
	// to the prefix, so most of the cache survives). It reports how many
	// tokens were reused. Causal and context-causal checkpoints compute the
	// new positions' keys and values; bidirectional ones may only record the
	// tokens, since their context changes with the block.
	Prefill(ctx context.Context, tokens []int32) (reused int, err error)

	// Denoise runs block after the context: bidirectionally inside the block,
	// attending to all of the context. It fills out[i] with the prediction
	// at block position from+i, for i < len(out). The context is unchanged.
	// An empty or too long block, or positions outside it, is an error
	// wrapping ErrBlockSize.
	Denoise(ctx context.Context, block []int32, from int, out []Prediction) error

	// Truncate cuts the context back to its first n tokens; n outside
	// [0, tokens held] is an error wrapping ErrContextFull.
	Truncate(n int) error

	Close() error
}

// Errors shared by backends.
var (
	ErrContextFull = errors.New("engine: context longer than the session holds")
	ErrBlockSize   = errors.New("engine: block longer than the session allows")
	ErrToken       = errors.New("engine: token id outside the vocabulary")
	ErrClosed      = errors.New("engine: session closed")
)

// NewPredictions allocates n predictions with room for k candidates each, in
// one backing array.
func NewPredictions(n, k int) []Prediction {
	if k <= 0 {
		k = DefaultTopK
	}
	cands := make([]Candidate, n*k)
	out := make([]Prediction, n)
	for i := range out {
		out[i].Candidates = cands[i*k : (i+1)*k : (i+1)*k]
	}
	return out
}

type backgroundKey struct{}

type background struct{ on atomic.Bool }

// WithBackground marks the requests made with the returned context as
// background work (a speculation nobody waits for yet): a backend may give
// them fewer of its threads, so that a foreground request arriving
// meanwhile finds a core free for its own reading and bookkeeping until it
// cancels them. The CPU engine runs them on the calling goroutine alone.
// promote drops the mark (someone now waits for the result): requests
// made after it get every thread again.
func WithBackground(ctx context.Context) (bg context.Context, promote func()) {
	b := &background{}
	b.on.Store(true)
	return context.WithValue(ctx, backgroundKey{}, b), func() { b.on.Store(false) }
}

// Background reports whether ctx carries WithBackground's mark, not
// promoted since.
func Background(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(*background)
	return b != nil && b.on.Load()
}
