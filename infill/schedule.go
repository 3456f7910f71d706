package infill

import (
	"math"
	"slices"

	"github.com/unmask/unmask/engine"
)

// slotState is what the decoder knows about one middle position.
type slotState uint8

const (
	masked    slotState = iota // still a mask
	committed                  // a token the schedule (or a kept draft) committed
	implied                    // EOS because an earlier position committed an end token
	tentative                  // a draft token awaiting the verifying pass
)

// A slot is one middle position of the canvas being denoised.
type slot struct {
	tok       int32
	state     slotState
	prob      float32 // probability of tok when it was committed
	step      int32   // canvas step (1-based) at which it was committed
	draftStep int32   // tentative slots: the step the draft committed it at
	revised   uint8   // times revision re-masked it
}

// maxRevisions bounds how often one position can be re-masked. It does not
// alone bound a canvas's steps (re-masking an end token re-opens every
// position it implied), so revision also stops after reviseSteps steps.
const maxRevisions = 2

// reviseSteps is how many steps of a canvas may re-mask committed tokens.
func (c *canvas) reviseSteps() int { return maxRevisions * len(c.slots) }

// A canvas is the block (ours) or the whole masked span (bidirectional)
// being denoised: slot i is the middle position predicted by Denoise's out[i].
type canvas struct {
	slots    []slot
	active   int   // slots at or past active are outside MaxTokens: left masked, never committed
	end      int   // index of the first committed end token below active, or active
	step     int   // Denoise calls on this canvas
	plan     []int // count schedule: commits per step (LLaDA linear), from step planFrom+1 on
	planFrom int
	kept     int // draft tokens kept by verification
	saved    int // warm-start forward passes saved (estimate, see Draft)
}

// newCanvas returns n masked slots, of which the first active may commit.
func newCanvas(n, active int, mask int32) *canvas {
	c := &canvas{slots: make([]slot, n), active: active, end: active}
	for i := range c.slots {
		c.slots[i].tok = mask
	}
	return c
}

// finished reports whether every position the middle still needs is decided.
func (c *canvas) finished() bool {
	for i := 0; i < c.end && i < c.active; i++ {
		if c.slots[i].state == masked || c.slots[i].state == tentative {
			return false
		}
	}
	return true
}

// firstOpen returns the leftmost position that is masked or awaits
// verification, or -1.
func (c *canvas) firstOpen() int {
	for i := 0; i < c.end && i < c.active; i++ {
		if c.slots[i].state == masked || c.slots[i].state == tentative {
			return i
		}
	}
	return -1
}

// masked counts the open positions that still matter.
func (c *canvas) maskedCount() int {
	n := 0
	for i := 0; i < c.end && i < c.active; i++ {
		if c.slots[i].state != committed && c.slots[i].state != implied {
			n++
		}
	}
	return n
}

// linearPlan is LLaDA's get_num_transfer_tokens for one block: n masked
// positions over ceil(n/perStep) steps, the remainder spread over the first
// steps.
func linearPlan(n, perStep int) []int {
	if n <= 0 || perStep <= 0 {
		return nil
	}
	steps := (n + perStep - 1) / perStep
	plan := make([]int, steps)
	base, rem := n/steps, n%steps
	for i := range plan {
		plan[i] = base
		if i < rem {
			plan[i]++
		}
	}
	return plan
}

// A choice is one masked position's proposal in a step.
type choice struct {
	pos   int
	id    int32
	prob  float64 // probability of id
	score float64 // ranking score of the schedule, in [0,1]
}

// scoreOf ranks a position under the schedule: confidence and count use the
// picked token's probability; margin the top-1 minus top-2 probability;
// entropy exp(-H), so that a threshold means the same scale for all four.
func scoreOf(sched Schedule, p engine.Prediction, prob float64, mask int32) float64 {
	switch sched {
	case Margin:
		var p1, p2 float64
		n := 0
		for _, c := range p.Candidates {
			if c.ID == mask {
				continue
			}
			if n == 0 {
				p1 = math.Exp(float64(c.LogProb))
			} else {
				p2 = math.Exp(float64(c.LogProb))
				break
			}
			n++
		}
		return p1 - p2
	case Entropy:
		return math.Exp(-float64(p.Entropy))
	}
	return prob
}

// probOf returns the probability the prediction gives id, or -1 when id is
// not among the candidates (below every candidate, so below any floor the
// decoder uses).
func probOf(p engine.Prediction, id int32) float64 {
	for _, c := range p.Candidates {
		if c.ID == id {
			return math.Exp(float64(c.LogProb))
		}
	}
	return -1
}

// scoreSlack absorbs the float32 rounding of log-probabilities, so that a
// probability of exactly τ passes a threshold of τ.
const scoreSlack = 1e-6

// selectCommits orders the proposals best first (ties to the leftmost
// position) and keeps those the schedule commits this step: at least one.
func selectCommits(ch []choice, s Settings, c *canvas) []choice {
	if len(ch) == 0 {
		return ch
	}
	slices.SortFunc(ch, func(a, b choice) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return a.pos - b.pos
	})
	n := 0
	switch {
	case s.Schedule == Sequential:
		n = len(ch) // apply proposed only the leftmost PerStep
	case s.Schedule == Count:
		n = s.PerStep
		if k := c.step - 1 - c.planFrom; k >= 0 && k < len(c.plan) {
			n = c.plan[k]
		}
	case s.Schedule != Confidence && s.PerStep > 0:
		n = s.PerStep
	default: // keep in step with run.thresholdRule
		for n < len(ch) && ch[n].score >= s.Threshold-scoreSlack {
			n++
		}
		if n == 0 && s.LeftmostFallback {
			i := 0
			for j := range ch {
				if ch[j].pos < ch[i].pos {
					i = j
				}
			}
			return ch[i : i+1]
		}
	}
	n = max(n, 1)
	return ch[:min(n, len(ch))]
}
