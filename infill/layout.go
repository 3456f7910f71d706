package infill

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/unmask/unmask/engine"
)

// trimContext fits prefix and suffix tokens into budget tokens. The tokens
// nearest the cursor matter most, so the prefix loses its beginning and the
// suffix its end. The suffix is held to a fifth of the budget (llama.vim's
// 256 prefix lines against 64 suffix lines) unless the prefix leaves room,
// and the prefix gets the rest. The prefix's cut is rounded to a multiple
// of an eighth of the budget, so that while the user types (the prefix
// grows at its end) the kept prefix keeps its first token for an eighth of
// the budget's worth of tokens and the session's cache stays reusable. It
// returns the kept tokens and how many were dropped.
func trimContext(prefix, suffix []int32, budget int) ([]int32, []int32, int) {
	budget = max(budget, 0)
	total := len(prefix) + len(suffix)
	if total <= budget {
		return prefix, suffix, 0
	}
	keepS := min(len(suffix), budget/5)
	keepP := min(len(prefix), budget-keepS)
	keepS = min(len(suffix), budget-keepP)
	if drop := len(prefix) - keepP; drop > 0 {
		chunk := max(1, budget/8)
		drop = (drop + chunk - 1) / chunk * chunk
		keepP = len(prefix) - min(drop, len(prefix))
	}
	return prefix[len(prefix)-keepP:], suffix[:keepS], total - keepP - keepS
}

// window returns the longest sequence the checkpoint takes; 0 means no
// stated limit.
func (r *run) window() int {
	return r.info.MaxContext
}

// fitMiddle clamps MaxTokens so that the middle and one block fit in half
// the window at most (the other half is the context's), and returns the
// token budget left for prefix and suffix. specials counts the layout's
// tokens around them; reserve the middle's and the block's room.
func (r *run) fitMiddle(specials int, reserve func(maxTokens int) int) (int, error) {
	budget := 1 << 30
	if w := r.window(); w > 0 {
		if reserve(r.s.MaxTokens) > w/2 {
			m := r.s.MaxTokens
			for m > 1 && reserve(m) > w/2 {
				m /= 2
			}
			if reserve(m) > w/2 {
				return 0, fmt.Errorf("%w: window %d, block %d", ErrWindow, w, r.s.BlockSize)
			}
			r.s.MaxTokens = m
		}
		budget = w - reserve(r.s.MaxTokens) - specials
	}
	if r.s.MaxContext > 0 {
		budget = min(budget, r.s.MaxContext-specials)
	}
	if budget < 0 {
		return 0, fmt.Errorf("%w: context budget %d below the %d layout tokens", ErrWindow, r.s.MaxContext, specials)
	}
	return budget, nil
}

// layoutRoom returns what a layout puts around prefix and suffix: its
// special tokens, and the room a middle of m tokens takes with its block
// (context-causal: the finished tokens, one block and its anchor;
// bidirectional: the masks, at least MiddleLength, and the anchor).
func layoutRoom(info engine.Info, s Settings) (specials int, reserve func(m int) int) {
	if info.Attention == engine.Bidirectional {
		L := s.MiddleLength
		if L == 0 {
			L = s.BlockSize
		}
		specials = 1 // the EOS after the suffix
		if info.BOSID != engine.NoToken {
			specials++
		}
		anchor := 0
		if info.Shift {
			anchor = 1
		}
		return specials, func(m int) int { return max(m, L) + anchor }
	}
	B := s.BlockSize
	return 3, func(m int) int { return m + B + 1 }
}

// ContextBudget returns how many prefix and suffix tokens Infill keeps for
// settings s on the decoder's checkpoint before it trims (see Context
// budget in the package comment): a caller that cuts its text to this
// many tokens is never trimmed, so its own cut, on line and syntax
// boundaries, is the one the model sees.
func (d *Decoder) ContextBudget(s Settings) (int, error) {
	if d == nil || d.b == nil {
		return 0, errors.New("infill: decoder has no backend")
	}
	info := d.b.Info()
	s, err := normalize(s, info)
	if err != nil {
		return 0, err
	}
	r := &run{info: info, s: s}
	return r.fitMiddle(layoutRoom(info, s))
}

