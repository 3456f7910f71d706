package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/unmask/unmask/engine"
)

// A Starter connects to an engine: it dials a socket or starts an engine
// process. The fallback backend calls it again, with back-off, whenever the
// engine is down.
type Starter func(ctx context.Context) (*Client, error)

// DialStarter returns a Starter that dials the engine at addr.
func DialStarter(addr string, opts ...Option) Starter {
	return func(ctx context.Context) (*Client, error) { return DialClient(ctx, addr, opts...) }
}

// FallbackOptions tune the fallback backend. Zero values take the defaults.
type FallbackOptions struct {
	Log          *slog.Logger
	MinBackoff   time.Duration // first wait before a restart (default 200ms)
	MaxBackoff   time.Duration // longest wait between restarts (default 30s)
	StableAfter  time.Duration // an engine up this long resets the back-off (default 30s)
	StartTimeout time.Duration // one start attempt, model load included (default 2m)
}

// A Fallback is an engine.Backend that runs sessions on a remote engine while
// it is up and on an in-process backend (the CPU engine) otherwise. It keeps
// (re)starting the remote engine in the background with exponential
// back-off, logging why it is not in use. A session whose engine dies
// mid-call moves to the local backend — re-prefilling the context it
// held — and retries the call there, so the decoder sees no error; it moves
// back to the remote engine at its next Prefill once the engine is up again.
//
// Both backends must hold the same checkpoint: an engine whose Info differs
// from the local one (other than Name and MaxContext) is refused, once and
// for good (a restart would load the same checkpoint again).
type Fallback struct {
	local engine.Backend
	start Starter
	opts  FallbackOptions
	log   *slog.Logger

	stop context.CancelFunc
	wg   sync.WaitGroup

	mu     sync.Mutex
	remote *Client       // nil while the engine is down
	gen    uint64        // counts remote engines brought up
	up     chan struct{} // closed when remote becomes non-nil; replaced when it goes down
	reason error         // why the engine is not in use (nil while it is)
}

var _ engine.Backend = (*Fallback)(nil)

