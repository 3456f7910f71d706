package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/unmask/unmask/engine"
)

// Families the loader recognises. Which are verified how is stated in the
// README ("### Checkpoints") and in the tests:
//   - FamilyUnmask: ours, a Hugging Face Qwen2 folder plus unmask_* fields;
//     verified against transformers' Qwen2 (testdata/gen_fixtures.py).
//   - FamilyQwen2, FamilyOpenDCoder: Qwen2 tensor names; verified against
//     transformers' Qwen2 with the matching attention mask.
//   - FamilyDream: Dream / DiffuCoder / Dream-Coder (`model_type: Dream`,
//     modeling_dream.py: Qwen2 names, q/k/v bias, untied head by default);
//     verified by synthetic checkpoints in that layout.
//   - FamilyLLaDA: `LLaDAModelLM` (modeling_llada.py: model.transformer.wte,
//     blocks.N.{attn_norm,q_proj,k_proj,v_proj,attn_out,ff_norm,ff_proj,
//     up_proj,ff_out}, ln_f, ff_out); verified against a small PyTorch module
//     of ours written from modeling_llada.py, and by synthetic checkpoints.
//   - FamilyLlama: LLaMA names, same as Qwen2 without q/k/v bias unless
//     attention_bias is set.
const (
	FamilyUnmask     = "unmask"
	FamilyQwen2      = "qwen2"
	FamilyLlama      = "llama"
	FamilyDream      = "dream"
	FamilyOpenDCoder = "open-dcoder"
	FamilyLLaDA      = "llada"
)

// Default mask ids of the public checkpoints, used when config.json has no
// mask_token_id (Dream's DreamConfig defaults mask_token_id=151666; LLaDA's
// generate.py uses mask_id=126336).
const (
	dreamMaskID = 151666
	lladaMaskID = 126336
)

// RopeScaling is config.json's rope_scaling object.
type RopeScaling struct {
	Type           string  // "linear" or "llama3" ("default" = none)
	Factor         float64 // linear and llama3
	LowFreqFactor  float64 // llama3
	HighFreqFactor float64 // llama3
	OriginalMaxPos int     // llama3: original_max_position_embeddings
}

// A Config describes a checkpoint's shape and conventions, read from
// config.json (or set by hand for NewRandom).
type Config struct {
	Name   string // for logs and cache keys
	Family string // one of the Family constants

	Hidden       int // hidden_size / d_model
	Intermediate int // intermediate_size / mlp_hidden_size
	Layers       int // num_hidden_layers / n_layers
	Heads        int // num_attention_heads / n_heads
	KVHeads      int // num_key_value_heads / n_kv_heads
	HeadDim      int // hidden/heads unless head_dim is given
	Vocab        int // rows of the embedding and of the LM head

	RMSEps      float64
	RopeTheta   float64
	RopeScaling *RopeScaling // nil = none
	MaxPosition int

	Tied    bool // LM head shares the embedding
	QKVBias bool // q/k/v projections carry a bias
	OutBias bool // attention output projection carries a bias (LLaMA attention_bias, LLaDA include_bias)
	MLPBias bool // MLP projections and (LLaDA) the LM head carry a bias

	EmbedScale float32 // LLaDA input_emb_norm: multiply embeddings by sqrt(d_model); 0 = 1
	LogitScale float32 // LLaDA scale_logits: multiply logits by 1/sqrt(d_model); 0 = 1

	Attention engine.Attention
	Shift     bool
	BlockSize int

	// Languages are the LSP languageIds the checkpoint was trained on
	// (config.json's unmask_languages, ours: ["go", "python"] for the
	// embedded model); nil when the checkpoint does not say, as public
	// ones don't. The language server completes only these unless the
	// user lists languages (completion.Engine.Languages).
	Languages []string

	MaskID, EOSID, PadID, BOSID           int32
	FIMPrefixID, FIMMiddleID, FIMSuffixID int32
}

// ErrConfig reports a config.json the loader cannot use.
var ErrConfig = errors.New("model: bad config")

