package model

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"runtime"

	"github.com/unmask/unmask/engine"
)

// A linear is one projection y = x W^T + b, as torch.nn.Linear stores it.
type linear struct {
	w       []float32 // [out][in], row-major; nil when wb holds the weights
	wb      []uint16  // [out][in] BF16 bits, after UseBF16
	b       []float32 // [out], nil when the layer has no bias
	out, in int
}

// A layer holds one transformer block's weights.
type layer struct {
	attnNorm []float32 // [hidden]
	q        linear    // [heads*headDim][hidden]
	k        linear    // [kvHeads*headDim][hidden]
	v        linear    // [kvHeads*headDim][hidden]
	o        linear    // [hidden][heads*headDim]
	mlpNorm  []float32 // [hidden]
	gate     linear    // [intermediate][hidden]
	up       linear    // [intermediate][hidden]
	down     linear    // [hidden][intermediate]
}

// A Model is one loaded checkpoint; it implements engine.Backend. Its
// weights are read-only after loading, so sessions on several goroutines
// share it.
type Model struct {
	cfg    Config
	embed  []float32 // [vocab][hidden]; nil after UseBF16
	embedB []uint16  // [vocab][hidden] BF16, after UseBF16
	layers []layer
	norm   []float32 // [hidden], final norm
	head   linear    // [vocab][hidden]; w aliases embed when tied

	threads int      // goroutines per session for matrix products
	dot     bool     // BF16 dot products (SetBF16Dot)
	src     *Weights // the checkpoint's files, closed by Close; nil for NewRandom
}

var _ engine.Backend = (*Model)(nil)

// Config returns the checkpoint's configuration.
func (m *Model) Config() Config { return m.cfg }

// Info describes the checkpoint for the decoder.
func (m *Model) Info() engine.Info { return m.cfg.info() }

// SetThreads sets how many goroutines new sessions use for their matrix
// products and attention (n <= 0: GOMAXPROCS).
func (m *Model) SetThreads(n int) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	m.threads = n
}

// Close unmaps the checkpoint's files. Sessions must be closed first: their
// weights are views into the mappings.
func (m *Model) Close() error {
	var err error
	if m.src != nil {
		err = m.src.Close()
		m.src = nil
	}
	m.embed, m.embedB, m.layers, m.norm, m.head = nil, nil, nil, nil, linear{}
	return err
}

// UseBF16 stores every weight matrix (and the embedding) as BF16, rounded
// to nearest even, and multiplies with them in place: half the memory of
// float32 weights, float32 arithmetic. A checkpoint stored in BF16 loses
// nothing. It needs AVX-512 (elsewhere the product would run on the plain
// kernel); call it before NewSession.
func (m *Model) UseBF16() error {
	if kern != kernAVX512 {
		return fmt.Errorf("model: BF16 weights in place need the AVX-512 kernel (this CPU runs %q)", kernelName)
	}
	if m.embed == nil {
		return nil // already BF16
	}
	narrow := func(v []float32) []uint16 {
		out := make([]uint16, len(v))
		for i, f := range v {
			out[i] = f32ToBF16(f)
		}
		return out
	}
	tiedHead := m.cfg.Tied
	conv := func(l *linear) {
		l.wb, l.w = narrow(l.w), nil
	}
	for i := range m.layers {
		L := &m.layers[i]
		for _, l := range []*linear{&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down} {
			conv(l)
		}
	}
	m.embedB, m.embed = narrow(m.embed), nil
	if tiedHead {
		m.head.wb, m.head.w = m.embedB, nil
	} else {
		conv(&m.head)
	}
	return nil
}

