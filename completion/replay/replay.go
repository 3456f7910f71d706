// Package replay replays an edit session against the completion pipeline:
// it types a file from top to bottom at a fixed speed, asking for a
// completion at every keystroke and cancelling the previous request, as an
// editor does, and reports latency, engine calls and cache hit rates. Time
// is virtual: the engine's cost comes from a stated cost model (FakeEngine),
// the server's own work (windowing, cache lookups, post-processing) is
// measured on the wall clock.
package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/unmask/unmask/cache"
	"github.com/unmask/unmask/completion"
)

// A Config is one replay: which caches are on, and the engine model.
type Config struct {
	Name           string
	File           string  // the text typed
	CharsPerSecond float64 // typing speed; 0 means 10

	Spans     bool // typing through shown and cached completions
	ScanBack  int  // cache.Config.ScanBack (-1 off)
	Forward   int  // cache.Config.Forward (-1 off)
	Engine    bool // per-document sessions (KV reuse) and partial drafts (warm starts)
	Speculate bool // after showing a completion, compute the next one as if it were accepted
	// EarlyLookup looks the span cache up with the document's raw text
	// around the cursor before completion cuts its window (and puts with
	// the same keys), so typing through skips the tree-sitter work.
	EarlyLookup bool
	// Wired uses completion's own cache wiring (Engine.Cache) for typing
	// through instead of the harness's; leave Spans off with it.
	Wired bool
	// LinePause is an extra pause after each newline (0: none), the time a
	// user spends reading or thinking between lines.
	LinePause time.Duration
	// Typos is the probability, per character, that the user first types a
	// wrong character and deletes it (two more keystrokes, two requests).
	Typos float64

	Cost     Cost
	Quality  Quality
	Settings completion.Settings // zero: DefaultSettings without the block body's second fill

	// Filler, when set, is a real engine (completion's InfillFiller over a
	// loaded model) used instead of the fake: each call runs on the wall
	// clock, with the time left until the next keystroke as its deadline,
	// and what it took is charged to the virtual clock. Cache is the
	// completion cache the filler shares (nil: caches off); the harness's
	// own caches and speculation are not used.
	Filler completion.Filler
	Cache  *completion.Cache
}

// A Report is what one replay measured.
type Report struct {
	Name        string
	Keystrokes  int
	Answered    int // requests answered before the next keystroke
	Cancelled   int // requests the next keystroke cancelled
	Shown       int // answers with a non-empty completion
	EngineCalls int // requests that reached the engine (foreground, cancelled ones included)
	SpecCalls   int // speculative engine calls
	Forwards    int // forward passes run, speculation included
	TypedHits   int // requests answered from the span cache
	PinnedHits  int // of those, from a document's pinned completions
	Joined      int // requests that waited for a speculation of their own context

	Latency      []time.Duration // answered requests, sorted: server wall time plus the engine's virtual time
	TypedLatency []time.Duration // span cache hits only, sorted: wall time of the whole request
	// LookupLatency and MissLookupLatency are the wall time of Spans.Lookup
	// alone, for hits and for misses, sorted.
	LookupLatency, MissLookupLatency []time.Duration
	Stats                            cache.Stats   // the caches' own counters (zero when off)
	Wall                             time.Duration // real time the replay took
}

// Percentile returns the p-th percentile (0..100) of sorted durations by
// the nearest-rank method, or 0 for none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	r := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(r, 1), len(sorted))-1]
}

// pendingSpec is a speculation running in virtual time: computed at once,
// its result lands in the cache only when virtual time reaches end, unless
// a foreground request cancels it first.
type pendingSpec struct {
	key            string
	prefix, suffix string
	end            time.Duration
	res            completion.FillResult
	err            error
}

// harness is the Filler completion.Engine calls: the span cache and the
// speculator's policy in front of the fake engine, as completion wires
// package cache.
type harness struct {
	cfg    Config
	doc    string
	eng    *FakeEngine
	caches *cache.Caches[*FakeDraft, *FakeSession]
	now    time.Duration
	spec   *pendingSpec
	rep    *Report

	realForwards int    // forward passes of finished real-engine calls
	raw          string // the document's text, for EarlyLookup
}

