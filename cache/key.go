package cache

import (
	"hash/maphash"
	"strings"
	"unicode/utf8"
)

// keySeeds are fixed for the process: keys never leave it.
var keySeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// windows cuts a request's context down to what keys it.
type windows struct {
	prefix, suffix int // window sizes in bytes
	scan           int // typed bytes looked back over
}

// tail returns the end of prefix that holds every window Lookup may
// compare (the last prefix+scan bytes after normalization), normalized.
func (w windows) tail(prefix string, extra int) string {
	// Normalizing only shrinks text, so cutting twice the need first is safe.
	need := w.prefix + extra
	if len(prefix) > 2*need+1 {
		prefix = prefix[len(prefix)-2*need-1:]
	}
	p := normalize(prefix)
	if len(p) > need {
		p = p[len(p)-need:]
	}
	return p
}

// head returns the suffix window, normalized.
func (w windows) head(suffix string) string {
	if len(suffix) > 2*w.suffix {
		suffix = suffix[:2*w.suffix]
	}
	s := normalize(suffix)
	if len(s) > w.suffix {
		s = s[:w.suffix]
	}
	return s
}

// window returns the prefix window of p ending len(p)-k bytes in.
func (w windows) window(p string, k int) string {
	end := len(p) - k
	return p[max(0, end-w.prefix):end]
}

// A ctxKey is a context as the caches compare it: the model/settings
// fingerprint and the prefix and suffix windows. Its strings are copies,
// so what holds one never holds a whole document alive.
type ctxKey struct{ fp, pwin, swin string }

// key returns the ctxKey of (prefix, suffix) under fingerprint fp.
func (w windows) key(fp, prefix, suffix string) ctxKey {
	return ctxKey{fp: fp, pwin: strings.Clone(w.tail(prefix, 0)), swin: strings.Clone(w.head(suffix))}
}

// normalize reads "\r\n" as "\n", so a client's line endings don't split keys.
func normalize(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\r\n", "\n")
}

// boundary reports whether p may be split k bytes from its end: typed text
// starts on a character boundary.
func boundary(p string, k int) bool {
	return k == 0 || utf8.RuneStart(p[len(p)-k])
}

// contextHasher hashes (fingerprint, suffix window) once and then one prefix
// window after another.
type contextHasher struct {
	base [2]maphash.Hash
}

func newContextHasher(fp, swin string) *contextHasher {
	var h contextHasher
	for i := range h.base {
		h.base[i].SetSeed(keySeeds[i])
		h.base[i].WriteString(fp)
		h.base[i].WriteByte(0)
		h.base[i].WriteString(swin)
		h.base[i].WriteByte(0)
	}
	return &h
}

// key returns the ristretto key of a context with prefix window pwin.
func (h *contextHasher) key(pwin string) uint64 {
	a := h.base[0] // a copy keeps the base state
	a.WriteString(pwin)
	return a.Sum64()
}

// check returns an independent hash of the same context: ristretto keeps
// only hashes of a uint64 key, so the check tells two contexts apart when
// their keys collide. Lookup computes it only for a key that hit.
func (h *contextHasher) check(pwin string) uint64 {
	b := h.base[1]
	b.WriteString(pwin)
	return b.Sum64()
}

// SpecKey names a request's exact context for Speculator: two requests with
// the same key would compute the same completion.
func SpecKey(doc, prefix, suffix string) string {
	var h maphash.Hash
	h.SetSeed(keySeeds[0])
	h.WriteString(prefix)
	h.WriteByte(0)
	h.WriteString(suffix)
	var b [8]byte
	v := h.Sum64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return doc + "\x00" + string(b[:])
}
