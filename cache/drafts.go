package cache

import (
	"container/list"
	"strings"
	"sync"
	"sync/atomic"
)

// Sized is anything whose memory the caches account for.
type Sized interface {
	// Bytes reports the memory the value holds.
	Bytes() int64
}

// draftsPerDoc bounds the drafts one document keeps: the newest few are the
// only ones a request typed after them can extend.
const draftsPerDoc = 4

// A Drafts keeps partial spans (V: infill's *Draft) for warm starts, in a
// least-recently-used list capped by the drafts' Bytes.
type Drafts[V Sized] struct {
	win      windows
	maxBytes int64
	fp       atomic.Pointer[string]

	mu    sync.Mutex
	lru   list.List // of *draft; front = most recently used
	byDoc map[string][]*list.Element
	bytes int64

	hits, misses, puts, evicted atomic.Int64
}

type draft[V Sized] struct {
	doc string
	ctxKey
	v     V
	bytes int64
}

// DraftStats counts Drafts outcomes.
type DraftStats struct {
	Hits, Misses, Puts, Evicted int64
	Bytes                       int64
	Count                       int
}

// NewDrafts returns an empty draft cache holding at most cfg.DraftBytes.
func NewDrafts[V Sized](cfg Config) (*Drafts[V], error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &Drafts[V]{
		win:      windows{prefix: cfg.PrefixWindow, suffix: cfg.SuffixWindow, scan: max(cfg.DraftScanBack, 0)},
		maxBytes: cfg.DraftBytes,
		byDoc:    make(map[string][]*list.Element),
	}
	fp := cfg.Fingerprint
	d.fp.Store(&fp)
	return d, nil
}

// SetFingerprint changes the model/settings fingerprint: drafts made under
// another one stop matching.
func (d *Drafts[V]) SetFingerprint(fp string) { d.fp.Store(&fp) }

// Put keeps v, the partial span of a decode for this context. A draft
// larger than the whole capacity is not kept.
func (d *Drafts[V]) Put(doc, prefix, suffix string, v V) {
	n := v.Bytes() + entryOverhead
	if n > d.maxBytes {
		return
	}
	d.puts.Add(1)
	e := &draft[V]{doc: doc, ctxKey: d.win.key(*d.fp.Load(), prefix, suffix), v: v, bytes: n}
	d.mu.Lock()
	defer d.mu.Unlock()
	els := d.byDoc[doc]
	// A draft for the same context replaces the older one.
	for i, el := range els {
		if o := el.Value.(*draft[V]); o.ctxKey == e.ctxKey {
			d.removeLocked(el)
			els = append(els[:i:i], els[i+1:]...)
			break
		}
	}
	if len(els) >= draftsPerDoc {
		d.removeLocked(els[0])
		d.evicted.Add(1)
		els = els[1:]
	}
	el := d.lru.PushFront(e)
	d.byDoc[doc] = append(els, el)
	d.bytes += n
	for d.bytes > d.maxBytes {
		d.evictLocked(d.lru.Back())
	}
}

// Get returns the newest draft of doc whose context is this one less up to
// DraftScanBack typed characters, and those characters. Whether the draft fits
// what was typed is the caller's call.
func (d *Drafts[V]) Get(doc, prefix, suffix string) (v V, typed string, ok bool) {
	fp := *d.fp.Load()
	swin := d.win.head(suffix)
	p := d.win.tail(prefix, d.win.scan)
	d.mu.Lock()
	defer d.mu.Unlock()
	els := d.byDoc[doc]
	for i := len(els) - 1; i >= 0; i-- {
		e := els[i].Value.(*draft[V])
		if e.fp != fp || e.swin != swin {
			continue
		}
		for k := 0; k <= d.win.scan && k <= len(p); k++ {
			if boundary(p, k) && d.win.window(p, k) == e.pwin {
				d.lru.MoveToFront(els[i])
				d.hits.Add(1)
				return e.v, strings.Clone(p[len(p)-k:]), true
			}
		}
	}
	d.misses.Add(1)
	return v, "", false
}

// Forget drops doc's drafts.
func (d *Drafts[V]) Forget(doc string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, el := range d.byDoc[doc] {
		d.removeLocked(el)
	}
	delete(d.byDoc, doc)
}

// evictLocked removes el and its place in its document's list.
func (d *Drafts[V]) evictLocked(el *list.Element) {
	e := el.Value.(*draft[V])
	els := d.byDoc[e.doc]
	for i, o := range els {
		if o == el {
			els = append(els[:i:i], els[i+1:]...)
			break
		}
	}
	if len(els) == 0 {
		delete(d.byDoc, e.doc)
	} else {
		d.byDoc[e.doc] = els
	}
	d.removeLocked(el)
	d.evicted.Add(1)
}

// removeLocked takes el out of the LRU list; the caller fixes byDoc.
func (d *Drafts[V]) removeLocked(el *list.Element) {
	d.bytes -= el.Value.(*draft[V]).bytes
	d.lru.Remove(el)
}

// Stats returns a snapshot of the counters.
func (d *Drafts[V]) Stats() DraftStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return DraftStats{
		Hits: d.hits.Load(), Misses: d.misses.Load(), Puts: d.puts.Load(), Evicted: d.evicted.Load(),
		Bytes: d.bytes, Count: d.lru.Len(),
	}
}
