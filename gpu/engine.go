package gpu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// Options configure a backend.
type Options struct {
	// Weights is the type matrices are kept in: "bf16" (the default; half
	// the memory and bandwidth) or "f32" (the CPU engine's precision, for
	// parity checks). Norm weights, biases, activations, the KV cache and
	// all accumulation are f32 either way.
	Weights string
	// Matmul picks the CUDA matrix product: "auto" (cuBLAS for products of
	// at least CublasMinRows rows when a cuBLAS library loads, our kernel
	// otherwise), "kernel" (always ours: reference precision) or "cublas".
	// The reference backend ignores it.
	Matmul string
}

// CublasMinRows is the row count from which "auto" hands products to
// cuBLAS: below it (a denoise step of one block) our kernel reads each
// weight once for all rows and cuBLAS gains little.
const CublasMinRows = 64

func (o *Options) bf16() (bool, error) {
	switch o.Weights {
	case "", "bf16":
		return true, nil
	case "f32":
		return false, nil
	}
	return false, fmt.Errorf("gpu: weights %q: want bf16 or f32", o.Weights)
}

// ErrCheckpoint reports a checkpoint this engine cannot run (its shapes);
// errors in the files themselves wrap model.ErrSafetensors.
var ErrCheckpoint = errors.New("gpu: bad checkpoint")

// A layer holds one transformer block's weights on the executor's side.
type layer struct {
	attnNorm, mlpNorm vec     // [hidden]
	q, k, v, o        *weight // [heads*hd][hidden], [kvd][hidden] x2, [hidden][heads*hd]
	gate, up, down    *weight // [inter][hidden] x2, [hidden][inter]
}

// A Backend is the transformer of package model on an executor: the CUDA
// device (Load, build tag cuda) or the plain-Go reference (LoadReference).
// It implements engine.Backend.
type Backend struct {
	cfg     model.Config
	x       executor
	embed   *weight // [vocab][hidden]
	layers  []layer
	norm    vec     // [hidden]
	head    *weight // [vocab][hidden]; the embedding when tied
	invFreq []float32
	release func() error // frees the device, for the CUDA executor

	mu     sync.Mutex
	closed bool
	live   map[*session]struct{}
}

var _ engine.Backend = (*Backend)(nil)

// LoadReference loads a checkpoint (a Hugging Face folder as package model
// reads it) onto the plain-Go reference executor. It is slow; it exists to
// test the engine's forward pass without a GPU and to hold the CUDA kernels
// to.
func LoadReference(fsys fs.FS, opts Options) (*Backend, error) {
	bf, err := opts.bf16()
	if err != nil {
		return nil, err
	}
	w, err := model.OpenWeights(fsys)
	if err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	// The host matrices may be views of w's files: Close releases them.
	return newBackend(w, bf, hostExec{}, nil, w.Close)
}

// uploader moves host tensors to the executor (nil: they stay on the host).
type uploader func(w *weight) error

// newBackend binds a checkpoint's tensors to weights on executor x:
// matrices in bf16 or f32 as bf16 says, vectors in f32. release runs at
// Close, also when newBackend fails.
func newBackend(ws *model.Weights, bf16 bool, x executor, up uploader, release func() error) (*Backend, error) {
	c := ws.Config()
	b := &Backend{cfg: c, x: x, invFreq: c.RopeInvFreqs(), release: release, live: map[*session]struct{}{}}
	lay := c.Layout()
	var err error
	vecOf := func(name string, size int) vec {
		if err != nil {
			return vec{}
		}
		var h []float32
		if h, err = ws.Float32(name, size); err != nil {
			return vec{}
		}
		var v vec
		if v, err = x.alloc(size); err != nil {
			return vec{}
		}
		err = x.upload(v, h)
		return v
	}
	mat := func(mod model.Module) *weight {
		if err != nil {
			return nil
		}
		w := &weight{out: mod.Out, in: mod.In, bf16: bf16}
		if bf16 {
			w.h16, err = ws.BF16(mod.Name+".weight", mod.Out, mod.In)
		} else {
			w.h32, err = ws.Float32(mod.Name+".weight", mod.Out, mod.In)
		}
		if err != nil {
			return nil
		}
		if mod.Bias {
			bv := vecOf(mod.Name+".bias", mod.Out)
			w.bias = &bv
		}
		if err == nil && up != nil {
			err = up(w)
		}
		return w
	}
	fail := func(err error) (*Backend, error) {
		b.Close()
		return nil, err
	}
	if c.Hidden%2 != 0 || c.Intermediate%2 != 0 || c.HeadDim > 256 {
		return fail(fmt.Errorf("%w: hidden %d and intermediate %d must be even, head_dim %d at most 256", ErrCheckpoint, c.Hidden, c.Intermediate, c.HeadDim))
	}
	b.embed = mat(lay.Embed)
	b.layers = make([]layer, c.Layers)
	for i, ll := range lay.Layers {
		b.layers[i] = layer{
			attnNorm: vecOf(ll.AttnNorm+".weight", c.Hidden), mlpNorm: vecOf(ll.MLPNorm+".weight", c.Hidden),
			q: mat(ll.Q), k: mat(ll.K), v: mat(ll.V), o: mat(ll.O),
			gate: mat(ll.Gate), up: mat(ll.Up), down: mat(ll.Down),
		}
	}
	b.norm = vecOf(lay.Norm+".weight", c.Hidden)
	if lay.Tied {
		b.head = b.embed
	} else {
		b.head = mat(lay.Head)
	}
	if err != nil {
		return fail(fmt.Errorf("gpu: %w", err))
	}
	return b, nil
}

