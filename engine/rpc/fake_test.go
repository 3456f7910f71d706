package rpc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/unmask/unmask/engine"
)

// A fakeBackend is a deterministic engine.Backend: its predictions are a
// hash of the context, the block and the position, so two fakes agree and a
// proxy that drops or reorders anything is caught.
type fakeBackend struct {
	info engine.Info
	salt uint32 // differs between fakes that must give different answers
	// dieToken in a block makes Denoise exit the process (the fake engine
	// process of TestProcessStarter); 0 = never.
	dieToken int32
	faulty   bool // faultToken fails Denoise

	open     atomic.Int32 // sessions not yet closed
	prefills atomic.Int32

	mu      sync.Mutex
	gate    chan struct{} // when non-nil, Denoise waits for it (or ctx) after signalling entered
	entered chan struct{}
	lastCtx error    // ctx.Err() a gated Denoise saw when it returned
	marks   []string // "prefill" or "denoise", with " background" when engine.Background(ctx), of each call
}

// mark records a call and whether its ctx carried engine.WithBackground's mark.
func (b *fakeBackend) mark(ctx context.Context, method string) {
	if engine.Background(ctx) {
		method += " background"
	}
	b.mu.Lock()
	b.marks = append(b.marks, method)
	b.mu.Unlock()
}

// takeMarks returns the calls recorded since the last takeMarks.
func (b *fakeBackend) takeMarks() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.marks
	b.marks = nil
	return m
}

func newFake(salt uint32) *fakeBackend {
	return &fakeBackend{salt: salt, info: engine.Info{
		Name: "fake", Family: "unmask", VocabSize: 1000, MaxContext: 64,
		Attention: engine.ContextCausal, Shift: true, BlockSize: 4,
		MaskID: 999, EOSID: 998, PadID: engine.NoToken, BOSID: engine.NoToken,
		FIMPrefixID: 997, FIMSuffixID: 996, FIMMiddleID: 995,
	}}
}

// faultToken in a block makes Denoise fail as a faulty device would.
const faultToken = 444

// panicToken in a block makes Denoise panic.
const panicToken = 555

// holdToken in a block makes Denoise wait while the fake is held.
const holdToken = 777

// hold makes the next Denoise calls whose block holds holdToken block until release or their ctx ends.
func (b *fakeBackend) hold() (entered <-chan struct{}, release func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gate = make(chan struct{})
	b.entered = make(chan struct{}, 16)
	g := b.gate
	var once sync.Once
	return b.entered, func() { once.Do(func() { close(g) }) }
}

func (b *fakeBackend) Info() engine.Info { return b.info }

func (b *fakeBackend) NewSession(o engine.SessionOptions) (engine.Session, error) {
	if o.TopK == 0 {
		o.TopK = engine.DefaultTopK
	}
	if o.MaxContext == 0 {
		o.MaxContext = b.info.MaxContext
	}
	if o.MaxBlock == 0 {
		o.MaxBlock = 2*b.info.BlockSize + 1
	}
	b.open.Add(1)
	return &fakeSession{b: b, o: o}, nil
}

func (b *fakeBackend) Close() error { return nil }

type fakeSession struct {
	b      *fakeBackend
	o      engine.SessionOptions
	toks   []int32
	busy   atomic.Bool
	closed bool
}

func (s *fakeSession) enter() func() {
	if !s.busy.CompareAndSwap(false, true) {
		panic("fake: session used by two goroutines at once")
	}
	return func() { s.busy.Store(false) }
}

func (s *fakeSession) Tokens() []int32 { return s.toks }

func (s *fakeSession) check(toks []int32) error {
	for _, t := range toks {
		if t < 0 || int(t) >= s.b.info.VocabSize {
			return fmt.Errorf("fake: token %d: %w", t, engine.ErrToken)
		}
	}
	return nil
}

func (s *fakeSession) Prefill(ctx context.Context, toks []int32) (int, error) {
	defer s.enter()()
	s.b.mark(ctx, "prefill")
	if s.closed {
		return 0, engine.ErrClosed
	}
	if err := s.check(toks); err != nil {
		return 0, err
	}
	if len(toks) > s.o.MaxContext {
		return 0, fmt.Errorf("fake: %d tokens: %w", len(toks), engine.ErrContextFull)
	}
	s.b.prefills.Add(1)
	n := 0
	for n < len(toks) && n < len(s.toks) && toks[n] == s.toks[n] {
		n++
	}
	s.toks = append(s.toks[:0], toks...)
	return n, nil
}

func (s *fakeSession) Denoise(ctx context.Context, block []int32, from int, out []engine.Prediction) error {
	defer s.enter()()
	s.b.mark(ctx, "denoise")
	if s.closed {
		return engine.ErrClosed
	}
	if len(block) > s.o.MaxBlock || from+len(out) > len(block) {
		return fmt.Errorf("fake: block of %d: %w", len(block), engine.ErrBlockSize)
	}
	if err := s.check(block); err != nil {
		return err
	}
	if s.b.faulty && slices.Contains(block, faultToken) {
		return errors.New("fake: device fault")
	}
	if slices.Contains(block, panicToken) {
		panic("fake: a bug behind this request")
	}
	if s.b.dieToken != 0 && slices.Contains(block, s.b.dieToken) {
		fmt.Fprintln(os.Stderr, "fake engine: dying as asked")
		os.Exit(3)
	}
	s.b.mu.Lock()
	gate, entered := s.b.gate, s.b.entered
	s.b.mu.Unlock()
	if gate != nil && slices.Contains(block, holdToken) {
		entered <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
		}
		s.b.mu.Lock()
		s.b.lastCtx = ctx.Err()
		s.b.mu.Unlock()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fillFake(s.b.salt, s.b.info.VocabSize, s.toks, block, from, out)
	return nil
}

// fillFake computes the fake predictions.
func fillFake(salt uint32, vocab int, ctx, block []int32, from int, out []engine.Prediction) {
	h := uint32(2166136261) ^ salt
	mix := func(v int32) { h = (h ^ uint32(v)) * 16777619 }
	for _, t := range ctx {
		mix(t)
	}
	mix(-1)
	for _, t := range block {
		mix(t)
	}
	for i := range out {
		hp := h
		mix(int32(from + i))
		for j := range out[i].Candidates {
			mix(int32(j))
			// Odd float32 values: the wire must carry them exactly.
			out[i].Candidates[j] = engine.Candidate{ID: int32(h % uint32(vocab)), LogProb: -float32(j) - float32(h%9973)/997.3}
		}
		out[i].Entropy = float32(h%100003) / 7919.0
		h = hp
	}
}

func (s *fakeSession) Truncate(n int) error {
	defer s.enter()()
	if s.closed {
		return engine.ErrClosed
	}
	if n < 0 || n > len(s.toks) {
		return fmt.Errorf("fake: truncate to %d of %d: %w", n, len(s.toks), engine.ErrContextFull)
	}
	s.toks = s.toks[:n]
	return nil
}

func (s *fakeSession) Close() error {
	if !s.closed {
		s.closed = true
		s.b.open.Add(-1)
	}
	return nil
}
