package lsptest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// WriteTinyCheckpoint writes a tiny checkpoint folder in our format
// (config.json, model.safetensors with random F32 weights, tokenizer.json
// of the 256 byte-level characters plus our special tokens) for tests that
// need the real server to load a model. Its completions are nonsense; the
// server must behave with them all the same.
func WriteTinyCheckpoint(dir string, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// tokenizer.json: GPT-2's byte-level alphabet, no merges.
	var bs []int
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := '¡'; b <= '¬'; b++ {
		bs = append(bs, int(b))
	}
	for b := '®'; b <= 'ÿ'; b++ {
		bs = append(bs, int(b))
	}
	in := map[int]bool{}
	for _, b := range bs {
		in[b] = true
	}
	chars := map[int]rune{}
	for _, b := range bs {
		chars[b] = rune(b)
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !in[b] {
			chars[b] = rune(256 + n)
			n++
		}
	}
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(chars[b])] = b
	}
	specials := []string{"<|endoftext|>", "<|mask|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|pad|>"}
	var added []map[string]any
	for i, s := range specials {
		vocab[s] = 256 + i
		added = append(added, map[string]any{"id": 256 + i, "content": s, "single_word": false,
			"lstrip": false, "rstrip": false, "normalized": false, "special": true})
	}
	byteLevel := map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true}
	tok := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added, "normalizer": nil,
		"pre_tokenizer": byteLevel, "post_processor": nil, "decoder": byteLevel,
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil,
			"continuing_subword_prefix": nil, "end_of_word_suffix": nil, "fuse_unk": false,
			"byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": []string{}},
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer.json"), tok); err != nil {
		return err
	}

	const (
		hidden, inter, layers, heads, kvHeads = 32, 64, 2, 4, 2
		hd                                    = hidden / heads
		vocabN                                = 262
	)
	cfg := map[string]any{
		"architectures": []string{"Qwen2ForCausalLM"}, "model_type": "qwen2",
		"hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
		"num_attention_heads": heads, "num_key_value_heads": kvHeads, "rms_norm_eps": 1e-6,
		"rope_theta": 10000.0, "max_position_embeddings": 8192, "vocab_size": vocabN,
		"tie_word_embeddings": false, "torch_dtype": "float32", "hidden_act": "silu",
		"unmask_attention": "context-causal", "unmask_logit_shift": true, "unmask_block_size": 8,
		"eos_token_id": 256, "mask_token_id": 257, "fim_prefix_token_id": 258,
		"fim_middle_token_id": 259, "fim_suffix_token_id": 260, "pad_token_id": 261, "bos_token_id": nil,
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), cfg); err != nil {
		return err
	}

	tensors := map[string][]int{
		"model.embed_tokens.weight": {vocabN, hidden},
		"model.norm.weight":         {hidden},
		"lm_head.weight":            {vocabN, hidden},
	}
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		tensors[p+"input_layernorm.weight"] = []int{hidden}
		tensors[p+"post_attention_layernorm.weight"] = []int{hidden}
		tensors[p+"self_attn.q_proj.weight"] = []int{heads * hd, hidden}
		tensors[p+"self_attn.q_proj.bias"] = []int{heads * hd}
		tensors[p+"self_attn.k_proj.weight"] = []int{kvHeads * hd, hidden}
		tensors[p+"self_attn.k_proj.bias"] = []int{kvHeads * hd}
		tensors[p+"self_attn.v_proj.weight"] = []int{kvHeads * hd, hidden}
		tensors[p+"self_attn.v_proj.bias"] = []int{kvHeads * hd}
		tensors[p+"self_attn.o_proj.weight"] = []int{hidden, heads * hd}
		tensors[p+"mlp.gate_proj.weight"] = []int{inter, hidden}
		tensors[p+"mlp.up_proj.weight"] = []int{inter, hidden}
		tensors[p+"mlp.down_proj.weight"] = []int{hidden, inter}
	}
	names := make([]string, 0, len(tensors))
	for name := range tensors {
		names = append(names, name)
	}
	sort.Strings(names)
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	s := seed*0x9E3779B97F4A7C15 + 1
	for _, name := range names {
		shape := tensors[name]
		count := 1
		for _, d := range shape {
			count *= d
		}
		start := len(data)
		for i := 0; i < count; i++ {
			v := float32(1)
			if len(shape) == 2 || len(name) > 5 && name[len(name)-5:] == ".bias" {
				s = s*6364136223846793005 + 1442695040888963407
				v = (float32(s>>40)/float32(1<<24) - 0.5) * 0.2
			}
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
		}
		header[name] = map[string]any{"dtype": "F32", "shape": shape, "data_offsets": []int{start, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	return os.WriteFile(filepath.Join(dir, "model.safetensors"), out, 0o644)
}

func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