// SetBF16Dot(true) is UseBF16 with the products' other side in BF16 too:
// each matrix product rounds its input rows to BF16 (nearest even) and
// runs on AVX-512 BF16 dot products (VDPBF16PS: two BF16 products summed
// into a float32 per lane), 1.7–2 times the float32 kernel's rate on this
// project's Zen 4 (BenchmarkMatmulDot). Activations lose their low 16 bits
// before each product, as under PyTorch's bf16 autocast, which is how our
// models are trained; attention rounds queries, keys, probabilities and
// values the same way, and norms, scores and the softmax stay float32. It
// needs AVX-512 BF16 (BF16DotAvailable). SetBF16Dot(false) goes back to
// float32 arithmetic (on BF16 weights, if they were made BF16). UseFastest
// turns it on where it loses nothing of the weights. Sessions keep the
// arithmetic they were made with.
func (m *Model) SetBF16Dot(on bool) error {
	if !on {
		m.dot = false
		return nil
	}
	if !BF16DotAvailable() {
		return fmt.Errorf("model: BF16 dot products need AVX-512 BF16 (this CPU runs %q)", kernelName)
	}
	if err := m.UseBF16(); err != nil {
		return err
	}
	m.dot = true
	return nil
}

// BF16DotAvailable reports whether this CPU runs SetBF16Dot's kernel.
func BF16DotAvailable() bool { return kern == kernAVX512 && hasDPBF16 }

// BF16Dot reports whether the model runs on BF16 dot products.
func (m *Model) BF16Dot() bool { return m.dot }

// UseFastest puts a checkpoint stored in BF16 (the embedded model, most
// public ones) on BF16 dot products where the CPU has them and
// UNMASK_KERNEL does not name another kernel: its weights lose nothing, and
// the products run at about twice the rate. Other checkpoints, and
// other CPUs, keep float32 arithmetic. The commands call it; Load and Open
// alone give float32 arithmetic, the reference other engines are held to.
// It reports whether the model now runs on BF16 dot products.
func (m *Model) UseFastest() (bool, error) {
	if !bf16DotDefault || !BF16DotAvailable() || m.src == nil || !m.src.storedBF16() {
		return m.dot, nil
	}
	if err := m.SetBF16Dot(true); err != nil {
		return false, err
	}
	return true, nil
}

// bf16DotDefault is UseFastest's switch: off when UNMASK_KERNEL forces a
// kernel other than avx512bf16 (for comparisons).
var bf16DotDefault = true

// ErrNoDefault reports that no default model is embedded in this build.
var ErrNoDefault = errors.New("model: no default model embedded")

// Load reads a Hugging Face checkpoint folder: config.json plus
// model.safetensors or a sharded model.safetensors.index.json.
func Load(dir string) (*Model, error) {
	w, err := OpenWeightsDir(dir)
	if err != nil {
		return nil, err
	}
	return fromWeights(w)
}

// LoadFS reads a checkpoint folder laid out as Load expects from fsys (the
// embedded default model).
func LoadFS(fsys fs.FS) (*Model, error) {
	w, err := OpenWeights(fsys)
	if err != nil {
		return nil, err
	}
	return fromWeights(w)
}