// Config returns the checkpoint's configuration.
func (b *Backend) Config() model.Config { return b.cfg }

// Info describes the checkpoint, exactly as package model does for the same
// folder (the fallback backend compares them).
func (b *Backend) Info() engine.Info {
	c := &b.cfg
	return engine.Info{
		Name: c.Name, Family: c.Family, VocabSize: c.Vocab, MaxContext: c.MaxPosition,
		Attention: c.Attention, Shift: c.Shift, BlockSize: c.BlockSize,
		MaskID: c.MaskID, EOSID: c.EOSID, PadID: c.PadID, BOSID: c.BOSID,
		FIMPrefixID: c.FIMPrefixID, FIMSuffixID: c.FIMSuffixID, FIMMiddleID: c.FIMMiddleID,
	}
}

// Close closes the sessions still open and frees the device.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	live := b.live
	b.live = nil
	b.mu.Unlock()
	for s := range live {
		s.Close()
	}
	if b.release != nil {
		return b.release()
	}
	return nil
}

// chunkRows is how many context rows one prefill pass covers: enough rows
// for the matrix products to fill the device, few enough that the buffers
// stay small.
const chunkRows = 256

// A session is one document context with its KV cache on the executor.
type session struct {
	b                    *Backend
	topK, maxCtx, maxBlk int
	rowCap, chunk, total int
	qd, kvd              int
	tokens               []int32   // the context (host mirror of what the cache holds)
	seq                  []int32   // [rowCap] tokens of the current forward
	keys, vals           []vec     // per layer [total][kvd], rotated keys
	x, xn, q, att        vec       // [rowCap][hidden], [rowCap][hidden], [rowCap][qd], [rowCap][qd]
	gate, up             vec       // [rowCap][intermediate]
	cos, sin             vec       // [total][hd/2]
	hf, logits           vec       // [maxBlk][hidden], [maxBlk][vocab]
	ids                  []int32   // [maxBlk][topK] host
	logp, ent            []float32 // [maxBlk][topK], [maxBlk] host
	bufs                 []vec     // everything allocated, for Close
	closed               bool
}

var _ engine.Session = (*session)(nil)

// NewSession allocates a session's KV cache and buffers on the executor.
func (b *Backend) NewSession(opts engine.SessionOptions) (engine.Session, error) {
	c := &b.cfg
	s := &session{b: b, topK: opts.TopK, maxCtx: opts.MaxContext, maxBlk: opts.MaxBlock}
	if s.topK <= 0 {
		s.topK = engine.DefaultTopK
	}
	if s.maxCtx <= 0 {
		s.maxCtx = c.MaxPosition
	}
	if s.maxBlk <= 0 {
		s.maxBlk = 2*c.BlockSize + 1
	}
	if s.topK > c.Vocab || s.topK > 32 {
		return nil, fmt.Errorf("gpu: NewSession: TopK %d (at most 32 and the vocabulary of %d)", s.topK, c.Vocab)
	}
	if s.maxCtx > 1<<22 || s.maxBlk > 1<<16 {
		return nil, fmt.Errorf("gpu: NewSession: MaxContext %d / MaxBlock %d too large", s.maxCtx, s.maxBlk)
	}
	s.total = s.maxCtx + s.maxBlk
	s.qd, s.kvd = c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	s.chunk = max(chunkRows, s.maxBlk)
	if c.Attention == engine.Bidirectional {
		s.rowCap = s.total // context and block run as one sequence
	} else {
		s.rowCap = min(s.chunk, s.total)
	}
	s.chunk = min(s.chunk, s.rowCap)
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("gpu: NewSession: %w", engine.ErrClosed)
	}
	err := b.x.do(func() error { return s.allocate() })
	if err != nil {
		s.freeAll()
		return nil, fmt.Errorf("gpu: NewSession: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		s.freeAll()
		return nil, fmt.Errorf("gpu: NewSession: %w", engine.ErrClosed)
	}
	b.live[s] = struct{}{}
	return s, nil
}

