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
	opts := gpu.Options{Weights: f.weights, Matmul: f.matmul}
	fsys := defaultmodel.FS()
	load := func() (*gpu.Backend, error) { return gpu.Load(fsys, opts) }
	if f.model != "" {
		fsys = os.DirFS(f.model)
		load = func() (*gpu.Backend, error) { return gpu.LoadDir(f.model, opts) }
	}
	tok, err := tokenizerIn(fsys)
	if err != nil {
		return nil, nil, err
	}
	b, err := load()
	if err != nil {
		return nil, nil, err
	}
	return b, tok, nil
}

// cudaBuild reports whether this binary was built with -tags cuda.
const cudaBuild = true

// engineFatal reports the errors after which the GPU cannot serve again.
func engineFatal(err error) bool { return errors.Is(err, gpu.ErrDeviceLost) }