// rawConfig holds every config.json key we read; pointers tell absent from zero.
type rawConfig struct {
	ModelType     string   `json:"model_type"`
	Architectures []string `json:"architectures"`
	NameOrPath    string   `json:"_name_or_path"`

	// Qwen2 / LLaMA / Dream
	HiddenSize        *int            `json:"hidden_size"`
	IntermediateSize  *int            `json:"intermediate_size"`
	NumHiddenLayers   *int            `json:"num_hidden_layers"`
	NumAttentionHeads *int            `json:"num_attention_heads"`
	NumKeyValueHeads  *int            `json:"num_key_value_heads"`
	HeadDim           *int            `json:"head_dim"`
	RMSNormEps        *float64        `json:"rms_norm_eps"`
	RopeTheta         *float64        `json:"rope_theta"`
	RopeScaling       json.RawMessage `json:"rope_scaling"`
	MaxPositionEmb    *int            `json:"max_position_embeddings"`
	VocabSize         *int            `json:"vocab_size"`
	TieWordEmbeddings *bool           `json:"tie_word_embeddings"`
	AttentionBias     *bool           `json:"attention_bias"`
	MLPBias           *bool           `json:"mlp_bias"`
	HiddenAct         string          `json:"hidden_act"`

	// LLaDA (configuration_llada.py)
	DModel         *int   `json:"d_model"`
	NHeads         *int   `json:"n_heads"`
	NKVHeads       *int   `json:"n_kv_heads"`
	NLayers        *int   `json:"n_layers"`
	MLPHiddenSize  *int   `json:"mlp_hidden_size"`
	MLPRatio       *int   `json:"mlp_ratio"`
	EmbeddingSize  *int   `json:"embedding_size"`
	MaxSeqLen      *int   `json:"max_sequence_length"`
	WeightTying    *bool  `json:"weight_tying"`
	IncludeBias    *bool  `json:"include_bias"`
	IncludeQKVBias *bool  `json:"include_qkv_bias"`
	InputEmbNorm   *bool  `json:"input_emb_norm"`
	ScaleLogits    *bool  `json:"scale_logits"`
	Rope           *bool  `json:"rope"`
	Alibi          *bool  `json:"alibi"`
	BlockType      string `json:"block_type"`
	ActivationType string `json:"activation_type"`
	LayerNormType  string `json:"layer_norm_type"`
	AttnLayerNorm  *bool  `json:"attention_layer_norm"`

	// ours, and token ids (null allowed; eos may be a list in LLaMA 3)
	UnmaskAttention  *string         `json:"unmask_attention"`
	UnmaskLogitShift *bool           `json:"unmask_logit_shift"`
	UnmaskBlockSize  *int            `json:"unmask_block_size"`
	UnmaskLanguages  []string        `json:"unmask_languages"`
	MaskTokenID      json.RawMessage `json:"mask_token_id"`
	EOSTokenID       json.RawMessage `json:"eos_token_id"`
	PadTokenID       json.RawMessage `json:"pad_token_id"`
	BOSTokenID       json.RawMessage `json:"bos_token_id"`
	FIMPrefixTokenID json.RawMessage `json:"fim_prefix_token_id"`
	FIMMiddleTokenID json.RawMessage `json:"fim_middle_token_id"`
	FIMSuffixTokenID json.RawMessage `json:"fim_suffix_token_id"`
}

// tokenID reads an id that may be absent, null, a number or a list of
// numbers (the first is taken).
func tokenID(raw json.RawMessage, key string) (int32, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return engine.NoToken, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err == nil {
		if n < 0 || n > math.MaxInt32 {
			return 0, fmt.Errorf("%w: %s = %d out of range", ErrConfig, key, n)
		}
		return int32(n), nil
	}
	var list []int64
	if err := json.Unmarshal(raw, &list); err == nil {
		if len(list) == 0 {
			return engine.NoToken, nil
		}
		if list[0] < 0 || list[0] > math.MaxInt32 {
			return 0, fmt.Errorf("%w: %s = %d out of range", ErrConfig, key, list[0])
		}
		return int32(list[0]), nil
	}
	return 0, fmt.Errorf("%w: %s is %s, want an integer, a list or null", ErrConfig, key, s)
}

func firstInt(ps ...*int) int {
	for _, p := range ps {
		if p != nil {
			return *p
		}
	}
	return 0
}

