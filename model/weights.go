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
	"sort"
	"strings"
)

// Weights is a checkpoint folder opened for its tensors without building a
// Model: config.json and every safetensors file, parsed and validated.
// Package gpu loads through it, so that one reader checks the untrusted
// files.
//
// Tensors come back as float32s or BF16 bits, possibly as views of the
// files' bytes (memory-mapped by OpenWeightsDir): callers must not modify
// them, and they stay valid until Close.
type Weights struct {
	cfg   Config
	files weights  // nil after Close
	maps  [][]byte // memory-mapped files, unmapped by Close
}

// OpenWeightsDir opens a Hugging Face checkpoint folder: config.json plus
// model.safetensors or the shards model.safetensors.index.json names. The
// weight files are memory-mapped, as Load does.
func OpenWeightsDir(dir string) (*Weights, error) {
	w := &Weights{}
	if err := w.open(dirSource{dir: dir, maps: &w.maps}); err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// OpenWeights opens a checkpoint folder laid out as OpenWeightsDir expects
// from fsys. The files are read into memory.
func OpenWeights(fsys fs.FS) (*Weights, error) {
	w := &Weights{}
	if err := w.open(fsSource{fsys}); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Weights) open(src source) error {
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
	w.cfg, w.files = cfg, files
	return nil
}

// Config returns the checkpoint's configuration.
func (w *Weights) Config() Config { return w.cfg }

// Close unmaps the files; the tensors read from them must no longer be used.
func (w *Weights) Close() error {
	var err error
	for _, b := range w.maps {
		if e := munmap(b); e != nil && err == nil {
			err = fmt.Errorf("model: munmap: %w", e)
		}
	}
	w.maps, w.files = nil, nil
	return err
}

// Float32 returns the named tensor as float32s after checking that its
// shape is exactly shape: an aligned F32 tensor as a view of the file, F16
// and BF16 widened into a new slice.
func (w *Weights) Float32(name string, shape ...int) ([]float32, error) {
	f, t, err := w.lookup(name, shape)
	if err != nil {
		return nil, err
	}
	return t.floats(f.name)
}

// BF16 returns the named tensor as bfloat16 bits after checking its shape:
// a BF16 tensor's stored bits (a view of the file when aligned), any other
// float tensor widened to float32 and rounded to nearest even.
func (w *Weights) BF16(name string, shape ...int) ([]uint16, error) {
	f, t, err := w.lookup(name, shape)
	if err != nil {
		return nil, err
	}
	if t.DType == dtBF16 {
		return t.bf16Bits(), nil
	}
	v, err := t.floats(f.name)
	if err != nil {
		return nil, err
	}
	out := make([]uint16, len(v))
	for i, x := range v {
		out[i] = f32ToBF16(x)
	}
	return out, nil
}

// A Summary describes a checkpoint's stored tensors.
type Summary struct {
	Parameters int64            // numbers in all tensors (a tied head counts once)
	Bytes      int64            // bytes of tensor data
	DTypes     map[string]int64 // parameters per safetensors dtype ("BF16", "F32", ...)
}

// Summary adds up the checkpoint's tensors.
func (w *Weights) Summary() Summary {
	s := Summary{DTypes: map[string]int64{}}
	seen := map[*stFile]bool{} // w.files maps each tensor's name to its file
	for _, f := range w.files {
		if seen[f] {
			continue
		}
		seen[f] = true
		for _, t := range f.tensors {
			// parseSafetensors checked that the bytes are the shape's
			// elements times the dtype's size.
			n := int64((t.End - t.Begin) / dtypeSizes[t.DType])
			s.Parameters += n
			s.Bytes += int64(t.End - t.Begin)
			s.DTypes[string(t.DType)] += n
		}
	}
	return s
}

// storedBF16 reports whether every tensor of the checkpoint is stored in
// BF16: its weights then lose nothing as BF16 (Model.SetBF16Dot).
func (w *Weights) storedBF16() bool {
	if len(w.files) == 0 {
		return false
	}
	for _, f := range w.files {
		for _, t := range f.tensors {
			if t.DType != dtBF16 {
				return false
			}
		}
	}
	return true
}

// lookup finds a tensor and checks its shape.
func (w *Weights) lookup(name string, shape []int) (*stFile, *tensorInfo, error) {
	if w.files == nil {
		return nil, nil, fmt.Errorf("model: tensor %q read after Close", name)
	}
	f, ok := w.files[name]
	if !ok {
		seen := map[string]bool{}
		var files []string
		for _, f := range w.files {
			if !seen[f.name] {
				seen[f.name] = true
				files = append(files, f.name)
			}
		}
		sort.Strings(files)
		return nil, nil, fmt.Errorf("%w: tensor %q is missing from %s", ErrSafetensors, name, strings.Join(files, ", "))
	}
	t := f.tensors[name]
	if !sameShape(t.Shape, shape) {
		return nil, nil, fmt.Errorf("%w: %s: tensor %q has shape %v, want %v", ErrSafetensors, f.name, name, t.Shape, shape)
	}
	return f, t, nil
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

// TensorNames names a family's modules in its checkpoints. Each is a
// module path: its weight is the tensor name+".weight" and, where the config
// has biases, its bias name+".bias". Per-layer names hold %d for the layer.
type TensorNames struct {
	Embed, Norm, Head                             string // [vocab][hidden], [hidden], [vocab][hidden]
	AttnNorm, Q, K, V, O, MLPNorm, Gate, Up, Down string // with %d for the layer
}

// Qwen2 / LLaMA / Dream names (transformers modeling_qwen2.py; Dream's
// modeling_dream.py keeps them: model.layers.N.self_attn.q_proj, ...).
var hfNames = TensorNames{
	Embed: "model.embed_tokens", Norm: "model.norm", Head: "lm_head",
	AttnNorm: "model.layers.%d.input_layernorm", Q: "model.layers.%d.self_attn.q_proj",
	K: "model.layers.%d.self_attn.k_proj", V: "model.layers.%d.self_attn.v_proj",
	O: "model.layers.%d.self_attn.o_proj", MLPNorm: "model.layers.%d.post_attention_layernorm",
	Gate: "model.layers.%d.mlp.gate_proj", Up: "model.layers.%d.mlp.up_proj", Down: "model.layers.%d.mlp.down_proj",
}

// LLaDA names (modeling_llada.py, LLaDAModelLM -> self.model = LLaDAModel ->
// transformer.{wte, blocks, ln_f, ff_out}; LLaDALlamaBlock computes
// act(ff_proj(x)) * up_proj(x) then ff_out, so ff_proj is the gate).
var lladaNames = TensorNames{
	Embed: "model.transformer.wte", Norm: "model.transformer.ln_f", Head: "model.transformer.ff_out",
	AttnNorm: "model.transformer.blocks.%d.attn_norm", Q: "model.transformer.blocks.%d.q_proj",
	K: "model.transformer.blocks.%d.k_proj", V: "model.transformer.blocks.%d.v_proj",
	O: "model.transformer.blocks.%d.attn_out", MLPNorm: "model.transformer.blocks.%d.ff_norm",
	Gate: "model.transformer.blocks.%d.ff_proj", Up: "model.transformer.blocks.%d.up_proj", Down: "model.transformer.blocks.%d.ff_out",
}

// TensorNames returns the names the config's family stores its tensors
// under.
func (c *Config) TensorNames() TensorNames {
	if c.Family == FamilyLLaDA {
		return lladaNames
	}
	return hfNames
}

// A Module is one linear map of a checkpoint: its weight is the tensor
// Name+".weight", [Out][In], and when Bias its bias Name+".bias", [Out].
type Module struct {
	Name    string
	Out, In int
	Bias    bool
}

// A LayerLayout is one transformer layer's tensors. The norms are [hidden]
// vectors named AttnNorm+".weight" and MLPNorm+".weight".
type LayerLayout struct {
	AttnNorm, MLPNorm          string
	Q, K, V, O, Gate, Up, Down Module
}

// A Layout lists every tensor the transformer reads, named and shaped as
// the config's family stores them: what an engine binds (the CPU engine
// here, the CUDA engine in gpu/).
type Layout struct {
	Embed  Module // [vocab][hidden], no bias
	Layers []LayerLayout
	Norm   string // the final norm, [hidden]
	Head   Module // the LM head; when Tied it is the embedding's tensor
	Tied   bool
}

// Layout returns the tensors the config implies.
func (c *Config) Layout() Layout {
	n := c.TensorNames()
	qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	l := Layout{
		Embed:  Module{Name: n.Embed, Out: c.Vocab, In: c.Hidden},
		Layers: make([]LayerLayout, c.Layers),
		Norm:   n.Norm,
		Tied:   c.Tied,
		// LLaDA's ff_out head has a bias where its MLP does; Qwen2's lm_head never.
		Head: Module{Name: n.Head, Out: c.Vocab, In: c.Hidden, Bias: c.MLPBias && c.Family == FamilyLLaDA},
	}
	if c.Tied {
		l.Head = l.Embed
	}
	for i := range l.Layers {
		name := func(f string) string { return fmt.Sprintf(f, i) }
		l.Layers[i] = LayerLayout{
			AttnNorm: name(n.AttnNorm), MLPNorm: name(n.MLPNorm),
			Q:    Module{name(n.Q), qd, c.Hidden, c.QKVBias},
			K:    Module{name(n.K), kvd, c.Hidden, c.QKVBias},
			V:    Module{name(n.V), kvd, c.Hidden, c.QKVBias},
			O:    Module{name(n.O), c.Hidden, qd, c.OutBias},
			Gate: Module{name(n.Gate), c.Intermediate, c.Hidden, c.MLPBias},
			Up:   Module{name(n.Up), c.Intermediate, c.Hidden, c.MLPBias},
			Down: Module{name(n.Down), c.Hidden, c.Intermediate, c.MLPBias},
		}
	}
	return l
}
