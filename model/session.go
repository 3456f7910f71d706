package model

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/unmask/unmask/engine"
)

// chunkRows bounds the rows one pass of a forward computes at once, so the
// MLP buffers stay small however long the context.
const chunkRows = 64

// maxSessionBytes bounds one session's buffers.
const maxSessionBytes = 8 << 30

// A session is one document context on a Model: its KV cache and every
// buffer a step needs, allocated by NewSession, so that Prefill and Denoise
// allocate nothing.
type session struct {
	m      *Model
	c      *Config
	topK   int
	maxCtx int // context tokens the cache holds
	maxBlk int // longest block Denoise takes
	rowCap int // rows one forward call covers (x and q buffers)
	chunk  int // rows per pass inside a forward call
	kvd    int // kvHeads*headDim
	qd     int // heads*headDim

	tokens []int32     // [maxCtx] backing; len = the context
	seq    []int32     // [rowCap] tokens of the current forward
	keys   [][]float32 // per layer [maxCtx+maxBlk][kvd], rotated
	valsT  [][]float32 // per layer [kvHeads][headDim][maxCtx+maxBlk], transposed so P·V is a product of rows

	x       []float32   // [rowCap][hidden] residual stream
	q       []float32   // [rowCap][qd] rotated queries
	xn      []float32   // [chunk][hidden] normed rows
	att     []float32   // [chunk][qd] attention output
	tmp     []float32   // [chunk][hidden] projection output
	vnew    []float32   // [chunk][kvd] new values before the transposed store
	gate    []float32   // [chunk][intermediate]
	up      []float32   // [chunk][intermediate]
	cos     []float32   // [rowCap][headDim/2]
	sin     []float32   // [rowCap][headDim/2]
	invFreq []float32   // [headDim/2]
	scores  []float32   // [threads][chunk][maxCtx+maxBlk] attention weights per worker
	hf      []float32   // [maxBlk][hidden] final-normed rows that need logits
	dot     bool        // BF16 dot products: the model's SetBF16Dot when the session was made
	xb      []uint16    // a product's input rows in BF16 (Model.SetBF16Dot)
	attB    []uint16    // [threads][attBF16Len]: attention's operands in BF16 per worker (SetBF16Dot)
	logits  []float32   // [maxBlk][vocab]
	cands   []candidate // [maxBlk][topK]
	ents    []float32   // [maxBlk]

	pool *pool
	mm   mmJob
	aj   attnJob
	lj   logitJob

	closed bool
}

var _ engine.Session = (*session)(nil)

