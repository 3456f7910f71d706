// Package tokenizer reads Hugging Face tokenizer.json files whose model is
// byte-level BPE (GPT-2, Qwen2/2.5/3, LLaMA-3 families) and encodes and
// decodes text exactly as the reference implementation (the Rust
// `tokenizers` library) does, with byte offsets for every token.
//
// Pipeline of Encode, as in the reference: added tokens that are not
// normalized are cut out of the raw text; the rest is normalized (NFC if the
// file says so) and normalized added tokens are cut out; what remains is
// pre-tokenized (the file's split pattern, by a hand-written scanner) and each
// word is merged by BPE. The post-processor is not applied (no BOS/EOS are
// added), as with add_special_tokens=False.
//
// Invalid UTF-8 in the input is first replaced by U+FFFD, one per maximal
// ill-formed subpart (what Python's errors="replace" does before handing text
// to the reference), so Encode of invalid text equals the reference's encoding
// of the repaired text, and Decode(Encode(s)) returns the repaired text.
package tokenizer

import (
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A Tokenizer represents a loaded tokenizer.json. It is safe for concurrent
// use.
type Tokenizer struct {
	bpe    *bpe
	nfc    bool    // the normalizer is NFC
	stages []stage // pre-tokenization steps

	added     []addedToken     // in the reference's order: specials first
	addedID   map[string]int32 // content → id
	raw       *matcher         // added tokens matched on the raw text
	normed    *matcher         // added tokens matched after normalization
	idBytes   [][]byte         // id → bytes it decodes to
	idToken   []string         // id → token string (vocabulary spelling or added content)
	vocabSize int

	joinSpaces bool // no decoder: tokens join with spaces, as in the reference

	pool sync.Pool // *scratch
}

// VocabSize returns the number of ids: every id Encode returns is below it.
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// TokenID returns the id of an added token by its content (such as
// "<|fim_prefix|>") or of a vocabulary entry by its byte-level spelling
// (such as "Ġthe"), added tokens first as in the reference.
func (t *Tokenizer) TokenID(token string) (int32, bool) {
	if id, ok := t.addedID[token]; ok {
		return id, true
	}
	id, ok := t.bpe.vocab[token]
	return id, ok
}

// Encode returns the ids of s, matching added and special tokens in the text
// (so "<|fim_prefix|>" in s becomes that token), as the reference's
// encode(s, add_special_tokens=False) does.
func (t *Tokenizer) Encode(s string) []int32 {
	ids, _ := t.encode(s, true, false)
	return ids
}

// EncodeOffsets is Encode with, for each token, the byte offset in s where it
// begins. A token that begins inside a multi-byte character (byte-level BPE
// may split one) gets the offset of that character, and a token made by
// normalization (NFC composing characters) the offset of what it replaced,
// as the reference's offsets do.
func (t *Tokenizer) EncodeOffsets(s string) (ids []int32, starts []int) {
	return t.encode(s, true, true)
}

// EncodePlain returns the ids of s treating all of it as text: added and
// special tokens are not matched, so a file that contains "<|fim_prefix|>"
// is encoded as the characters it is made of. Use it for user text.
func (t *Tokenizer) EncodePlain(s string) []int32 {
	ids, _ := t.encode(s, false, false)
	return ids
}

// Decode returns the text of ids as the reference's decode(ids,
// skip_special_tokens=False) does with the ByteLevel decoder: the bytes of
// every token, with invalid UTF-8 replaced by U+FFFD (one per maximal
// ill-formed subpart). Unknown ids are skipped.
func (t *Tokenizer) Decode(ids []int32) string {
	if t.joinSpaces {
		return t.decodeJoined(ids)
	}
	b := t.appendBytes(nil, ids)
	if utf8.Valid(b) {
		return string(b)
	}
	return string(appendLossy(nil, b))
}

// DecodePrefix is Decode for a prefix of a token stream: it holds back a
// trailing incomplete UTF-8 character (one that later tokens may complete),
// so streamed text only ever grows by whole characters.
func (t *Tokenizer) DecodePrefix(ids []int32) string {
	if t.joinSpaces {
		return t.decodeJoined(ids)
	}
	b := t.appendBytes(nil, ids)
	b = b[:len(b)-incompleteTail(b)]
	if utf8.Valid(b) {
		return string(b)
	}
	return string(appendLossy(nil, b))
}

func (t *Tokenizer) appendBytes(dst []byte, ids []int32) []byte {
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.idBytes) {
			dst = append(dst, t.idBytes[id]...)
		}
	}
	return dst
}

