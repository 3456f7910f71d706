package model

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/unmask/unmask/engine"
)

type testTensor struct {
	shape []int
	data  []float32
}

// encodeSafetensors writes tensors in the safetensors layout (header padded
// to 8 bytes, as the reference writer does).
func encodeSafetensors(tensors map[string]testTensor, dt dtype) []byte {
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, n := range names {
		t := tensors[n]
		begin := len(data)
		for _, v := range t.data {
			switch dt {
			case dtF32:
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			case dtBF16:
				data = binary.LittleEndian.AppendUint16(data, f32ToBF16(v))
			case dtF16:
				data = binary.LittleEndian.AppendUint16(data, f32ToF16(v))
			}
		}
		hdr[n] = map[string]any{"dtype": string(dt), "shape": t.shape, "data_offsets": []int{begin, len(data)}}
	}
	h, _ := json.Marshal(hdr)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(out, h...)
	return append(out, data...)
}

// f32ToF16 rounds to the nearest half (normal range only; tests use small values).
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127 + 15
	man := b & 0x7fffff
	if exp <= 0 {
		return sign
	}
	h := uint32(exp)<<10 | man>>13
	if man&0x1fff > 0x1000 || (man&0x1fff == 0x1000 && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// modelTensors lists m's weights under its family's names.
func modelTensors(m *Model) map[string]testTensor {
	c := &m.cfg
	n := c.TensorNames()
	out := map[string]testTensor{
		n.Embed + ".weight": {[]int{c.Vocab, c.Hidden}, m.embed},
		n.Norm + ".weight":  {[]int{c.Hidden}, m.norm},
	}
	if !c.Tied {
		out[n.Head+".weight"] = testTensor{[]int{c.Vocab, c.Hidden}, m.head.w}
	}
	lin := func(base string, l linear) {
		out[base+".weight"] = testTensor{[]int{l.out, l.in}, l.w}
		if l.b != nil {
			out[base+".bias"] = testTensor{[]int{l.out}, l.b}
		}
	}
	for i, L := range m.layers {
		out[fmt.Sprintf(n.AttnNorm, i)+".weight"] = testTensor{[]int{c.Hidden}, L.attnNorm}
		out[fmt.Sprintf(n.MLPNorm, i)+".weight"] = testTensor{[]int{c.Hidden}, L.mlpNorm}
		lin(fmt.Sprintf(n.Q, i), L.q)
		lin(fmt.Sprintf(n.K, i), L.k)
		lin(fmt.Sprintf(n.V, i), L.v)
		lin(fmt.Sprintf(n.O, i), L.o)
		lin(fmt.Sprintf(n.Gate, i), L.gate)
		lin(fmt.Sprintf(n.Up, i), L.up)
		lin(fmt.Sprintf(n.Down, i), L.down)
	}
	return out
}

// familyCase is a synthetic checkpoint in one family's exact config layout.
type familyCase struct {
	name      string
	config    string // config.json, %[1]d hidden, %[2]d vocab
	family    string
	attention engine.Attention
	shift     bool
	maskID    int32
	dt        dtype
	sharded   bool
}

var familyCases = []familyCase{
	{
		name: "unmask", family: FamilyUnmask, attention: engine.ContextCausal, shift: true, maskID: 90, dt: dtF32,
		config: `{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_size":%[1]d,"intermediate_size":80,
"num_hidden_layers":2,"num_attention_heads":6,"num_key_value_heads":2,"rms_norm_eps":1e-6,"rope_theta":10000.0,
"max_position_embeddings":256,"vocab_size":%[2]d,"tie_word_embeddings":false,"torch_dtype":"float32",
"unmask_attention":"context-causal","unmask_logit_shift":true,"unmask_block_size":4,"mask_token_id":90,
"eos_token_id":91,"pad_token_id":92,"bos_token_id":null,"fim_prefix_token_id":93,"fim_middle_token_id":94,"fim_suffix_token_id":95}`,
	},
	{
		// Dream-v0 config.json layout (model_type "Dream", DreamModel, Qwen2 names).
		name: "dream", family: FamilyDream, attention: engine.Bidirectional, shift: true, maskID: 96, dt: dtBF16, sharded: true,
		config: `{"architectures":["DreamModel"],"auto_map":{"AutoConfig":"configuration_dream.DreamConfig","AutoModel":"modeling_dream.DreamModel"},
"model_type":"Dream","hidden_act":"silu","hidden_size":%[1]d,"intermediate_size":80,"num_hidden_layers":2,
"num_attention_heads":6,"num_key_value_heads":2,"max_position_embeddings":256,"rms_norm_eps":1e-6,
"rope_scaling":null,"rope_theta":1000000.0,"tie_word_embeddings":false,"torch_dtype":"bfloat16","vocab_size":%[2]d,
"mask_token_id":96,"pad_token_id":95,"bos_token_id":94,"eos_token_id":95,"use_cache":false}`,
	},
	{
		// Dream's DreamConfig defaults mask_token_id to 151666; here the
		// vocabulary is large enough to hold it only in name, so the config
		// omits it and the tiny vocab must reject the default: covered in
		// TestConfigErrors. This row: Open-dCoder, a plain Qwen2 config with
		// a mask id, tied embeddings.
		name: "open-dcoder", family: FamilyOpenDCoder, attention: engine.Bidirectional, shift: true, maskID: 89, dt: dtF16,
		config: `{"architectures":["Qwen2ForCausalLM"],"model_type":"qwen2","hidden_act":"silu","hidden_size":%[1]d,
"intermediate_size":80,"num_hidden_layers":2,"num_attention_heads":6,"num_key_value_heads":2,"max_position_embeddings":256,
"rms_norm_eps":1e-6,"rope_theta":1000000.0,"tie_word_embeddings":true,"vocab_size":%[2]d,"mask_token_id":89,
"eos_token_id":91,"bos_token_id":91,"torch_dtype":"bfloat16"}`,
	},
	{
		// LLaDA-8B config.json layout (configuration_llada.py keys).
		name: "llada", family: FamilyLLaDA, attention: engine.Bidirectional, shift: false, maskID: 88, dt: dtBF16,
		config: `{"architectures":["LLaDAModelLM"],"model_type":"llada","activation_type":"silu","alibi":false,
"block_type":"llama","d_model":%[1]d,"embedding_size":%[2]d,"vocab_size":%[2]d,"include_bias":false,"include_qkv_bias":false,
"input_emb_norm":false,"layer_norm_type":"rms","mlp_hidden_size":80,"mlp_ratio":4,"n_heads":6,"n_kv_heads":2,"n_layers":2,
"max_sequence_length":256,"rms_norm_eps":1e-5,"rope":true,"rope_theta":500000.0,"scale_logits":false,"weight_tying":false,
"mask_token_id":88,"eos_token_id":91,"pad_token_id":91,"attention_layer_norm":false}`,
	},
	{
		name: "llama", family: FamilyLlama, attention: engine.Causal, shift: true, maskID: engine.NoToken, dt: dtF32,
		config: `{"architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_size":%[1]d,"intermediate_size":80,
"num_hidden_layers":2,"num_attention_heads":6,"num_key_value_heads":2,"max_position_embeddings":256,"rms_norm_eps":1e-5,
"rope_theta":500000.0,"rope_scaling":{"factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":64,"rope_type":"llama3"},
"tie_word_embeddings":true,"vocab_size":%[2]d,"eos_token_id":[91,92],"bos_token_id":90,"attention_bias":false}`,
	},
}

// writeFamily writes a random checkpoint in c's layout to a new folder and
// returns the folder and the random model it came from.
func writeFamily(t testing.TB, fc familyCase) (string, *Model) {
	t.Helper()
	cfg, err := ParseConfig([]byte(fmt.Sprintf(fc.config, 48, 97)))
	if err != nil {
		t.Fatalf("%s: ParseConfig: %v", fc.name, err)
	}
	src, err := NewRandom(cfg, 11)
	if err != nil {
		t.Fatal(err)
	}
	// Round the weights to the file's dtype so that the loaded model equals src.
	for name, tt := range modelTensors(src) {
		_ = name
		for i, v := range tt.data {
			switch fc.dt {
			case dtBF16:
				tt.data[i] = math.Float32frombits(uint32(f32ToBF16(v)) << 16)
			case dtF16:
				tt.data[i] = f16ToF32(f32ToF16(v))
			}
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(fmt.Sprintf(fc.config, 48, 97)), 0o644); err != nil {
		t.Fatal(err)
	}
	tensors := modelTensors(src)
	if !fc.sharded {
		if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), encodeSafetensors(tensors, fc.dt), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir, src
	}
	shards := []map[string]testTensor{{}, {}}
	wm := map[string]string{}
	i := 0
	for name, tt := range tensors {
		shards[i%2][name] = tt
		wm[name] = fmt.Sprintf("model-%05d-of-00002.safetensors", i%2+1)
		i++
	}
	for j, sh := range shards {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("model-%05d-of-00002.safetensors", j+1)), encodeSafetensors(sh, fc.dt), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 0}, "weight_map": wm})
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, src
}

