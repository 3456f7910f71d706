package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"go.lsp.dev/jsonrpc2"

	"github.com/unmask/unmask/engine"
)

// A Server serves one engine.Backend to any number of connections. Each
// connection opens its own sessions (one per document); calls on one session
// run one at a time, calls on different sessions — of one client or of
// several — run concurrently, so a long denoise of one editor does not hold
// up another. Interleaving on the device is the backend's business.
type Server struct {
	b      engine.Backend
	log    *slog.Logger
	infill InfillFunc // nil: no whole infill requests

	fatal     func(error) bool // reports errors after which the backend is unusable
	fatalOnce sync.Once
	dead      chan struct{} // closed on the first fatal error

	nextID atomic.Uint64 // session ids are unique across connections
}

// NewServer returns a server for b. A nil logger discards logs.
func NewServer(b engine.Backend, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{b: b, log: log, dead: make(chan struct{})}
}

// SetFatal names the backend errors after which it cannot serve again (a
// CUDA context after a sticky fault): the server then reports them on
// Fatal, so the engine process can exit and be restarted fresh by its
// language servers, instead of failing every request.
func (s *Server) SetFatal(fatal func(error) bool) { s.fatal = fatal }

// Fatal is closed when a call failed with an error SetFatal's function
// reported.
func (s *Server) Fatal() <-chan struct{} { return s.dead }

func (s *Server) checkFatal(method string, err error) {
	if err != nil && s.fatal != nil && s.fatal(err) {
		s.fatalOnce.Do(func() {
			s.log.Error("engine backend failed for good", "method", method, "err", err)
			close(s.dead)
		})
	}
}

// Serve serves b on one connection until the peer closes it or ctx ends.
func Serve(ctx context.Context, b engine.Backend, conn io.ReadWriteCloser) error {
	return NewServer(b, nil).ServeConn(ctx, conn)
}

// ServeListener accepts connections until ctx ends or the listener fails,
// serving each in its own goroutine. It closes the listener when it returns.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer wg.Wait()
	defer ln.Close()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("rpc: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ServeConn(ctx, c); err != nil {
				s.log.Warn("engine connection ended", "err", err)
			}
		}()
	}
}

// ServeConn serves one connection until the peer closes it or ctx ends. It
// closes the connection's sessions when it returns. A clean close by the
// peer returns nil.
func (s *Server) ServeConn(ctx context.Context, rwc io.ReadWriteCloser) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(rwc))
	cs := &connState{srv: s, conn: conn, sessions: map[uint64]*serverSession{}, inflight: map[jsonrpc2.ID]context.CancelFunc{}}
	conn.Go(ctx, cs.handle)
	select {
	case <-conn.Done():
	case <-ctx.Done():
		conn.Close()
		<-conn.Done()
	}
	cancel() // in-flight calls end with their context
	cs.wg.Wait()
	cs.closeAll()
	err := conn.Err()
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) || ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("rpc: connection: %w", err)
}

// connState is what one connection owns.
type connState struct {
	srv  *Server
	conn jsonrpc2.Conn
	wg   sync.WaitGroup // running calls

	mu       sync.Mutex
	sessions map[uint64]*serverSession
	inflight map[jsonrpc2.ID]context.CancelFunc
	closed   bool // no new sessions once the connection is going away
}

// A serverSession is one engine session of a connection; mu serialises
// calls on it, since an engine.Session is used by one goroutine at a time.
type serverSession struct {
	mu    sync.Mutex
	s     engine.Session
	topK  int
	preds []engine.Prediction // reused across Denoise calls
	buf   []int32             // reused context buffer for Prefill
}

