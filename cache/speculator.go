package cache

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/unmask/unmask/engine"
)

// A Speculator runs background requests (the next completion, computed as
// if the shown one were accepted) one at a time, only while no foreground
// request runs: Begin cancels the running speculation, or joins it when it
// computes the same context.
type Speculator struct {
	mu         sync.Mutex
	foreground int
	running    *spec // at most one
	pending    *spec // the newest Schedule while foreground requests run
	closed     bool

	started, finished, cancelled, dropped, joined atomic.Int64
}

type spec struct {
	key     string
	fn      func(context.Context)
	ctx     context.Context
	cancel  context.CancelFunc
	promote func() // drops ctx's background mark
	done    chan struct{}
}

// SpecStats counts speculations.
type SpecStats struct {
	Started   int64 // began running
	Finished  int64 // ran to the end without being cancelled
	Cancelled int64 // cancelled by a foreground request or a newer speculation
	Dropped   int64 // scheduled but replaced or cancelled before they ran
	Joined    int64 // foreground requests that waited for a speculation of their own context
}

// NewSpeculator returns an idle speculator.
func NewSpeculator() *Speculator { return &Speculator{} }

// Schedule asks for fn to run in the background as the speculation for key
// (see SpecKey). It replaces any speculation not yet finished, and starts
// once no foreground request is running. fn must return soon after its ctx
// is cancelled. Its ctx carries engine.WithBackground's mark until a
// foreground request joins it.
func (s *Speculator) Schedule(key string, fn func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.pending != nil {
		s.pending.cancel()
		s.dropped.Add(1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctx, promote := engine.WithBackground(ctx)
	s.pending = &spec{key: key, fn: fn, ctx: ctx, cancel: cancel, promote: promote, done: make(chan struct{})}
	if s.running != nil {
		s.running.cancel()
	}
	s.startLocked()
}

// startLocked starts the pending speculation when nothing else runs.
func (s *Speculator) startLocked() {
	if s.pending == nil || s.running != nil || s.foreground > 0 || s.closed {
		return
	}
	sp := s.pending
	s.pending = nil
	s.running = sp
	s.started.Add(1)
	go func() {
		sp.fn(sp.ctx)
		s.mu.Lock()
		if sp.ctx.Err() != nil {
			s.cancelled.Add(1)
		} else {
			s.finished.Add(1)
		}
		sp.cancel()
		close(sp.done)
		s.running = nil
		s.startLocked()
		s.mu.Unlock()
	}()
}

// Begin marks the start of a foreground request for key; call the returned
// end when it is over. A running speculation for another key is cancelled
// and a pending one dropped; one for the same key is waited for (until ctx
// ends), so that the request then finds its result in the cache.
func (s *Speculator) Begin(ctx context.Context, key string) (end func()) {
	s.mu.Lock()
	s.foreground++
	if s.pending != nil {
		s.pending.cancel()
		s.pending = nil
		s.dropped.Add(1)
	}
	var wait chan struct{}
	if r := s.running; r != nil {
		if r.key == key && r.ctx.Err() == nil {
			wait = r.done
			s.joined.Add(1)
			r.promote() // someone waits for it now: every thread
		} else {
			r.cancel()
		}
	}
	s.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.foreground--
			s.startLocked()
			s.mu.Unlock()
		})
	}
}

// Idle reports whether no speculation is running or pending.
func (s *Speculator) Idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running == nil && s.pending == nil
}

// Close cancels the running speculation, drops the pending one, refuses
// new ones, and returns once the running one has returned: the caches it
// writes to may be closed next.
func (s *Speculator) Close() {
	s.mu.Lock()
	s.closed = true
	if s.pending != nil {
		s.pending.cancel()
		s.pending = nil
		s.dropped.Add(1)
	}
	var wait chan struct{}
	if s.running != nil {
		s.running.cancel()
		wait = s.running.done
	}
	s.mu.Unlock()
	if wait != nil {
		<-wait
	}
}

// Stats returns a snapshot of the counters.
func (s *Speculator) Stats() SpecStats {
	return SpecStats{
		Started: s.started.Load(), Finished: s.finished.Load(), Cancelled: s.cancelled.Load(),
		Dropped: s.dropped.Load(), Joined: s.joined.Load(),
	}
}
