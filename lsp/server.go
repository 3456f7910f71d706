// Package lsp is unmask's language server: JSON-RPC over stdio
// (go.lsp.dev/jsonrpc2 v0.10, types from go.lsp.dev/protocol v0.12 plus the
// LSP 3.17/3.18 ones it lacks), the open documents, cancellation,
// configuration, progress and status. A completion request is handed to
// package completion; this package knows nothing of tokens or tensors.
//
// Concurrency: the connection's read loop applies notifications in order
// (edits, cancels, configuration); completion requests run in their own
// goroutines with their own cancel functions, so a slow completion never
// delays an edit or a cancel. A newer completion request for a document
// cancels the older one. Every request is answered exactly once: a
// cancelled one with RequestCancelled (-32800).
package lsp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/segmentio/encoding/json"
	"github.com/unmask/unmask/completion"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// Options configure a server.
type Options struct {
	Name, Version string
	// Config is the configuration before the client's initializationOptions;
	// zero means DefaultConfig.
	Config Config
	// Load loads the model cfg names and returns the completion engine
	// over it. It runs in the background after the client's `initialized`,
	// and again when the model settings change; progress reports loading in
	// percent. Nil: no model, every completion is empty.
	Load func(ctx context.Context, cfg Config, progress func(percent uint32, message string)) (*completion.Engine, error)
	// Logf writes the server's own log (the --log file); nil discards it.
	Logf func(format string, args ...any)
	// WaitForModel is how long a completion request that arrives while the
	// model loads waits for it before answering empty; 0 means 2 s.
	WaitForModel time.Duration
}

// ErrExitWithoutShutdown reports an `exit` notification that came before
// `shutdown` (the process should exit with code 1).
var ErrExitWithoutShutdown = errors.New("lsp: exit without shutdown")

// Server states.
const (
	stateNew = iota
	stateInitialized
	stateShutdown
)

// A Server serves one client connection.
type Server struct {
	opts Options
	conn jsonrpc2.Conn
	exit chan error // receives once, on `exit`

	mu               sync.Mutex
	state            int
	enc              completion.Encoding
	workDoneProgress bool
	cfg              Config
	docs             map[protocol.DocumentURI]*completion.Document
	inflight         map[jsonrpc2.ID]context.CancelFunc
	latest           map[protocol.DocumentURI]latestRequest // newest completion request per document
	versions         map[protocol.DocumentURI]int32         // as the client last sent them
	used             map[protocol.DocumentURI]uint64        // when each document was last opened, edited or completed in (a counter)
	clock            uint64                                 // the last value in used
	flights          map[string]*flight                     // running completions by requestKey
	model            *modelState

	stats stats
	bg    sync.WaitGroup // background work (model loads), for tests
}

// A modelState is one model load: ready closes when it ends.
type modelState struct {
	ready  chan struct{}
	engine *completion.Engine
	err    error
	told   map[string]bool // languageIds whose completion.ErrLanguage was logged (guarded by Server.mu)
}

// Serve runs a server on r and w until the client sends `exit`, the
// stream ends, or ctx is done. It returns nil after shutdown and exit.
func Serve(ctx context.Context, r io.Reader, w io.WriteCloser, opts Options) error {
	if opts.WaitForModel == 0 {
		opts.WaitForModel = 2 * time.Second
	}
	if opts.Config.MaxTokens == 0 {
		opts.Config = DefaultConfig()
	}
	s := &Server{
		opts:     opts,
		exit:     make(chan error, 1),
		enc:      completion.UTF16,
		cfg:      opts.Config,
		docs:     map[protocol.DocumentURI]*completion.Document{},
		inflight: map[jsonrpc2.ID]context.CancelFunc{},
		latest:   map[protocol.DocumentURI]latestRequest{},
		versions: map[protocol.DocumentURI]int32{},
		used:     map[protocol.DocumentURI]uint64{},
		flights:  map[string]*flight{},
	}
	s.stats.init()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.conn = jsonrpc2.NewConn(newStream(r, w))
	s.conn.Go(ctx, s.handle)
	var err error
	select {
	case err = <-s.exit:
	case <-s.conn.Done():
		err = s.conn.Err()
		if errors.Is(err, io.EOF) || err == nil {
			err = errors.New("lsp: client closed the connection without exit")
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	cancel()
	s.closeAll()
	return err
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// logMessage shows a problem to the user (window/logMessage) and logs it.
func (s *Server) logMessage(typ protocol.MessageType, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.logf("%s: %s", typ, msg)
	_ = s.conn.Notify(context.Background(), protocol.MethodWindowLogMessage,
		&protocol.LogMessageParams{Type: typ, Message: msg})
}

// handle is the connection's handler. It runs on the read loop: it must
// not block on a completion. It always returns nil; a non-nil error would
// close the connection.
func (s *Server) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	reply = s.once(reply, req)
	defer func() {
		if p := recover(); p != nil {
			s.logMessage(protocol.MessageTypeError, "internal error in %s: %v", req.Method(), p)
			s.logf("%s", debug.Stack())
			_ = reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "unmask: internal error in %s: %v", req.Method(), p))
		}
	}()
	method := req.Method()
	s.stats.request(method)
	_, isCall := req.(*jsonrpc2.Call)

	s.mu.Lock()
	state := s.state
	s.mu.Unlock()
	switch {
	case method == protocol.MethodExit:
		s.handleExit(state)
		return nil
	case method == protocol.MethodCancelRequest:
		return s.cancelRequest(ctx, reply, req)
	case state == stateNew && method != protocol.MethodInitialize:
		if isCall {
			return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.ServerNotInitialized, "unmask: server not initialized"))
		}
		return nil // notifications before initialize are dropped
	case state == stateShutdown:
		if isCall {
			return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "unmask: server is shutting down"))
		}
		return nil
	}
	h, ok := handlers[method]
	if !ok {
		return s.unimplemented(ctx, reply, req)
	}
	return h(s, ctx, reply, req)
}