func (h *harness) Fill(ctx context.Context, req completion.FillRequest) (completion.FillResult, error) {
	b := ctx.Value(virtualKey{}).(*virtualBudget)
	if h.cfg.Spans && !h.cfg.EarlyLookup {
		t0 := time.Now()
		rest, ok := h.caches.Spans.Lookup(req.Document, req.Prefix, req.Suffix)
		d := time.Since(t0)
		if ok {
			h.rep.LookupLatency = append(h.rep.LookupLatency, d)
			return completion.FillResult{Text: rest, Cached: true}, nil
		}
		h.rep.MissLookupLatency = append(h.rep.MissLookupLatency, d)
	}
	if sp := h.spec; sp != nil {
		if sp.key == cache.SpecKey(req.Document, req.Prefix, req.Suffix) && sp.err == nil {
			// Join the speculation of this very context.
			wait := sp.end - h.now
			if wait > b.left {
				b.spent += b.left
				return completion.FillResult{}, errCancelled
			}
			b.spent += wait
			b.left -= wait
			h.commitSpec()
			h.rep.Joined++
			return sp.res, nil
		}
		h.spec = nil // cancelled by this foreground request
	}
	h.rep.EngineCalls++
	if h.cfg.Filler != nil {
		return h.fillReal(ctx, b, req)
	}
	res, err := h.eng.Fill(ctx, req)
	if err == nil && h.cfg.Spans {
		p, s := h.keys(req.Prefix, req.Suffix)
		h.caches.Spans.Put(req.Document, p, s, res.Text, res.Forwards)
	}
	return res, err
}

// keys returns the span cache's context for a request: its window, or with
// EarlyLookup the document's raw text around the cursor (typing at the end
// of the document: all of it, and nothing after).
func (h *harness) keys(prefix, suffix string) (string, string) {
	if h.cfg.EarlyLookup {
		return h.raw, ""
	}
	return prefix, suffix
}

// fillReal runs a real engine until the next keystroke.
func (h *harness) fillReal(ctx context.Context, b *virtualBudget, req completion.FillRequest) (completion.FillResult, error) {
	ctx, cancel := context.WithTimeout(ctx, b.left)
	defer cancel()
	t0 := time.Now()
	res, err := h.cfg.Filler.Fill(ctx, req)
	d := time.Since(t0)
	b.spent += d
	b.left -= d
	if err != nil && ctx.Err() != nil {
		return res, errCancelled
	}
	h.realForwards += res.Forwards
	return res, err
}

func (h *harness) commitSpec() {
	sp := h.spec
	h.spec = nil
	if sp.err == nil && h.cfg.Spans {
		h.caches.Spans.Put(h.doc, sp.prefix, sp.suffix, sp.res.Text, sp.res.Forwards)
	}
}