// NewSession allocates a session: KV cache for MaxContext tokens plus a
// block, and all work buffers.
func (m *Model) NewSession(opts engine.SessionOptions) (engine.Session, error) {
	if m.layers == nil {
		return nil, fmt.Errorf("model: NewSession: %w", engine.ErrClosed)
	}
	c := &m.cfg
	s := &session{m: m, c: c, topK: opts.TopK, maxCtx: opts.MaxContext, maxBlk: opts.MaxBlock}
	if s.topK <= 0 {
		s.topK = engine.DefaultTopK
	}
	if s.maxCtx <= 0 {
		s.maxCtx = c.MaxPosition
	}
	if s.maxBlk <= 0 {
		s.maxBlk = 2*c.BlockSize + 1
	}
	if s.topK > c.Vocab {
		return nil, fmt.Errorf("model: NewSession: TopK %d exceeds the vocabulary of %d", s.topK, c.Vocab)
	}
	if s.maxCtx > 1<<22 || s.maxBlk > 1<<16 {
		return nil, fmt.Errorf("model: NewSession: MaxContext %d / MaxBlock %d too large", s.maxCtx, s.maxBlk)
	}
	total := s.maxCtx + s.maxBlk
	s.kvd, s.qd = c.KVHeads*c.HeadDim, c.Heads*c.HeadDim
	s.chunk = max(chunkRows, s.maxBlk)
	if c.Attention == engine.Bidirectional {
		// Bidirectional checkpoints run context and block as one sequence.
		s.rowCap = total
	} else {
		s.rowCap = s.chunk
	}
	s.chunk = min(s.chunk, s.rowCap)
	threads := max(m.threads, 1)
	half := c.HeadDim / 2
	// A make() too large for memory kills the process instead of failing:
	// refuse sessions whose buffers would pass maxSessionBytes (a public
	// checkpoint's MaxContext, say 131072 positions, at the default).
	est := 4 * (int64(c.Layers)*int64(total)*int64(s.kvd)*2 + int64(s.rowCap)*int64(c.Hidden+s.qd) +
		int64(threads)*int64(s.chunk)*int64(total) + int64(s.maxBlk)*int64(c.Vocab) + int64(s.chunk)*int64(2*c.Intermediate))
	if est > maxSessionBytes {
		return nil, fmt.Errorf("model: NewSession: MaxContext %d needs %d MiB of buffers (limit %d MiB); ask for a shorter context", s.maxCtx, est>>20, maxSessionBytes>>20)
	}

	s.tokens = make([]int32, 0, s.maxCtx)
	s.seq = make([]int32, s.rowCap)
	s.keys = make([][]float32, c.Layers)
	s.valsT = make([][]float32, c.Layers)
	for i := range s.keys {
		s.keys[i] = make([]float32, total*s.kvd)
		s.valsT[i] = make([]float32, total*s.kvd)
	}
	s.x = make([]float32, s.rowCap*c.Hidden)
	s.q = make([]float32, s.rowCap*s.qd)
	s.xn = make([]float32, s.chunk*c.Hidden)
	s.att = make([]float32, s.chunk*s.qd)
	s.tmp = make([]float32, s.chunk*c.Hidden)
	s.gate = make([]float32, s.chunk*c.Intermediate)
	s.up = make([]float32, s.chunk*c.Intermediate)
	s.cos = make([]float32, s.rowCap*half)
	s.sin = make([]float32, s.rowCap*half)
	s.invFreq = c.RopeInvFreqs()
	s.scores = make([]float32, threads*s.chunk*total)
	s.vnew = make([]float32, s.chunk*s.kvd)
	s.hf = make([]float32, s.maxBlk*c.Hidden)
	s.dot = m.dot // fixed for the session's life: its buffers follow it
	if s.dot {
		s.xb = make([]uint16, max(s.chunk, s.maxBlk)*max(c.Hidden, s.qd, c.Intermediate))
		s.attB = make([]uint16, threads*s.attBF16Len())
	}
	s.logits = make([]float32, s.maxBlk*c.Vocab)
	s.cands = make([]candidate, s.maxBlk*s.topK)
	s.ents = make([]float32, s.maxBlk)
	s.pool = newPool(threads)
	// A session dropped without Close must not leave its workers blocked
	// forever: they hold the pool, not the session, so this cleanup runs.
	runtime.AddCleanup(s, func(p *pool) { p.close() }, s.pool)
	s.aj.s = s
	s.lj.s = s
	return s, nil
}

// Bytes reports the memory the session holds (for the session cache).
func (s *session) Bytes() int64 {
	n := int64(cap(s.tokens)+cap(s.seq)) * 4
	for i := range s.keys {
		n += int64(cap(s.keys[i])+cap(s.valsT[i])) * 4
	}
	for _, b := range [][]float32{s.x, s.q, s.xn, s.att, s.tmp, s.vnew, s.gate, s.up, s.cos, s.sin, s.scores, s.hf, s.logits, s.ents} {
		n += int64(cap(b)) * 4
	}
	return n + int64(cap(s.cands))*8 + int64(cap(s.xb)+cap(s.attB))*2
}

func (s *session) Tokens() []int32 { return s.tokens }

func (s *session) Close() error {
	if !s.closed {
		s.closed = true
		s.pool.close()
		s.keys, s.valsT, s.x, s.q, s.logits = nil, nil, nil, nil, nil
	}
	return nil
}

