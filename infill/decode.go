package infill

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/unmask/unmask/engine"
)

// errBudget reports, inside a run, that the time budget ran out.
var errBudget = errors.New("infill: time budget spent")

// errLine reports, inside a run, that the committed text holds a line break
// (Settings.StopAtNewline).
var errLine = errors.New("infill: first line complete")

// maxTopK is the candidate room of the decoder's predictions: a backend
// fills as many as its session's TopK, which a caller's session may have set
// above engine.DefaultTopK.
const maxTopK = 64

// A run is the state of one request.
type run struct {
	d     *Decoder
	info  engine.Info
	s     Settings
	req   Request
	sess  engine.Session
	own   bool                // sess was opened by the run and is closed by it
	preds []engine.Prediction // Denoise output, one per slot
	rng   *rand.Rand          // nil when greedy
	w     []float64           // sampling scratch, one per candidate
	ch    []choice            // a step's proposals, reused
	stats Stats
	ends  []int32 // tokens that end the middle (EOS, and pad where it exists)
	floor float64 // warm-start verification floor

	parent   context.Context // the caller's: its cancellation is an error
	deadline time.Time       // zero when there is no budget

	done  []int32 // middle tokens of finished blocks
	dprob []float32
	dstep []int32
}

func newRun(d *Decoder, info engine.Info, s Settings, req Request) *run {
	r := &run{d: d, info: info, s: s, req: req, sess: req.Session}
	if s.Temperature > 0 {
		r.rng = rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	}
	r.ends = []int32{info.EOSID}
	if info.PadID != engine.NoToken && info.PadID != info.EOSID {
		r.ends = append(r.ends, info.PadID)
	}
	switch {
	case s.DraftFloor > 0:
		r.floor = s.DraftFloor
	case s.ReviseBelow > 0:
		r.floor = s.ReviseBelow
	case s.Threshold > 0:
		r.floor = s.Threshold
	default:
		r.floor = 0.5
	}
	if s.TimeBudget > 0 {
		r.deadline = time.Now().Add(s.TimeBudget)
	}
	return r
}

func (r *run) isEnd(id int32) bool {
	for _, e := range r.ends {
		if id == e {
			return true
		}
	}
	return false
}

// engineCtx returns the context engine calls run under: the caller's,
// with the budget's deadline when there is one, so a long forward pass
// stops when the budget does.
func (r *run) engineCtx() (context.Context, context.CancelFunc) {
	if r.deadline.IsZero() {
		return r.parent, func() {}
	}
	return context.WithDeadline(r.parent, r.deadline)
}

// check returns the caller's cancellation (wrapped) or errBudget.
func (r *run) check() error {
	if err := r.parent.Err(); err != nil {
		return fmt.Errorf("infill: %w", err)
	}
	if !r.deadline.IsZero() && !time.Now().Before(r.deadline) {
		return errBudget
	}
	return nil
}

// engineErr classifies an error from an engine call.
func (r *run) engineErr(op string, err error) error {
	if perr := r.parent.Err(); perr != nil {
		return fmt.Errorf("infill: %s: %w", op, perr)
	}
	if !r.deadline.IsZero() && !time.Now().Before(r.deadline) {
		return errBudget
	}
	return fmt.Errorf("infill: %s: %w", op, err)
}

// openSession opens a fresh session unless the request brought one.
func (r *run) openSession(maxContext, maxBlock int) error {
	if r.sess != nil {
		return nil
	}
	sess, err := r.d.b.NewSession(engine.SessionOptions{
		TopK:       engine.DefaultTopK,
		MaxContext: maxContext,
		MaxBlock:   maxBlock,
	})
	if err != nil {
		return fmt.Errorf("infill: new session: %w", err)
	}
	r.sess, r.own = sess, true
	return nil
}

func (r *run) close() {
	if r.own && r.sess != nil {
		r.sess.Close()
	}
}

