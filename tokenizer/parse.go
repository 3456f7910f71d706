package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"unicode/utf8"
)

// ErrUnsupported reports a tokenizer.json feature this package does not
// implement (a model other than byte-level BPE, an unknown split pattern…).
var ErrUnsupported = errors.New("tokenizer: unsupported")

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
	if !utf8.Valid(data) {
		// The reference (serde_json) rejects such files too.
		bad := 0
		for i := 0; i < len(data); {
			r, n := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && n == 1 {
				bad = i
				break
			}
			i += n
		}
		return nil, fmt.Errorf("tokenizer: tokenizer.json is not valid UTF-8 at byte %d", bad)
	}
	s := &jscan{b: data}
	var (
		model                                    *modelParts
		added, normalizer, preTokenizer, decoder []byte
	)
	err := s.object(func(key string) error {
		var err error
		switch key {
		case "model":
			if s.peek() == 'n' {
				_, err = s.skip(0)
				return err
			}
			model, err = s.model()
		case "added_tokens":
			added, err = s.skip(0)
		case "normalizer":
			normalizer, err = s.skip(0)
		case "pre_tokenizer":
			preTokenizer, err = s.skip(0)
		case "decoder":
			decoder, err = s.skip(0)
		default:
			_, err = s.skip(0)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if s.peek() != 0 {
		return nil, s.errorf("data after the top-level object")
	}
	if model == nil {
		return nil, errors.New("tokenizer: tokenizer.json has no model")
	}
	t := &Tokenizer{}
	if err := t.parseModel(model); err != nil {
		return nil, err
	}
	nfc, err := parseNormalizer(normalizer, "normalizer")
	if err != nil {
		return nil, err
	}
	t.nfc = nfc
	if t.stages, err = parsePreTokenizer(preTokenizer, "pre_tokenizer"); err != nil {
		return nil, err
	}
	if err := t.parseDecoder(decoder, "decoder"); err != nil {
		return nil, err
	}
	var list []addedJSON
	if !isNull(added) {
		if err := json.Unmarshal(added, &list); err != nil {
			return nil, fmt.Errorf("tokenizer: added_tokens: %w", err)
		}
	}
	if err := t.addTokens(list); err != nil {
		return nil, err
	}
	t.finish()
	return t, nil
}

// modelParts is the model object as read by jscan: the vocabulary and
// merges decoded, everything else kept as JSON for encoding/json.
type modelParts struct {
	rest      []byte           // the other fields, as a JSON object
	vocab     map[string]int32 // nil if absent or not an object
	vocabRaw  []byte           // the vocab when it is not an object (Unigram's list)
	merges    [][2][]byte      // may alias the file's bytes
	mergesBad bool             // merges is present but not a list
}

func (s *jscan) model() (*modelParts, error) {
	m := &modelParts{rest: []byte{'{'}}
	err := s.object(func(key string) error {
		switch key {
		case "vocab":
			if s.peek() != '{' {
				var err error
				m.vocabRaw, err = s.skip(0)
				return err
			}
			m.vocab = make(map[string]int32, len(s.b)/64)
			return s.object(func(tok string) error {
				id, err := s.integer()
				if err != nil {
					return err
				}
				if id < 0 || id > math.MaxInt32 {
					return fmt.Errorf("tokenizer: model.vocab[%q] = %d: id out of range", tok, id)
				}
				m.vocab[tok] = int32(id)
				return nil
			})
		case "merges":
			return s.merges(m)
		}
		raw, err := s.skip(0)
		if err != nil {
			return err
		}
		if len(m.rest) > 1 {
			m.rest = append(m.rest, ',')
		}
		k, _ := json.Marshal(key)
		m.rest = append(append(append(m.rest, k...), ':'), raw...)
		return nil
	})
	m.rest = append(m.rest, '}')
	return m, err
}

// merges reads both spellings of merges: "a b" strings (older files) and
// [a, b] pairs (tokenizers ≥ 0.20, which allow spaces in tokens).
func (s *jscan) merges(m *modelParts) error {
	switch s.peek() {
	case 'n':
		_, err := s.skip(0)
		return err
	case '[':
	default:
		m.mergesBad = true
		_, err := s.skip(0)
		return err
	}
	m.merges = make([][2][]byte, 0, len(s.b)/64)
	return s.array(func(i int) error {
		switch s.peek() {
		case '"':
			line, err := s.strBytes()
			if err != nil {
				return err
			}
			a, b, ok := bytes.Cut(line, []byte{' '})
			if !ok || bytes.IndexByte(b, ' ') >= 0 {
				return fmt.Errorf("tokenizer: model.merges[%d] = %q: want two tokens separated by one space", i, line)
			}
			m.merges = append(m.merges, [2][]byte{a, b})
			return nil
		case '[':
			var pair [2][]byte
			n := 0
			start := s.i
			err := s.array(func(int) error {
				t, err := s.strBytes()
				if n < 2 {
					pair[n] = t
				}
				n++
				return err
			})
			if err != nil || n != 2 {
				return fmt.Errorf("tokenizer: model.merges[%d] = %.40s: want \"a b\" or [\"a\", \"b\"]", i, s.b[start:min(s.i+1, len(s.b))])
			}
			m.merges = append(m.merges, pair)
			return nil
		}
		return fmt.Errorf("tokenizer: model.merges[%d]: want \"a b\" or [\"a\", \"b\"]", i)
	})
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

func (t *Tokenizer) parseModel(m *modelParts) error {
	var mj modelJSON
	if err := json.Unmarshal(m.rest, &mj); err != nil {
		return fmt.Errorf("tokenizer: model: %w", err)
	}
	if mj.Type != "BPE" && !(mj.Type == "" && m.merges != nil) {
		return unsupported("model", fmt.Sprintf("model type %q (only byte-level BPE)", mj.Type))
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
	if m.vocab == nil {
		if m.vocabRaw != nil && !isNull(m.vocabRaw) {
			return errors.New("tokenizer: model.vocab is not an object")
		}
		return errors.New("tokenizer: model has no vocab")
	}
	if m.mergesBad {
		return errors.New("tokenizer: model.merges is not a list")
	}
	b, err := newBPE(m.vocab, m.merges, mj.IgnoreMerges)
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
