package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"

	"go.lsp.dev/jsonrpc2"

	"github.com/unmask/unmask/engine"
)

// A Client is an engine.Backend whose sessions live in an engine process.
// It is safe for concurrent use; each of its sessions, like any
// engine.Session, is used by one goroutine at a time.
type Client struct {
	conn jsonrpc2.Conn
	info engine.Info
	log  *slog.Logger

	// dead is cancelled when the connection ends, which ends every pending
	// call (jsonrpc2's Call would otherwise wait forever for a reply).
	dead     context.Context
	markDead context.CancelCauseFunc

	closeOnce sync.Once
	closeErr  error
	onClose   func() error // the process to stop, if the client started one

	streams streams // partial-span callbacks of running Infill calls
}

var _ engine.Backend = (*Client)(nil)

// An Option configures a client.
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger sets where a client logs (a nil logger discards).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Dial connects to an engine listening at addr ("unix:PATH", or a socket
// path) and returns it as an engine.Backend (a *Client).
func Dial(ctx context.Context, addr string, opts ...Option) (engine.Backend, error) {
	c, err := DialClient(ctx, addr, opts...)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DialClient is Dial returning the concrete *Client, whose Done reports when
// the engine goes away.
func DialClient(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	path, err := socketPath(addr)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("rpc: dial %s: %w: %w", addr, ErrUnavailable, err)
	}
	return NewClient(ctx, nc, opts...)
}

func socketPath(addr string) (string, error) {
	path := strings.TrimPrefix(addr, "unix:")
	if path == "" {
		return "", fmt.Errorf("rpc: address %q: want unix:PATH or a socket path", addr)
	}
	return path, nil
}

// NewClient speaks the engine protocol over rwc (a socket, or the pipes of
// an engine process started with --listen stdio). It asks the engine for its
// Info before returning, so a client that returns is talking to a live
// engine. The client owns rwc and closes it on Close or on failure.
func NewClient(ctx context.Context, rwc io.ReadWriteCloser, opts ...Option) (*Client, error) {
	return newClient(ctx, rwc, nil, nil, opts...)
}

// newClient is NewClient with explain, which (when not nil) turns the error
// that ended the connection into the reason Err reports, and onClose, which
// Close calls after closing the connection (to stop a process).
func newClient(ctx context.Context, rwc io.ReadWriteCloser, explain func(error) error, onClose func() error, opts ...Option) (*Client, error) {
	o := buildOptions(opts)
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(rwc))
	dead, markDead := context.WithCancelCause(context.Background())
	c := &Client{conn: conn, log: o.log, dead: dead, markDead: markDead, onClose: onClose}
	// Besides replies, the engine sends only partial-span notifications.
	conn.Go(dead, c.handle)
	go func() {
		<-conn.Done()
		cause := conn.Err()
		if cause == nil {
			cause = io.EOF
		}
		if explain != nil {
			cause = explain(cause)
		}
		markDead(fmt.Errorf("%w: %w", ErrUnavailable, cause))
	}()
	if err := c.call(ctx, methodInfo, struct{}{}, &c.info); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Done is closed when the connection to the engine has ended.
func (c *Client) Done() <-chan struct{} { return c.dead.Done() }

// Err reports why the connection ended (wrapping ErrUnavailable), or nil
// while it is up.
func (c *Client) Err() error { return context.Cause(c.dead) }

// Info returns the engine's checkpoint description, fetched when the client
// connected.
func (c *Client) Info() engine.Info { return c.info }

// Close closes the connection (and stops the engine process if the client
// started it). The engine closes the connection's sessions.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.markDead(fmt.Errorf("%w: client closed", ErrUnavailable))
		c.closeErr = c.conn.Close()
		if c.onClose != nil {
			// Stop the process before waiting for the read loop: its stdout
			// ends only when it exits.
			if err := c.onClose(); err != nil {
				c.closeErr = err
			}
		}
		<-c.conn.Done()
	})
	return c.closeErr
}