// prefill sets the session's context; the first call fills ContextTokens
// and Reused.
func (r *run) prefill(tokens []int32, first bool) error {
	if err := r.check(); err != nil {
		return err
	}
	ctx, cancel := r.engineCtx()
	defer cancel()
	t := time.Now()
	reused, err := r.sess.Prefill(ctx, tokens)
	r.stats.Prefill += time.Since(t)
	if err != nil {
		return r.engineErr("prefill", err)
	}
	if first {
		r.stats.ContextTokens = len(tokens)
		r.stats.Reused = reused
	}
	return nil
}

// loadDraft places draft tokens [from, from+len(c.slots)) on the canvas as
// tentative slots; the slots after a draft's end token hold implied ends, as
// the draft's own canvas did, and re-open if the verifying pass rejects it.
func (r *run) loadDraft(c *canvas, from int) {
	d := r.req.Draft
	if d == nil {
		return
	}
	endAt := -1
	for i, id := range d.Tokens {
		if r.isEnd(id) {
			endAt = i
			break
		}
	}
	for i := range c.slots[:c.active] {
		j := from + i
		switch {
		case endAt >= 0 && j > endAt:
			c.slots[i] = slot{tok: d.Tokens[endAt], state: implied}
		case j == endAt:
			c.slots[i] = slot{tok: d.Tokens[endAt], state: tentative, draftStep: d.step(endAt)}
		case j < len(d.Tokens) && d.Tokens[j] != r.info.MaskID:
			c.slots[i] = slot{tok: d.Tokens[j], state: tentative, draftStep: d.step(j)}
		}
	}
}

// runCanvas denoises c until it is finished. fill returns the block to
// Denoise for the canvas as it stands. It returns errBudget when the budget
// ran out.
func (r *run) runCanvas(c *canvas, fill func() []int32) error {
	if need := len(c.slots); len(r.preds) < need {
		r.preds = engine.NewPredictions(need, maxTopK)
	}
	// Revision runs only in the first reviseSteps steps (see apply); after
	// them every step commits at least one masked position, so a canvas
	// takes at most reviseSteps + len(slots) + 1 (a warm start's verifying
	// pass) steps. The limit only guards that reasoning.
	limit := c.step + c.reviseSteps() + len(c.slots) + 2
	for !c.finished() {
		if c.step >= limit {
			return fmt.Errorf("infill: canvas did not converge in %d steps", limit)
		}
		if err := r.check(); err != nil {
			return err
		}
		block := fill()
		out := r.preds[:len(c.slots)]
		lo, hi := r.rows(c)
		ctx, cancel := r.engineCtx()
		t := time.Now()
		err := r.sess.Denoise(ctx, block, lo, out[lo:hi])
		r.stats.Denoise += time.Since(t)
		cancel()
		if err != nil {
			return r.engineErr("denoise", err)
		}
		r.stats.Forwards++
		c.step++
		if err := r.apply(c, out); err != nil {
			return err
		}
		if r.req.OnStep == nil && !r.s.StopAtNewline {
			continue
		}
		// The committed text so far, decoded once for the stream and the
		// line check.
		text := r.d.tok.DecodePrefix(append(append([]int32(nil), r.done...), r.leftRun(c)...))
		r.emit(c, text)
		if r.s.StopAtNewline && !c.finished() && strings.IndexByte(text, '\n') >= 0 {
			return errLine
		}
	}
	return nil
}

// allRows makes every step ask for predictions at every canvas position,
// as the decoder did before rows: the reference the narrowed steps are
// held to (TestRowsParity).
var allRows = false

// rows returns the canvas positions [lo, hi) whose predictions the next
// step's apply reads: every position on a canvas's first pass (the end
// prior reads them all) and while revision may re-mask committed tokens,
// else the span from the first to the last position still masked or
// awaiting verification. The CPU engine runs the last layer's attention
// and MLP, the LM head, top-k and entropy for those rows only. On the
// default model a step with 4 rows cost 5.1 ms against 7.7 with all 33
// (BenchmarkDenoiseDefault in package model, beside a training run); over
// whole decodes, 5.9–6.1 against 7.4–9.0 ms of denoising a forward pass
// (BenchmarkRows), less than the 4-row figure because a block whose end
// its first pass did not decide keeps its far positions open. The
// predictions an engine process sends back shrink the same way.
func (r *run) rows(c *canvas) (lo, hi int) {
	if allRows || (r.s.EndPrior > 0 && c.step == 0) || (r.s.ReviseBelow > 0 && c.step < c.reviseSteps()) {
		return 0, len(c.slots)
	}
	lo = -1
	for i := 0; i < c.active; i++ {
		if st := c.slots[i].state; st == masked || st == tentative {
			if lo < 0 {
				lo = i
			}
			hi = i + 1
		}
	}
	if lo < 0 {
		return 0, 0
	}
	return lo, hi
}

