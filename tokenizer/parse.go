package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrUnsupported reports a tokenizer.json feature this package does not
// implement (a model other than byte-level BPE, an unknown split pattern…).
var ErrUnsupported = errors.New("tokenizer: unsupported")

// The parts of tokenizer.json this package reads.
type fileJSON struct {
	AddedTokens   []addedJSON     `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	Model         json.RawMessage `json:"model"`
	Decoder       json.RawMessage `json:"decoder"`
	PostProcessor json.RawMessage `json:"post_processor"`
}

type addedJSON struct {
	ID         *int64  `json:"id"`
	Content    *string `json:"content"`
	SingleWord bool    `json:"single_word"`
	LStrip     bool    `json:"lstrip"`
	RStrip     bool    `json:"rstrip"`
	Normalized *bool   `json:"normalized"`
	Special    bool    `json:"special"`
}

type modelJSON struct {
	Type                    string           `json:"type"`
	Dropout                 *float64         `json:"dropout"`
	UnkToken                *string          `json:"unk_token"`
	ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string          `json:"end_of_word_suffix"`
	FuseUnk                 bool             `json:"fuse_unk"`
	ByteFallback            bool             `json:"byte_fallback"`
	IgnoreMerges            bool             `json:"ignore_merges"`
	Vocab                   map[string]int64 `json:"vocab"`
	Merges                  json.RawMessage  `json:"merges"`
}

type componentJSON struct {
	Type string `json:"type"`
	// Sequence members.
	Normalizers   []json.RawMessage `json:"normalizers"`
	PreTokenizers []json.RawMessage `json:"pretokenizers"`
	Decoders      []json.RawMessage `json:"decoders"`
	// Split.
	Pattern  *patternJSON `json:"pattern"`
	Behavior string       `json:"behavior"`
	Invert   bool         `json:"invert"`
	// ByteLevel.
	AddPrefixSpace *bool `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
}

type patternJSON struct {
	Regex  *string `json:"Regex"`
	String *string `json:"String"`
}

// Load reads a Hugging Face tokenizer.json file.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return t, nil
}

// Parse builds a Tokenizer from the bytes of a tokenizer.json file. Only
// byte-level BPE models are supported; anything else is an error wrapping
// ErrUnsupported.
func Parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: tokenizer.json is not valid JSON: %w", err)
	}
	t := &Tokenizer{}
	if isNull(f.Model) {
		return nil, errors.New("tokenizer: tokenizer.json has no model")
	}
	if err := t.parseModel(f.Model); err != nil {
		return nil, err
	}
	nfc, err := parseNormalizer(f.Normalizer, "normalizer")
	if err != nil {
		return nil, err
	}
	t.nfc = nfc
	if t.stages, err = parsePreTokenizer(f.PreTokenizer, "pre_tokenizer"); err != nil {
		return nil, err
	}
	if err := t.parseDecoder(f.Decoder, "decoder"); err != nil {
		return nil, err
	}
	if err := t.addTokens(f.AddedTokens); err != nil {
		return nil, err
	}
	t.finish()
	return t, nil
}

func isNull(m json.RawMessage) bool {
	m = bytes.TrimSpace(m)
	return len(m) == 0 || string(m) == "null"
}

func unsupported(where, what string) error {
	return fmt.Errorf("%w %s: %s", ErrUnsupported, where, what)
}

func parseComponent(m json.RawMessage, where string) (componentJSON, error) {
	var c componentJSON
	if err := json.Unmarshal(m, &c); err != nil {
		return c, fmt.Errorf("tokenizer: %s: %w", where, err)
	}
	if c.Type == "" {
		return c, fmt.Errorf("tokenizer: %s has no type", where)
	}
	return c, nil
}

// parseNormalizer reports whether the normalizer is NFC (alone or in a
// Sequence); no normalizer at all is fine, anything else is unsupported.
func parseNormalizer(m json.RawMessage, where string) (bool, error) {
	if isNull(m) {
		return false, nil
	}
	c, err := parseComponent(m, where)
	if err != nil {
		return false, err
	}
	switch c.Type {
	case "NFC":
		return true, nil
	case "Sequence":
		nfc := false
		for i, sub := range c.Normalizers {
			n, err := parseNormalizer(sub, fmt.Sprintf("%s.normalizers[%d]", where, i))
			if err != nil {
				return false, err
			}
			nfc = nfc || n // NFC twice is NFC once
		}
		return nfc, nil
	}
	return false, unsupported(where, fmt.Sprintf("normalizer type %q (supported: NFC, Sequence)", c.Type))
}

// A stage is one splitting step of pre-tokenization, applied to every piece
// the previous stages produced.
type stage struct {
	scan    *scanner // split on a known regex, matches isolated
	literal string   // or split on this literal string, isolated
	// prefixSpace prepends a space to pieces that don't start with one
	// (ByteLevel's add_prefix_space), before scan runs.
	prefixSpace bool
}