// contextCausal decodes with our layout (see the package comment). Plain
// causal checkpoints take the same layout with one position per step.
func (r *run) contextCausal(ctx context.Context) (Result, error) {
	r.parent = ctx
	defer r.close()
	info := r.info
	if info.FIMPrefixID == engine.NoToken || info.FIMSuffixID == engine.NoToken || info.FIMMiddleID == engine.NoToken {
		return Result{}, fmt.Errorf("%w: %s has no FIM tokens", ErrCheckpoint, info.Name)
	}
	B := r.s.BlockSize
	budget, err := r.fitMiddle(layoutRoom(info, r.s))
	if err != nil {
		return Result{}, err
	}
	pre := r.d.tok.EncodePlain(r.req.Prefix)
	suf := r.d.tok.EncodePlain(r.req.Suffix)
	pre, suf, r.stats.Trimmed = trimContext(pre, suf, budget)

	known := make([]int32, 0, len(pre)+len(suf)+3+r.s.MaxTokens+B)
	known = append(known, info.FIMSuffixID)
	known = append(known, suf...)
	known = append(known, info.FIMPrefixID)
	known = append(known, pre...)
	known = append(known, info.FIMMiddleID)
	// Unshifted checkpoints predict block position i for token i: their
	// cache holds every known token and the block has no anchor.
	anchor := 0
	if info.Shift {
		anchor = 1
	}
	if err := r.openSession(len(known)+r.s.MaxTokens+B+1, B+1); err != nil {
		return Result{}, err
	}
	if err := r.prefill(known[:len(known)-anchor], true); err != nil {
		return r.stopped(nil, err)
	}
	block := make([]int32, B+anchor)
	for {
		produced := len(r.done)
		c := newCanvas(B, min(B, r.s.MaxTokens-produced), info.MaskID)
		r.loadDraft(c, produced)
		if anchor == 1 {
			block[0] = known[len(known)-1]
		}
		fill := func() []int32 {
			for i, sl := range c.slots {
				block[anchor+i] = sl.tok
			}
			return block
		}
		if err := r.runCanvas(c, fill); err != nil {
			return r.stopped(c, err)
		}
		r.finishBlock(c)
		if c.end < c.active {
			return r.result(c, StopEOS), nil
		}
		if len(r.done) >= r.s.MaxTokens {
			return r.result(nil, StopMaxTokens), nil
		}
		if r.s.StopAtNewline && strings.IndexByte(r.d.tok.DecodePrefix(r.done), '\n') >= 0 {
			return r.result(nil, StopLine), nil
		}
		known = append(known, r.done[produced:]...)
		if err := r.prefill(known[:len(known)-anchor], false); err != nil {
			return r.stopped(nil, err)
		}
	}
}

// stopped turns a run's error into the answer: a spent budget is success
// with what is committed, anything else an error.
//
// A cancelled request returns its error together with the partial result
// (Stop ""), so that the caller can keep the draft for a warm start.
func (r *run) stopped(c *canvas, err error) (Result, error) {
	if errors.Is(err, errBudget) {
		return r.result(c, StopBudget), nil
	}
	if errors.Is(err, errLine) {
		return r.result(c, StopLine), nil
	}
	if r.parent.Err() != nil {
		return r.result(c, ""), err
	}
	return Result{}, err
}

// bidirectional decodes `[BOS] P [mask]×L S [EOS]` in one sequence, with
// the length strategy of the package comment.
func (r *run) bidirectional(ctx context.Context) (Result, error) {
	r.parent = ctx
	defer r.close()
	info := r.info
	L := r.s.MiddleLength
	if L == 0 {
		L = r.s.BlockSize
	}
	anchor := 0
	if info.Shift {
		anchor = 1
	}
	budget, err := r.fitMiddle(layoutRoom(info, r.s))
	if err != nil {
		return Result{}, err
	}
	L = min(L, r.s.MaxTokens)
	pre := r.d.tok.EncodePlain(r.req.Prefix)
	suf := r.d.tok.EncodePlain(r.req.Suffix)
	pre, suf, r.stats.Trimmed = trimContext(pre, suf, budget)

	head := make([]int32, 0, len(pre)+1)
	if info.BOSID != engine.NoToken {
		head = append(head, info.BOSID)
	}
	head = append(head, pre...)
	anchorTok := info.EOSID // a shifted model needs a token before the first mask
	if anchor == 1 && len(head) > 0 {
		anchorTok = head[len(head)-1]
		head = head[:len(head)-1]
	}
	tail := append(append([]int32(nil), suf...), info.EOSID)
	maxBlock := anchor + r.s.MaxTokens + len(tail)
	if err := r.openSession(len(head)+maxBlock, maxBlock); err != nil {
		return Result{}, err
	}
	if err := r.prefill(head, true); err != nil {
		return r.stopped(nil, err)
	}

	n := L
	if d := r.req.Draft; d != nil {
		n = min(max(n, len(d.Tokens)), r.s.MaxTokens)
	}
	c := newCanvas(n, n, info.MaskID)
	r.loadDraft(c, 0)
	block := make([]int32, 0, maxBlock)
	fill := func() []int32 {
		block = block[:0]
		if anchor == 1 {
			block = append(block, anchorTok)
		}
		for _, sl := range c.slots {
			block = append(block, sl.tok)
		}
		return append(block, tail...)
	}
	for {
		if err := r.runCanvas(c, fill); err != nil {
			return r.stopped(c, err)
		}
		if c.end < c.active {
			r.finishBlock(c)
			return r.result(c, StopEOS), nil
		}
		if len(c.slots) >= r.s.MaxTokens {
			r.finishBlock(c)
			return r.result(nil, StopMaxTokens), nil
		}
		// Filled to the end with no EOS/pad: the middle is probably longer
		// than the canvas. Keep what is committed, append L masks.
		grow := min(L, r.s.MaxTokens-len(c.slots))
		for range grow {
			c.slots = append(c.slots, slot{tok: info.MaskID})
		}
		c.active, c.end = len(c.slots), len(c.slots)
		c.plan = nil // the count schedule plans the new masks afresh
	}
}
