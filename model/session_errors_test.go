package model

import (
	"context"
	"errors"
	"testing"

	"github.com/unmask/unmask/engine"
)

// Misuse of a session is reported with the contract's errors, as the GPU
// engine and the engine process report it.
func TestSessionContractErrors(t *testing.T) {
	m, err := Load("testdata/tiny-qwen2")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(engine.SessionOptions{MaxContext: 16, MaxBlock: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Prefill(context.Background(), []int32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.Truncate(4); !errors.Is(err, engine.ErrContextFull) {
		t.Errorf("Truncate past the context: %v, want ErrContextFull", err)
	}
	if err := s.Truncate(-1); !errors.Is(err, engine.ErrContextFull) {
		t.Errorf("Truncate(-1): %v, want ErrContextFull", err)
	}
	out := engine.NewPredictions(3, 2)
	if err := s.Denoise(context.Background(), []int32{1, 2}, 0, out); !errors.Is(err, engine.ErrBlockSize) {
		t.Errorf("Denoise of 3 positions from a 2-token block: %v, want ErrBlockSize", err)
	}
	if err := s.Denoise(context.Background(), []int32{1, 2, 3, 4, 5}, 0, out); !errors.Is(err, engine.ErrBlockSize) {
		t.Errorf("Denoise of a 5-token block in a session of 4: %v, want ErrBlockSize", err)
	}
	if err := s.Truncate(2); err != nil {
		t.Errorf("Truncate(2): %v", err)
	}
}
