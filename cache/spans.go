package cache

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/ristretto/v2"
)

// pinsPerDoc is how many of a document's latest completions are pinned: the
// one shown and the speculative one computed as if it were accepted.
const pinsPerDoc = 2

// entryOverhead is what an entry costs beyond its text: the entry struct,
// its key and check, ristretto's bookkeeping.
const entryOverhead = 64

// A Spans maps contexts to the finished completions computed for them and
// serves the rest of a completion the user is typing through.
type Spans struct {
	win     windows
	forward int
	maxDocs int
	rc      *ristretto.Cache[uint64, *spanEntry]

	fp atomic.Pointer[string]

	mu    sync.Mutex
	docs  map[string]*docPins
	clock uint64 // orders documents by last use, for MaxDocs

	hits, pinnedHits, misses, puts atomic.Int64
	saved                          atomic.Int64
	pinBytes                       atomic.Int64
}

// docPins holds a document's pinned completions, newest first.
type docPins struct {
	pins [pinsPerDoc]*pin
	used uint64
}

// pin is a completion kept outside ristretto. Its strings are copies, so a
// pin never holds a whole document alive.
type pin struct {
	ctxKey
	text     string
	forwards int
}

func (p *pin) bytes() int64 {
	return int64(len(p.pwin)+len(p.swin)+len(p.text)) + entryOverhead
}

// spanEntry is a completion in ristretto: text is what remains to be typed
// at the entry's context.
type spanEntry struct {
	check    uint64
	text     string
	forwards int
}

// SpanStats counts Lookup outcomes.
type SpanStats struct {
	Hits          int64 // Lookups answered (PinnedHits included)
	PinnedHits    int64 // answered from a document's pinned completions
	Misses        int64
	Puts          int64
	Bytes         int64 // held in pins and in ristretto (by ristretto's cost accounting)
	Dropped       int64 // Sets ristretto dropped or rejected
	ForwardsSaved int64 // forward passes of the completions Lookup served
}

// NewSpans returns an empty span cache.
func NewSpans(cfg Config) (*Spans, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	// About 10 counters per entry; entries average a few hundred bytes.
	counters := max(cfg.SpanBytes/256*10, 1024)
	rc, err := ristretto.NewCache(&ristretto.Config[uint64, *spanEntry]{
		NumCounters: counters,
		MaxCost:     max(cfg.SpanBytes, 1),
		BufferItems: 64,
		Metrics:     true,
	})
	if err != nil {
		return nil, fmt.Errorf("cache: spans: %w", err)
	}
	s := &Spans{
		win:     windows{prefix: cfg.PrefixWindow, suffix: cfg.SuffixWindow, scan: max(cfg.ScanBack, 0)},
		forward: max(cfg.Forward, 0),
		maxDocs: cfg.MaxDocs,
		rc:      rc,
		docs:    make(map[string]*docPins),
	}
	fp := cfg.Fingerprint
	s.fp.Store(&fp)
	return s, nil
}

// SetFingerprint changes the model/settings fingerprint: completions made
// under another one stop matching.
func (s *Spans) SetFingerprint(fp string) { s.fp.Store(&fp) }

// Lookup returns what remains of a completion computed for an earlier state
// of this context when the text typed since is its start. The remainder is
// never empty.
func (s *Spans) Lookup(doc, prefix, suffix string) (remainder string, ok bool) {
	fp := *s.fp.Load()
	swin := s.win.head(suffix)

	s.mu.Lock()
	d := s.docs[doc]
	var pins [pinsPerDoc]*pin
	longest := 0
	if d != nil {
		s.clock++
		d.used = s.clock
		pins = d.pins
		for _, p := range pins {
			if p != nil {
				longest = max(longest, len(p.text))
			}
		}
	}
	s.mu.Unlock()

	p := s.win.tail(prefix, max(longest, s.win.scan))
	for _, pn := range pins {
		if pn == nil || pn.fp != fp || pn.swin != swin {
			continue
		}
		// A pinned completion is served however far it was typed through.
		if k, ok := s.win.typed(p, pn.pwin, pn.text); ok {
			s.hits.Add(1)
			s.pinnedHits.Add(1)
			s.saved.Add(int64(pn.forwards))
			return pn.text[k:], true
		}
	}

	h := newContextHasher(fp, swin)
	for k := 0; k <= s.win.scan && k <= len(p); k++ {
		if !boundary(p, k) {
			continue
		}
		w := s.win.window(p, k)
		e, ok := s.rc.Get(h.key(w))
		if !ok || len(e.text) <= k || !strings.HasPrefix(e.text, p[len(p)-k:]) || e.check != h.check(w) {
			continue
		}
		s.hits.Add(1)
		s.saved.Add(int64(e.forwards))
		return e.text[k:], true
	}
	s.misses.Add(1)
	return "", false
}