// A handler serves one method; handlers is the table handle switches on.
type handler func(s *Server, ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error

var handlers map[string]handler

func init() {
	handlers = map[string]handler{
		protocol.MethodInitialize:                      (*Server).initialize,
		protocol.MethodInitialized:                     (*Server).initialized,
		protocol.MethodShutdown:                        (*Server).shutdown,
		protocol.MethodTextDocumentDidOpen:             (*Server).didOpen,
		protocol.MethodTextDocumentDidChange:           (*Server).didChange,
		protocol.MethodTextDocumentDidClose:            (*Server).didClose,
		protocol.MethodTextDocumentDidSave:             (*Server).didSave,
		protocol.MethodWorkspaceDidChangeConfiguration: (*Server).didChangeConfiguration,
		protocol.MethodTextDocumentCompletion:          (*Server).completion,
		methodInlineCompletion:                         (*Server).inlineCompletion,
		methodStatus:                                   (*Server).status,
		protocol.MethodWorkspaceExecuteCommand:         (*Server).executeCommand,
	}
}

// once wraps reply so that a request is answered exactly once: a second
// reply is dropped and logged (a bug), never sent.
func (s *Server) once(reply jsonrpc2.Replier, req jsonrpc2.Request) jsonrpc2.Replier {
	var done sync.Once
	return func(ctx context.Context, result any, err error) error {
		sent := false
		var werr error
		done.Do(func() {
			sent = true
			werr = reply(ctx, result, err)
		})
		if !sent {
			s.logf("bug: %s answered twice", req.Method())
		}
		return werr
	}
}

// decode decodes params into v, answering InvalidParams on failure.
func decode(req jsonrpc2.Request, v any) error {
	if len(req.Params()) == 0 {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unmask: %s: missing params", req.Method())
	}
	if err := json.Unmarshal(req.Params(), v); err != nil {
		return jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unmask: %s: %v", req.Method(), err)
	}
	return nil
}

// A latestRequest is a document's newest completion request.
type latestRequest struct {
	id  jsonrpc2.ID
	key string // requestKey
}

// async runs fn in its own goroutine with its own cancel function and
// answers its result. doc, when set, makes this the document's newest
// completion and cancels the previous one, unless that one asks the same
// (key: a client asking for completion items and ghost text at once), in
// which case both share one computation (see complete).
func (s *Server) async(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request, doc protocol.DocumentURI, key string, fn func(ctx context.Context) (any, error)) error {
	call, ok := req.(*jsonrpc2.Call)
	if !ok {
		return nil // a notification to a request method: nothing to answer
	}
	id := call.ID()
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	if prev, ok := s.inflight[id]; ok {
		prev() // a client reusing an id: the old one can no longer be cancelled by id
	}
	s.inflight[id] = cancel
	if doc != "" {
		if prev, ok := s.latest[doc]; ok && prev.id != id && prev.key != key {
			if c := s.inflight[prev.id]; c != nil {
				c()
			}
		}
		s.latest[doc] = latestRequest{id, key}
	}
	s.mu.Unlock()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				s.logMessage(protocol.MessageTypeError, "internal error in %s: %v", req.Method(), p)
				s.logf("%s", debug.Stack())
				_ = reply(context.Background(), nil, jsonrpc2.Errorf(jsonrpc2.InternalError, "unmask: internal error in %s: %v", req.Method(), p))
			}
			s.mu.Lock()
			delete(s.inflight, id)
			if doc != "" && s.latest[doc].id == id {
				delete(s.latest, doc)
			}
			s.mu.Unlock()
			cancel()
		}()
		res, err := fn(ctx)
		if ctx.Err() != nil {
			s.stats.cancelled()
			_ = reply(context.Background(), nil, protocol.ErrRequestCancelled)
			return
		}
		_ = reply(context.Background(), res, err)
	}()
	return nil
}

// cancelRequest handles $/cancelRequest for numeric and string ids.
func (s *Server) cancelRequest(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p cancelParams
	if err := decode(req, &p); err != nil {
		s.logf("$/cancelRequest: %v", err)
		return reply(ctx, nil, err)
	}
	s.mu.Lock()
	cancel := s.inflight[p.ID]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	return reply(ctx, nil, nil) // a notification: nothing is sent
}

// closeAll cancels running requests, closes documents and, when it is
// loaded and no request still runs, the model.
func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.inflight {
		c()
	}
	for uri, d := range s.docs {
		d.Close()
		delete(s.docs, uri)
	}
	if m := s.model; m != nil && len(s.inflight) == 0 {
		select {
		case <-m.ready:
			if m.engine != nil {
				m.engine.Close()
			}
		default:
		}
	}
}