// TestFamilies loads a synthetic checkpoint in each family's naming and
// config layout (from a folder and from an fs.FS), checks the conventions
// it reports, and runs a denoise step against the reference forward.
func TestFamilies(t *testing.T) {
	for _, fc := range familyCases {
		t.Run(fc.name, func(t *testing.T) {
			dir, src := writeFamily(t, fc)
			m, err := Load(dir)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			defer m.Close()
			info := m.Info()
			if info.Family != fc.family || info.Attention != fc.attention || info.Shift != fc.shift || info.MaskID != fc.maskID {
				t.Errorf("Info = family %q attention %q shift %v mask %d, want %q %q %v %d",
					info.Family, info.Attention, info.Shift, info.MaskID, fc.family, fc.attention, fc.shift, fc.maskID)
			}
			for name, want := range modelTensors(src) {
				got := modelTensors(m)[name]
				if !sameShape(got.shape, want.shape) {
					t.Fatalf("tensor %s shape %v, want %v", name, got.shape, want.shape)
				}
				for i := range want.data {
					if got.data[i] != want.data[i] {
						t.Fatalf("tensor %s[%d] = %g, want %g", name, i, got.data[i], want.data[i])
					}
				}
			}
			fsys := fstest.MapFS{}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
				fsys[e.Name()] = &fstest.MapFile{Data: b}
			}
			mfs, err := LoadFS(fsys)
			if err != nil {
				t.Fatalf("LoadFS: %v", err)
			}
			ctxToks := seqTokens(20, 5)
			block := []int32{3, 4, 9, 9, 9}
			full := append(append([]int32{}, ctxToks...), block...)
			n := len(ctxToks)
			allowed := func(i, j int) bool { return true }
			switch fc.attention {
			case engine.Causal:
				allowed = func(i, j int) bool { return j <= i }
			case engine.ContextCausal:
				allowed = func(i, j int) bool { return j <= i || i >= n }
			}
			ref := refForward(m, full, allowed)
			for _, mm := range []*Model{m, mfs} {
				s, err := mm.NewSession(engine.SessionOptions{MaxContext: 64, TopK: 4})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.Prefill(context.Background(), ctxToks); err != nil {
					t.Fatal(err)
				}
				out := engine.NewPredictions(len(block), 4)
				if err := s.Denoise(context.Background(), block, 0, out); err != nil {
					t.Fatal(err)
				}
				for i := range out {
					checkPrediction(t, fmt.Sprintf("%s pos %d", fc.name, i), out[i], ref[n+i], 2e-4)
				}
				s.Close()
			}
		})
	}
}