// NewFallback returns a backend that prefers the engine start connects to and
// falls back to local. It starts the engine in the background; until it is
// up, sessions run on local. Close stops the engine and closes local.
func NewFallback(local engine.Backend, start Starter, opts FallbackOptions) *Fallback {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.StableAfter <= 0 {
		opts.StableAfter = 30 * time.Second
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	ctx, stop := context.WithCancel(context.Background())
	f := &Fallback{local: local, start: start, opts: opts, log: opts.Log, stop: stop, up: make(chan struct{}), reason: errors.New("rpc: engine starting")}
	f.wg.Add(1)
	go f.supervise(ctx)
	return f
}

// supervise keeps the remote engine up.
func (f *Fallback) supervise(ctx context.Context) {
	defer f.wg.Done()
	backoff := f.opts.MinBackoff
	for {
		sctx, cancel := context.WithTimeout(ctx, f.opts.StartTimeout)
		c, err := f.start(sctx)
		cancel()
		if err == nil {
			if err = compatible(c.Info(), f.local.Info()); err != nil {
				c.Close()
			}
		}
		if ctx.Err() != nil {
			if c != nil && err == nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, errIncompatible) {
			// Another checkpoint is a configuration error: a restart would
			// load it again. Stay on the CPU and say so once.
			f.setDown(err)
			f.log.Error("engine refused, using the in-process CPU engine", "reason", err)
			return
		}
		if err != nil {
			f.setDown(err)
			f.log.Warn("engine unavailable, using the in-process CPU engine", "reason", err, "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, f.opts.MaxBackoff)
			continue
		}
		f.setUp(c)
		f.log.Info("engine up", "model", c.Info().Name)
		since := time.Now()
		select {
		case <-ctx.Done():
			f.setDown(errors.New("rpc: closed"))
			c.Close()
			return
		case <-c.Done():
		}
		f.setDown(c.Err())
		c.Close()
		if time.Since(since) >= f.opts.StableAfter {
			backoff = f.opts.MinBackoff
		}
		f.log.Warn("engine died, using the in-process CPU engine", "reason", c.Err(), "restart_in", backoff)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, f.opts.MaxBackoff)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (f *Fallback) setUp(c *Client) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.remote, f.reason = c, nil
	f.gen++
	close(f.up)
}

func (f *Fallback) setDown(reason error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.remote != nil {
		f.up = make(chan struct{})
	}
	f.remote, f.reason = nil, reason
}

// lostEngine takes c out of use when it still is the remote engine: a
// session saw its connection fail, maybe before the client's read loop
// did (the supervisor then finds it down already, and restarts it).
func (f *Fallback) lostEngine(c *Client, cause error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c != nil && f.remote == c {
		f.up = make(chan struct{})
		f.remote, f.reason = nil, cause
	}
}

// current returns the live remote engine, or nil and why there is none.
func (f *Fallback) current() (*Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.remote != nil && f.remote.Err() != nil {
		return nil, f.remote.Err() // died; the supervisor has not noticed yet
	}
	return f.remote, f.reason
}

// Remote reports whether new sessions currently go to the remote engine, and
// if not, why.
func (f *Fallback) Remote() (bool, error) {
	c, reason := f.current()
	return c != nil, reason
}

// WaitRemote waits until the remote engine is up (or ctx ends). Sessions do
// not need it — they run locally meanwhile — but a caller that prefers to
// start on the engine can wait.
func (f *Fallback) WaitRemote(ctx context.Context) error {
	for {
		f.mu.Lock()
		up, c := f.up, f.remote
		f.mu.Unlock()
		if c != nil && c.Err() == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			_, reason := f.current()
			return fmt.Errorf("rpc: waiting for the engine: %w (last reason: %v)", ctx.Err(), reason)
		case <-up:
		case <-time.After(50 * time.Millisecond): // a dead remote is replaced without closing up
		}
	}
}

var errIncompatible = errors.New("rpc: the engine holds another checkpoint than the in-process engine")

// compatible reports an error when the engine holds another checkpoint than
// the local backend: the decoder lays requests out by one Info.
func compatible(remote, local engine.Info) error {
	r, l := remote, local
	r.Name, l.Name = "", ""
	r.MaxContext, l.MaxContext = 0, 0
	if r != l {
		return fmt.Errorf("%w: engine serves %q (%+v), the in-process engine holds %q (%+v)", errIncompatible, remote.Name, remote, local.Name, local)
	}
	return nil
}

// Info describes the checkpoint (the local backend's, which the remote one
// matches).
func (f *Fallback) Info() engine.Info { return f.local.Info() }

// NewSession opens a session on the remote engine when it is up, else on the
// local backend.
func (f *Fallback) NewSession(opts engine.SessionOptions) (engine.Session, error) {
	s := &fallbackSession{f: f, opts: opts}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops the supervisor and the remote engine and closes the local
// backend.
func (f *Fallback) Close() error {
	f.stop()
	f.wg.Wait()
	return f.local.Close()
}

// A fallbackSession is a session on whichever backend is usable. It mirrors
// the context so it can rebuild it on the other backend.
type fallbackSession struct {
	f      *Fallback
	opts   engine.SessionOptions
	inner  engine.Session
	remote *Client // the engine inner lives on; nil when inner is local
	tokens []int32 // the context, as last prefilled or truncated
	closed bool
}

// open puts the session on the remote engine if it is up, else on local.
func (s *fallbackSession) open() error {
	if c, _ := s.f.current(); c != nil {
		in, err := c.NewSession(s.opts)
		if err == nil {
			s.inner, s.remote = in, c
			return nil
		}
		// Out of device memory, say, or gone: the CPU engine may still
		// serve (and reports the error itself if the options are wrong).
		s.f.log.Warn("engine session failed, using the in-process CPU engine", "reason", err)
	}
	in, err := s.f.local.NewSession(s.opts)
	if err != nil {
		return err
	}
	s.inner, s.remote = in, nil
	return nil
}

// failover moves the session to the local backend after its engine died
// and rebuilds the context there.
func (s *fallbackSession) failover(ctx context.Context, cause error) error {
	s.f.log.Warn("engine lost mid-request, continuing on the in-process CPU engine", "reason", cause)
	if errors.Is(cause, ErrUnavailable) {
		s.f.lostEngine(s.remote, cause)
	}
	s.inner.Close()
	in, err := s.f.local.NewSession(s.opts)
	if err != nil {
		return fmt.Errorf("rpc: fallback session: %w (engine: %v)", err, cause)
	}
	s.inner, s.remote = in, nil
	if len(s.tokens) > 0 {
		if _, err := in.Prefill(ctx, s.tokens); err != nil {
			s.tokens = s.tokens[:0]
			return fmt.Errorf("rpc: fallback session: rebuilding the context: %w", err)
		}
	}
	return nil
}

// lost reports whether err means the session cannot go on in the engine:
// the engine is gone, or it failed inside (a device fault, a bug), which the
// in-process engine does not share.
func (s *fallbackSession) lost(err error) bool {
	return s.remote != nil && (errors.Is(err, ErrUnavailable) || engineFault(err))
}

// Bytes reports what the session holds on whichever backend it runs (0
// when that backend does not say).
func (s *fallbackSession) Bytes() int64 {
	if sz, ok := s.inner.(interface{ Bytes() int64 }); ok && !s.closed {
		return sz.Bytes()
	}
	return 0
}

func (s *fallbackSession) Tokens() []int32 {
	if s.closed {
		return nil
	}
	return s.inner.Tokens()
}

func (s *fallbackSession) Prefill(ctx context.Context, tokens []int32) (int, error) {
	if s.closed {
		return 0, engine.ErrClosed
	}
	if s.remote == nil {
		// Back to the engine once it is up: a prefill is where the context
		// is sent anyway.
		if c, _ := s.f.current(); c != nil {
			if in, err := c.NewSession(s.opts); err == nil {
				s.inner.Close()
				s.inner, s.remote = in, c
			}
		}
	}
	reused, err := s.inner.Prefill(ctx, tokens)
	if s.lost(err) {
		if ferr := s.failover(ctx, err); ferr != nil {
			return 0, ferr
		}
		reused, err = s.inner.Prefill(ctx, tokens)
	}
	if err != nil {
		s.tokens = append(s.tokens[:0], s.inner.Tokens()...)
		return reused, err
	}
	s.tokens = append(s.tokens[:0], tokens...)
	return reused, nil
}

func (s *fallbackSession) Denoise(ctx context.Context, block []int32, from int, out []engine.Prediction) error {
	if s.closed {
		return engine.ErrClosed
	}
	err := s.inner.Denoise(ctx, block, from, out)
	if s.lost(err) {
		if ferr := s.failover(ctx, err); ferr != nil {
			return ferr
		}
		err = s.inner.Denoise(ctx, block, from, out)
	}
	return err
}

func (s *fallbackSession) Truncate(n int) error {
	if s.closed {
		return engine.ErrClosed
	}
	err := s.inner.Truncate(n)
	if s.lost(err) {
		if ferr := s.failover(context.Background(), err); ferr != nil {
			return ferr
		}
		err = s.inner.Truncate(n)
	}
	if err == nil && n < len(s.tokens) {
		s.tokens = s.tokens[:n]
	}
	return err
}

func (s *fallbackSession) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.inner.Close()
	if s.remote != nil && errors.Is(err, ErrUnavailable) {
		return nil
	}
	return err
}