func parsePreTokenizer(m json.RawMessage, where string) ([]stage, error) {
	if isNull(m) {
		return nil, nil
	}
	c, err := parseComponent(m, where)
	if err != nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		var out []stage
		for i, sub := range c.PreTokenizers {
			s, err := parsePreTokenizer(sub, fmt.Sprintf("%s.pretokenizers[%d]", where, i))
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	case "ByteLevel":
		prefix := c.AddPrefixSpace != nil && *c.AddPrefixSpace
		regex := c.UseRegex == nil || *c.UseRegex // the reference defaults to true
		if !prefix && !regex {
			return nil, nil // only maps bytes to the alphabet, which BPE does
		}
		st := stage{prefixSpace: prefix}
		if regex {
			st.scan = knownPatterns[patternGPT2]
		}
		return []stage{st}, nil
	case "Split":
		if c.Pattern == nil {
			return nil, fmt.Errorf("tokenizer: %s: Split has no pattern", where)
		}
		if c.Behavior != "Isolated" {
			return nil, unsupported(where, fmt.Sprintf("Split behavior %q (supported: Isolated)", c.Behavior))
		}
		if c.Invert {
			return nil, unsupported(where, "Split with invert")
		}
		switch p := c.Pattern; {
		case p.Regex != nil:
			sc, ok := knownPatterns[*p.Regex]
			if !ok {
				return nil, fmt.Errorf("tokenizer: unsupported pre-tokenizer regex %q in %s: %w", *p.Regex, where, ErrUnsupported)
			}
			return []stage{{scan: sc}}, nil
		case p.String != nil:
			if *p.String == "" {
				return nil, fmt.Errorf("tokenizer: %s: Split on an empty string", where)
			}
			return []stage{{literal: *p.String}}, nil
		}
		return nil, fmt.Errorf("tokenizer: %s: Split pattern has neither Regex nor String", where)
	}
	return nil, unsupported(where, fmt.Sprintf("pre-tokenizer type %q (supported: ByteLevel, Split, Sequence)", c.Type))
}

func (t *Tokenizer) parseDecoder(m json.RawMessage, where string) error {
	if isNull(m) {
		t.joinSpaces = true // the reference joins tokens with spaces
		return nil
	}
	c, err := parseComponent(m, where)
	if err != nil {
		return err
	}
	if c.Type != "ByteLevel" {
		return unsupported(where, fmt.Sprintf("decoder type %q (supported: ByteLevel)", c.Type))
	}
	return nil
}

func (t *Tokenizer) parseModel(m json.RawMessage) error {
	var kind struct {
		Type   string          `json:"type"`
		Merges json.RawMessage `json:"merges"`
	}
	if err := json.Unmarshal(m, &kind); err != nil {
		return fmt.Errorf("tokenizer: model: %w", err)
	}
	if kind.Type != "BPE" && !(kind.Type == "" && kind.Merges != nil) {
		return unsupported("model", fmt.Sprintf("model type %q (only byte-level BPE)", kind.Type))
	}
	var mj modelJSON
	if err := json.Unmarshal(m, &mj); err != nil {
		return fmt.Errorf("tokenizer: model: %w", err)
	}
	if mj.Dropout != nil && *mj.Dropout > 0 {
		return unsupported("model", "BPE dropout")
	}
	if mj.ByteFallback {
		return unsupported("model", "byte_fallback")
	}
	if p := mj.ContinuingSubwordPrefix; p != nil && *p != "" {
		return unsupported("model", fmt.Sprintf("continuing_subword_prefix %q", *p))
	}
	if p := mj.EndOfWordSuffix; p != nil && *p != "" {
		return unsupported("model", fmt.Sprintf("end_of_word_suffix %q", *p))
	}
	if mj.Vocab == nil {
		return errors.New("tokenizer: model has no vocab")
	}
	merges, err := parseMerges(mj.Merges)
	if err != nil {
		return err
	}
	b, err := newBPE(mj.Vocab, merges, mj.IgnoreMerges)
	if err != nil {
		return err
	}
	if mj.UnkToken != nil {
		id, ok := b.vocab[*mj.UnkToken]
		if !ok {
			return fmt.Errorf("tokenizer: model.unk_token %q is not in the vocab", *mj.UnkToken)
		}
		b.unk, b.fuseUnk = id, mj.FuseUnk
	}
	t.bpe = b
	return nil
}

// parseMerges accepts both spellings of merges: "a b" strings (older files)
// and [a, b] pairs (tokenizers ≥ 0.20, which allow spaces in tokens).
func parseMerges(m json.RawMessage) ([][2]string, error) {
	if isNull(m) {
		return nil, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(m, &raw); err != nil {
		return nil, fmt.Errorf("tokenizer: model.merges is not a list: %w", err)
	}
	out := make([][2]string, len(raw))
	for i, r := range raw {
		r = bytes.TrimSpace(r)
		if len(r) > 0 && r[0] == '"' {
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, fmt.Errorf("tokenizer: model.merges[%d]: %w", i, err)
			}
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("tokenizer: model.merges[%d] = %q: want two tokens separated by one space", i, s)
			}
			out[i] = [2]string{a, b}
			continue
		}
		var pair []string
		if err := json.Unmarshal(r, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("tokenizer: model.merges[%d] = %.40s: want \"a b\" or [\"a\", \"b\"]", i, r)
		}
		out[i] = [2]string{pair[0], pair[1]}
	}
	return out, nil
}