// call makes one request. It ends when the reply arrives, ctx ends (then the
// engine is told to cancel) or the connection dies (ErrUnavailable).
func (c *Client) call(ctx context.Context, method string, params, result any) error {
	if err := c.dead.Err(); err != nil {
		return fmt.Errorf("rpc: %s: %w", method, context.Cause(c.dead))
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.dead, cancel)
	defer stop()
	id, err := c.conn.Call(cctx, method, params, result)
	if err == nil {
		return nil
	}
	if c.dead.Err() != nil {
		return fmt.Errorf("rpc: %s: %w", method, context.Cause(c.dead))
	}
	if ctx.Err() != nil {
		// Tell the engine, so the step stops instead of running to the end
		// for nobody. Best effort: the reply, if any, is dropped by jsonrpc2.
		nctx, ncancel := context.WithTimeout(context.WithoutCancel(ctx), cancelSendTimeout)
		// A pointer: jsonrpc2.ID marshals through a pointer receiver.
		_ = c.conn.Notify(nctx, methodCancel, &cancelParams{ID: id})
		ncancel()
		return ctx.Err()
	}
	var we *jsonrpc2.Error
	if !errors.As(err, &we) {
		if strings.HasPrefix(err.Error(), "unmarshaling result") {
			return fmt.Errorf("rpc: %s: %w: %v", method, ErrProtocol, err)
		}
		// A write to the stream failed: the connection is broken even if
		// the read loop has not noticed yet.
		c.conn.Close()
		return fmt.Errorf("rpc: %s: %w: %v", method, ErrUnavailable, err)
	}
	err = fromWire(method, err)
	if errors.Is(err, ErrCancelled) && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// NewSession opens a session in the engine.
func (c *Client) NewSession(opts engine.SessionOptions) (engine.Session, error) {
	var r newSessionResult
	err := c.call(context.Background(), methodNewSession, newSessionParams{TopK: opts.TopK, MaxContext: opts.MaxContext, MaxBlock: opts.MaxBlock}, &r)
	if err != nil {
		return nil, err
	}
	return &clientSession{c: c, id: r.Session, topK: r.TopK, bytes: r.Bytes}, nil
}

// A clientSession proxies one engine session. It mirrors the context the
// engine holds, so Tokens costs no round trip and Prefill sends only the
// tokens after the common prefix.
type clientSession struct {
	c      *Client
	id     uint64
	topK   int
	bytes  int64   // engine memory the session holds (fixed at creation)
	held   []int32 // the engine session's context, when known
	known  bool    // held is exact (false after a failed Prefill or Truncate)
	closed bool
}

// Bytes reports the memory the session holds in the engine (device memory
// for the CUDA engine), so a session cache can cap remote sessions too.
func (s *clientSession) Bytes() int64 { return s.bytes }

func (s *clientSession) Tokens() []int32 {
	if s.closed {
		return nil
	}
	if !s.known {
		var toks []int32
		if err := s.c.call(context.Background(), methodTokens, sessionParams{Session: s.id}, &toks); err != nil {
			s.c.log.Debug("engine session tokens", "err", err)
			return nil
		}
		s.held, s.known = toks, true
	}
	return s.held
}

func (s *clientSession) Prefill(ctx context.Context, tokens []int32) (int, error) {
	if s.closed {
		return 0, engine.ErrClosed
	}
	keep := 0
	if s.known {
		for keep < len(s.held) && keep < len(tokens) && s.held[keep] == tokens[keep] {
			keep++
		}
	}
	var r prefillResult
	err := s.c.call(ctx, methodPrefill, prefillParams{Session: s.id, Keep: keep, Tokens: tokens[keep:], Background: engine.Background(ctx)}, &r)
	if err != nil {
		s.known = false
		return 0, err
	}
	if r.Len != len(tokens) {
		s.known = false
		return r.Reused, fmt.Errorf("%w: prefill of %d tokens left %d", ErrProtocol, len(tokens), r.Len)
	}
	s.held = append(s.held[:0], tokens...)
	s.known = true
	return r.Reused, nil
}

func (s *clientSession) Denoise(ctx context.Context, block []int32, from int, out []engine.Prediction) error {
	if s.closed {
		return engine.ErrClosed
	}
	var r denoiseResult
	if err := s.c.call(ctx, methodDenoise, denoiseParams{Session: s.id, Block: block, From: from, N: len(out), Background: engine.Background(ctx)}, &r); err != nil {
		return err
	}
	n, k := len(out), r.K
	if k <= 0 || len(r.IDs) != n*k || len(r.LogProbs) != n*k || len(r.Entropy) != n {
		return fmt.Errorf("%w: denoise reply of %d ids, %d entropies for %d positions of %d candidates", ErrProtocol, len(r.IDs), len(r.Entropy), n, k)
	}
	for i := range out {
		cands := out[i].Candidates
		if cap(cands) < k {
			cands = make([]engine.Candidate, k)
		}
		cands = cands[:k]
		for j := range cands {
			cands[j] = engine.Candidate{ID: r.IDs[i*k+j], LogProb: r.LogProbs[i*k+j]}
		}
		out[i].Candidates = cands
		out[i].Entropy = r.Entropy[i]
	}
	return nil
}

func (s *clientSession) Truncate(n int) error {
	if s.closed {
		return engine.ErrClosed
	}
	if err := s.c.call(context.Background(), methodTruncate, truncateParams{Session: s.id, N: n}, nil); err != nil {
		s.known = false
		return err
	}
	if s.known && n < len(s.held) {
		s.held = s.held[:n]
	} else if n != len(s.held) {
		s.known = false
	}
	return nil
}

func (s *clientSession) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.c.dead.Err() != nil {
		return nil // the engine closed it with the connection
	}
	return s.c.call(context.Background(), methodClose, sessionParams{Session: s.id}, nil)
}