// fromWeights builds a Model on w's tensors; the Model owns w from then on.
func fromWeights(w *Weights) (*Model, error) {
	m := &Model{cfg: w.cfg, src: w}
	m.SetThreads(0)
	if err := m.bind(w); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// bind takes every tensor the config implies out of the files.
func (m *Model) bind(w *Weights) error {
	c := &m.cfg
	lay := c.Layout()
	var err error
	vec := func(name string) []float32 {
		if err != nil {
			return nil
		}
		var v []float32
		v, err = w.Float32(name+".weight", c.Hidden)
		return v
	}
	lin := func(mod Module) linear {
		l := linear{out: mod.Out, in: mod.In}
		if err != nil {
			return l
		}
		if l.w, err = w.Float32(mod.Name+".weight", mod.Out, mod.In); err != nil {
			return l
		}
		if mod.Bias {
			l.b, err = w.Float32(mod.Name+".bias", mod.Out)
		}
		return l
	}
	emb := lin(lay.Embed)
	if err != nil {
		return err
	}
	m.embed = emb.w
	m.layers = make([]layer, c.Layers)
	for i, ll := range lay.Layers {
		m.layers[i] = layer{
			attnNorm: vec(ll.AttnNorm), mlpNorm: vec(ll.MLPNorm),
			q: lin(ll.Q), k: lin(ll.K), v: lin(ll.V), o: lin(ll.O),
			gate: lin(ll.Gate), up: lin(ll.Up), down: lin(ll.Down),
		}
		if err != nil {
			return err
		}
	}
	m.norm = vec(lay.Norm)
	if lay.Tied {
		m.head = emb
	} else {
		m.head = lin(lay.Head)
	}
	return err
}

// NewRandom builds a model of the given shape with random weights (for
// benchmarks and tests), deterministic in seed.
func NewRandom(cfg Config, seed uint64) (*Model, error) {
	if cfg.HeadDim == 0 && cfg.Heads > 0 {
		cfg.HeadDim = cfg.Hidden / cfg.Heads
	}
	if cfg.KVHeads == 0 {
		cfg.KVHeads = cfg.Heads
	}
	if cfg.RMSEps == 0 {
		cfg.RMSEps = 1e-6
	}
	if cfg.RopeTheta == 0 {
		cfg.RopeTheta = 10000
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = 32
	}
	if cfg.Attention == "" {
		cfg.Attention = engine.ContextCausal
	}
	if cfg.Family == "" {
		cfg.Family = FamilyUnmask
	}
	if cfg.Name == "" {
		cfg.Name = "random"
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c0 := &cfg
	params := int64(c0.Vocab)*int64(c0.Hidden)*2 + int64(c0.Layers)*(int64(c0.Hidden)*int64(c0.Heads+c0.KVHeads)*int64(c0.HeadDim)*2+
		3*int64(c0.Hidden)*int64(c0.Intermediate))
	if params > 1<<33 {
		return nil, fmt.Errorf("model: NewRandom: %d parameters (32 GiB of float32) is more than a benchmark needs", params)
	}
	r := rng{s: seed*0x9E3779B97F4A7C15 + 1}
	fill := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = scale * r.sym()
		}
		return v
	}
	ones := func(n int) []float32 {
		v := fill(n, 0.1)
		for i := range v {
			v[i] += 1
		}
		return v
	}
	lin := func(out, in int, bias bool) linear {
		l := linear{w: fill(out*in, float32(1/math.Sqrt(float64(in)))), out: out, in: in}
		if bias {
			l.b = fill(out, 0.1)
		}
		return l
	}
	c := &cfg
	m := &Model{cfg: cfg}
	m.SetThreads(0)
	m.embed = fill(c.Vocab*c.Hidden, 1)
	qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.layers = make([]layer, c.Layers)
	for i := range m.layers {
		m.layers[i] = layer{
			attnNorm: ones(c.Hidden),
			q:        lin(qd, c.Hidden, c.QKVBias),
			k:        lin(kvd, c.Hidden, c.QKVBias),
			v:        lin(kvd, c.Hidden, c.QKVBias),
			o:        lin(c.Hidden, qd, c.OutBias),
			mlpNorm:  ones(c.Hidden),
			gate:     lin(c.Intermediate, c.Hidden, c.MLPBias),
			up:       lin(c.Intermediate, c.Hidden, c.MLPBias),
			down:     lin(c.Hidden, c.Intermediate, c.MLPBias),
		}
	}
	m.norm = ones(c.Hidden)
	if c.Tied {
		m.head = linear{w: m.embed, out: c.Vocab, in: c.Hidden}
	} else {
		m.head = lin(c.Vocab, c.Hidden, false)
	}
	return m, nil
}

// rng is a small xorshift generator: NewRandom fills half a billion weights
// for the 0.5B shape, and math/rand's per-call cost shows there.
type rng struct{ s uint64 }

// sym returns a uniform value in [-sqrt(3), sqrt(3)) (unit variance).
func (r *rng) sym() float32 {
	r.s ^= r.s << 13
	r.s ^= r.s >> 7
	r.s ^= r.s << 17
	return (float32(r.s>>40)/(1<<24)*2 - 1) * 1.7320508
}