// TestLoadErrors: every broken checkpoint gives an error naming the file
// and tensor, never a panic.
func TestLoadErrors(t *testing.T) {
	fc := familyCases[0]
	type edit func(t *testing.T, dir string)
	file := func(dir string) string { return filepath.Join(dir, "model.safetensors") }
	cases := []struct {
		name string
		edit edit
		want []string
	}{
		{"truncated data", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(file(dir))
			os.WriteFile(file(dir), b[:len(b)-10], 0o644)
		}, []string{"model.safetensors", "outside the", "truncated"}},
		{"truncated header", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(file(dir))
			os.WriteFile(file(dir), b[:20], 0o644)
		}, []string{"model.safetensors", "header length"}},
		{"empty file", func(t *testing.T, dir string) {
			os.WriteFile(file(dir), nil, 0o644)
		}, []string{"model.safetensors", "shorter than"}},
		{"missing tensor", func(t *testing.T, dir string) {
			rewrite(t, file(dir), func(h map[string]any) { delete(h, "model.norm.weight") })
		}, []string{"model.norm.weight", "missing from", "model.safetensors"}},
		{"wrong shape", func(t *testing.T, dir string) {
			rewrite(t, file(dir), func(h map[string]any) {
				e := h["model.layers.1.mlp.up_proj.weight"].(map[string]any)
				e["shape"] = []int{48, 80}
			})
		}, []string{"model.safetensors", "model.layers.1.mlp.up_proj.weight", "shape [48 80]", "[80 48]"}},
		{"overlap", func(t *testing.T, dir string) {
			rewrite(t, file(dir), func(h map[string]any) {
				a := h["model.norm.weight"].(map[string]any)
				b := h["model.layers.0.input_layernorm.weight"].(map[string]any)
				b["data_offsets"] = a["data_offsets"]
			})
		}, []string{"model.safetensors", "overlap"}},
		{"size mismatch", func(t *testing.T, dir string) {
			rewrite(t, file(dir), func(h map[string]any) {
				a := h["model.norm.weight"].(map[string]any)
				a["dtype"] = "F16"
			})
		}, []string{"model.safetensors", "model.norm.weight", "needs"}},
		{"integer dtype", func(t *testing.T, dir string) {
			rewrite(t, file(dir), func(h map[string]any) {
				a := h["model.norm.weight"].(map[string]any)
				a["dtype"] = "I32"
			})
		}, []string{"model.safetensors", "model.norm.weight", "I32"}},
		{"bad config", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"model_type":"qwen2","hidden_size":-4}`), 0o644)
		}, []string{"config.json", "hidden_size"}},
		{"no weights", func(t *testing.T, dir string) {
			os.Remove(file(dir))
		}, []string{"model.safetensors", "no such file"}},
		{"index names a missing shard", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(`{"weight_map":{"model.norm.weight":"model-00009-of-00009.safetensors"}}`), 0o644)
		}, []string{"model-00009-of-00009.safetensors"}},
		{"index escapes the folder", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), []byte(`{"weight_map":{"model.norm.weight":"../x.safetensors"}}`), 0o644)
		}, []string{"model.norm.weight", "shard name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := writeFamily(t, fc)
			tc.edit(t, dir)
			m, err := Load(dir)
			if err == nil {
				m.Close()
				t.Fatalf("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// rewrite edits a safetensors header in place, keeping the data.
func rewrite(t *testing.T, path string, f func(map[string]any)) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var h map[string]any
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	f(h)
	nh, _ := json.Marshal(h)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(nh)))
	out = append(append(out, nh...), b[8+n:]...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrors(t *testing.T) {
	cases := []struct{ config, want string }{
		{`{`, "bad config"},
		{`{"model_type":"gpt2"}`, `model_type "gpt2"`},
		{`{"model_type":"Dream","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"vocab_size":97,"max_position_embeddings":8}`, "token id 151666 outside the vocabulary"},
		{`{"model_type":"qwen2","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"num_key_value_heads":4,"vocab_size":97,"max_position_embeddings":8}`, "not a multiple"},
		{`{"model_type":"qwen2","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"vocab_size":97,"max_position_embeddings":8,"unmask_attention":"sideways"}`, `unmask_attention "sideways"`},
		{`{"model_type":"llama","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"vocab_size":97,"max_position_embeddings":8,"rope_scaling":{"type":"yarn","factor":4}}`, `"yarn" is not supported`},
		{`{"model_type":"qwen2","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"vocab_size":97,"max_position_embeddings":8,"eos_token_id":"x"}`, "eos_token_id"},
		{`{"model_type":"llada","architectures":["LLaDAModelLM"],"d_model":48,"n_heads":6,"n_layers":1,"mlp_hidden_size":8,"vocab_size":97,"max_sequence_length":8,"block_type":"sequential"}`, "block_type"},
		{`{"model_type":"qwen2","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"vocab_size":97,"max_position_embeddings":8,"unmask_languages":["go",""]}`, "unmask_languages"},
		{`{"model_type":"qwen2","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"vocab_size":97,"max_position_embeddings":8,"unmask_languages":["go,python"]}`, "unmask_languages"},
		{`{"model_type":"qwen2","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"vocab_size":97,"max_position_embeddings":8,"unmask_languages":"go"}`, "bad config"},
	}
	for _, tc := range cases {
		_, err := ParseConfig([]byte(tc.config))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrConfig) {
			t.Errorf("ParseConfig(%q) = %v, want an ErrConfig mentioning %q", tc.config, err, tc.want)
		}
	}
}

