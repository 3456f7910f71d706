// Package defaultmodel embeds the default unmask model in the binary, so that
// the language server and `unmask complete` work with no model on disk.
//
// The folder holds config.json, model.safetensors (BF16) and tokenizer.json,
// written by train/export.py from a run of train/train.py; train/README.md
// gives the exact commands, the loss curve and the held-out numbers.
package defaultmodel

import (
	"embed"
	"io/fs"
)

//go:embed config.json model.safetensors tokenizer.json
var files embed.FS

// FS returns the embedded checkpoint folder: config.json, model.safetensors
// and tokenizer.json at its root, as model.LoadFS expects.
func FS() fs.FS { return files }
