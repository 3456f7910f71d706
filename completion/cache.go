package completion

// The wiring of package cache into a completion, in one file:
//
//   - Engine.Complete asks Spans first, keyed by the raw text around the
//     cursor before any window is cut (typing through a shown or cached
//     completion costs no forward pass and no tree-sitter work), and puts
//     every finished, shown completion back under the same key;
//   - InfillFiller checks the document's engine session out of Sessions (its
//     KV cache survives typing), warm-starts from a Draft the last cancelled
//     or out-of-time request left, and leaves its own draft when it is
//     cancelled or runs out of time;
//   - the Speculator is told a foreground request began, so background work
//     yields to it;
//   - the alternatives last computed in a document (Result.More) are
//     recorded with the raw context they were computed for, and served,
//     as Spans serves the first answer, to a request whose context is that
//     one with text typed that starts them.

import (
	"context"
	"math"
	"strings"
	"sync"

	"github.com/unmask/unmask/cache"
	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/infill"
)

// A Cache holds one language server's completion caches.
type Cache struct {
	c *cache.Caches[*infill.Draft, *pooledSession]

	// mu guards alts and clock.
	mu    sync.Mutex
	alts  map[string]*altRecord // by document: the alternatives last computed there
	clock uint64                // orders alts by last use
}

// An altRecord is the alternatives computed for one context: its Mark's
// texts are the first answer, then the alternatives, as inserted.
type altRecord struct {
	mark *cache.Mark
	s    Settings // the request's, Alternatives included
	used uint64
}

// altDocs bounds the documents with recorded alternatives, as
// cache.Config.MaxDocs bounds those with pinned completions: a language
// server drops a document's record when it is closed (Forget), but a
// caller that never closes documents must not grow without end.
const altDocs = 256

// pooledSession is an engine session in the pool: the pool needs Bytes(),
// which sessions report when they can (the CPU engine's do).
type pooledSession struct {
	engine.Session
}

func (p *pooledSession) Bytes() int64 {
	if b, ok := p.Session.(interface{ Bytes() int64 }); ok {
		return b.Bytes()
	}
	return 0
}

// NewCache returns empty caches; fingerprint names the model and settings
// (completions cached under another fingerprint never match).
func NewCache(fingerprint string) (*Cache, error) {
	cfg := cache.DefaultConfig()
	cfg.Fingerprint = fingerprint
	c, err := cache.New[*infill.Draft, *pooledSession](cfg)
	if err != nil {
		return nil, err
	}
	return &Cache{c: c}, nil
}

// Forget drops what is cached for a closed document.
func (c *Cache) Forget(doc string) {
	if c == nil {
		return
	}
	c.c.Forget(doc)
	c.mu.Lock()
	delete(c.alts, doc)
	c.mu.Unlock()
}

// Stats returns the caches' counters.
func (c *Cache) Stats() cache.Stats {
	if c == nil {
		return cache.Stats{}
	}
	return c.c.Stats()
}

// Close releases the caches and their sessions.
func (c *Cache) Close() error {
	if c == nil {
		return nil
	}
	return c.c.Close()
}

// begin marks a foreground request; call end when it is over.
func (c *Cache) begin(ctx context.Context, doc string, w Window) (end func()) {
	if c == nil {
		return func() {}
	}
	return c.c.Speculator.Begin(ctx, cache.SpecKey(doc, w.Prefix, w.Suffix))
}

// lookup returns the rest of a completion the user is typing through.
func (c *Cache) lookup(doc string, w Window) (string, bool) {
	if c == nil {
		return "", false
	}
	return c.c.Spans.Lookup(doc, w.Prefix, w.Suffix)
}

// put records a finished completion as shown.
func (c *Cache) put(doc string, w Window, text string, fill FillResult) {
	if c == nil || text == "" || fill.Stop == infill.StopBudget {
		return
	}
	c.c.Spans.Put(doc, w.Prefix, w.Suffix, text, fill.Forwards)
}

// putAlternatives records more, the alternatives to first computed for
// req at its raw context w, as the document's latest. A request with a
// selected item records none: its answers extend the item, and a later
// request with another item, or none, must not get them.
func (c *Cache) putAlternatives(req Request, w Window, first string, more []string) {
	if c == nil || req.Selected != nil {
		return
	}
	r := &altRecord{mark: c.c.Spans.Mark(w.Prefix, w.Suffix, append([]string{first}, more...)...), s: req.Settings}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.alts == nil {
		c.alts = make(map[string]*altRecord)
	}
	if _, ok := c.alts[req.Doc.URI]; !ok && len(c.alts) >= altDocs {
		oldest, used := "", uint64(math.MaxUint64)
		for doc, o := range c.alts {
			if o.used < used {
				oldest, used = doc, o.used
			}
		}
		delete(c.alts, oldest)
	}
	c.clock++
	r.used = c.clock
	c.alts[req.Doc.URI] = r
}

