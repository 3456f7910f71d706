package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

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
	maps    [][]byte // memory-mapped files, unmapped by Close
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
	for _, b := range m.maps {
		if e := munmap(b); e != nil && err == nil {
			err = fmt.Errorf("model: munmap: %w", e)
		}
	}
	m.maps = nil
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

// ErrNoDefault reports that no default model is embedded in this build.
var ErrNoDefault = errors.New("model: no default model embedded")

// A source opens the files of a checkpoint folder.
type source interface {
	read(name string) ([]byte, error) // small files (JSON)
	mapFile(name string) ([]byte, error)
	describe(name string) string
}

type dirSource struct {
	dir  string
	maps *[][]byte
}

func (d dirSource) read(name string) ([]byte, error) { return os.ReadFile(filepath.Join(d.dir, name)) }
func (d dirSource) describe(name string) string      { return filepath.Join(d.dir, name) }

// mapFile memory-maps a weights file read-only: the F32 tensors are used in
// place, so a checkpoint costs page cache, not heap.
func (d dirSource) mapFile(name string) ([]byte, error) {
	f, err := os.Open(filepath.Join(d.dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() == 0 {
		return []byte{}, nil
	}
	if st.Size() > math.MaxInt {
		return nil, fmt.Errorf("file too large")
	}
	b, err := mmapFile(f, int(st.Size()))
	if err != nil {
		// Some file systems cannot map; reading costs memory but works.
		return os.ReadFile(filepath.Join(d.dir, name))
	}
	*d.maps = append(*d.maps, b)
	return b, nil
}

type fsSource struct{ fsys fs.FS }

func (s fsSource) read(name string) ([]byte, error)    { return fs.ReadFile(s.fsys, name) }
func (s fsSource) mapFile(name string) ([]byte, error) { return fs.ReadFile(s.fsys, name) }
func (s fsSource) describe(name string) string         { return name }

// Load reads a Hugging Face checkpoint folder: config.json plus
// model.safetensors or a sharded model.safetensors.index.json.
func Load(dir string) (*Model, error) {
	m := &Model{}
	if err := m.load(dirSource{dir: dir, maps: &m.maps}); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// LoadFS reads a checkpoint folder laid out as Load expects from fsys (the
// embedded default model).
func LoadFS(fsys fs.FS) (*Model, error) {
	m := &Model{}
	if err := m.load(fsSource{fsys}); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) load(src source) error {
	data, err := src.read("config.json")
	if err != nil {
		return fmt.Errorf("model: %s: %w", src.describe("config.json"), err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return fmt.Errorf("%s: %w", src.describe("config.json"), err)
	}
	files, err := openWeights(src)
	if err != nil {
		return err
	}
	m.cfg = cfg
	m.SetThreads(0)
	return m.bind(files)
}

// weights maps each tensor name to the file that holds it.
type weights map[string]*stFile

// openWeights parses model.safetensors, or every shard that
// model.safetensors.index.json names.
func openWeights(src source) (weights, error) {
	idx, err := src.read("model.safetensors.index.json")
	var names []string
	var wantIn map[string]string
	if err == nil {
		var ix struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(idx, &ix); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSafetensors, src.describe("model.safetensors.index.json"), err)
		}
		if len(ix.WeightMap) == 0 {
			return nil, fmt.Errorf("%w: %s: empty weight_map", ErrSafetensors, src.describe("model.safetensors.index.json"))
		}
		seen := map[string]bool{}
		for t, f := range ix.WeightMap {
			// A shard name must stay inside the folder.
			if !fs.ValidPath(f) || strings.Contains(f, "/") || !strings.HasSuffix(f, ".safetensors") {
				return nil, fmt.Errorf("%w: %s: tensor %q: shard name %q", ErrSafetensors, src.describe("model.safetensors.index.json"), t, f)
			}
			if !seen[f] {
				seen[f] = true
				names = append(names, f)
			}
		}
		wantIn = ix.WeightMap
	} else if errors.Is(err, fs.ErrNotExist) {
		names = []string{"model.safetensors"}
	} else {
		return nil, fmt.Errorf("model: %s: %w", src.describe("model.safetensors.index.json"), err)
	}
	w := weights{}
	for _, name := range names {
		buf, err := src.mapFile(name)
		if err != nil {
			return nil, fmt.Errorf("model: %s: %w", src.describe(name), err)
		}
		f, err := parseSafetensors(src.describe(name), buf)
		if err != nil {
			return nil, err
		}
		for t := range f.tensors {
			if prev, ok := w[t]; ok {
				return nil, fmt.Errorf("%w: tensor %q is in both %s and %s", ErrSafetensors, t, prev.name, f.name)
			}
			w[t] = f
		}
	}
	for t, f := range wantIn {
		got, ok := w[t]
		if !ok {
			return nil, fmt.Errorf("%w: %s: tensor %q listed in the index is missing", ErrSafetensors, src.describe(f), t)
		}
		if path.Base(got.name) != f && filepath.Base(got.name) != f {
			return nil, fmt.Errorf("%w: tensor %q: index says %s, found in %s", ErrSafetensors, t, f, got.name)
		}
	}
	return w, nil
}

// tensor returns a named tensor as float32s after checking its shape.
func (w weights) tensor(name string, shape ...int) ([]float32, error) {
	f, ok := w[name]
	if !ok {
		seen := map[string]bool{}
		var files []string
		for _, f := range w {
			if !seen[f.name] {
				seen[f.name] = true
				files = append(files, f.name)
			}
		}
		sort.Strings(files)
		return nil, fmt.Errorf("%w: tensor %q is missing from %s", ErrSafetensors, name, strings.Join(files, ", "))
	}
	t := f.tensors[name]
	if !sameShape(t.Shape, shape) {
		return nil, fmt.Errorf("%w: %s: tensor %q has shape %v, the config implies %v", ErrSafetensors, f.name, name, t.Shape, shape)
	}
	return t.floats(f.name)
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// names lists a family's tensor names.
type names struct {
	embed, norm, head                             string
	attnNorm, q, k, v, o, mlpNorm, gate, up, down string // with %d for the layer
}

// Qwen2 / LLaMA / Dream names (transformers modeling_qwen2.py; Dream's
// modeling_dream.py keeps them: model.layers.N.self_attn.q_proj, ...).
var hfNames = names{
	embed: "model.embed_tokens.weight", norm: "model.norm.weight", head: "lm_head.weight",
	attnNorm: "model.layers.%d.input_layernorm", q: "model.layers.%d.self_attn.q_proj",
	k: "model.layers.%d.self_attn.k_proj", v: "model.layers.%d.self_attn.v_proj",
	o: "model.layers.%d.self_attn.o_proj", mlpNorm: "model.layers.%d.post_attention_layernorm",
	gate: "model.layers.%d.mlp.gate_proj", up: "model.layers.%d.mlp.up_proj", down: "model.layers.%d.mlp.down_proj",
}

// LLaDA names (modeling_llada.py, LLaDAModelLM -> self.model = LLaDAModel ->
// transformer.{wte, blocks, ln_f, ff_out}; LLaDALlamaBlock computes
// act(ff_proj(x)) * up_proj(x) then ff_out, so ff_proj is the gate).
var lladaNames = names{
	embed: "model.transformer.wte.weight", norm: "model.transformer.ln_f.weight", head: "model.transformer.ff_out.weight",
	attnNorm: "model.transformer.blocks.%d.attn_norm", q: "model.transformer.blocks.%d.q_proj",
	k: "model.transformer.blocks.%d.k_proj", v: "model.transformer.blocks.%d.v_proj",
	o: "model.transformer.blocks.%d.attn_out", mlpNorm: "model.transformer.blocks.%d.ff_norm",
	gate: "model.transformer.blocks.%d.ff_proj", up: "model.transformer.blocks.%d.up_proj", down: "model.transformer.blocks.%d.ff_out",
}

func (c *Config) names() names {
	if c.Family == FamilyLLaDA {
		return lladaNames
	}
	return hfNames
}

// bind takes every tensor the config implies out of the files.
func (m *Model) bind(w weights) error {
	c := &m.cfg
	n := c.names()
	var err error
	vec := func(name string, size int) []float32 {
		if err != nil {
			return nil
		}
		var v []float32
		v, err = w.tensor(name, size)
		return v
	}
	lin := func(base string, out, in int, bias bool) linear {
		l := linear{out: out, in: in}
		if err != nil {
			return l
		}
		if l.w, err = w.tensor(base+".weight", out, in); err != nil {
			return l
		}
		if bias {
			l.b, err = w.tensor(base+".bias", out)
		}
		return l
	}
	if m.embed, err = w.tensor(n.embed, c.Vocab, c.Hidden); err != nil {
		return err
	}
	qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.layers = make([]layer, c.Layers)
	for i := range m.layers {
		L := &m.layers[i]
		L.attnNorm = vec(fmt.Sprintf(n.attnNorm, i)+".weight", c.Hidden)
		L.q = lin(fmt.Sprintf(n.q, i), qd, c.Hidden, c.QKVBias)
		L.k = lin(fmt.Sprintf(n.k, i), kvd, c.Hidden, c.QKVBias)
		L.v = lin(fmt.Sprintf(n.v, i), kvd, c.Hidden, c.QKVBias)
		L.o = lin(fmt.Sprintf(n.o, i), c.Hidden, qd, c.OutBias)
		L.mlpNorm = vec(fmt.Sprintf(n.mlpNorm, i)+".weight", c.Hidden)
		L.gate = lin(fmt.Sprintf(n.gate, i), c.Intermediate, c.Hidden, c.MLPBias)
		L.up = lin(fmt.Sprintf(n.up, i), c.Intermediate, c.Hidden, c.MLPBias)
		L.down = lin(fmt.Sprintf(n.down, i), c.Hidden, c.Intermediate, c.MLPBias)
		if err != nil {
			return err
		}
	}
	m.norm = vec(n.norm, c.Hidden)
	if c.Tied {
		m.head = linear{w: m.embed, out: c.Vocab, in: c.Hidden}
	} else {
		m.head = lin(strings.TrimSuffix(n.head, ".weight"), c.Vocab, c.Hidden, c.MLPBias && c.Family == FamilyLLaDA)
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