// Put records text, the completion computed for this context at a cost of
// forwards engine passes, and pins it as the document's latest.
func (s *Spans) Put(doc, prefix, suffix, text string, forwards int) {
	if text == "" {
		return
	}
	s.puts.Add(1)
	np := &pin{ctxKey: s.win.key(*s.fp.Load(), prefix, suffix), text: strings.Clone(normalize(text)), forwards: forwards}
	text, p := np.text, np.pwin

	s.mu.Lock()
	d := s.docs[doc]
	if d == nil {
		s.evictDocLocked()
		d = &docPins{}
		s.docs[doc] = d
	}
	s.clock++
	d.used = s.clock
	if old := d.pins[pinsPerDoc-1]; old != nil {
		s.pinBytes.Add(-old.bytes())
	}
	copy(d.pins[1:], d.pins[:pinsPerDoc-1])
	d.pins[0] = np
	s.pinBytes.Add(np.bytes())
	s.mu.Unlock()

	h := newContextHasher(np.fp, np.swin)
	s.rc.Set(h.key(np.pwin), &spanEntry{check: h.check(np.pwin), text: text, forwards: forwards}, int64(len(text))+entryOverhead)
	if s.forward == 0 {
		return
	}
	// Forwarding entries: the contexts after typing 1..Forward characters of
	// text. The remainders share text's memory; each still costs its length,
	// so the cap holds if the first entry is evicted and they survive.
	ext := p + text[:min(len(text), s.forward)]
	for k := 1; k <= s.forward && k < len(text); k++ {
		if !boundary(text, len(text)-k) {
			continue
		}
		w := s.win.window(ext[:len(p)+k], 0)
		s.rc.Set(h.key(w), &spanEntry{check: h.check(w), text: text[k:], forwards: forwards}, int64(len(text)-k)+entryOverhead)
	}
}

// typed returns how many bytes at the end of p were typed since a context
// whose prefix window was pwin: the fewest that start on a character
// boundary, start one of texts without being all of it (none typed: a
// text is left to serve), and leave pwin as the window before them.
func (w windows) typed(p, pwin string, texts ...string) (int, bool) {
	longest := 0
	for _, t := range texts {
		longest = max(longest, len(t))
	}
	for k := 0; k < longest && k <= len(p); k++ {
		if !boundary(p, k) {
			continue
		}
		for _, t := range texts {
			if len(t) > k && strings.HasPrefix(t, p[len(p)-k:]) {
				if w.window(p, k) == pwin {
					return k, true
				}
				break
			}
		}
	}
	return 0, false
}

// A Mark holds completions computed for one context, to be matched as the
// user types as Lookup matches a document's pinned completion: the same
// context (fingerprint, windows) with characters typed at the cursor that
// start one of them. Spans keeps no Marks; a caller that keeps answers of
// its own for a context (completion's alternatives) holds them. Its strings
// are copies, so a Mark never holds a whole document alive.
type Mark struct {
	ctxKey
	texts []string
}

// Mark returns a Mark of texts, computed for the context (prefix, suffix)
// under the current fingerprint.
func (s *Spans) Mark(prefix, suffix string, texts ...string) *Mark {
	m := &Mark{ctxKey: s.win.key(*s.fp.Load(), prefix, suffix), texts: make([]string, len(texts))}
	for i, t := range texts {
		m.texts[i] = strings.Clone(normalize(t))
	}
	return m
}

// Rests returns what remains of m's texts at the context (prefix, suffix)
// when it is m's context with characters typed, none or some, that start at
// least one text and are not all of it: rests[i] is texts[i] past them
// ("\r\n" read as "\n"), or "" where texts[i] does not start with them. ok
// is false for any other context, and under another fingerprint.
func (s *Spans) Rests(m *Mark, prefix, suffix string) (rests []string, ok bool) {
	if m == nil || m.fp != *s.fp.Load() || m.swin != s.win.head(suffix) {
		return nil, false
	}
	longest := 0
	for _, t := range m.texts {
		longest = max(longest, len(t))
	}
	p := s.win.tail(prefix, longest)
	k, ok := s.win.typed(p, m.pwin, m.texts...)
	if !ok {
		return nil, false
	}
	typed := p[len(p)-k:]
	rests = make([]string, len(m.texts))
	for i, t := range m.texts {
		if rest, ok := strings.CutPrefix(t, typed); ok {
			rests[i] = rest
		}
	}
	return rests, true
}

// evictDocLocked drops the least recently used document's pins when
// MaxDocs are held.
func (s *Spans) evictDocLocked() {
	if len(s.docs) < s.maxDocs {
		return
	}
	var oldest string
	var used uint64
	first := true
	for doc, d := range s.docs {
		if first || d.used < used {
			oldest, used, first = doc, d.used, false
		}
	}
	s.dropLocked(oldest)
}

func (s *Spans) dropLocked(doc string) {
	d := s.docs[doc]
	if d == nil {
		return
	}
	for _, p := range d.pins {
		if p != nil {
			s.pinBytes.Add(-p.bytes())
		}
	}
	delete(s.docs, doc)
}

// Forget unpins doc's completions; what ristretto holds ages out.
func (s *Spans) Forget(doc string) {
	s.mu.Lock()
	s.dropLocked(doc)
	s.mu.Unlock()
}

// Wait blocks until ristretto has applied every Put so far. Only tests need
// it: a Lookup right after a Put may miss entries ristretto has not applied,
// never the pinned ones.
func (s *Spans) Wait() { s.rc.Wait() }

// Close releases ristretto's goroutines; Lookup then serves pins only.
func (s *Spans) Close() { s.rc.Close() }

// Stats returns a snapshot of the counters.
func (s *Spans) Stats() SpanStats {
	m := s.rc.Metrics
	return SpanStats{
		Hits:          s.hits.Load(),
		PinnedHits:    s.pinnedHits.Load(),
		Misses:        s.misses.Load(),
		Puts:          s.puts.Load(),
		Bytes:         s.pinBytes.Load() + int64(m.CostAdded()-m.CostEvicted()),
		Dropped:       int64(m.SetsDropped() + m.SetsRejected()),
		ForwardsSaved: s.saved.Load(),
	}
}
