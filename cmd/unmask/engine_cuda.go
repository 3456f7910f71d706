//go:build cuda

package main

import (
	"errors"
	"os"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/gpu"
)

// openCUDA loads the model onto the GPU.
func openCUDA(f engineFlags) (engine.Backend, error) {
	if f.model == "" {
		return nil, errors.New("--device cuda needs --model DIR (the embedded default model is not wired to the GPU loader yet)")
	}
	return gpu.Load(os.DirFS(f.model), gpu.Options{Weights: f.weights, Matmul: f.matmul})
}
