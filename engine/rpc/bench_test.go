package rpc

import (
	"context"
	"testing"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/model"
)

// BenchmarkDenoise measures what the engine process adds to one denoising
// step: the same step on the CPU engine (the model fixture, so the step
// itself is small) in process and through the protocol over a unix socket.
// The difference is the per-step overhead a remote engine pays.
//
//	go test -run '^$' -bench Denoise ./engine/rpc
func BenchmarkDenoise(b *testing.B) {
	m, err := model.Load("../../model/testdata/tiny-qwen2")
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	info := m.Info()
	block := make([]int32, info.BlockSize*4+1) // [anchor] + 32 masks
	block[0] = 5
	for i := 1; i < len(block); i++ {
		block[i] = info.MaskID
	}
	ctxToks := []int32{info.FIMSuffixID, 5, 9, 14, info.FIMPrefixID, 33, 7, 1, 2, 60, info.FIMMiddleID}
	opts := engine.SessionOptions{MaxBlock: len(block)}
	run := func(b *testing.B, s engine.Session) {
		ctx := context.Background()
		if _, err := s.Prefill(ctx, ctxToks); err != nil {
			b.Fatal(err)
		}
		out := engine.NewPredictions(len(block), 8)
		for b.Loop() {
			if err := s.Denoise(ctx, block, 0, out); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("in-process", func(b *testing.B) {
		s, err := m.NewSession(opts)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
	b.Run("unix-socket", func(b *testing.B) {
		c, err := DialClient(context.Background(), serveSocketB(b, m))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		s, err := c.NewSession(opts)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
}

func serveSocketB(b *testing.B, be engine.Backend) string {
	b.Helper()
	path := b.TempDir() + "/e.sock"
	ln, err := ListenUnix(path)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); NewServer(be, nil).ServeListener(ctx, ln) }()
	b.Cleanup(func() { cancel(); <-done })
	return "unix:" + path
}
