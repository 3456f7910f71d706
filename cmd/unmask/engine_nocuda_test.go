//go:build !cuda

package main

import (
	"bytes"
	"errors"
	"testing"
)

func TestEngineWithoutCUDA(t *testing.T) {
	var out, errw bytes.Buffer
	err := runEngine([]string{"--device", "cuda", "--model", engineFixture}, &out, &errw)
	if !errors.Is(err, errNoCUDA) {
		t.Errorf("engine --device cuda in a default build = %v, want errNoCUDA", err)
	}
}