// apply turns one step's predictions into commits, re-masks and verdicts on
// draft tokens.
func (r *run) apply(c *canvas, out []engine.Prediction) error {
	// Positions masked in this step's input are the only ones the schedule
	// may commit: a rejected draft token or a re-masked one had a token in
	// the input, so its prediction saw it; it is decided next step.
	ch := r.ch[:0]
	// A causal block only predicts its leftmost open position; the
	// sequential schedule takes the leftmost PerStep.
	leftmost := len(c.slots)
	switch {
	case r.info.Attention == engine.Causal:
		leftmost = 1
	case r.s.Schedule == Sequential:
		leftmost = max(r.s.PerStep, 1)
	}
	if r.s.EndPrior > 0 && c.step == 1 {
		r.endPrior(c, out)
	}
	// The end is decided left to right: an end token is proposed only at
	// the leftmost open position. Otherwise the padding EOS at the block's
	// far end, the most confident positions, commit first, each makes its
	// left neighbour look like padding too, and the end creeps leftwards
	// over the middle (measured on an early checkpoint of ours: 17 steps
	// of EOS and an empty answer). Positions past the end are implied once
	// the end commits, so they never cost a step.
	open := c.firstOpen()
	var endAt *choice
	for i := 0; i < c.active && i < c.end && len(ch) < leftmost; i++ {
		if c.slots[i].state != masked {
			continue
		}
		id, prob, err := r.pick(out[i], i)
		if err != nil {
			return err
		}
		x := choice{pos: i, id: id, prob: prob, score: scoreOf(r.s.Schedule, out[i], prob, r.info.MaskID)}
		if r.isEnd(id) && i != open && !r.s.FreeEnd {
			if endAt == nil {
				endAt = &x // may commit below, once everything before it has
			}
			continue
		}
		ch = append(ch, x)
	}

	// The verifying pass of a warm start.
	maxKept := int32(0)
	for i := 0; i < c.active; i++ {
		sl := &c.slots[i]
		if sl.state != tentative {
			continue
		}
		p := probOf(out[i], sl.tok)
		if p >= r.floor-scoreSlack {
			sl.state, sl.prob, sl.step = committed, float32(p), int32(c.step)
			c.kept++
			r.stats.WarmKept++
			maxKept = max(maxKept, sl.draftStep)
		} else {
			*sl = slot{tok: r.info.MaskID}
		}
	}
	if maxKept > 1 {
		// The draft's own decode needed maxKept steps on this canvas to
		// commit what one verifying pass kept here.
		c.saved += int(maxKept) - 1
		r.stats.WarmSaved += int(maxKept) - 1
	}

	if r.s.ReviseBelow > 0 && c.step <= c.reviseSteps() {
		for i := 0; i < c.active; i++ {
			sl := &c.slots[i]
			if sl.state != committed || int(sl.step) == c.step || sl.revised >= maxRevisions {
				continue
			}
			if probOf(out[i], sl.tok) < r.s.ReviseBelow {
				*sl = slot{tok: r.info.MaskID, revised: sl.revised + 1}
				r.stats.Remasked++
			}
		}
	}

	if r.s.Schedule == Count && c.plan == nil {
		// LLaDA plans a block's commits from its masked count at the start;
		// a warm start's block starts after its verifying pass.
		c.plan, c.planFrom = linearPlan(c.maskedCount(), r.s.PerStep), c.step-1
	}
	r.ch = ch
	for _, x := range selectCommits(ch, r.s, c) {
		c.slots[x.pos] = slot{tok: x.id, state: committed, prob: float32(x.prob), step: int32(c.step), revised: c.slots[x.pos].revised}
	}
	// A threshold schedule also commits the first proposed end token when
	// this step's commits made it the leftmost open position and it passes
	// the threshold: the middle then ends in this step, not the next.
	if endAt != nil && r.thresholdRule() && c.firstOpen() == endAt.pos && endAt.score >= r.s.Threshold-scoreSlack {
		c.slots[endAt.pos] = slot{tok: endAt.id, state: committed, prob: float32(endAt.prob), step: int32(c.step), revised: c.slots[endAt.pos].revised}
	}
	r.settleEnd(c)
	return nil
}