// ParseConfig reads config.json bytes into a Config, recognising the family
// from model_type / architectures and applying its conventions.
func ParseConfig(data []byte) (Config, error) {
	var r rawConfig
	if err := json.Unmarshal(data, &r); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	var c Config
	c.Name = r.NameOrPath
	mt := strings.ToLower(r.ModelType)
	isLLaDA := mt == "llada"
	for _, a := range r.Architectures {
		if strings.HasPrefix(a, "LLaDA") {
			isLLaDA = true
		}
	}
	switch {
	case isLLaDA:
		c.Family = FamilyLLaDA
	case mt == "dream":
		c.Family = FamilyDream
	case r.UnmaskAttention != nil:
		c.Family = FamilyUnmask
	case mt == "qwen2" && len(r.MaskTokenID) > 0 && string(r.MaskTokenID) != "null":
		// Open-dCoder ships a plain Qwen2 config and runs it bidirectionally
		// with a mask token; a Qwen2 config naming a mask id is read that way.
		c.Family = FamilyOpenDCoder
	case mt == "qwen2":
		c.Family = FamilyQwen2
	case mt == "llama" || mt == "mistral":
		c.Family = FamilyLlama
	default:
		return Config{}, fmt.Errorf("%w: model_type %q (architectures %v) is not a supported family", ErrConfig, r.ModelType, r.Architectures)
	}

	if c.Family == FamilyLLaDA {
		// configuration_llada.py: d_model, n_heads, n_kv_heads, n_layers,
		// mlp_hidden_size (or mlp_ratio*d_model), embedding_size >= vocab_size.
		if r.BlockType != "" && r.BlockType != "llama" {
			return Config{}, fmt.Errorf("%w: LLaDA block_type %q (only \"llama\" is supported)", ErrConfig, r.BlockType)
		}
		if r.ActivationType != "" && r.ActivationType != "silu" && r.ActivationType != "swiglu" {
			return Config{}, fmt.Errorf("%w: LLaDA activation_type %q", ErrConfig, r.ActivationType)
		}
		if r.LayerNormType != "" && r.LayerNormType != "rms" {
			return Config{}, fmt.Errorf("%w: LLaDA layer_norm_type %q (only \"rms\")", ErrConfig, r.LayerNormType)
		}
		if (r.Rope != nil && !*r.Rope) || (r.Alibi != nil && *r.Alibi) {
			return Config{}, fmt.Errorf("%w: LLaDA without rope is not supported", ErrConfig)
		}
		if r.AttnLayerNorm != nil && *r.AttnLayerNorm {
			return Config{}, fmt.Errorf("%w: LLaDA attention_layer_norm is not supported", ErrConfig)
		}
		c.Hidden = firstInt(r.DModel, r.HiddenSize)
		c.Heads = firstInt(r.NHeads, r.NumAttentionHeads)
		c.KVHeads = firstInt(r.NKVHeads, r.NumKeyValueHeads)
		c.Layers = firstInt(r.NLayers, r.NumHiddenLayers)
		c.Intermediate = firstInt(r.MLPHiddenSize, r.IntermediateSize)
		if c.Intermediate == 0 && r.MLPRatio != nil {
			c.Intermediate = *r.MLPRatio * c.Hidden
		}
		c.Vocab = firstInt(r.EmbeddingSize, r.VocabSize)
		c.MaxPosition = firstInt(r.MaxSeqLen, r.MaxPositionEmb)
		c.Tied = r.WeightTying != nil && *r.WeightTying
		bias := r.IncludeBias != nil && *r.IncludeBias
		c.QKVBias = bias || (r.IncludeQKVBias != nil && *r.IncludeQKVBias)
		c.OutBias, c.MLPBias = bias, bias
		if r.InputEmbNorm != nil && *r.InputEmbNorm && c.Hidden > 0 {
			c.EmbedScale = float32(math.Sqrt(float64(c.Hidden)))
		}
		if r.ScaleLogits != nil && *r.ScaleLogits && c.Hidden > 0 {
			c.LogitScale = float32(1 / math.Sqrt(float64(c.Hidden)))
		}
		c.Attention, c.Shift = engine.Bidirectional, false
	} else {
		if r.HiddenAct != "" && r.HiddenAct != "silu" {
			return Config{}, fmt.Errorf("%w: hidden_act %q (only silu)", ErrConfig, r.HiddenAct)
		}
		c.Hidden = firstInt(r.HiddenSize)
		c.Heads = firstInt(r.NumAttentionHeads)
		c.KVHeads = firstInt(r.NumKeyValueHeads)
		c.Layers = firstInt(r.NumHiddenLayers)
		c.Intermediate = firstInt(r.IntermediateSize)
		c.Vocab = firstInt(r.VocabSize)
		c.MaxPosition = firstInt(r.MaxPositionEmb)
		// transformers' PretrainedConfig defaults tie_word_embeddings to true;
		// Qwen2Config and DreamConfig default it to false.
		c.Tied = c.Family == FamilyLlama
		if r.TieWordEmbeddings != nil {
			c.Tied = *r.TieWordEmbeddings
		}
		switch c.Family {
		case FamilyLlama:
			ab := r.AttentionBias != nil && *r.AttentionBias
			c.QKVBias, c.OutBias = ab, ab
			c.MLPBias = r.MLPBias != nil && *r.MLPBias
		default: // Qwen2 and Dream always carry q/k/v bias, nothing else
			c.QKVBias = true
		}
		c.HeadDim = firstInt(r.HeadDim)
		switch c.Family {
		case FamilyDream, FamilyOpenDCoder:
			c.Attention, c.Shift = engine.Bidirectional, true
		default:
			c.Attention, c.Shift = engine.Causal, true
		}
	}
	if c.KVHeads == 0 {
		c.KVHeads = c.Heads
	}
	if c.HeadDim == 0 && c.Heads > 0 {
		c.HeadDim = c.Hidden / c.Heads
	}
	c.RMSEps = 1e-6
	if c.Family == FamilyLLaDA || c.Family == FamilyLlama {
		c.RMSEps = 1e-5
	}
	if r.RMSNormEps != nil {
		c.RMSEps = *r.RMSNormEps
	}
	c.RopeTheta = 10000
	if r.RopeTheta != nil {
		c.RopeTheta = *r.RopeTheta
	}
	if s := strings.TrimSpace(string(r.RopeScaling)); s != "" && s != "null" {
		var rs struct {
			Type           string   `json:"type"`
			RopeType       string   `json:"rope_type"`
			Factor         *float64 `json:"factor"`
			LowFreqFactor  *float64 `json:"low_freq_factor"`
			HighFreqFactor *float64 `json:"high_freq_factor"`
			OriginalMaxPos *int     `json:"original_max_position_embeddings"`
		}
		if err := json.Unmarshal(r.RopeScaling, &rs); err != nil {
			return Config{}, fmt.Errorf("%w: rope_scaling: %v", ErrConfig, err)
		}
		t := rs.RopeType
		if t == "" {
			t = rs.Type
		}
		switch t {
		case "", "default":
		case "linear", "llama3":
			if rs.Factor == nil || *rs.Factor <= 0 {
				return Config{}, fmt.Errorf("%w: rope_scaling %q needs a positive factor", ErrConfig, t)
			}
			sc := &RopeScaling{Type: t, Factor: *rs.Factor}
			if t == "llama3" {
				if rs.LowFreqFactor == nil || rs.HighFreqFactor == nil || rs.OriginalMaxPos == nil ||
					*rs.HighFreqFactor == *rs.LowFreqFactor || *rs.OriginalMaxPos <= 0 {
					return Config{}, fmt.Errorf("%w: rope_scaling llama3 needs low_freq_factor < high_freq_factor and original_max_position_embeddings", ErrConfig)
				}
				sc.LowFreqFactor, sc.HighFreqFactor, sc.OriginalMaxPos = *rs.LowFreqFactor, *rs.HighFreqFactor, *rs.OriginalMaxPos
			}
			c.RopeScaling = sc
		default:
			// dynamic NTK and YaRN change the frequencies with the sequence
			// length, which a KV cache of rotated keys cannot follow.
			return Config{}, fmt.Errorf("%w: rope_scaling type %q is not supported (linear, llama3)", ErrConfig, t)
		}
	}

	// Our own fields override the family's conventions where present.
	if r.UnmaskAttention != nil {
		switch a := engine.Attention(*r.UnmaskAttention); a {
		case engine.Causal, engine.Bidirectional, engine.ContextCausal:
			c.Attention = a
		default:
			return Config{}, fmt.Errorf("%w: unmask_attention %q (want causal, bidirectional or context-causal)", ErrConfig, *r.UnmaskAttention)
		}
	}
	if r.UnmaskLogitShift != nil {
		c.Shift = *r.UnmaskLogitShift
	}
	c.BlockSize = 32
	if r.UnmaskBlockSize != nil {
		c.BlockSize = *r.UnmaskBlockSize
	}
	for _, l := range r.UnmaskLanguages {
		if l == "" || strings.ContainsAny(l, " \t\r\n,") {
			return Config{}, fmt.Errorf("%w: unmask_languages holds %q, want languageIds such as \"go\"", ErrConfig, l)
		}
	}
	c.Languages = r.UnmaskLanguages

	var err error
	ids := []struct {
		dst *int32
		raw json.RawMessage
		key string
	}{
		{&c.MaskID, r.MaskTokenID, "mask_token_id"},
		{&c.EOSID, r.EOSTokenID, "eos_token_id"},
		{&c.PadID, r.PadTokenID, "pad_token_id"},
		{&c.BOSID, r.BOSTokenID, "bos_token_id"},
		{&c.FIMPrefixID, r.FIMPrefixTokenID, "fim_prefix_token_id"},
		{&c.FIMMiddleID, r.FIMMiddleTokenID, "fim_middle_token_id"},
		{&c.FIMSuffixID, r.FIMSuffixTokenID, "fim_suffix_token_id"},
	}
	for _, id := range ids {
		if *id.dst, err = tokenID(id.raw, id.key); err != nil {
			return Config{}, err
		}
	}
	if c.MaskID == engine.NoToken {
		switch c.Family {
		case FamilyDream:
			c.MaskID = dreamMaskID
		case FamilyLLaDA:
			c.MaskID = lladaMaskID
		}
	}
	if c.Name == "" {
		c.Name = c.Family
	}
	return c, c.validate()
}

