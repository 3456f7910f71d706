package model

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/unmask/unmask/engine"
)

// cancelAfter is a context whose Err is nil for its first n calls and
// context.Canceled after: a cancel that lands at a chosen point inside a
// forward pass.
type cancelAfter struct {
	context.Context
	n atomic.Int64
}

func newCancelAfter(n int64) *cancelAfter {
	c := &cancelAfter{Context: context.Background()}
	c.n.Store(n)
	return c
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// A cancel inside a forward pass stops it there (between layers, before
// the LM head), the session keeps only the context finished before it,
// and the next request gets the logits an uncancelled session gives.
func TestSessionCancelInsideForward(t *testing.T) {
	m, err := Load("testdata/tiny-qwen2")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	opts := engine.SessionOptions{MaxContext: 96, MaxBlock: 8}
	open := func() engine.Session {
		s, err := m.NewSession(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	ctxTokens := make([]int32, 90) // two prefill chunks at most (chunkRows 64)
	for i := range ctxTokens {
		ctxTokens[i] = int32(3 + i%100)
	}
	block := []int32{127, 127, 127, 127, 127, 127, 127, 127}
	want := engine.NewPredictions(8, 8)
	ref := open()
	if _, err := ref.Prefill(context.Background(), ctxTokens); err != nil {
		t.Fatal(err)
	}
	if err := ref.Denoise(context.Background(), block, 0, want); err != nil {
		t.Fatal(err)
	}

	// Prefill checks before each chunk and inside each chunk's pass
	// before each of the 2 layers: 3 checks for the first chunk, so the
	// 4th (the second chunk's) or 5th (its first layer's) stops it.
	for _, n := range []int64{0, 1, 2, 3, 4, 5} {
		s := open()
		_, err := s.Prefill(newCancelAfter(n), ctxTokens)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancel after %d checks: Prefill = %v, want context.Canceled", n, err)
		}
		wantHeld := 0
		if n >= 3 {
			wantHeld = 64
		}
		if held := len(s.Tokens()); held != wantHeld {
			t.Errorf("cancel after %d checks: the session holds %d tokens, want %d", n, held, wantHeld)
		}
		if _, err := s.Prefill(context.Background(), ctxTokens); err != nil {
			t.Fatal(err)
		}
		got := engine.NewPredictions(8, 8)
		// Denoise checks once, then before each layer and the head: a
		// cancel at any of them leaves out unfilled and the context as is.
		for k := int64(0); k < 4; k++ {
			if err := s.Denoise(newCancelAfter(k), block, 0, got); !errors.Is(err, context.Canceled) {
				t.Fatalf("Denoise cancelled after %d checks: %v, want context.Canceled", k, err)
			}
			if len(s.Tokens()) != len(ctxTokens) {
				t.Fatalf("a cancelled Denoise changed the context to %d tokens", len(s.Tokens()))
			}
		}
		if err := s.Denoise(context.Background(), block, 0, got); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			for j := range want[i].Candidates {
				if got[i].Candidates[j] != want[i].Candidates[j] {
					t.Fatalf("cancel after %d checks, then a full prefill: position %d candidate %d = %+v, want %+v",
						n, i, j, got[i].Candidates[j], want[i].Candidates[j])
				}
			}
		}
	}
}

// A background request (engine.WithBackground) runs on the calling
// goroutine alone and computes exactly what a foreground one does.
func TestSessionBackground(t *testing.T) {
	m, err := Load("testdata/tiny-qwen2")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetThreads(4)
	ctxTokens := make([]int32, 70)
	for i := range ctxTokens {
		ctxTokens[i] = int32(5 + (i*7)%100)
	}
	block := []int32{127, 127, 40, 127, 127, 127, 127, 127}
	run := func(ctx context.Context) []engine.Prediction {
		s, err := m.NewSession(engine.SessionOptions{MaxContext: 96, MaxBlock: 8})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Prefill(ctx, ctxTokens); err != nil {
			t.Fatal(err)
		}
		if got := s.(*session).pool.solo; got != engine.Background(ctx) {
			t.Errorf("pool.solo = %v for a context with Background %v", got, engine.Background(ctx))
		}
		out := engine.NewPredictions(8, 8)
		if err := s.Denoise(ctx, block, 0, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	fg := run(context.Background())
	bgCtx, promote := engine.WithBackground(context.Background())
	bg := run(bgCtx)
	promote()
	if engine.Background(bgCtx) {
		t.Fatal("promoted, the context is still marked background")
	}
	promoted := run(bgCtx)
	for i := range fg {
		if fg[i].Candidates[0] != promoted[i].Candidates[0] {
			t.Fatalf("position %d: promoted %+v, foreground %+v", i, promoted[i].Candidates[0], fg[i].Candidates[0])
		}
	}
	for i := range fg {
		for j := range fg[i].Candidates {
			if fg[i].Candidates[j] != bg[i].Candidates[j] {
				t.Fatalf("position %d candidate %d: background %+v, foreground %+v", i, j, bg[i].Candidates[j], fg[i].Candidates[j])
			}
		}
		if fg[i].Entropy != bg[i].Entropy {
			t.Fatalf("position %d: entropy %v in the background, %v in the foreground", i, bg[i].Entropy, fg[i].Entropy)
		}
	}
}
