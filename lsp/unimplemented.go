package lsp

import (
	"context"
	"strings"

	"go.lsp.dev/jsonrpc2"
)

// unimplemented answers every method the server does not serve: requests
// get MethodNotFound; notifications are dropped ("$/" ones are optional by
// the specification; others are logged).
func (s *Server) unimplemented(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	if _, ok := req.(*jsonrpc2.Call); !ok {
		if !strings.HasPrefix(req.Method(), "$/") {
			s.logf("ignored notification %s", req.Method())
		}
		return reply(ctx, nil, nil)
	}
	return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "unmask: method not found: %s", req.Method()))
}
