package lsp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/unmask/unmask/completion"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

func (s *Server) initialize(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p initializeParams
	if err := decode(req, &p); err != nil {
		return reply(ctx, nil, err)
	}
	s.mu.Lock()
	if s.state != stateNew {
		s.mu.Unlock()
		return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidRequest, "unmask: initialize sent twice"))
	}
	cfg, cfgErr := s.cfg.merge(p.InitializationOptions)
	s.cfg = cfg
	// UTF-8 when offered (no conversion on our side), UTF-16 otherwise,
	// which every client supports.
	s.enc = completion.UTF16
	if slices.Contains(p.Capabilities.General.PositionEncodings, string(completion.UTF8)) {
		s.enc = completion.UTF8
	}
	s.workDoneProgress = p.Capabilities.Window.WorkDoneProgress
	s.state = stateInitialized
	enc := s.enc
	s.mu.Unlock()

	res := initializeResult{
		Capabilities: serverCapabilities{
			ServerCapabilities: protocol.ServerCapabilities{
				TextDocumentSync: &protocol.TextDocumentSyncOptions{
					OpenClose: true,
					Change:    protocol.TextDocumentSyncKindIncremental,
					Save:      &protocol.SaveOptions{},
				},
				CompletionProvider:     &protocol.CompletionOptions{},
				ExecuteCommandProvider: &protocol.ExecuteCommandOptions{Commands: []string{commandAccepted}},
			},
			PositionEncoding:         string(enc),
			InlineCompletionProvider: &inlineCompletionOptions{},
		},
		ServerInfo: &protocol.ServerInfo{Name: s.opts.Name, Version: s.opts.Version},
	}
	err := reply(ctx, res, nil)
	if cfgErr != nil {
		s.logMessage(protocol.MessageTypeWarning, "initializationOptions ignored: %v", cfgErr)
	}
	return err
}

// initialized starts loading the model in the background: the client can
// now answer window/workDoneProgress/create.
func (s *Server) initialized(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	s.loadModel(cfg)
	return reply(ctx, nil, nil)
}

func (s *Server) shutdown(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	s.mu.Lock()
	s.state = stateShutdown
	for _, c := range s.inflight {
		c()
	}
	s.mu.Unlock()
	return reply(ctx, nil, nil)
}

func (s *Server) handleExit(state int) {
	var err error
	if state != stateShutdown {
		err = ErrExitWithoutShutdown
	}
	select {
	case s.exit <- err:
	default:
	}
}

var progressSeq atomic.Int64

// retireAfter is how long a replaced model stays open for the requests
// that still use it; a completion is bounded by its time budget.
const retireAfter = 30 * time.Second

// loadModel starts loading the model cfg names in the background. Requests
// that arrive meanwhile wait up to Options.WaitForModel.
func (s *Server) loadModel(cfg Config) {
	st := &modelState{ready: make(chan struct{})}
	s.mu.Lock()
	old := s.model
	s.model = st
	progress := s.workDoneProgress
	s.mu.Unlock()
	if old != nil {
		// The old model goes once it has loaded and its last requests
		// are likely over (they hold it without a reference count).
		go func() {
			<-old.ready
			if old.engine != nil {
				time.AfterFunc(retireAfter, func() { old.engine.Close() })
			}
		}()
	}
	if s.opts.Load == nil {
		st.err = fmt.Errorf("lsp: no model loader")
		close(st.ready)
		return
	}
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer close(st.ready)
		ctx := context.Background()
		var token *protocol.ProgressToken
		if progress {
			token = protocol.NewProgressToken(fmt.Sprintf("unmask-load-%d", progressSeq.Add(1)))
			if _, err := s.conn.Call(ctx, protocol.MethodWorkDoneProgressCreate,
				&protocol.WorkDoneProgressCreateParams{Token: *token}, nil); err != nil {
				s.logf("workDoneProgress/create: %v", err)
				token = nil
			}
		}
		notify := func(v any) {
			if token != nil {
				_ = s.conn.Notify(ctx, protocol.MethodProgress, &protocol.ProgressParams{Token: *token, Value: v})
			}
		}
		name := cfg.Model
		if name == "" {
			name = "embedded default"
		}
		notify(&protocol.WorkDoneProgressBegin{Kind: protocol.WorkDoneProgressKindBegin,
			Title: "unmask: loading model", Message: name, Percentage: 0})
		f, err := s.opts.Load(ctx, cfg, func(pct uint32, msg string) {
			notify(&protocol.WorkDoneProgressReport{Kind: protocol.WorkDoneProgressKindReport,
				Message: msg, Percentage: pct})
		})
		st.engine, st.err = f, err
		end := "ready"
		if err != nil {
			end = "failed"
			s.logMessage(protocol.MessageTypeError, "loading model %s: %v", name, err)
		} else if len(f.Languages) > 0 {
			s.logf("model %s loaded; it completes %s (completion.Engine.Languages) unless the languages setting lists others", name, strings.Join(f.Languages, ", "))
		} else {
			s.logf("model %s loaded", name)
		}
		notify(&protocol.WorkDoneProgressEnd{Kind: protocol.WorkDoneProgressKindEnd, Message: end})
	}()
}