// validate reports a Config whose sizes cannot describe a transformer.
func (c *Config) validate() error {
	pos := []struct {
		v   int
		key string
	}{
		{c.Hidden, "hidden_size"}, {c.Intermediate, "intermediate_size"},
		{c.Layers, "num_hidden_layers"}, {c.Heads, "num_attention_heads"},
		{c.KVHeads, "num_key_value_heads"}, {c.HeadDim, "head_dim"},
		{c.Vocab, "vocab_size"}, {c.MaxPosition, "max_position_embeddings"},
		{c.BlockSize, "unmask_block_size"},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("%w: %s = %d, want > 0", ErrConfig, p.key, p.v)
		}
		if p.v > 1<<24 {
			return fmt.Errorf("%w: %s = %d is implausibly large", ErrConfig, p.key, p.v)
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return fmt.Errorf("%w: %d attention heads are not a multiple of %d key/value heads", ErrConfig, c.Heads, c.KVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("%w: head_dim %d is odd (RoPE rotates pairs)", ErrConfig, c.HeadDim)
	}
	if !(c.RMSEps > 0) || !(c.RopeTheta > 0) {
		return fmt.Errorf("%w: rms_norm_eps %g and rope_theta %g must be positive", ErrConfig, c.RMSEps, c.RopeTheta)
	}
	switch c.Attention {
	case engine.Causal, engine.Bidirectional, engine.ContextCausal:
	default:
		return fmt.Errorf("%w: attention %q", ErrConfig, c.Attention)
	}
	for _, id := range []int32{c.MaskID, c.EOSID, c.PadID, c.BOSID, c.FIMPrefixID, c.FIMMiddleID, c.FIMSuffixID} {
		if id != engine.NoToken && int(id) >= c.Vocab {
			return fmt.Errorf("%w: token id %d outside the vocabulary of %d", ErrConfig, id, c.Vocab)
		}
	}
	return nil
}

// info is the engine.Info the Config describes.
func (c *Config) info() engine.Info {
	return engine.Info{
		Name: c.Name, Family: c.Family, VocabSize: c.Vocab, MaxContext: c.MaxPosition,
		Attention: c.Attention, Shift: c.Shift, BlockSize: c.BlockSize,
		MaskID: c.MaskID, EOSID: c.EOSID, PadID: c.PadID, BOSID: c.BOSID,
		FIMPrefixID: c.FIMPrefixID, FIMSuffixID: c.FIMSuffixID, FIMMiddleID: c.FIMMiddleID,
	}
}

// RopeInvFreqs returns RoPE's inverse frequencies with the config's
// scaling (transformers modeling_rope_utils.py: default, linear, llama3),
// HeadDim/2 of them; the CPU and GPU engines both build their rotation
// tables from these.
func (c *Config) RopeInvFreqs() []float32 {
	half := c.HeadDim / 2
	f := make([]float32, half)
	for i := range f {
		exp := float32(2*i) / float32(c.HeadDim)
		f[i] = float32(1 / math.Pow(c.RopeTheta, float64(exp)))
	}
	sc := c.RopeScaling
	if sc == nil {
		return f
	}
	switch sc.Type {
	case "linear":
		for i := range f {
			f[i] /= float32(sc.Factor)
		}
	case "llama3":
		lowWav := float64(sc.OriginalMaxPos) / sc.LowFreqFactor
		highWav := float64(sc.OriginalMaxPos) / sc.HighFreqFactor
		for i, v := range f {
			wav := 2 * math.Pi / float64(v)
			switch {
			case wav > lowWav:
				f[i] = v / float32(sc.Factor)
			case wav < highWav:
			default:
				smooth := (float64(sc.OriginalMaxPos)/wav - sc.LowFreqFactor) / (sc.HighFreqFactor - sc.LowFreqFactor)
				f[i] = float32((1-smooth)*float64(v)/sc.Factor + smooth*float64(v))
			}
		}
	}
	return f
}