// Prefill makes the context equal to tokens, reusing the longest common
// prefix. Causal and context-causal checkpoints compute the new positions'
// keys and values (causally, in chunks; a cancel keeps the chunks finished
// before it); bidirectional ones only record the tokens.
func (s *session) Prefill(ctx context.Context, tokens []int32) (int, error) {
	if s.closed {
		return 0, engine.ErrClosed
	}
	if err := engine.CheckPrefill(tokens, s.maxCtx, s.c.Vocab); err != nil {
		return 0, fmt.Errorf("model: %w", err)
	}
	s.pool.solo = engine.Background(ctx)
	reused := engine.CommonPrefix(tokens, s.tokens)
	s.tokens = s.tokens[:reused]
	if s.c.Attention == engine.Bidirectional {
		s.tokens = append(s.tokens, tokens[reused:]...)
		return reused, nil
	}
	for p := reused; p < len(tokens); {
		if err := ctx.Err(); err != nil {
			return reused, err
		}
		n := min(s.chunk, len(tokens)-p)
		copy(s.seq, tokens[p:p+n])
		if err := s.forward(ctx, p, n, true, 0, 0); err != nil {
			return reused, err
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
	if err := engine.CheckDenoise(block, from, out, s.maxBlk, s.topK, s.c.Vocab); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.pool.solo = engine.Background(ctx)
	n := len(s.tokens)
	if s.c.Attention == engine.Bidirectional {
		copy(s.seq, s.tokens)
		copy(s.seq[n:], block)
		if err := s.forward(ctx, 0, n+len(block), false, n+from, len(out)); err != nil {
			return err
		}
	} else {
		copy(s.seq, block)
		// The block's keys go after the context but do not join it: the
		// context length is unchanged, the next step overwrites them.
		if err := s.forward(ctx, n, len(block), s.c.Attention == engine.Causal, from, len(out)); err != nil {
			return err
		}
	}
	k := s.topK
	for i := range out {
		cs := s.cands[i*k : (i+1)*k]
		o := out[i].Candidates[:k]
		for j, c := range cs {
			o[j] = engine.Candidate{ID: c.id, LogProb: c.logit}
		}
		out[i].Candidates = o
		out[i].Entropy = s.ents[i]
	}
	return nil
}

// Truncate cuts the context back to its first n tokens.
func (s *session) Truncate(n int) error {
	if s.closed {
		return engine.ErrClosed
	}
	if err := engine.CheckTruncate(n, len(s.tokens)); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	s.tokens = s.tokens[:n]
	return nil
}

// forward runs rows s.seq[:T] at positions p0.. through the transformer.
// Row t attends to cache positions [0, p0+t] when causal, else to
// [0, p0+T-1] (the whole block, and everything before it). It then computes
// top-k and entropy for rows outFrom..outFrom+outN-1 (outN may be 0).
// It checks ctx before each layer and before the LM head and returns its
// error when it is done: a cancelled request (a background speculation
// a keystroke's request preempts) gives the cores back within a layer,
// not a whole pass. What a stopped pass wrote (keys and values past the
// context, the rows' activations) is never read: the caller keeps its
// context length.
func (s *session) forward(ctx context.Context, p0, T int, causal bool, outFrom, outN int) error {
	c := s.c
	H, hd := c.Hidden, c.HeadDim
	half := hd / 2
	for t := 0; t < T; t++ {
		xr := s.x[t*H : (t+1)*H]
		if s.m.embed != nil {
			copy(xr, s.m.embed[int(s.seq[t])*H:(int(s.seq[t])+1)*H])
		} else {
			for i, b := range s.m.embedB[int(s.seq[t])*H : (int(s.seq[t])+1)*H] {
				xr[i] = math.Float32frombits(uint32(b) << 16)
			}
		}
		if c.EmbedScale != 0 {
			for i := range xr {
				xr[i] *= c.EmbedScale
			}
		}
	}
	ropeTables(s.cos, s.sin, s.invFreq, p0, T)

	for li := range s.m.layers {
		if err := ctx.Err(); err != nil {
			return err
		}
		L := &s.m.layers[li]
		keys, valsT := s.keys[li], s.valsT[li]
		// Pass 1: queries, keys and values of every row, so that pass 2's
		// attention sees the whole block (and, bidirectionally, the whole
		// sequence).
		for r0 := 0; r0 < T; r0 += s.chunk {
			n := min(s.chunk, T-r0)
			for t := 0; t < n; t++ {
				rmsNorm(s.xn[t*H:(t+1)*H], s.x[(r0+t)*H:(r0+t+1)*H], L.attnNorm, c.RMSEps)
			}
			s.linear(s.q[r0*s.qd:], s.xn, &L.q, n)
			s.linear(keys[(p0+r0)*s.kvd:], s.xn, &L.k, n)
			s.linear(s.vnew, s.xn, &L.v, n)
			total := s.maxCtx + s.maxBlk
			for t := 0; t < n; t++ {
				p := p0 + r0 + t
				for i, v := range s.vnew[t*s.kvd : (t+1)*s.kvd] {
					valsT[i*total+p] = v
				}
			}
			for t := 0; t < n; t++ {
				cs, sn := s.cos[(r0+t)*half:(r0+t+1)*half], s.sin[(r0+t)*half:(r0+t+1)*half]
				qr := s.q[(r0+t)*s.qd : (r0+t+1)*s.qd]
				for h := 0; h < c.Heads; h++ {
					rope(qr[h*hd:(h+1)*hd], cs, sn)
				}
				kr := keys[(p0+r0+t)*s.kvd : (p0+r0+t+1)*s.kvd]
				for h := 0; h < c.KVHeads; h++ {
					rope(kr[h*hd:(h+1)*hd], cs, sn)
				}
			}
		}
		// Pass 2: attention, output projection and MLP, chunk by chunk. The
		// last layer's outputs feed only the LM head, so there it runs for
		// the rows the head reads (none for a prefill): the keys and values
		// every row needs were written in pass 1.
		from, to := 0, T
		if li == len(s.m.layers)-1 {
			from, to = outFrom, outFrom+outN
		}
		for r0 := from; r0 < to; r0 += s.chunk {
			n := min(s.chunk, to-r0)
			s.aj = attnJob{s: s, keys: keys, valsT: valsT, p0: p0, r0: r0, n: n, T: T, causal: causal}
			s.pool.parallel(c.Heads, 1, &s.aj)
			s.linear(s.tmp, s.att, &L.o, n)
			xs := s.x[r0*H : (r0+n)*H]
			for i, v := range s.tmp[:n*H] {
				xs[i] += v
			}
			for t := 0; t < n; t++ {
				rmsNorm(s.xn[t*H:(t+1)*H], xs[t*H:(t+1)*H], L.mlpNorm, c.RMSEps)
			}
			s.linear(s.gate, s.xn, &L.gate, n)
			s.linear(s.up, s.xn, &L.up, n)
			siluMul(s.gate[:n*c.Intermediate], s.up[:n*c.Intermediate])
			s.linear(s.tmp, s.gate, &L.down, n)
			for i, v := range s.tmp[:n*H] {
				xs[i] += v
			}
		}
	}
	if outN == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := 0; i < outN; i++ {
		t := outFrom + i
		rmsNorm(s.hf[i*H:(i+1)*H], s.x[t*H:(t+1)*H], s.m.norm, c.RMSEps)
	}
	s.linear(s.logits, s.hf, &s.m.head, outN)
	s.lj.n = outN
	s.pool.parallel(outN, 1, &s.lj)
	return nil
}

// linear computes y = x W^T + b for n rows, split over the pool by output
// columns. With BF16 dot products (Model.SetBF16Dot) the rows are rounded
// to BF16 once, here, and every part multiplies those.
func (s *session) linear(y, x []float32, l *linear, n int) {
	s.mm = mmJob{y: y, x: x, l: l, T: n}
	if s.dot {
		s.mm.xb = s.xb[:n*l.in]
		roundBF16(s.mm.xb, x[:n*l.in])
	}
	s.pool.parallel(l.out, 16, &s.mm)
}

type mmJob struct {
	y, x []float32
	xb   []uint16 // x in BF16, for BF16 dot products
	l    *linear
	T    int
}

func (j *mmJob) run(_, lo, hi int) {
	if lo >= hi {
		return
	}
	if j.xb != nil {
		matmulDot(j.y, j.l.out, j.xb, j.l.in, j.l.wb, j.l.in, j.l.b, j.T, j.l.in, lo, hi)
	} else if j.l.wb != nil {
		matmulBF16(j.y, j.l.out, j.x, j.l.in, j.l.wb, j.l.in, j.l.b, j.T, j.l.in, lo, hi)
	} else {
		matmul(j.y, j.l.out, j.x, j.l.in, j.l.w, j.l.in, j.l.b, j.T, j.l.in, lo, hi)
	}
}

// An attnJob is grouped-query attention for one chunk of rows, split over
// heads. Per head it is two products: scores = Q K^T (rows of Q against
// rows of the key cache) and out = P V (rows of P against rows of the
// transposed value cache), both on the matrix kernels.
type attnJob struct {
	s            *session
	keys, valsT  []float32
	p0, r0, n, T int
	causal       bool
}

// softmax turns the chunk's row t of scores (row[:keysN], scaled by
// scale) into attention weights over the positions it may see, and zeroes
// the rest of row (padding past keysN included).
func (j *attnJob) softmax(row []float32, t, keysN int, scale float32) {
	last := keysN - 1
	if j.causal {
		last = j.p0 + j.r0 + t
	}
	mx := float32(math.Inf(-1))
	for p := 0; p <= last; p++ {
		row[p] *= scale
		if row[p] > mx {
			mx = row[p]
		}
	}
	inv := 1 / expShift(row[:last+1], mx)
	for p := 0; p <= last; p++ {
		row[p] *= inv
	}
	clear(row[last+1:])
}

// attBF16Len is one worker's share of attB: a chunk of query rows, one
// key-value head's keys and transposed values, a chunk of probability
// rows.
func (s *session) attBF16Len() int {
	total := s.maxCtx + s.maxBlk
	hd := s.c.HeadDim
	return s.chunk*hd + 2*total*hd + s.chunk*total
}

func (j *attnJob) run(part, lo, hi int) {
	if lo >= hi {
		return
	}
	if j.s.dot {
		j.runDot(part, lo, hi)
		return
	}
	s, c := j.s, j.s.c
	hd := c.HeadDim
	group := c.Heads / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	total := s.maxCtx + s.maxBlk
	keysN := j.p0 + j.T // keys visible to the chunk's last row
	// P V runs over a multiple of 16 positions where the buffers allow:
	// the kernels take whole vectors, and the padding's probabilities are
	// zero (cleared below) against values that are finite (the cache is
	// zeroed when made and holds only computed values), so it adds nothing
	// and spares a scalar tail per row and column.
	keysP := min((keysN+15)&^15, total)
	sc := s.scores[part*s.chunk*total : (part+1)*s.chunk*total]
	for h := lo; h < hi; h++ {
		kvh := h / group
		q := s.q[j.r0*s.qd+h*hd:]
		matmul(sc, total, q, s.qd, j.keys[kvh*hd:], s.kvd, nil, j.n, hd, 0, keysN)
		for t := 0; t < j.n; t++ {
			j.softmax(sc[t*total:t*total+keysP], t, keysN, scale)
		}
		out := s.att[h*hd:]
		matmul(out, s.qd, sc, total, j.valsT[kvh*hd*total:], total, nil, j.n, keysP, 0, hd)
	}
}

// runDot is run on BF16 dot products: queries, keys, probabilities and
// values are rounded to BF16 before each product (as PyTorch's bf16
// attention does), the scores and the softmax stay float32. P·V runs over
// a multiple of 32 positions where the buffers allow (zero probabilities
// pad it, as in run).
func (j *attnJob) runDot(part, lo, hi int) {
	s, c := j.s, j.s.c
	hd := c.HeadDim
	group := c.Heads / c.KVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	total := s.maxCtx + s.maxBlk
	keysN := j.p0 + j.T
	keysP := min((keysN+31)&^31, total)
	sc := s.scores[part*s.chunk*total : (part+1)*s.chunk*total]
	buf := s.attB[part*s.attBF16Len() : (part+1)*s.attBF16Len()]
	qb, buf := buf[:s.chunk*hd], buf[s.chunk*hd:]
	kb, buf := buf[:total*hd], buf[total*hd:]
	vb, pb := buf[:total*hd], buf[total*hd:]
	prev := -1
	for h := lo; h < hi; h++ {
		kvh := h / group
		if kvh != prev {
			for p := 0; p < keysN; p++ {
				roundBF16(kb[p*hd:(p+1)*hd], j.keys[p*s.kvd+kvh*hd:p*s.kvd+(kvh+1)*hd])
			}
			for i := 0; i < hd; i++ {
				row := j.valsT[(kvh*hd+i)*total:]
				roundBF16(vb[i*keysP:(i+1)*keysP], row[:keysP])
			}
			prev = kvh
		}
		for t := 0; t < j.n; t++ {
			o := (j.r0+t)*s.qd + h*hd
			roundBF16(qb[t*hd:(t+1)*hd], s.q[o:o+hd])
		}
		matmulDot(sc, total, qb, hd, kb, hd, nil, j.n, hd, 0, keysN)
		for t := 0; t < j.n; t++ {
			j.softmax(sc[t*total:t*total+keysP], t, keysN, scale)
			roundBF16(pb[t*keysP:(t+1)*keysP], sc[t*total:t*total+keysP])
		}
		matmulDot(s.att[h*hd:], s.qd, pb, keysP, vb, keysP, nil, j.n, keysP, 0, hd)
	}
}

// A logitJob turns rows of logits into top-k and entropy.
type logitJob struct {
	s *session
	n int
}

func (j *logitJob) run(_, lo, hi int) {
	s := j.s
	V, k := s.c.Vocab, s.topK
	for i := lo; i < hi; i++ {
		lg := s.logits[i*V : (i+1)*V]
		if s.c.LogitScale != 0 {
			for x := range lg {
				lg[x] *= s.c.LogitScale
			}
		}
		s.ents[i] = topKEntropy(lg, s.cands[i*k:(i+1)*k])
	}
}
