//go:build !cuda

package main

import (
	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/tokenizer"
)

// openCUDA fails: the default build must not link gorgonia.org/cu, whose
// init exits the process on machines without a GPU.
func openCUDA(engineFlags) (engine.Backend, *tokenizer.Tokenizer, error) {
	return nil, nil, errNoCUDA
}

// cudaBuild reports whether this binary was built with -tags cuda.
const cudaBuild = false

// engineFatal: the CPU engine has no unrecoverable errors.
func engineFatal(error) bool { return false }