func (s *session) allocate() error {
	c, x := &s.b.cfg, s.b.x
	var err error
	get := func(n int) vec {
		if err != nil {
			return vec{}
		}
		var v vec
		v, err = x.alloc(n)
		if err == nil {
			s.bufs = append(s.bufs, v)
		}
		return v
	}
	half := c.HeadDim / 2
	s.keys = make([]vec, c.Layers)
	s.vals = make([]vec, c.Layers)
	for i := range s.keys {
		s.keys[i] = get(s.total * s.kvd)
		s.vals[i] = get(s.total * s.kvd)
	}
	s.x = get(s.rowCap * c.Hidden)
	s.xn = get(s.rowCap * c.Hidden)
	s.q = get(s.rowCap * s.qd)
	s.att = get(s.rowCap * s.qd)
	s.gate = get(s.rowCap * c.Intermediate)
	s.up = get(s.rowCap * c.Intermediate)
	s.cos = get(s.total * half)
	s.sin = get(s.total * half)
	s.hf = get(s.maxBlk * c.Hidden)
	s.logits = get(s.maxBlk * c.Vocab)
	if err != nil {
		return err
	}
	cos, sin := ropeTables(s.b.invFreq, s.total)
	if err := x.upload(s.cos, cos); err != nil {
		return err
	}
	if err := x.upload(s.sin, sin); err != nil {
		return err
	}
	s.tokens = make([]int32, 0, s.maxCtx)
	s.seq = make([]int32, s.rowCap)
	s.ids = make([]int32, s.maxBlk*s.topK)
	s.logp = make([]float32, s.maxBlk*s.topK)
	s.ent = make([]float32, s.maxBlk)
	return nil
}

func (s *session) freeAll() {
	bufs := s.bufs
	s.bufs = nil
	if len(bufs) == 0 {
		return
	}
	s.b.x.do(func() error {
		for _, v := range bufs {
			s.b.x.free(v)
		}
		return nil
	})
}

// Bytes reports the device memory the session holds (for the session cache).
func (s *session) Bytes() int64 {
	c := &s.b.cfg
	n := int64(2*c.Layers*s.total*s.kvd) + int64(s.rowCap)*int64(2*c.Hidden+2*s.qd+2*c.Intermediate)
	n += int64(s.total*c.HeadDim) + int64(s.maxBlk)*int64(c.Hidden+c.Vocab)
	return 4 * n
}

func (s *session) Tokens() []int32 { return s.tokens }

func (s *session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.freeAll()
	s.b.mu.Lock()
	delete(s.b.live, s)
	s.b.mu.Unlock()
	return nil
}

// Prefill makes the context equal to tokens, reusing the longest common
// prefix; causal and context-causal checkpoints compute the new positions'
// keys and values chunk by chunk (a cancel between chunks keeps what was
// computed).
func (s *session) Prefill(ctx context.Context, tokens []int32) (int, error) {
	if s.closed {
		return 0, engine.ErrClosed
	}
	if err := engine.CheckPrefill(tokens, s.maxCtx, s.b.cfg.Vocab); err != nil {
		return 0, fmt.Errorf("gpu: %w", err)
	}
	reused := engine.CommonPrefix(tokens, s.tokens)
	s.tokens = s.tokens[:reused]
	if s.b.cfg.Attention == engine.Bidirectional {
		s.tokens = append(s.tokens, tokens[reused:]...)
		return reused, nil
	}
	for p := reused; p < len(tokens); {
		if err := ctx.Err(); err != nil {
			return reused, err
		}
		n := min(s.chunk, len(tokens)-p)
		copy(s.seq, tokens[p:p+n])
		if err := s.b.x.do(func() error { return s.forward(p, n, true, 0, 0) }); err != nil {
			return reused, fmt.Errorf("gpu: Prefill: %w", err)
		}
		s.tokens = append(s.tokens, tokens[p:p+n]...)
		p += n
	}
	return reused, nil
}

