package tokenizer

import (
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync/atomic"
)

// A bpe is a byte-level BPE model: vocabulary, merge ranks and the word cache.
type bpe struct {
	vocab map[string]int32 // byte-level spelling → id
	// byteID is the id of each byte's one-character token, -1 if the
	// vocabulary lacks it.
	byteID [256]int32
	// table maps a pair of ids (left<<32 | right) to rank<<32 | merged id,
	// in an open-addressing hash table for the hot loop: one multiply,
	// usually one probe.
	table pairTable
	// raw maps the bytes a token stands for to its id, for ignore_merges
	// (whole words in the vocabulary skip merging).
	raw          map[string]int32
	ignoreMerges bool
	unk          int32 // -1 if none
	fuseUnk      bool
	size         int // number of vocabulary entries (the reference's vocab size)

	cache wordCache
}

const noRank = math.MaxUint32

func newBPE(vocab map[string]int32, merges [][2][]byte, ignoreMerges bool) (*bpe, error) {
	b := &bpe{
		vocab:        vocab,
		table:        newPairTable(len(merges)),
		ignoreMerges: ignoreMerges,
		unk:          -1,
		size:         len(vocab),
	}
	// Ids index dense tables, so a file may leave only a few holes.
	limit := int32(2*len(vocab) + 1<<16)
	for tok, id := range vocab {
		if id < 0 || id >= limit {
			return nil, fmt.Errorf("tokenizer: model.vocab[%q] = %d: id out of range (want 0 ≤ id < %d for %d entries)", tok, id, limit, len(vocab))
		}
	}
	for i := range b.byteID {
		id, ok := b.vocab[string(byteRune[i])]
		if !ok {
			id = -1
		}
		b.byteID[i] = id
	}
	var buf []byte
	for rank, m := range merges {
		l, ok1 := b.vocab[string(m[0])]
		r, ok2 := b.vocab[string(m[1])]
		if !ok1 || !ok2 {
			missing := m[0]
			if ok1 {
				missing = m[1]
			}
			return nil, fmt.Errorf("tokenizer: model.merges[%d] (%q, %q): token %q is not in the vocab", rank, m[0], m[1], missing)
		}
		buf = append(append(buf[:0], m[0]...), m[1]...)
		n, ok := b.vocab[string(buf)]
		if !ok {
			return nil, fmt.Errorf("tokenizer: model.merges[%d] (%q, %q): merged token %q is not in the vocab", rank, m[0], m[1], buf)
		}
		b.table.put(uint64(uint32(l))<<32|uint64(uint32(r)), uint64(rank)<<32|uint64(uint32(n)))
	}
	if ignoreMerges {
		b.raw = make(map[string]int32, len(vocab))
		for tok, id := range b.vocab {
			if raw, ok := byteLevelRaw(tok); ok {
				b.raw[raw] = id
			}
		}
	}
	b.cache.init()
	return b, nil
}

// byteLevelRaw returns the bytes a byte-level token spells, if every
// character is in the alphabet.
func byteLevelRaw(tok string) (string, bool) {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		c, ok := runeToByte(r)
		if !ok {
			return "", false
		}
		out = append(out, c)
	}
	return string(out), true
}

func (b *bpe) pair(l, r int32) (rank uint32, merged int32) {
	v, ok := b.table.get(uint64(uint32(l))<<32 | uint64(uint32(r)))
	if !ok {
		return noRank, -1
	}
	return uint32(v >> 32), int32(uint32(v))
}

// A pairTable is a hash table from a pair of ids to rank and merged id,
// with linear probing, kept at most half full. Keys are never 0 (0 marks a
// free slot; the pair (0, 0) is stored aside).
type pairTable struct {
	keys    []uint64
	vals    []uint64
	shift   uint // 64 - log2(len(keys))
	n       int  // entries
	zero    uint64
	hasZero bool
}

