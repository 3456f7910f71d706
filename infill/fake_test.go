package infill

import (
	"context"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/unmask/unmask/engine"
)

// The fake vocabulary: ids 0..255 are bytes, then the specials.
const (
	tEOS int32 = 256 + iota
	tMask
	tFIMPrefix
	tFIMSuffix
	tFIMMiddle
	tPad
	tBOS
	fakeVocab = 263
)

// byteCodec is a byte-level tokenizer: one token per byte.
type byteCodec struct{}

func (byteCodec) EncodePlain(s string) []int32 {
	ids := make([]int32, len(s))
	for i := range len(s) {
		ids[i] = int32(s[i])
	}
	return ids
}

func (byteCodec) bytes(ids []int32) []byte {
	var b []byte
	for _, id := range ids {
		if id < 256 {
			b = append(b, byte(id))
		}
	}
	return b
}

func (c byteCodec) Decode(ids []int32) string {
	return strings.ToValidUTF8(string(c.bytes(ids)), "\uFFFD")
}

func (c byteCodec) DecodePrefix(ids []int32) string {
	b := c.bytes(ids)
	// Hold back an incomplete trailing character.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				b = b[:i]
			}
			break
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// A cand is one scripted candidate: token and probability.
type cand struct {
	id int32
	p  float64
}

// A dist is the scripted distribution at one position: candidates most
// probable first; the mass they leave is spread evenly over the rest of the
// vocabulary (which sets the entropy).
type dist []cand

func d1(id int32, p float64) dist { return dist{{id, p}} }

// script returns the distributions for one Denoise call: call counts from 1
// over the backend's life; ctx is the session's context; block the block.
type script func(call int, ctx, block []int32) []dist

type denoiseCall struct {
	ctx, block []int32
}

// fakeBackend is a scripted engine.Backend.
type fakeBackend struct {
	info     engine.Info
	script   script
	calls    int
	denoises []denoiseCall
	prefills [][]int32
	sessions int
	sleep    map[int]time.Duration // Denoise call -> time it takes
}

func ourInfo(block int) engine.Info {
	return engine.Info{
		Name: "fake", Family: "unmask", VocabSize: fakeVocab, MaxContext: 4096,
		Attention: engine.ContextCausal, Shift: true, BlockSize: block,
		MaskID: tMask, EOSID: tEOS, PadID: tPad, BOSID: engine.NoToken,
		FIMPrefixID: tFIMPrefix, FIMSuffixID: tFIMSuffix, FIMMiddleID: tFIMMiddle,
	}
}

func (b *fakeBackend) Info() engine.Info { return b.info }
func (b *fakeBackend) Close() error      { return nil }
func (b *fakeBackend) NewSession(opts engine.SessionOptions) (engine.Session, error) {
	b.sessions++
	return &fakeSession{b: b, opts: opts}, nil
}

type fakeSession struct {
	b      *fakeBackend
	opts   engine.SessionOptions
	tokens []int32
	closed bool
}

func (s *fakeSession) Tokens() []int32 { return s.tokens }

func (s *fakeSession) Prefill(ctx context.Context, tokens []int32) (int, error) {
	if s.closed {
		return 0, engine.ErrClosed
	}
	if s.opts.MaxContext > 0 && len(tokens) > s.opts.MaxContext {
		return 0, engine.ErrContextFull
	}
	n := 0
	for n < len(tokens) && n < len(s.tokens) && tokens[n] == s.tokens[n] {
		n++
	}
	s.tokens = append([]int32(nil), tokens...)
	s.b.prefills = append(s.b.prefills, s.tokens)
	return n, nil
}

func (s *fakeSession) Denoise(ctx context.Context, block []int32, from int, out []engine.Prediction) error {
	if s.closed {
		return engine.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.opts.MaxBlock > 0 && len(block) > s.opts.MaxBlock {
		return engine.ErrBlockSize
	}
	s.b.calls++
	s.b.denoises = append(s.b.denoises, denoiseCall{ctx: s.tokens, block: append([]int32(nil), block...)})
	if d := s.b.sleep[s.b.calls]; d > 0 {
		time.Sleep(d)
	}
	dists := s.b.script(s.b.calls, s.tokens, block)
	for i := range out {
		ds := dists[from+i]
		out[i].Candidates = out[i].Candidates[:0]
		var h, mass float64
		for _, c := range ds {
			out[i].Candidates = append(out[i].Candidates, engine.Candidate{ID: c.id, LogProb: float32(math.Log(c.p))})
			h -= c.p * math.Log(c.p)
			mass += c.p
		}
		if rest := 1 - mass; rest > 1e-12 {
			h -= rest * math.Log(rest/float64(fakeVocab-len(ds)))
		}
		out[i].Entropy = float32(h)
	}
	return nil
}

func (s *fakeSession) Truncate(n int) error {
	if n < len(s.tokens) {
		s.tokens = s.tokens[:n]
	}
	return nil
}

func (s *fakeSession) Close() error { s.closed = true; return nil }

// table scripts fixed distributions per call (the last row repeats).
func table(rows ...[]dist) script {
	return func(call int, _, _ []int32) []dist {
		return rows[min(call, len(rows))-1]
	}
}

// oracle scripts a model that knows the middle target (then EOS forever):
// block slot i predicts target[offset+i], where offset is the number of
// middle tokens already in the context, with probability conf(known) where
// known counts the non-mask slots of the block.
func oracle(target string, fimMiddle int32, anchor int, conf func(known int) float64) script {
	return func(_ int, ctx, block []int32) []dist {
		full := append(append([]int32(nil), ctx...), block[:anchor]...)
		off := 0 // middle tokens known before the block
		for i := len(full) - 1; i >= 0; i-- {
			if full[i] == fimMiddle {
				off = len(full) - 1 - i
				break
			}
		}
		known := 0
		for _, t := range block[anchor:] {
			if t != tMask {
				known++
			}
		}
		p := conf(known)
		out := make([]dist, len(block))
		for i := range out {
			j := off + i
			id := tEOS
			if j < len(target) {
				id = int32(target[j])
			}
			out[i] = dist{{id, p}, {'?', (1 - p) / 2}}
		}
		return out
	}
}