// TestConfigLanguages: unmask_languages is read as given; a checkpoint
// without it (every public one) names none.
func TestConfigLanguages(t *testing.T) {
	base := `{"model_type":"qwen2","hidden_size":48,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":6,"vocab_size":97,"max_position_embeddings":8%s}`
	for _, tc := range []struct {
		extra string
		want  []string
	}{
		{``, nil},
		{`,"unmask_languages":["go","python"]`, []string{"go", "python"}},
		{`,"unmask_languages":[]`, []string{}},
	} {
		c, err := ParseConfig([]byte(fmt.Sprintf(base, tc.extra)))
		if err != nil {
			t.Fatalf("%s: %v", tc.extra, err)
		}
		if !slices.Equal(c.Languages, tc.want) {
			t.Errorf("%s: Languages %q, want %q", tc.extra, c.Languages, tc.want)
		}
	}
}

func TestHalfConversions(t *testing.T) {
	cases := []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x0001, 5.9604645e-8}, {0x7bff, 65504}, {0x0000, 0},
	}
	for _, tc := range cases {
		if got := f16ToF32(tc.h); got != tc.want {
			t.Errorf("f16ToF32(%#04x) = %g, want %g", tc.h, got, tc.want)
		}
	}
	if got := f16ToF32(0x7c00); !math.IsInf(float64(got), 1) {
		t.Errorf("f16ToF32(0x7c00) = %g, want +Inf", got)
	}
	for _, f := range []float32{1, -2.5, 3.140625, 1e-3} {
		if got := math.Float32frombits(uint32(f32ToBF16(f)) << 16); math.Abs(float64(got-f)) > math.Abs(float64(f))/128 {
			t.Errorf("bf16 round trip of %g = %g", f, got)
		}
	}
}