func newPairTable(n int) pairTable {
	size := 16
	for size < 2*n {
		size *= 2
	}
	return pairTable{keys: make([]uint64, size), vals: make([]uint64, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

// put sets k's value; a repeated pair keeps its last value, as the
// reference's map does. The table must have been sized for all puts.
func (t *pairTable) put(k, v uint64) {
	if k == 0 {
		if !t.hasZero {
			t.n++
		}
		t.zero, t.hasZero = v, true
		return
	}
	i := t.slot(k)
	for t.keys[i] != 0 && t.keys[i] != k {
		i = (i + 1) & (len(t.keys) - 1)
	}
	if t.keys[i] == 0 {
		t.n++
	}
	t.keys[i], t.vals[i] = k, v
}

// each calls f for every entry.
func (t *pairTable) each(f func(k, v uint64)) {
	if t.hasZero {
		f(0, t.zero)
	}
	for i, k := range t.keys {
		if k != 0 {
			f(k, t.vals[i])
		}
	}
}

func (t *pairTable) slot(k uint64) int { return int((k * 0x9E3779B97F4A7C15) >> t.shift) }

func (t *pairTable) get(k uint64) (uint64, bool) {
	if k == 0 {
		return t.zero, t.hasZero
	}
	mask := len(t.keys) - 1
	for i := t.slot(k); ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return t.vals[i], true
		case 0:
			return 0, false
		}
	}
}

// A scratch holds the buffers of one encoding, reused through a pool so the
// hot loop allocates nothing.
type scratch struct {
	syms  []int32  // current symbols of the word
	offs  []int32  // byte offset in the word where each symbol starts
	ranks []uint32 // rank of the pair (syms[i], syms[i+1])
	// For long words: a linked list over the original positions and a heap.
	next, prev []int32
	heap       []mergeItem
	pieces     [2][]piece
}

// shortWord is the length up to which the quadratic array merge beats the
// heap; most code words are far shorter.
const shortWord = 48

// encodeWord appends the ids of one pre-token (raw bytes) to ids, and the
// byte offset where each begins (relative to the word) to offs if non-nil.
func (b *bpe) encodeWord(w string, ids []int32, offs []int32, sc *scratch) ([]int32, []int32) {
	if len(w) == 0 {
		return ids, offs
	}
	if b.ignoreMerges {
		if id, ok := b.raw[w]; ok {
			ids = append(ids, id)
			if offs != nil {
				offs = append(offs, 0)
			}
			return ids, offs
		}
	}
	if len(w) <= 2 && b.byteID[w[0]] >= 0 && b.byteID[w[len(w)-1]] >= 0 {
		// One or two bytes: cheaper to merge than to look up in the cache.
		l := b.byteID[w[0]]
		if len(w) == 2 {
			if rank, m := b.pair(l, b.byteID[w[1]]); rank != noRank {
				ids = append(ids, m)
				if offs != nil {
					offs = append(offs, 0)
				}
				return ids, offs
			}
			ids = append(ids, l, b.byteID[w[1]])
			if offs != nil {
				offs = append(offs, 0, 1)
			}
			return ids, offs
		}
		ids = append(ids, l)
		if offs != nil {
			offs = append(offs, 0)
		}
		return ids, offs
	}
	if len(w) <= maxCachedWord {
		if e := b.cache.get(w); e != nil {
			ids = append(ids, e.ids...)
			if offs != nil {
				for _, o := range e.offs {
					offs = append(offs, int32(o))
				}
			}
			return ids, offs
		}
	}
	// Initial symbols: one per byte (the alphabet has one character per byte).
	sc.syms, sc.offs = sc.syms[:0], sc.offs[:0]
	cacheable := true
	for i := 0; i < len(w); i++ {
		id := b.byteID[w[i]]
		if id < 0 {
			cacheable = false
			if b.unk < 0 {
				continue // the reference drops characters it cannot spell
			}
			if b.fuseUnk && len(sc.syms) > 0 && sc.syms[len(sc.syms)-1] == b.unk {
				continue
			}
			id = b.unk
		}
		sc.syms = append(sc.syms, id)
		sc.offs = append(sc.offs, int32(i))
	}
	if len(sc.syms) <= shortWord {
		b.mergeShort(sc)
	} else {
		b.mergeLong(sc)
	}
	start := len(ids)
	ids = append(ids, sc.syms...)
	if offs != nil {
		offs = append(offs, sc.offs...)
	}
	if cacheable && len(w) <= maxCachedWord {
		b.cache.put(w, ids[start:], sc.offs)
	}
	return ids, offs
}

// mergeShort merges the lowest-ranked pair, leftmost first, until none is
// left, on plain arrays: quadratic, but with no bookkeeping.
func (b *bpe) mergeShort(sc *scratch) {
	syms, offs := sc.syms, sc.offs
	n := len(syms)
	if n < 2 {
		return
	}
	ranks := sc.ranks[:0]
	merged := sc.next[:0] // reused as the merged id of each pair
	for i := 0; i+1 < n; i++ {
		r, m := b.pair(syms[i], syms[i+1])
		ranks = append(ranks, r)
		merged = append(merged, m)
	}
	for {
		best, bi := uint32(noRank), -1
		for i, r := range ranks {
			if r < best {
				best, bi = r, i
			}
		}
		if bi < 0 {
			break
		}
		syms[bi] = merged[bi]
		copy(syms[bi+1:], syms[bi+2:])
		copy(offs[bi+1:], offs[bi+2:])
		copy(ranks[bi:], ranks[bi+1:])
		copy(merged[bi:], merged[bi+1:])
		n--
		syms, offs, ranks, merged = syms[:n], offs[:n], ranks[:n-1], merged[:n-1]
		if bi > 0 {
			ranks[bi-1], merged[bi-1] = b.pair(syms[bi-1], syms[bi])
		}
		if bi+1 < n {
			ranks[bi], merged[bi] = b.pair(syms[bi], syms[bi+1])
		}
	}
	sc.syms, sc.offs, sc.ranks, sc.next = syms, offs, ranks, merged
}

// A mergeItem is a candidate merge of the symbol at pos with its right
// neighbour, into id merged.
type mergeItem struct {
	rank   uint32
	pos    int32
	merged int32
}

func (a mergeItem) less(b mergeItem) bool {
	return a.rank < b.rank || a.rank == b.rank && a.pos < b.pos
}

// mergeLong is the reference's algorithm: a min-heap of candidate merges
// ordered by (rank, position) over a linked list of symbols, stale
// candidates skipped when popped. O(n log n) for long words.
func (b *bpe) mergeLong(sc *scratch) {
	syms := sc.syms
	n := len(syms)
	next, prev := grow(sc.next, n), grow(sc.prev, n)
	for i := range n {
		next[i], prev[i] = int32(i+1), int32(i-1)
	}
	next[n-1] = -1
	h := sc.heap[:0]
	for i := 0; i+1 < n; i++ {
		if r, m := b.pair(syms[i], syms[i+1]); r != noRank {
			h = heapPush(h, mergeItem{r, int32(i), m})
		}
	}
	dead := int32(-2) // prev value marking a symbol merged away
	for len(h) > 0 {
		var top mergeItem
		top, h = heapPop(h)
		p := top.pos
		if prev[p] == dead || next[p] < 0 {
			continue
		}
		q := next[p]
		if r, m := b.pair(syms[p], syms[q]); r != top.rank || m != top.merged {
			continue // the pair changed since this candidate was pushed
		}
		syms[p] = top.merged
		next[p] = next[q]
		if next[q] >= 0 {
			prev[next[q]] = p
		}
		prev[q] = dead
		if pp := prev[p]; pp >= 0 {
			if r, m := b.pair(syms[pp], syms[p]); r != noRank {
				h = heapPush(h, mergeItem{r, pp, m})
			}
		}
		if nq := next[p]; nq >= 0 {
			if r, m := b.pair(syms[p], syms[nq]); r != noRank {
				h = heapPush(h, mergeItem{r, p, m})
			}
		}
	}
	// Compact the survivors in order.
	k := 0
	for i := int32(0); i >= 0; i = next[i] {
		syms[k], sc.offs[k] = syms[i], sc.offs[i]
		k++
	}
	sc.syms, sc.offs = syms[:k], sc.offs[:k]
	sc.next, sc.prev, sc.heap = next, prev, h
}

func grow(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

func heapPush(h []mergeItem, it mergeItem) []mergeItem {
	h = append(h, it)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []mergeItem) (mergeItem, []mergeItem) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			m = r
		}
		if !h[m].less(h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return top, h
}

// maxCachedWord is the longest word (in bytes) the cache holds: long words
// rarely repeat, and short offsets fit a byte.
const maxCachedWord = 255

// A wordCache is a bounded, lock-free cache from a word to its ids: open
// addressing over a fixed table, a word looked up in cacheProbe slots from
// its hash, a new word stored in the first empty one (or, when all are
// taken, over the first). Entries are immutable and swapped whole, so
// concurrent Encode calls are safe.
type wordCache struct {
	seed    maphash.Seed
	entries []atomic.Pointer[cacheEntry]
}

type cacheEntry struct {
	word string
	ids  []int32
	offs []uint8
}

const (
	cacheSlots = 1 << 16
	cacheProbe = 4
)

func (c *wordCache) init() {
	c.seed = maphash.MakeSeed()
	c.entries = make([]atomic.Pointer[cacheEntry], cacheSlots+cacheProbe)
}

func (c *wordCache) get(w string) *cacheEntry {
	h := maphash.String(c.seed, w) & (cacheSlots - 1)
	for i := h; i < h+cacheProbe; i++ {
		e := c.entries[i].Load()
		if e == nil {
			return nil
		}
		if e.word == w {
			return e
		}
	}
	return nil
}

func (c *wordCache) put(w string, ids []int32, offs []int32) {
	e := &cacheEntry{word: strings.Clone(w), ids: slices.Clone(ids), offs: make([]uint8, len(offs))}
	for i, o := range offs {
		e.offs[i] = uint8(o)
	}
	h := maphash.String(c.seed, w) & (cacheSlots - 1)
	slots := c.entries[h : h+cacheProbe]
	for i := range slots {
		if slots[i].CompareAndSwap(nil, e) {
			return
		}
	}
	slots[0].Store(e)
}

// clear empties the cache (for benchmarks of the cold path).
func (c *wordCache) clear() {
	for i := range c.entries {
		c.entries[i].Store(nil)
	}
}

// referenceMerge is the plain BPE the fast paths are tested against: spell
// the word in the alphabet, then repeatedly merge the adjacent pair with the
// lowest rank in the merge list (leftmost on ties), by string.
func referenceMerge(ranks map[[2]string]int, vocab map[string]int32, word string) []int32 {
	var syms []string
	for i := 0; i < len(word); i++ {
		syms = append(syms, string(byteRune[word[i]]))
	}
	for {
		best, bi := math.MaxInt, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := ranks[[2]string{syms[i], syms[i+1]}]; ok && r < best {
				best, bi = r, i
			}
		}
		if bi < 0 {
			break
		}
		syms[bi] += syms[bi+1]
		syms = append(syms[:bi+1], syms[bi+2:]...)
	}
	ids := make([]int32, 0, len(syms))
	for _, s := range syms {
		if id, ok := vocab[s]; ok {
			ids = append(ids, id)
		}
	}
	return ids
}
