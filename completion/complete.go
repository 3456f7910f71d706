// Package completion answers one completion request end to end: it cuts
// the document around the cursor on syntax boundaries (tree-sitter) to fit
// a token budget, asks the diffusion decoder to fill the middle, and
// post-processes the middle into the text to insert (asking once more for
// a block's body when the answer opens a block: body.go). It knows
// nothing of JSON-RPC: package lsp calls it, and so does `unmask
// complete`, so both insert exactly the same text.
package completion

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/unmask/unmask/infill"
)

// A FillRequest is what completion asks of the model: fill between Prefix
// and Suffix.
type FillRequest struct {
	Document  string // the document's URI: the key of its engine session and caches
	Prefix    string
	Suffix    string
	MaxTokens int
	// SingleLine asks for the first line only (the cursor is mid-line):
	// the filler may stop decoding at the first line break.
	SingleLine bool
	// LookupPrefix and LookupSuffix are the document's text around the
	// cursor beyond the window, for the decoder's context lookup
	// (infill.Request's fields of the same names); empty: the window's.
	LookupPrefix, LookupSuffix string
	// LookupOthers are other open documents' texts for the context lookup
	// (infill.Request.LookupOthers).
	LookupOthers []string
	Settings     Settings
	// Alternative marks a fill for one of Result.More: decoded cold (no
	// warm start from an interrupted decode's draft), and an interrupted
	// one leaves no draft for the next request, which continues the first
	// answer, not this one.
	Alternative bool
}

// A FillResult is the model's middle and what it cost.
type FillResult struct {
	Text     string
	Forwards int    // forward passes
	Tokens   int    // tokens committed
	Stop     string // "eos" | "max_tokens" | "budget" | "line" | StopNoDraft
	Cached   bool   // answered from a cache, no forward pass

	ContextTokens, Reused int           // context tokens, and those the session's KV cache already held
	Prefill, Denoise      time.Duration // time in each engine phase
}

// StopNoDraft is the Stop of a fill asked for a context continuation
// (Settings.LookupRank) that the context does not offer: no text, no
// forward pass.
const StopNoDraft = infill.StopNoDraft

// A Filler fills the middle. Production code uses the infill decoder (see
// NewInfillFiller); tests use a fake.
type Filler interface {
	Fill(ctx context.Context, req FillRequest) (FillResult, error)
}

// Settings are the user's completion settings (LSP configuration, flags).
type Settings struct {
	MaxTokens     int     // longest middle, in tokens
	ContextTokens int     // prefix+suffix budget, in tokens
	Schedule      string  // infill schedule name; "" = the decoder's default
	Threshold     float64 // confidence threshold; 0 = the decoder's default
	EndPrior      float64 // infill.Settings.EndPrior; 0 = the decoder's default, < 0 = off
	NoLookup      bool    // no context-lookup drafts (infill.Settings.Lookup off)
	LookupRank    int     // draft from the context's LookupRank-th other continuation (infill.Settings.LookupRank)
	NoFiles       bool    // the context lookup searches no files on disk (Engine.Neighbors)
	// MostConfident makes a threshold step with nothing at the threshold
	// commit the most confident position, not the leftmost open one
	// (infill.Settings.LeftmostFallback off); for measuring.
	MostConfident bool
	TimeBudget    time.Duration // decode time limit; 0 = none
	// Speculate computes, in the background, the completion that follows
	// once this one is accepted (needs a Cache; background work yields to
	// every foreground request).
	Speculate bool
	// ColdOnly never warm-starts a decode from an interrupted one's draft:
	// every answer is then the one a cold decode gives (what `unmask
	// complete` prints), at the cost of the forwards a draft would save.
	ColdOnly bool
	// Debounce waits before running the model, after the cache is checked
	// (a hit is answered at once); a cancel during the wait costs nothing.
	Debounce time.Duration
	// NoBody answers with the first fill only: a completion that ends by
	// opening a block the suffix has no body for (body.go) is not
	// continued into the block's body.
	NoBody bool
	// Alternatives asks for up to this many different answers at the
	// position (≤ 1: one). Result.More holds those after the first; they
	// come from the model without the context lookup and from sampled
	// decodes (see alternatives), each post-processed like the first,
	// within what is left of TimeBudget. The language server asks for
	// them when the user asks for ghost text (triggerKind Invoked: the
	// editors' next/previous suggestion).
	Alternatives int
	// Temperature and Seed sample the decode (infill.Settings); 0 =
	// greedy. Alternatives set them; a user's settings leave them 0.
	Temperature float64
	Seed        uint64
	// AnyLanguage completes documents in every language, also those the
	// model was not trained on (Engine.Languages): the language server
	// sets it when the user lists the languages to complete.
	AnyLanguage bool
}