// handle runs on the connection's read loop: it must not block. Calls run in
// their own goroutines; $/cancelRequest runs inline so that it reaches a
// call already running.
func (cs *connState) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	if req.Method() == methodCancel {
		var p cancelParams
		if err := json.Unmarshal(req.Params(), &p); err == nil {
			cs.mu.Lock()
			cancel := cs.inflight[p.ID]
			cs.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		}
		return nil
	}
	call, ok := req.(*jsonrpc2.Call)
	if !ok {
		return nil // other notifications: none defined
	}
	id := call.ID()
	cctx, cancel := context.WithCancel(ctx)
	cs.mu.Lock()
	cs.inflight[id] = cancel
	cs.mu.Unlock()
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		result, err := cs.safeDispatch(cctx, call)
		cs.srv.checkFatal(call.Method(), err)
		if err != nil && cctx.Err() != nil {
			err = fmt.Errorf("%w: %v", errCancelledCtx, err)
		}
		cs.mu.Lock()
		delete(cs.inflight, id)
		cs.mu.Unlock()
		cancel()
		// The reply's context must outlive a cancelled call.
		if rerr := reply(context.WithoutCancel(ctx), result, toWire(err)); rerr != nil {
			cs.srv.log.Debug("engine reply failed", "method", call.Method(), "err", rerr)
		}
	}()
	return nil
}

func decode(req *jsonrpc2.Call, v any) error {
	if err := json.Unmarshal(req.Params(), v); err != nil {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "rpc: %s: params: %v", req.Method(), err)
	}
	return nil
}

// safeDispatch is dispatch with a panic turned into the call's error: a bug
// behind one request must not end the engine for every client.
func (cs *connState) safeDispatch(ctx context.Context, req *jsonrpc2.Call) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			cs.srv.log.Error("engine call panicked", "method", req.Method(), "panic", r, "stack", string(debug.Stack()))
			result, err = nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "rpc: %s: internal error: %v", req.Method(), r)
		}
	}()
	return cs.dispatch(ctx, req)
}

func (cs *connState) dispatch(ctx context.Context, req *jsonrpc2.Call) (any, error) {
	switch req.Method() {
	case methodInfo:
		return cs.srv.b.Info(), nil
	case methodNewSession:
		var p newSessionParams
		if err := decode(req, &p); err != nil {
			return nil, err
		}
		return cs.newSession(p)
	case methodTokens:
		return onSession(cs, req, func(ss *serverSession, _ sessionParams) (any, error) {
			return ss.s.Tokens(), nil
		})
	case methodPrefill:
		return onSession(cs, req, func(ss *serverSession, p prefillParams) (any, error) {
			return ss.prefill(ctx, p)
		})
	case methodDenoise:
		return onSession(cs, req, func(ss *serverSession, p denoiseParams) (any, error) {
			return ss.denoise(ctx, p)
		})
	case methodTruncate:
		return onSession(cs, req, func(ss *serverSession, p truncateParams) (any, error) {
			return nil, ss.s.Truncate(p.N)
		})
	case methodInfill:
		var p infillParams
		if err := decode(req, &p); err != nil {
			return nil, err
		}
		return cs.infill(ctx, cs.conn, p)
	case methodClose:
		var p sessionParams
		if err := decode(req, &p); err != nil {
			return nil, err
		}
		cs.mu.Lock()
		ss := cs.sessions[p.Session]
		delete(cs.sessions, p.Session)
		cs.mu.Unlock()
		if ss == nil {
			return nil, nil // closing twice is not an error
		}
		ss.mu.Lock()
		defer ss.mu.Unlock()
		return nil, ss.s.Close()
	}
	return nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "rpc: unknown method %q", req.Method())
}

// onSession decodes a call's params, which name a session, and runs fn
// with that session locked.
func onSession[P interface{ session() uint64 }](cs *connState, req *jsonrpc2.Call, fn func(*serverSession, P) (any, error)) (any, error) {
	var p P
	if err := decode(req, &p); err != nil {
		return nil, err
	}
	ss, err := cs.lock(p.session())
	if err != nil {
		return nil, err
	}
	defer ss.mu.Unlock()
	return fn(ss, p)
}