func FuzzParseSafetensors(f *testing.F) {
	f.Add(encodeSafetensors(map[string]testTensor{"a": {[]int{2, 2}, []float32{1, 2, 3, 4}}, "b": {[]int{3}, []float32{5, 6, 7}}}, dtF32))
	f.Add(encodeSafetensors(map[string]testTensor{"a": {[]int{2}, []float32{1, 2}}}, dtBF16))
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":{}}        "))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseSafetensors("fuzz.safetensors", b)
		if err != nil {
			return
		}
		for _, ti := range st.tensors {
			// A validated tensor converts without going out of bounds.
			if v, err := ti.floats("fuzz.safetensors"); err == nil {
				elems := 1
				for _, d := range ti.Shape {
					elems *= d
				}
				if len(v) != elems {
					t.Fatalf("tensor %q: %d floats for shape %v", ti.Name, len(v), ti.Shape)
				}
			}
			if ti.DType == dtBF16 {
				elems := 1
				for _, d := range ti.Shape {
					elems *= d
				}
				if b := ti.bf16Bits(); len(b) != elems {
					t.Fatalf("tensor %q: %d bf16 values for shape %v", ti.Name, len(b), ti.Shape)
				}
			}
		}
	})
}

func TestOpen(t *testing.T) {
	if defaultFS == nil {
		if _, _, err := Open(""); !errors.Is(err, ErrNoDefault) {
			t.Errorf("Open(\"\") without an embedded model = %v, want ErrNoDefault", err)
		}
	}
	// A checkpoint folder without tokenizer.json is an error naming the file.
	_, _, err := Open(filepath.Join("testdata", "tiny-qwen2"))
	if err == nil || !strings.Contains(err.Error(), "tokenizer.json") {
		t.Errorf("Open(tiny-qwen2 without tokenizer.json) = %v, want an error naming tokenizer.json", err)
	}
}