// lookupAlternatives returns up to req.Settings.Alternatives-1
// alternatives to first at the raw context w, from the document's record
// when w is its context with text typed (or none) that starts one of its
// answers: those that start with the typed text, as their rests, without
// blanks, first, and repeats. ok is false when there is no such record,
// when the record was computed with other settings or for fewer answers,
// and for a request with a selected item (see putAlternatives).
//
// Fewer alternatives may be left than were asked for: those the user
// typed away from are gone, as an editor's filtered menu drops the items
// that no longer match, and are not computed again.
func (c *Cache) lookupAlternatives(req Request, w Window, first string) (more []string, ok bool) {
	if c == nil || req.Selected != nil {
		return nil, false
	}
	c.mu.Lock()
	r := c.alts[req.Doc.URI]
	if r != nil {
		c.clock++
		r.used = c.clock
	}
	c.mu.Unlock()
	if r == nil || !sameAsk(r.s, req.Settings) {
		return nil, false
	}
	rests, ok := c.c.Spans.Rests(r.mark, w.Prefix, w.Suffix)
	if !ok {
		return nil, false
	}
	seen := map[string]bool{strings.TrimSpace(first): true, "": true}
	for _, rest := range rests[1:] {
		if k := strings.TrimSpace(rest); !seen[k] && len(more) < req.Settings.Alternatives-1 {
			seen[k] = true
			more = append(more, rest)
		}
	}
	return more, true
}

// sameAsk reports whether alternatives computed with settings rec answer a
// request with settings s: the same settings, at least as many answers.
func sameAsk(rec, s Settings) bool {
	if rec.Alternatives < s.Alternatives {
		return false
	}
	rec.Alternatives = s.Alternatives
	return rec == s
}

// speculate schedules the completion that follows text once the user
// accepts it (llama.vim's speculative next completion): its result lands in
// the span cache, where the request after the accept finds it.
func (e *Engine) speculate(doc, languageID string, w, raw Window, others []string, text string, s Settings) {
	if e.Cache == nil {
		return
	}
	line := w.LinePrefix + text
	if i := strings.LastIndexAny(line, "\r\n"); i >= 0 {
		line = line[i+1:]
	}
	next := Window{Prefix: w.Prefix + text, Suffix: w.Suffix, LinePrefix: line,
		LineSuffix: w.LineSuffix, Syntax: w.Syntax, Function: w.Function}
	// The cache's key: the raw context after the accept.
	nextRaw := Window{Prefix: raw.Prefix + text, Suffix: raw.Suffix}
	e.Cache.c.Speculator.Schedule(cache.SpecKey(doc, nextRaw.Prefix, nextRaw.Suffix), func(ctx context.Context) {
		// ctx is marked background (engine.WithBackground): the CPU
		// engine computes it on one core, leaving the other to a
		// keystroke's request until that request cancels it, or joins it
		// (the user accepted the completion before it finished), which
		// gives it every core again.
		fill, err := e.Filler.Fill(ctx, fillRequest(doc, next, nextRaw, others, s))
		if err != nil || ctx.Err() != nil {
			return
		}
		if t := trimToSyntax(languageID, next, Postprocess(next, fill.Text)); t != "" {
			e.Cache.put(doc, nextRaw, t, fill)
		}
	})
}

// speculationIdle reports whether no speculation is running or pending.
func (c *Cache) speculationIdle() bool { return c == nil || c.c.Speculator.Idle() }

// infill runs the decoder with the document's pooled session and a draft
// to warm-start from (unless cold), and keeps a partial draft for the next
// request (when keep).
func (c *Cache) infill(ctx context.Context, f *InfillFiller, doc string, req infill.Request, cold, keep bool) (infill.Result, error) {
	if c == nil {
		return f.Decoder.Infill(ctx, req)
	}
	sess, ok, err := c.c.Sessions.Acquire(ctx, doc)
	if err != nil {
		return infill.Result{}, err
	}
	if !ok {
		s, err := f.Backend.NewSession(engine.SessionOptions{})
		if err != nil {
			c.c.Sessions.Abandon(doc)
			return infill.Result{}, err
		}
		sess = &pooledSession{s}
	}
	defer c.c.Sessions.Release(doc, sess)
	req.Session = sess.Session
	if d, typed, ok := c.c.Drafts.Get(doc, req.Prefix, req.Suffix); ok && !cold {
		if rest, ok := f.Decoder.DraftAfter(d, typed); ok {
			req.Draft = rest
		}
	}
	res, err := f.Decoder.Infill(ctx, req)
	if keep && res.Draft != nil && (err != nil || res.Stop == infill.StopBudget) {
		c.c.Drafts.Put(doc, req.Prefix, req.Suffix, res.Draft)
	}
	c.c.NoteForwards(res.Stats.Forwards, res.Stats.WarmSaved)
	return res, err
}