func (t *Tokenizer) decodeJoined(ids []int32) string {
	var parts []string
	for _, id := range ids {
		if id >= 0 && int(id) < len(t.idToken) && t.idToken[id] != "" {
			parts = append(parts, t.idToken[id])
		}
	}
	return strings.Join(parts, " ")
}

// finish builds the decode tables once vocabulary and added tokens are known.
func (t *Tokenizer) finish() {
	n := 0
	for _, id := range t.bpe.vocab {
		n = max(n, int(id)+1)
	}
	for _, id := range t.addedID {
		n = max(n, int(id)+1)
	}
	t.vocabSize = n
	t.idBytes = make([][]byte, n)
	t.idToken = make([]string, n)
	// One arena for the bytes of all vocabulary tokens, not one allocation each.
	size := 0
	for tok := range t.bpe.vocab {
		size += len(tok)
	}
	arena := make([]byte, 0, size)
	for tok, id := range t.bpe.vocab {
		start := len(arena)
		arena = appendByteLevelDecode(arena, tok)
		t.idBytes[id] = arena[start:len(arena):len(arena)]
		t.idToken[id] = tok
	}
	for content, id := range t.addedID {
		// Added tokens go through the decoder too (tokenizers 0.22).
		t.idBytes[id] = byteLevelDecode(content)
		t.idToken[id] = content
	}
	t.pool.New = func() any { return new(scratch) }
}

// A piece is a stretch of text being encoded, with how its bytes map back to
// the caller's string: byte i (i >= pad) comes from base+i-pad, or from
// align[i-pad] when normalization rewrote the text; the first pad bytes
// were inserted (a prefix space) and map to the piece's start.
type piece struct {
	s     string
	base  int
	pad   int
	align []int32
}

func (p piece) orig(i int) int {
	i = max(0, i-p.pad)
	if p.align != nil {
		return int(p.align[i])
	}
	return p.base + i
}

func (p piece) sub(a, b int) piece {
	q := piece{s: p.s[a:b], base: p.base, align: p.align}
	if a < p.pad {
		q.pad = p.pad - a
		return q
	}
	if p.align != nil {
		q.align = p.align[a-p.pad:]
	} else {
		q.base = p.base + a - p.pad
	}
	return q
}

// An encoding collects ids and, if wanted, start offsets.
type encoding struct {
	ids    []int32
	starts []int
	offs   []int32 // per-word scratch offsets
	want   bool
}

func (t *Tokenizer) encode(s string, matchAdded, wantOffsets bool) ([]int32, []int) {
	sc := t.pool.Get().(*scratch)
	defer t.pool.Put(sc)
	e := encoding{ids: make([]int32, 0, len(s)/3+4), want: wantOffsets}
	if wantOffsets {
		e.starts = make([]int, 0, cap(e.ids))
		e.offs = make([]int32, 0, 64)
	}
	root := piece{s: s}
	if !utf8.ValidString(s) {
		root = repairUTF8(s)
	}
	if matchAdded && t.raw != nil {
		t.raw.split(root, func(p piece, id int32) {
			if id >= 0 {
				e.add(id, p.orig(0))
				return
			}
			t.encodeText(p, matchAdded, &e, sc)
		})
	} else {
		t.encodeText(root, matchAdded, &e, sc)
	}
	return e.ids, e.starts
}

func (e *encoding) add(id int32, start int) {
	e.ids = append(e.ids, id)
	if e.want {
		e.starts = append(e.starts, start)
	}
}

// encodeText normalizes, cuts normalized added tokens, pre-tokenizes and
// merges one stretch of text that holds no raw added token.
func (t *Tokenizer) encodeText(p piece, matchAdded bool, e *encoding, sc *scratch) {
	if len(p.s) == 0 {
		return
	}
	if t.nfc && !norm.NFC.IsNormalString(p.s) {
		p = normalizeNFC(p)
	}
	if matchAdded && t.normed != nil {
		t.normed.split(p, func(q piece, id int32) {
			if id >= 0 {
				e.add(id, q.orig(0))
				return
			}
			t.preTokenize(q, e, sc)
		})
		return
	}
	t.preTokenize(p, e, sc)
}