// Run replays cfg.File and reports what it measured.
func Run(cfg Config) (Report, error) {
	runtime.GC() // don't bill this run for the garbage of the one before
	start := time.Now()
	if cfg.CharsPerSecond == 0 {
		cfg.CharsPerSecond = 10
	}
	if cfg.Settings == (completion.Settings{}) {
		// One fill per request: the fake engine predicts a line at a
		// time, and a block's body (a second fill) is not what the
		// replay measures.
		cfg.Settings = completion.DefaultSettings()
		cfg.Settings.NoBody = true
	}
	if cfg.Cost == (Cost{}) {
		cfg.Cost = DefaultCost()
	}
	interval := time.Duration(float64(time.Second) / cfg.CharsPerSecond)
	const uri = "file:///replay/main.go"
	rep := Report{Name: cfg.Name}
	h := &harness{cfg: cfg, doc: uri, rep: &rep}
	h.eng = &FakeEngine{File: cfg.File, Cost: cfg.Cost, Quality: cfg.Quality}
	if cfg.Spans || cfg.Engine || cfg.Speculate {
		c, err := cache.New[*FakeDraft, *FakeSession](cache.Config{Fingerprint: "fake", ScanBack: cfg.ScanBack, Forward: cfg.Forward})
		if err != nil {
			return rep, err
		}
		defer c.Close()
		h.caches = c
		if cfg.Engine {
			h.eng.Caches = c
		}
	}
	eng := &completion.Engine{Filler: h}
	if cfg.Filler != nil {
		eng.Cache = cfg.Cache
	} else if cfg.Wired {
		wc, err := completion.NewCache("fake")
		if err != nil {
			return rep, err
		}
		defer wc.Close()
		eng.Cache = wc
	}
	doc := completion.NewDocument(uri, "go", 1, "")
	// Positions in UTF-16, the LSP default every editor speaks.
	var line, col uint32
	i := 0                 // bytes of the file typed
	var next time.Duration // virtual time of the next keystroke
	for _, k := range keystrokes(cfg) {
		h.now = next
		next += interval
		if k.text == "\n" {
			next += cfg.LinePause
		}
		rep.Keystrokes++
		if sp := h.spec; sp != nil && sp.end <= h.now {
			h.commitSpec()
		}
		at := completion.Position{Line: line, Character: col}
		change := completion.Change{Range: &completion.Range{Start: at, End: at}, Text: k.text}
		switch {
		case k.backspace:
			col-- // only a typo, one ASCII character on this line, is deleted
			change = completion.Change{Range: &completion.Range{Start: completion.Position{Line: line, Character: col}, End: at}}
		case k.text == "\n":
			line, col = line+1, 0
		default:
			col += uint32(len(utf16.Encode([]rune(k.text))))
		}
		if err := doc.Apply(int32(rep.Keystrokes+1), []completion.Change{change}, completion.UTF16); err != nil {
			return rep, fmt.Errorf("replay: keystroke %d: %w", rep.Keystrokes, err)
		}
		if !k.typo && !k.backspace {
			i += len(k.text)
		}
		hint := i
		if k.typo {
			hint = -1 // a context that is not the file's
		}

		if cfg.EarlyLookup && cfg.Spans {
			t0 := time.Now()
			h.raw = doc.Text()
			_, ok := h.caches.Spans.Lookup(uri, h.raw, "")
			wall := time.Since(t0)
			if ok {
				rep.Answered++
				rep.Shown++
				rep.TypedHits++
				rep.Latency = append(rep.Latency, wall)
				rep.TypedLatency = append(rep.TypedLatency, wall)
				rep.LookupLatency = append(rep.LookupLatency, wall)
				continue
			}
			rep.MissLookupLatency = append(rep.MissLookupLatency, wall)
		}
		b := &virtualBudget{left: next - h.now}
		ctx := withBudget(context.WithValue(context.Background(), hintKey{}, hint), b)
		t0 := time.Now()
		res, err := eng.Complete(ctx, completion.Request{Doc: doc, Position: completion.Position{Line: line, Character: col}, Encoding: completion.UTF16, Settings: cfg.Settings})
		wall := time.Since(t0)
		if errors.Is(err, errCancelled) {
			rep.Cancelled++
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("replay: keystroke %d: %w", rep.Keystrokes, err)
		}
		rep.Answered++
		lat := wall + b.spent
		if cfg.Filler != nil {
			lat = wall // the engine ran on the wall clock
		}
		rep.Latency = append(rep.Latency, lat)
		if res.Fill.Cached {
			rep.TypedHits++
			rep.TypedLatency = append(rep.TypedLatency, wall)
		}
		if res.Text == "" {
			continue
		}
		rep.Shown++
		if cfg.Speculate && !res.Fill.Cached && h.spec == nil && hint >= 0 {
			h.speculate(res, i, lat)
		}
	}
	if eng.Cache != nil {
		st := eng.Cache.Stats()
		rep.Stats.Spans = st.Spans
		rep.Stats.ForwardsSaved = st.ForwardsSaved
		rep.PinnedHits = int(st.Spans.PinnedHits)
		if cfg.Filler != nil {
			rep.Stats = st // sessions and drafts too: the real filler uses this cache
		}
	}
	if h.caches != nil {
		st := h.caches.Stats()
		if eng.Cache != nil {
			st.Spans, st.ForwardsSaved = rep.Stats.Spans, rep.Stats.ForwardsSaved+st.ForwardsSaved-st.Spans.ForwardsSaved
		}
		rep.Stats = st
		rep.PinnedHits = int(rep.Stats.Spans.PinnedHits)
	}
	rep.Forwards = h.eng.forward
	if cfg.Filler != nil {
		rep.Forwards = h.realForwards
		if eng.Cache != nil {
			rep.Forwards = int(rep.Stats.Forwards) // cancelled calls' forwards too
		}
	}
	slices.Sort(rep.Latency)
	slices.Sort(rep.TypedLatency)
	slices.Sort(rep.LookupLatency)
	slices.Sort(rep.MissLookupLatency)
	rep.Wall = time.Since(start)
	return rep, nil
}

// A keystroke is one edit: a character of the file, a typo, or the
// backspace that deletes the typo.
type keystroke struct {
	text      string
	typo      bool
	backspace bool
}

// keystrokes returns the edit session: the file character by character,
// with the configured typos, the same for every run.
func keystrokes(cfg Config) []keystroke {
	var ks []keystroke
	for i := 0; i < len(cfg.File); {
		_, size := utf8.DecodeRuneInString(cfg.File[i:])
		if cfg.Typos > 0 && unit(cfg.Quality.Seed, i, "typo") < cfg.Typos {
			ks = append(ks, keystroke{text: "#", typo: true}, keystroke{backspace: true})
		}
		ks = append(ks, keystroke{text: cfg.File[i : i+size]})
		i += size
	}
	return ks
}

