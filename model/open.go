package model

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/unmask/unmask/tokenizer"
)

// defaultFS returns the embedded default model's folder, or nil when this
// build embeds none (set in default.go).
var defaultFS func() fs.FS

// Open loads a checkpoint folder and the tokenizer.json beside its weights.
// dir "" opens the default model embedded in the binary.
func Open(dir string) (*Model, *tokenizer.Tokenizer, error) {
	if dir == "" {
		var fsys fs.FS
		if defaultFS != nil {
			fsys = defaultFS()
		}
		if fsys == nil {
			return nil, nil, ErrNoDefault
		}
		data, err := fs.ReadFile(fsys, "tokenizer.json")
		if err != nil {
			return nil, nil, fmt.Errorf("model: default model: tokenizer.json: %w", err)
		}
		tok, err := tokenizer.Parse(data)
		if err != nil {
			return nil, nil, fmt.Errorf("model: default model: tokenizer.json: %w", err)
		}
		m, err := LoadFS(fsys)
		if err != nil {
			return nil, nil, fmt.Errorf("model: default model: %w", err)
		}
		if err := checkVocab(m, tok); err != nil {
			return nil, nil, err
		}
		return m, tok, nil
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, nil, fmt.Errorf("model: %s: %w", filepath.Join(dir, "tokenizer.json"), err)
	}
	m, err := Load(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := checkVocab(m, tok); err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, tok, nil
}

// checkVocab reports a tokenizer that can produce ids the model has no row
// for. (The model may have more rows than the tokenizer: Qwen pads its
// embedding to a multiple of 128.)
func checkVocab(m *Model, tok *tokenizer.Tokenizer) error {
	if tok.VocabSize() > m.cfg.Vocab {
		return fmt.Errorf("model: tokenizer has %d tokens, the checkpoint's vocabulary %d", tok.VocabSize(), m.cfg.Vocab)
	}
	return nil
}