// TestOpenDefault loads the embedded default model with its tokenizer and
// runs one step.
func TestOpenDefault(t *testing.T) {
	m, tok, err := Open("")
	if err != nil {
		t.Fatalf("Open(\"\"): %v", err)
	}
	defer m.Close()
	info := m.Info()
	if info.Family != FamilyUnmask || info.Attention != engine.ContextCausal || !info.Shift {
		t.Errorf("default model Info = %+v, want our context-causal shifted family", info)
	}
	if id, ok := tok.TokenID("<|mask|>"); !ok || id != info.MaskID {
		t.Errorf("tokenizer <|mask|> = %d (%v), config mask_token_id = %d", id, ok, info.MaskID)
	}
	s, err := m.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctxToks := append([]int32{info.FIMSuffixID}, tok.Encode("}\n")...)
	ctxToks = append(ctxToks, info.FIMPrefixID)
	ctxToks = append(ctxToks, tok.Encode("func add(a, b int) int {\n\treturn")...)
	anchor := info.FIMMiddleID
	if _, err := s.Prefill(context.Background(), ctxToks); err != nil {
		t.Fatal(err)
	}
	block := []int32{anchor}
	for range info.BlockSize {
		block = append(block, info.MaskID)
	}
	out := engine.NewPredictions(len(block), 0)
	if err := s.Denoise(context.Background(), block, 0, out); err != nil {
		t.Fatal(err)
	}
	for i, p := range out {
		if p.Candidates[0].ID < 0 || p.Candidates[0].LogProb > 0 || p.Entropy < 0 || math.IsNaN(float64(p.Entropy)) {
			t.Fatalf("position %d: %+v", i, p)
		}
	}
}

// FuzzParseConfig: any config.json gives a Config or an error, never a
// panic, and an accepted Config passes validate.
func FuzzParseConfig(f *testing.F) {
	for _, fc := range familyCases {
		f.Add([]byte(fmt.Sprintf(fc.config, 48, 97)))
	}
	f.Add([]byte(`{"model_type":"llama","rope_scaling":{"rope_type":"llama3","factor":0}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config validate rejects: %v", err)
		}
		if c.Heads%c.KVHeads != 0 || c.HeadDim <= 0 {
			t.Fatalf("accepted heads %d / kv %d / head_dim %d", c.Heads, c.KVHeads, c.HeadDim)
		}
	})
}