// Denoise runs block after the context and fills out[i] with the prediction
// at block position from+i.
func (s *session) Denoise(ctx context.Context, block []int32, from int, out []engine.Prediction) error {
	if s.closed {
		return engine.ErrClosed
	}
	if err := engine.CheckDenoise(block, from, out, s.maxBlk, s.topK, s.b.cfg.Vocab); err != nil {
		return fmt.Errorf("gpu: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n := len(s.tokens)
	var err error
	if s.b.cfg.Attention == engine.Bidirectional {
		copy(s.seq, s.tokens)
		copy(s.seq[n:], block)
		err = s.b.x.do(func() error { return s.forward(0, n+len(block), false, n+from, len(out)) })
	} else {
		copy(s.seq, block)
		// The block's keys go after the context without joining it.
		err = s.b.x.do(func() error {
			return s.forward(n, len(block), s.b.cfg.Attention == engine.Causal, from, len(out))
		})
	}
	if err != nil {
		return fmt.Errorf("gpu: Denoise: %w", err)
	}
	k := s.topK
	for i := range out {
		o := out[i].Candidates[:k]
		for j := range o {
			o[j] = engine.Candidate{ID: s.ids[i*k+j], LogProb: s.logp[i*k+j]}
		}
		out[i].Candidates = o
		out[i].Entropy = s.ent[i]
	}
	return nil
}

// Truncate cuts the context back to its first n tokens.
func (s *session) Truncate(n int) error {
	if s.closed {
		return engine.ErrClosed
	}
	if err := engine.CheckTruncate(n, len(s.tokens)); err != nil {
		return fmt.Errorf("gpu: %w", err)
	}
	s.tokens = s.tokens[:n]
	return nil
}

// forward runs rows s.seq[:T] at positions p0.. through the transformer, as
// package model's forward does: row t attends to cache positions [0, p0+t]
// when causal, else [0, p0+T-1]. It then computes top-k and entropy for rows
// outFrom..outFrom+outN-1 into s.ids, s.logp, s.ent. It runs inside x.do.
func (s *session) forward(p0, T int, causal bool, outFrom, outN int) error {
	b, c, x := s.b, &s.b.cfg, s.b.x
	H, hd := c.Hidden, c.HeadDim
	if err := x.embed(s.x, b.embed, s.seq[:T], c.EmbedScale); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	for li := range b.layers {
		L := &b.layers[li]
		keys, vals := s.keys[li].at(p0*s.kvd), s.vals[li].at(p0*s.kvd)
		// Plain calls, not a table of closures: a step allocates nothing.
		if err := x.rmsnorm(s.xn, s.x, L.attnNorm, T, H, c.RMSEps); err != nil {
			return layerErr(li, "attn norm", err)
		}
		if err := x.matmul(s.q, s.xn, L.q, T, false); err != nil {
			return layerErr(li, "q", err)
		}
		if err := x.matmul(keys, s.xn, L.k, T, false); err != nil {
			return layerErr(li, "k", err)
		}
		if err := x.matmul(vals, s.xn, L.v, T, false); err != nil {
			return layerErr(li, "v", err)
		}
		if err := x.rope(s.q, s.cos, s.sin, p0, T, c.Heads, hd, s.qd); err != nil {
			return layerErr(li, "rope q", err)
		}
		if err := x.rope(keys, s.cos, s.sin, p0, T, c.KVHeads, hd, s.kvd); err != nil {
			return layerErr(li, "rope k", err)
		}
		if err := x.attention(s.att, s.q, s.keys[li], s.vals[li], p0, T, causal, c.Heads, c.KVHeads, hd); err != nil {
			return layerErr(li, "attention", err)
		}
		if err := x.matmul(s.x, s.att, L.o, T, true); err != nil {
			return layerErr(li, "o", err)
		}
		if err := x.rmsnorm(s.xn, s.x, L.mlpNorm, T, H, c.RMSEps); err != nil {
			return layerErr(li, "mlp norm", err)
		}
		if err := x.matmul(s.gate, s.xn, L.gate, T, false); err != nil {
			return layerErr(li, "gate", err)
		}
		if err := x.matmul(s.up, s.xn, L.up, T, false); err != nil {
			return layerErr(li, "up", err)
		}
		if err := x.siluMul(s.gate, s.up, T*c.Intermediate); err != nil {
			return layerErr(li, "swiglu", err)
		}
		if err := x.matmul(s.x, s.gate, L.down, T, true); err != nil {
			return layerErr(li, "down", err)
		}
	}
	if outN == 0 {
		return nil
	}
	if err := x.rmsnorm(s.hf, s.x.at(outFrom*H), b.norm, outN, H, c.RMSEps); err != nil {
		return fmt.Errorf("final norm: %w", err)
	}
	if err := x.matmul(s.logits, s.hf, b.head, outN, false); err != nil {
		return fmt.Errorf("lm head: %w", err)
	}
	if c.LogitScale != 0 {
		if err := x.scale(s.logits, c.LogitScale, outN*c.Vocab); err != nil {
			return fmt.Errorf("logit scale: %w", err)
		}
	}
	if err := x.topk(s.logits, outN, c.Vocab, s.topK, s.ids, s.logp, s.ent); err != nil {
		return fmt.Errorf("top-k: %w", err)
	}
	return nil
}

func layerErr(li int, op string, err error) error {
	return fmt.Errorf("layer %d %s: %w", li, op, err)
}