func (cs *connState) newSession(p newSessionParams) (newSessionResult, error) {
	if p.TopK < 0 || p.MaxContext < 0 || p.MaxBlock < 0 {
		return newSessionResult{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "rpc: newSession: negative option in %+v", p)
	}
	s, err := cs.srv.b.NewSession(engine.SessionOptions{TopK: p.TopK, MaxContext: p.MaxContext, MaxBlock: p.MaxBlock})
	if err != nil {
		return newSessionResult{}, err
	}
	k := p.TopK
	if k == 0 {
		k = engine.DefaultTopK
	}
	id := cs.srv.nextID.Add(1)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		s.Close()
		return newSessionResult{}, engine.ErrClosed
	}
	cs.sessions[id] = &serverSession{s: s, topK: k}
	r := newSessionResult{Session: id, TopK: k}
	if sz, ok := s.(interface{ Bytes() int64 }); ok {
		r.Bytes = sz.Bytes()
	}
	return r, nil
}

// lock returns the session with its mutex held.
func (cs *connState) lock(id uint64) (*serverSession, error) {
	cs.mu.Lock()
	ss := cs.sessions[id]
	cs.mu.Unlock()
	if ss == nil {
		return nil, fmt.Errorf("rpc: session %d: %w", id, engine.ErrClosed)
	}
	ss.mu.Lock()
	return ss, nil
}

func (cs *connState) closeAll() {
	cs.mu.Lock()
	cs.closed = true
	ss := cs.sessions
	cs.sessions = map[uint64]*serverSession{}
	cs.mu.Unlock()
	for _, s := range ss {
		s.mu.Lock()
		s.s.Close()
		s.mu.Unlock()
	}
}

func (ss *serverSession) prefill(ctx context.Context, p prefillParams) (prefillResult, error) {
	held := ss.s.Tokens()
	if p.Keep < 0 || p.Keep > len(held) {
		return prefillResult{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "rpc: prefill: keep %d of %d held tokens", p.Keep, len(held))
	}
	// The session's own slice must not be written: build the context in a
	// buffer of ours.
	ss.buf = append(append(ss.buf[:0], held[:p.Keep]...), p.Tokens...)
	reused, err := ss.s.Prefill(markBackground(ctx, p.Background), ss.buf)
	if err != nil {
		return prefillResult{}, err
	}
	return prefillResult{Reused: reused, Len: len(ss.s.Tokens())}, nil
}

func (ss *serverSession) denoise(ctx context.Context, p denoiseParams) (denoiseResult, error) {
	if p.N < 0 || p.From < 0 {
		return denoiseResult{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "rpc: denoise: from %d, n %d", p.From, p.N)
	}
	if p.From+p.N > len(p.Block) {
		return denoiseResult{}, fmt.Errorf("rpc: denoise: %d predictions from %d of a %d-token block: %w", p.N, p.From, len(p.Block), engine.ErrBlockSize)
	}
	if len(ss.preds) < p.N {
		ss.preds = engine.NewPredictions(p.N, ss.topK)
	}
	out := ss.preds[:p.N]
	if err := ss.s.Denoise(markBackground(ctx, p.Background), p.Block, p.From, out); err != nil {
		return denoiseResult{}, err
	}
	k := ss.topK
	r := denoiseResult{K: k, IDs: make([]int32, p.N*k), LogProbs: make([]float32, p.N*k), Entropy: make([]float32, p.N)}
	for i, pr := range out {
		for j := 0; j < k && j < len(pr.Candidates); j++ {
			r.IDs[i*k+j] = pr.Candidates[j].ID
			r.LogProbs[i*k+j] = pr.Candidates[j].LogProb
		}
		r.Entropy[i] = pr.Entropy
	}
	return r, nil
}

// markBackground gives ctx engine.WithBackground's mark when the call came
// with it. Nothing in the engine promotes it: a call keeps the mark it was
// sent with (see the background field in protocol.go).
func markBackground(ctx context.Context, background bool) context.Context {
	if !background {
		return ctx
	}
	bg, _ := engine.WithBackground(ctx)
	return bg
}