// DefaultSettings returns the settings used when the client sends none.
func DefaultSettings() Settings {
	return Settings{MaxTokens: 64, ContextTokens: 1536, TimeBudget: 500 * time.Millisecond}
}

// An Engine completes code in documents. It is safe for concurrent use.
type Engine struct {
	Filler Filler
	Cache  *Cache // optional: typing through finished completions (see cache.go)
	// Neighbors, when set, lets the context lookup also search the files
	// beside the document on disk (neighbors.go), after the open ones,
	// unless Settings.NoFiles.
	Neighbors *Neighbors
	// Languages are the languageIds the model was trained on (model.Config's,
	// from the checkpoint's unmask_languages); a request in another
	// language is ErrLanguage unless Settings.AnyLanguage. Nil: every
	// language (public checkpoints do not say).
	Languages []string
}

// Forget drops what the engine holds for a closed document.
func (e *Engine) Forget(doc string) { e.Cache.Forget(doc) }

// Close releases the model (when the Filler is an io.Closer) and the
// caches. No request may be running.
func (e *Engine) Close() error {
	var err error
	if c, ok := e.Filler.(io.Closer); ok {
		err = c.Close() // an InfillFiller closes its caches too
	} else {
		err = e.Cache.Close()
	}
	return err
}

// A Selected is the completion item the editor's menu has selected (LSP
// selectedCompletionInfo): Text would replace Range. An inline completion
// must extend it and use the same range.
type Selected struct {
	Range Range
	Text  string
}

// A Request asks for a completion at a position of a document.
type Request struct {
	Doc      *Document
	Position Position
	Encoding Encoding
	Selected *Selected // optional
	Settings Settings
	// Open are other documents the user has open, most recently used
	// first (optional): the context lookup also searches those in the
	// request's language (see openTexts).
	Open []*Document
}

// A Result is the text to insert, replacing Range (empty at the cursor,
// or the selected item's range). Text "" means no completion.
type Result struct {
	Text     string
	Language string // the document's languageId
	Range    Range
	Version  int32 // document version the completion was computed on
	Window   Window
	Fill     FillResult // with Body, both fills' figures, and the first fill's Text
	Body     bool       // Text holds a block's body from a second fill (body.go)
	// More are other answers for the same Range (Settings.Alternatives),
	// each different from Text and from one another, in the order found.
	More []string
	// MoreCached says More came with no forward pass: the rests of the
	// alternatives computed for an earlier state of this context, which
	// the text typed since starts (Cache.lookupAlternatives).
	MoreCached bool
	// MoreForwards are the forward passes the search for More took, its
	// fills that offered nothing new included (0 when MoreCached).
	MoreForwards int
	Elapsed      time.Duration
}

// singleLineTokens bounds a mid-line completion, which keeps one line.
const singleLineTokens = 32

// ErrNoFiller reports an engine without a model.
var ErrNoFiller = errors.New("completion: no model loaded")