// endPrior commits an end token at the leftmost position p >= 1 of a
// canvas's first pass from which every later active position predicts an
// end token with probability >= Settings.EndPrior (Settings.EndPrior). On
// a warm start's verifying pass the positions may hold draft tokens
// (tentative, or implied by the draft's end): a draft token that predicts
// no end breaks the run like a masked position that predicts none, and
// draft tokens past the end are dropped with the positions it implies.
func (r *run) endPrior(c *canvas, out []engine.Prediction) {
	at, id, prob := -1, int32(0), 0.0
	for i := c.active - 1; i >= 1; i-- {
		if c.slots[i].state == committed {
			break
		}
		p, best, bestP := 0.0, r.ends[0], 0.0
		for _, e := range r.ends {
			q := max(probOf(out[i], e), 0) // -1: not a candidate
			p += q
			if q > bestP {
				best, bestP = e, q
			}
		}
		if p < r.s.EndPrior-scoreSlack {
			break
		}
		at, id, prob = i, best, p
	}
	if at < 0 {
		return
	}
	c.slots[at] = slot{tok: id, state: committed, prob: float32(prob), step: int32(c.step)}
	r.stats.EndPriorBlocks++
	r.settleEnd(c)
}

// thresholdRule reports whether the schedule commits by threshold (rather
// than a fixed count or order).
func (r *run) thresholdRule() bool {
	switch r.s.Schedule {
	case Count, Sequential:
		return false
	case Margin, Entropy:
		return r.s.PerStep == 0
	}
	return true
}

// settleEnd recomputes the first end token and the implied EOS after it.
// Implied slots are re-derived every step, so re-masking an end token
// re-opens the positions it implied.
func (r *run) settleEnd(c *canvas) {
	c.end = c.active
	for i := 0; i < c.active; i++ {
		sl := &c.slots[i]
		if sl.state == implied {
			*sl = slot{tok: r.info.MaskID, revised: sl.revised}
		}
	}
	for i := 0; i < c.active; i++ {
		sl := c.slots[i]
		if sl.state == committed && r.isEnd(sl.tok) {
			c.end = i
			break
		}
	}
	for i := c.end + 1; i < c.active; i++ {
		c.slots[i] = slot{tok: c.slots[c.end].tok, state: implied, revised: c.slots[i].revised}
	}
}

// pick chooses the token a masked position would commit and its
// probability: the most probable candidate, or with a temperature a sample
// from the top-k candidates (renormalized, then cut to the top-p nucleus).
// The mask token itself is never a choice.
func (r *run) pick(p engine.Prediction, pos int) (int32, float64, error) {
	cands := p.Candidates
	if r.rng == nil {
		for _, c := range cands {
			if c.ID != r.info.MaskID {
				return c.ID, math.Exp(float64(c.LogProb)), nil
			}
		}
		return 0, 0, fmt.Errorf("infill: denoise gave no candidate at block position %d", pos)
	}
	if cap(r.w) < len(cands) {
		r.w = make([]float64, len(cands))
	}
	w := r.w[:len(cands)]
	top := math.Inf(-1)
	for _, c := range cands {
		if c.ID != r.info.MaskID {
			top = max(top, float64(c.LogProb))
		}
	}
	if math.IsInf(top, -1) {
		return 0, 0, fmt.Errorf("infill: denoise gave no candidate at block position %d", pos)
	}
	var sum float64
	for i, c := range cands {
		w[i] = 0
		if c.ID != r.info.MaskID {
			w[i] = math.Exp((float64(c.LogProb) - top) / r.s.Temperature)
			sum += w[i]
		}
	}
	// Candidates come most probable first, and tempering keeps the order,
	// so the nucleus is a prefix.
	var cum, kept float64
	n := 0
	for i := range w {
		if w[i] == 0 {
			continue
		}
		n = i + 1
		cum += w[i] / sum
		kept += w[i]
		if cum >= r.s.TopP {
			break
		}
	}
	u := r.rng.Float64() * kept
	for i := 0; i < n; i++ {
		if w[i] == 0 {
			continue
		}
		u -= w[i]
		if u < 0 || i == n-1 {
			return cands[i].ID, math.Exp(float64(cands[i].LogProb)), nil
		}
	}
	return cands[0].ID, math.Exp(float64(cands[0].LogProb)), nil
}

