//go:build !cuda

package main

import "github.com/unmask/unmask/engine"

// openCUDA fails: the default build must not link gorgonia.org/cu, whose
// init exits the process on machines without a GPU.
func openCUDA(engineFlags) (engine.Backend, error) { return nil, errNoCUDA }
