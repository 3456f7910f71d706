//go:build cuda

package main

import (
	"errors"
	"os"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/gpu"
	"github.com/unmask/unmask/model/defaultmodel"
	"github.com/unmask/unmask/tokenizer"
)

// openCUDA loads the model (the embedded default when --model is empty) and
// its tokenizer onto the GPU.
func openCUDA(f engineFlags) (engine.Backend, *tokenizer.Tokenizer, error) {
	fsys := defaultmodel.FS()
	if f.model != "" {
		fsys = os.DirFS(f.model)
	}
	tok, err := tokenizerIn(fsys)
	if err != nil {
		return nil, nil, err
	}
	b, err := gpu.Load(fsys, gpu.Options{Weights: f.weights, Matmul: f.matmul})
	if err != nil {
		return nil, nil, err
	}
	return b, tok, nil
}

// engineFatal reports the errors after which the GPU cannot serve again.
func engineFatal(err error) bool { return errors.Is(err, gpu.ErrDeviceLost) }