func (t *Tokenizer) preTokenize(p piece, e *encoding, sc *scratch) {
	if len(p.s) == 0 {
		return
	}
	if len(t.stages) == 0 { // no pre-tokenizer: the whole piece is one word
		t.word(p, 0, len(p.s), e, sc)
		return
	}
	cur, next := append(sc.pieces[0][:0], p), sc.pieces[1][:0]
	for k, st := range t.stages {
		last := k == len(t.stages)-1
		next = next[:0]
		for _, q := range cur {
			if st.prefixSpace && !strings.HasPrefix(q.s, " ") {
				q.s = " " + q.s
				q.pad++
			}
			for i := 0; i < len(q.s); {
				var j int
				switch {
				case st.scan != nil:
					j = st.scan.next(q.s, i)
				case st.literal != "":
					j = literalNext(q.s, i, st.literal)
				default:
					j = len(q.s)
				}
				if last {
					t.word(q, i, j, e, sc)
				} else {
					next = append(next, q.sub(i, j))
				}
				i = j
			}
		}
		cur, next = next, cur
	}
	sc.pieces[0], sc.pieces[1] = cur[:0], next[:0]
}

// literalNext returns the end of the split piece at i when splitting on a
// literal, isolated: the literal itself, or the text up to it.
func literalNext(s string, i int, lit string) int {
	if strings.HasPrefix(s[i:], lit) {
		return i + len(lit)
	}
	if k := strings.Index(s[i:], lit); k >= 0 {
		return i + k
	}
	return len(s)
}

// word encodes q.s[i:j] with BPE.
func (t *Tokenizer) word(q piece, i, j int, e *encoding, sc *scratch) {
	w := q.s[i:j]
	if !e.want {
		e.ids, _ = t.bpe.encodeWord(w, e.ids, nil, sc)
		return
	}
	n := len(e.ids)
	e.ids, e.offs = t.bpe.encodeWord(w, e.ids, e.offs[:0], sc)
	for k := range e.ids[n:] {
		o := i + int(e.offs[k])
		for o > 0 && !utf8.RuneStart(q.s[o]) {
			o-- // a token inside a character starts where the character does
		}
		e.starts = append(e.starts, q.orig(o))
	}
}

// repairUTF8 replaces invalid UTF-8 with U+FFFD, each replacement mapping
// back to the bytes it replaced.
func repairUTF8(s string) piece {
	out := make([]byte, 0, len(s)+8)
	align := make([]int32, 0, len(s)+9)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 {
			n = invalidLen([]byte(s[i:min(len(s), i+4)]))
			out = append(out, "\uFFFD"...)
			align = append(align, int32(i), int32(i), int32(i))
		} else {
			out = append(out, s[i:i+n]...)
			for k := range n {
				align = append(align, int32(i+k))
			}
		}
		i += n
	}
	align = append(align, int32(len(s)))
	return piece{s: string(out), align: align}
}

// normalizeNFC returns p in NFC, with each character mapped back as the
// reference maps it: within a segment NFC rewrote, the i-th new character
// comes from the i-th old one (the last old one when there are fewer).
func normalizeNFC(p piece) piece {
	out := make([]byte, 0, len(p.s)+8)
	align := make([]int32, 0, len(p.s)+9)
	var olds []int
	for start := 0; start < len(p.s); {
		n := norm.NFC.NextBoundaryInString(p.s[start:], true)
		if n <= 0 {
			n = len(p.s) - start
		}
		end := start + n
		seg := p.s[start:end]
		if norm.NFC.IsNormalString(seg) {
			for k := 0; k < len(seg); k++ {
				align = append(align, int32(p.orig(start+k)))
			}
			out = append(out, seg...)
			start = end
			continue
		}
		olds = olds[:0]
		for i := start; i < end; {
			olds = append(olds, i)
			_, n := utf8.DecodeRuneInString(p.s[i:])
			i += n
		}
		r := 0
		for _, c := range norm.NFC.String(seg) {
			o := int32(p.orig(olds[min(r, len(olds)-1)]))
			for range utf8.RuneLen(c) {
				align = append(align, o)
			}
			out = utf8.AppendRune(out, c)
			r++
		}
		start = end
	}
	align = append(align, int32(p.orig(len(p.s))))
	return piece{s: string(out), align: align}
}

func nfcString(s string) string { return norm.NFC.String(s) }