// speculate computes, in virtual time after the answer went out, the
// completion that follows res as if the user accepted it (llama.vim).
func (h *harness) speculate(res completion.Result, at int, lat time.Duration) {
	prefix := res.Window.Prefix + res.Text
	hint := -1
	if strings.HasPrefix(h.cfg.File[at:], res.Text) {
		hint = at + len(res.Text)
	}
	b := &virtualBudget{left: math.MaxInt64}
	ctx := withBudget(context.WithValue(context.Background(), hintKey{}, hint), b)
	h.rep.SpecCalls++
	r, err := h.eng.Fill(ctx, completion.FillRequest{Document: h.doc, Prefix: prefix, Suffix: res.Window.Suffix, MaxTokens: h.cfg.Settings.MaxTokens, Settings: h.cfg.Settings})
	kp, ks := prefix, res.Window.Suffix
	if h.cfg.EarlyLookup {
		kp, ks = h.raw+res.Text, ""
	}
	h.spec = &pendingSpec{
		key:    cache.SpecKey(h.doc, prefix, res.Window.Suffix),
		prefix: kp, suffix: ks,
		end: h.now + lat + b.spent,
		res: r, err: err,
	}
}

// Table formats reports side by side as a Markdown table.
func Table(reps []Report) string {
	var sb strings.Builder
	row := func(name string, f func(r Report) string) {
		sb.WriteString("| " + name + " |")
		for _, r := range reps {
			sb.WriteString(" " + f(r) + " |")
		}
		sb.WriteString("\n")
	}
	row("", func(r Report) string { return r.Name })
	sb.WriteString("|---|" + strings.Repeat("---:|", len(reps)) + "\n")
	ms := func(d time.Duration) string {
		if d < time.Millisecond {
			return fmt.Sprintf("%.3f ms", float64(d)/1e6)
		}
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	pct := func(a, b int) string {
		if b == 0 {
			return "–"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	}
	row("keystrokes (requests)", func(r Report) string { return fmt.Sprint(r.Keystrokes) })
	row("answered / cancelled", func(r Report) string { return fmt.Sprintf("%d / %d", r.Answered, r.Cancelled) })
	row("answers with a completion", func(r Report) string { return fmt.Sprint(r.Shown) })
	row("latency p50", func(r Report) string { return ms(Percentile(r.Latency, 50)) })
	row("latency p95", func(r Report) string { return ms(Percentile(r.Latency, 95)) })
	row("latency p99", func(r Report) string { return ms(Percentile(r.Latency, 99)) })
	row("typed-through p50 / p99", func(r Report) string {
		if len(r.TypedLatency) == 0 {
			return "–"
		}
		return ms(Percentile(r.TypedLatency, 50)) + " / " + ms(Percentile(r.TypedLatency, 99))
	})
	row("Spans.Lookup hit p50 / p99", func(r Report) string {
		if len(r.LookupLatency) == 0 {
			return "–"
		}
		return ms(Percentile(r.LookupLatency, 50)) + " / " + ms(Percentile(r.LookupLatency, 99))
	})
	row("Spans.Lookup miss p50 / p99", func(r Report) string {
		if len(r.MissLookupLatency) == 0 {
			return "–"
		}
		return ms(Percentile(r.MissLookupLatency, 50)) + " / " + ms(Percentile(r.MissLookupLatency, 99))
	})
	row("engine calls (foreground)", func(r Report) string { return fmt.Sprint(r.EngineCalls) })
	row("speculative engine calls", func(r Report) string { return fmt.Sprint(r.SpecCalls) })
	row("forward passes", func(r Report) string { return fmt.Sprint(r.Forwards) })
	row("span hits (pinned) / rate", func(r Report) string {
		return fmt.Sprintf("%d (%d) / %s", r.TypedHits, r.PinnedHits, pct(r.TypedHits, r.Keystrokes))
	})
	row("draft hits / misses", func(r Report) string {
		return fmt.Sprintf("%d / %d", r.Stats.Drafts.Hits, r.Stats.Drafts.Misses)
	})
	row("session hits / misses", func(r Report) string {
		return fmt.Sprintf("%d / %d", r.Stats.Sessions.Hits, r.Stats.Sessions.Misses)
	})
	row("speculations joined", func(r Report) string { return fmt.Sprint(r.Joined) })
	row("forward passes saved (estimate)", func(r Report) string { return fmt.Sprint(r.Stats.ForwardsSaved) })
	return sb.String()
}