// Complete computes the completion for req. A position outside the
// document is an error; a context cancelled while the model runs returns
// its error.
func (e *Engine) Complete(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	if err := e.languageErr(req.Doc.LanguageID, req.Settings); err != nil {
		return Result{Language: req.Doc.LanguageID}, err
	}
	count, _ := e.Filler.(TokenCounter)
	budget := req.Settings.ContextTokens
	if l, ok := e.Filler.(ContextLimiter); ok {
		budget = max(min(budget, l.ContextLimit(req.Settings.MaxTokens)), 1)
	}
	// First the cache, on the raw context: a hit needs no window cut.
	snap, err := req.Doc.snapshot(req.Position, req.Encoding, req.Selected, budget, count, e.Cache == nil)
	if err != nil {
		return Result{}, err
	}
	res := Result{Range: snap.rng, Version: snap.version, Language: req.Doc.LanguageID}
	if e.Filler == nil {
		return res, ErrNoFiller
	}
	if e.Cache != nil {
		// Look up before Begin: typing through a shown completion must not
		// cancel the speculation scheduled after it. On a miss, Begin waits
		// for a running speculation of this very context, whose result the
		// second lookup then finds.
		rest, ok := e.Cache.lookup(req.Doc.URI, snap.raw)
		if !ok {
			end := e.Cache.begin(ctx, req.Doc.URI, snap.raw)
			defer end()
			rest, ok = e.Cache.lookup(req.Doc.URI, snap.raw)
		}
		if ok {
			// Typed through a completion: its rest, no forward pass.
			res.Fill = FillResult{Text: rest, Cached: true}
			res.Text = snap.selected + rest
			res.Window = snap.raw
			if req.Settings.Alternatives > 1 {
				// The alternatives recorded here, typed through like the
				// first answer; or else computed, which needs the window.
				if res.More, res.MoreCached = e.Cache.lookupAlternatives(req, snap.raw, rest); !res.MoreCached {
					if w, err := req.Doc.snapshot(req.Position, req.Encoding, req.Selected, budget, count, true); err == nil {
						res.More, res.MoreForwards = e.alternatives(ctx, req, w, e.lookupTexts(req), rest, start)
					}
				}
			}
			res.Elapsed = time.Since(start)
			return res, nil
		}
		if snap, err = req.Doc.snapshot(req.Position, req.Encoding, req.Selected, budget, count, true); err != nil {
			return Result{}, err
		}
		res.Range, res.Version = snap.rng, snap.version
	}
	res.Window = snap.w
	if req.Settings.Debounce > 0 {
		t := time.NewTimer(req.Settings.Debounce)
		select {
		case <-ctx.Done():
			t.Stop()
			return res, fmt.Errorf("completion: %s: %w", req.Doc.URI, ctx.Err())
		case <-t.C:
		}
	}
	others := e.lookupTexts(req)
	text, err := e.answer(ctx, req, snap, others, req.Settings, false, start, &res)
	if err != nil {
		return res, fmt.Errorf("completion: %s: %w", req.Doc.URI, err)
	}
	if req.Settings.Alternatives > 1 {
		// The span cache missed, yet the alternatives recorded here may
		// still match: the user typed what only an alternative starts
		// with (the first answer was decoded anew, as for any miss), or
		// asked again where the first answer was not cached.
		if res.More, res.MoreCached = e.Cache.lookupAlternatives(req, snap.raw, text); !res.MoreCached {
			res.More, res.MoreForwards = e.alternatives(ctx, req, snap, others, text, start)
		}
	}
	if text != "" {
		res.Text = snap.selected + text
		e.Cache.put(req.Doc.URI, snap.raw, text, res.Fill) // both fills
		if req.Settings.Speculate && snap.selected == "" {
			e.speculate(req.Doc.URI, req.Doc.LanguageID, snap.w, snap.raw, others, text, req.Settings)
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// answer fills the window with settings s and post-processes the middle
// into the text to insert, asking once more for a block's body where the
// answer opens one (body.go). It records the fill's figures in res (both
// fills' with a body). start is when the request began: the body's fill
// gets what is left of the time budget.
func (e *Engine) answer(ctx context.Context, req Request, snap snapshot, others []string, s Settings, alt bool, start time.Time, res *Result) (string, error) {
	fr := fillRequest(req.Doc.URI, snap.w, snap.raw, others, s)
	fr.Alternative = alt
	fill, err := e.Filler.Fill(ctx, fr)
	res.Fill = fill
	if err != nil {
		return "", err
	}
	text := Postprocess(snap.w, fill.Text)
	if indent, ok := bodyAfter(snap.w, text); ok && text != "" && !s.NoBody && snap.w.Multiline() && fill.Stop != "budget" {
		header := text
		text, res.Fill, err = e.body(ctx, req.Doc.URI, req.Doc.LanguageID, snap, others, text, indent, fill, s, time.Since(start), alt)
		if err != nil {
			return "", err
		}
		res.Body = text != header
	}
	return trimToSyntax(req.Doc.LanguageID, snap.w, text), nil
}

// altTemperature and altTopP sample the alternatives after the first
// (Settings.Alternatives). On the 800 development cases (editor pipeline,
// three answers asked for) the best answer offered scored edit similarity
// 0.349, 0.347 and 0.349 at temperatures 0.5, 0.8 and 1.1, against 0.290
// for the first answer alone; five answers asked for scored 0.356 at
// p50 292 ms a case against 187 ms for three (beside a training run).
// Offering the context's other continuations before the samples (the
// order of alternatives) lifted three answers' best from 0.347 to 0.368
// (paired +0.021 ± 0.003; exact 0.064 → 0.065) at p50 192 ms a case
// against 222 ms in the same session: a verified draft costs a pass or
// two where a sample costs several.
const (
	altTemperature = 0.8
	altTopP        = 0.95
)

// alternatives returns up to req.Settings.Alternatives-1 answers other
// than first and each other: first the model's own answer without the
// context lookup (the first answer usually starts from a line of the
// context), then those drafted from the context's other continuations
// (Settings.LookupRank 1, 2, ... while it offers them), then sampled
// decodes with the lookup, seeds 1, 2, ..., at most twice as many
// attempts as answers wanted (a continuation the context does not offer
// costs no forward pass and is not counted). They share what is left of
// the time budget; an attempt that fails or runs out of it ends the
// search with what was found, since the first answer stands on its own.
// A search that ends otherwise is recorded for the document
// (Cache.putAlternatives): typing through them then costs no fill. One cut
// short is not, so that asking again searches again.
func (e *Engine) alternatives(ctx context.Context, req Request, snap snapshot, others []string, first string, start time.Time) (more []string, forwards int) {
	want := req.Settings.Alternatives - 1
	seen := map[string]bool{strings.TrimSpace(first): true, "": true}
	own, rank, seed := false, 1, 0
	if req.Settings.NoLookup {
		rank = 0
	}
	cut := false // by the budget, a failure or a cancel
	for tries := 0; tries < 2*want && len(more) < want; {
		s := req.Settings
		s.Alternatives, s.Speculate, s.ColdOnly = 0, false, true
		switch {
		case !own:
			s.NoLookup, own = true, true
		case rank > 0:
			s.LookupRank = rank
			rank++
		default:
			seed++
			s.Temperature, s.Seed = altTemperature, uint64(seed)
		}
		at := time.Now()
		if s.TimeBudget > 0 {
			left := s.TimeBudget - at.Sub(start)
			if left <= 0 {
				cut = true
				break
			}
			s.TimeBudget = left
		}
		var r Result
		text, err := e.answer(ctx, req, snap, others, s, true, at, &r)
		forwards += r.Fill.Forwards
		if err != nil || ctx.Err() != nil {
			cut = true
			break
		}
		if r.Fill.Stop == StopNoDraft {
			rank = 0 // the context offers no more continuations
			continue
		}
		tries++
		if r.Fill.Stop == "budget" {
			cut = true // cut short: not an answer to offer
			break
		}
		if k := strings.TrimSpace(text); !seen[k] {
			seen[k] = true
			more = append(more, snap.selected+text)
		}
	}
	if !cut {
		e.Cache.putAlternatives(req, snap.raw, first, more)
	}
	return more, forwards
}

// fillRequest asks for the middle of window w; the context lookup searches
// the wider raw context, then the other open documents' texts. Mid-line
// only one line is kept: the tokens past it would be decoded for nothing,
// and each can cost a forward pass, so the request is for one line of at
// most singleLineTokens.
func fillRequest(doc string, w, raw Window, others []string, s Settings) FillRequest {
	r := FillRequest{Document: doc, Prefix: w.Prefix, Suffix: w.Suffix, MaxTokens: s.MaxTokens, Settings: s,
		LookupPrefix: raw.Prefix, LookupSuffix: raw.Suffix, LookupOthers: others}
	if !w.Multiline() {
		r.SingleLine, r.MaxTokens = true, min(r.MaxTokens, singleLineTokens)
	}
	return r
}

// What the context lookup takes from other open documents: at most
// LookupOpenDocs of the request's language, in the order given (most
// recently used first), the last lookupOpenBytes of each. On the
// development cases with up to 8 other files of each case's package open
// (README, Decoder), the editor pipeline's edit similarity went from
// 0.284 to 0.336; on the test cases, from 0.287 to 0.292 (Go gains,
// Python loses a little). Up to 32 files instead of 8 changed nothing
// beyond a standard error (2026-11-29, editor pipeline, each case's
// package files open: eval/dev +0.0026 ± 0.0019, eval/thirdparty +0.0001
// ± 0.0044, eval/unseen −0.0006 ± 0.0061).
const (
	LookupOpenDocs  = 8
	lookupOpenBytes = 64 << 10
)

// lookupTexts returns the texts besides the document's own that the
// context lookup of req searches: the open documents of its language,
// then, up to LookupOpenDocs in all, the files beside it on disk that
// are not open (Engine.Neighbors).
func (e *Engine) lookupTexts(req Request) []string {
	out := openTexts(req.Doc, req.Open)
	if e.Neighbors == nil || req.Settings.NoFiles || len(out) >= LookupOpenDocs {
		return out
	}
	open := map[string]bool{}
	for _, o := range req.Open {
		if o == nil {
			continue
		}
		if p, ok := filePath(o.URI); ok {
			open[p] = true
		}
	}
	return append(out, e.Neighbors.Texts(req.Doc.URI, open, LookupOpenDocs-len(out))...)
}

// openTexts returns the texts of open that the context lookup of a request
// in doc searches.
func openTexts(doc *Document, open []*Document) []string {
	var out []string
	for _, o := range open {
		if len(out) == LookupOpenDocs {
			break
		}
		if o == nil || o == doc || o.URI == doc.URI || o.LanguageID != doc.LanguageID {
			continue
		}
		t := o.Text()
		out = append(out, t[max(len(t)-lookupOpenBytes, 0):])
	}
	return out
}

// A snapshot is what a request takes from a document under its lock.
type snapshot struct {
	w        Window
	rng      Range
	version  int32
	selected string // the selected item's text, which the answer extends
	// raw is the document's text around the cursor, uncut by syntax: the
	// context the span cache is keyed by, so that a lookup needs no window
	// cut (README, Benchmarks/Caches: it brings a typed-through answer's
	// p99 from milliseconds to microseconds).
	raw Window
}

// The raw context's extent: more than the span cache keys by (2,048 bytes
// before the cursor plus its 128-byte scan back, 512 after). The decoder's
// context lookup searches it too: on the development cases with whole
// files for context (editor pipeline), searching the window alone scored
// edit similarity 0.246, this extent 0.304, 8,192 bytes after the cursor
// 0.305 and the whole file 0.297 (README, Decoder).
const (
	rawPrefixBytes = 8192
	rawSuffixBytes = 2048
)

func rawContext(text string, off int) Window {
	w := Window{Prefix: text[max(off-rawPrefixBytes, 0):off], Suffix: text[off:min(off+rawSuffixBytes, len(text))]}
	ls := strings.LastIndexAny(w.Prefix, "\r\n") + 1
	le := strings.IndexAny(w.Suffix, "\r\n")
	if le < 0 {
		le = len(w.Suffix)
	}
	w.LinePrefix, w.LineSuffix = w.Prefix[ls:], w.Suffix[:le]
	return w
}

// snapshot maps a position and takes the raw context there and, when cut
// is set, cuts the model's window. With a selected item, both are taken as
// if the item's text replaced its range.
func (d *Document) snapshot(pos Position, enc Encoding, sel *Selected, budget int, count TokenCounter, cut bool) (snapshot, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.mapperLocked()
	off, err := m.Offset(pos, enc)
	if err != nil {
		return snapshot{}, fmt.Errorf("completion: %s: %w", d.URI, err)
	}
	// Report the position the offset maps back to (clamped).
	p, _ := m.Position(off, enc)
	s := snapshot{rng: Range{Start: p, End: p}, version: d.version}
	if sel != nil {
		a, err := m.Offset(sel.Range.Start, enc)
		if err != nil {
			return snapshot{}, fmt.Errorf("completion: %s: selected item: %w", d.URI, err)
		}
		b, err := m.Offset(sel.Range.End, enc)
		if err != nil || b < a {
			return snapshot{}, fmt.Errorf("completion: %s: selected item: %w", d.URI, ErrPosition)
		}
		// Cut the window on the text with the selected item applied. The
		// tree is not edited: a throw-away document without syntax serves.
		text := d.text[:a] + sel.Text + d.text[b:]
		s.raw = rawContext(text, a+len(sel.Text))
		if cut {
			tmp := &Document{URI: d.URI, LanguageID: d.LanguageID, text: text}
			s.w = tmp.windowLocked(a+len(sel.Text), d.limitLocked(off, budget, count))
		}
		pa, _ := m.Position(a, enc)
		pb, _ := m.Position(b, enc)
		s.rng, s.selected = Range{Start: pa, End: pb}, sel.Text
		return s, nil
	}
	s.raw = rawContext(d.text, off)
	if cut {
		s.w = d.windowLocked(off, d.limitLocked(off, budget, count))
	}
	return s, nil
}