// run returns the left-to-right committed tokens of the canvas: up to the
// first open position or end token.
func (r *run) leftRun(c *canvas) []int32 {
	var out []int32
	for i := 0; i < c.active && i < c.end; i++ {
		if c.slots[i].state != committed {
			break
		}
		out = append(out, c.slots[i].tok)
	}
	return out
}

// emit streams the state after a step; text is the committed text so far
// (the done blocks, then c's left-to-right run).
func (r *run) emit(c *canvas, text string) {
	if r.req.OnStep == nil {
		return
	}
	n := len(r.done)
	for i := 0; i < c.active && i < c.end; i++ {
		if c.slots[i].state == committed {
			n++
		}
	}
	r.req.OnStep(Partial{
		Text:      text,
		Step:      r.stats.Forwards,
		Committed: n,
		Masked:    c.maskedCount(),
	})
}

// finishBlock appends a finished canvas's middle tokens to done.
func (r *run) finishBlock(c *canvas) {
	for i := 0; i < c.active && i < c.end; i++ {
		sl := c.slots[i]
		r.done = append(r.done, sl.tok)
		r.dprob = append(r.dprob, sl.prob)
		r.dstep = append(r.dstep, sl.step)
	}
}

// result builds the answer from the finished blocks and, when decoding
// stopped inside one, the canvas c (nil otherwise).
func (r *run) result(c *canvas, stop string) Result {
	d := &Draft{
		Tokens: append([]int32(nil), r.done...),
		Probs:  append([]float32(nil), r.dprob...),
		Steps:  append([]int32(nil), r.dstep...),
		Done:   stop == StopEOS,
	}
	var text string
	switch stop {
	case StopEOS:
		end := c.slots[c.end]
		d.Tokens = append(d.Tokens, end.tok)
		d.Probs = append(d.Probs, end.prob)
		d.Steps = append(d.Steps, end.step)
		text = r.d.tok.Decode(r.done)
		r.stats.Committed = len(r.done)
	case StopBudget, StopLine, "":
		if c == nil {
			text = r.d.tok.DecodePrefix(r.done)
			r.stats.Committed = len(r.done)
			break
		}
		run := r.leftRun(c)
		ids := append(append([]int32(nil), r.done...), run...)
		text = r.d.tok.DecodePrefix(ids)
		r.stats.Committed = len(ids)
		// The draft keeps out-of-order commits too: a warm start can use them.
		for i := 0; i < c.active && i < c.end; i++ {
			sl := c.slots[i]
			if sl.state != committed {
				sl = slot{tok: r.info.MaskID}
			}
			d.Tokens = append(d.Tokens, sl.tok)
			d.Probs = append(d.Probs, sl.prob)
			d.Steps = append(d.Steps, sl.step)
		}
		if c.end < c.active {
			end := c.slots[c.end]
			d.Tokens = append(d.Tokens, end.tok)
			d.Probs = append(d.Probs, end.prob)
			d.Steps = append(d.Steps, end.step)
		}
	default:
		text = r.d.tok.DecodePrefix(r.done)
		r.stats.Committed = len(r.done)
	}
	if stop == StopLine {
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[:i]
		}
	}
	d.Forwards = r.stats.Forwards
	if r.stats.Forwards > 0 {
		r.stats.TokensPerForward = float64(r.stats.Committed) / float64(r.stats.Forwards)
	}
	return Result{Text: text, Draft: d, Stats: r.stats, Stop: stop}
}
