package lsp

import (
	"context"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// didChangeConfiguration merges the new settings; a change of model or
// device reloads the model in the background.
func (s *Server) didChangeConfiguration(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p struct {
		Settings any `json:"settings"`
	}
	if err := decode(req, &p); err != nil {
		s.logMessage(protocol.MessageTypeError, "%v", err)
		return reply(ctx, nil, nil)
	}
	s.mu.Lock()
	old := s.cfg
	next, err := old.merge(p.Settings)
	s.cfg = next
	s.mu.Unlock()
	if err != nil {
		s.logMessage(protocol.MessageTypeError, "configuration ignored: %v", err)
		return reply(ctx, nil, nil)
	}
	if old.modelChanged(next) {
		s.loadModel(next)
	}
	return reply(ctx, nil, nil)
}
