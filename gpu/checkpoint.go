package gpu

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"

	"github.com/unmask/unmask/model"
)

// ErrCheckpoint reports a checkpoint this package cannot read.
var ErrCheckpoint = errors.New("gpu: bad checkpoint")

// A hostTensor is one tensor read from safetensors, widened to float32 or
// kept as bf16 bits.
type hostTensor struct {
	shape []int
	f32   []float32
	bf16  []uint16
}

// checkpoint holds a checkpoint's config and its tensors on the host, ready
// to upload. Matrices are kept in the weight type the engine asked for.
type checkpoint struct {
	cfg     model.Config
	tensors map[string]hostTensor
}

type stEntry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// readCheckpoint reads config.json and model.safetensors (or the shards
// model.safetensors.index.json names) from fsys. Matrices (2-D tensors) are
// kept as bf16 when bf16 is set, else widened to f32; vectors always f32.
func readCheckpoint(fsys fs.FS, bf16 bool) (*checkpoint, error) {
	raw, err := fs.ReadFile(fsys, "config.json")
	if err != nil {
		return nil, fmt.Errorf("gpu: %w", err)
	}
	cfg, err := model.ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("gpu: config.json: %w", err)
	}
	files := []string{"model.safetensors"}
	if idx, err := fs.ReadFile(fsys, "model.safetensors.index.json"); err == nil {
		var ix struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(idx, &ix); err != nil {
			return nil, fmt.Errorf("%w: model.safetensors.index.json: %v", ErrCheckpoint, err)
		}
		seen := map[string]bool{}
		files = files[:0]
		for _, f := range ix.WeightMap {
			if !seen[f] && !strings.Contains(f, "/") {
				seen[f] = true
				files = append(files, f)
			}
		}
	}
	ck := &checkpoint{cfg: cfg, tensors: map[string]hostTensor{}}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("gpu: %w", err)
		}
		if err := ck.parse(f, data, bf16); err != nil {
			return nil, err
		}
	}
	return ck, nil
}

// readCheckpointDir is readCheckpoint on a folder.
func readCheckpointDir(dir string, bf16 bool) (*checkpoint, error) {
	return readCheckpoint(os.DirFS(dir), bf16)
}

func (ck *checkpoint) parse(file string, data []byte, bf16 bool) error {
	if len(data) < 8 {
		return fmt.Errorf("%w: %s: %d bytes, shorter than the header length", ErrCheckpoint, file, len(data))
	}
	hl := binary.LittleEndian.Uint64(data)
	if hl > uint64(len(data)-8) || hl > 100<<20 {
		return fmt.Errorf("%w: %s: header of %d bytes in a %d-byte file", ErrCheckpoint, file, hl, len(data))
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+hl], &hdr); err != nil {
		return fmt.Errorf("%w: %s: header: %v", ErrCheckpoint, file, err)
	}
	body := data[8+hl:]
	for name, rawEntry := range hdr {
		if name == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(rawEntry, &e); err != nil {
			return fmt.Errorf("%w: %s: tensor %s: %v", ErrCheckpoint, file, name, err)
		}
		n := int64(1)
		for _, d := range e.Shape {
			// Bounded by the file's size before multiplying, so the
			// product cannot overflow.
			if d < 0 || (d > 0 && n > int64(len(body))/int64(d)) {
				return fmt.Errorf("%w: %s: tensor %s: shape %v does not fit the file", ErrCheckpoint, file, name, e.Shape)
			}
			n *= int64(d)
		}
		var size int64
		switch e.DType {
		case "F32":
			size = 4
		case "BF16", "F16":
			size = 2
		default:
			return fmt.Errorf("%w: %s: tensor %s: dtype %s (want F32, BF16 or F16)", ErrCheckpoint, file, name, e.DType)
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(body)) || hi-lo != n*size {
			return fmt.Errorf("%w: %s: tensor %s: offsets %v for %d x %s in %d bytes", ErrCheckpoint, file, name, e.Offsets, n, e.DType, len(body))
		}
		b := body[lo:hi]
		t := hostTensor{shape: e.Shape}
		wantBF16 := bf16 && len(e.Shape) == 2
		switch {
		case wantBF16 && e.DType == "BF16":
			t.bf16 = make([]uint16, n)
			for i := range t.bf16 {
				t.bf16[i] = binary.LittleEndian.Uint16(b[2*i:])
			}
		default:
			t.f32 = make([]float32, n)
			for i := range t.f32 {
				switch e.DType {
				case "F32":
					t.f32[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
				case "BF16":
					t.f32[i] = bf16f(binary.LittleEndian.Uint16(b[2*i:]))
				case "F16":
					t.f32[i] = f16f(binary.LittleEndian.Uint16(b[2*i:]))
				}
			}
			if wantBF16 {
				t.bf16 = make([]uint16, n)
				for i, v := range t.f32 {
					t.bf16[i] = toBF16(v)
				}
				t.f32 = nil
			}
		}
		ck.tensors[name] = t
	}
	return nil
}

// f16f widens an IEEE half.
func f16f(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 / 16384
		if sign != 0 {
			return -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// tensor returns the named tensor, checking its shape.
func (ck *checkpoint) tensor(name string, shape ...int) (hostTensor, error) {
	t, ok := ck.tensors[name]
	if !ok {
		return t, fmt.Errorf("%w: tensor %s missing", ErrCheckpoint, name)
	}
	if len(t.shape) != len(shape) {
		return t, fmt.Errorf("%w: tensor %s has shape %v, want %v", ErrCheckpoint, name, t.shape, shape)
	}
	for i := range shape {
		if t.shape[i] != shape[i] {
			return t, fmt.Errorf("%w: tensor %s has shape %v, want %v", ErrCheckpoint, name, t.shape, shape)
		}
	}
	return t, nil
}

// tensorNames lists a family's tensor names (as package model reads them).
type tensorNames struct {
	embed, norm, head                             string
	attnNorm, q, k, v, o, mlpNorm, gate, up, down string // with %d for the layer
}

var hfNames = tensorNames{
	embed: "model.embed_tokens.weight", norm: "model.norm.weight", head: "lm_head.weight",
	attnNorm: "model.layers.%d.input_layernorm", q: "model.layers.%d.self_attn.q_proj",
	k: "model.layers.%d.self_attn.k_proj", v: "model.layers.%d.self_attn.v_proj",
	o: "model.layers.%d.self_attn.o_proj", mlpNorm: "model.layers.%d.post_attention_layernorm",
	gate: "model.layers.%d.mlp.gate_proj", up: "model.layers.%d.mlp.up_proj", down: "model.layers.%d.mlp.down_proj",
}

var lladaNames = tensorNames{
	embed: "model.transformer.wte.weight", norm: "model.transformer.ln_f.weight", head: "model.transformer.ff_out.weight",
	attnNorm: "model.transformer.blocks.%d.attn_norm", q: "model.transformer.blocks.%d.q_proj",
	k: "model.transformer.blocks.%d.k_proj", v: "model.transformer.blocks.%d.v_proj",
	o: "model.transformer.blocks.%d.attn_out", mlpNorm: "model.transformer.blocks.%d.ff_norm",
	gate: "model.transformer.blocks.%d.ff_proj", up: "model.transformer.blocks.%d.up_proj", down: "model.transformer.blocks.%d.ff_out",
}

func namesFor(c *model.Config) tensorNames {
	if c.Family == model.FamilyLLaDA {
		return lladaNames
	}
	return hfNames
}
