package lsp

import (
	"context"

	"go.lsp.dev/jsonrpc2"
)

const methodInlineCompletion = "textDocument/inlineCompletion"

func (s *Server) inlineCompletion(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p InlineCompletionParams
	if err := decode(req, &p); err != nil {
		return reply(ctx, nil, err)
	}
	key := s.requestKey(p.TextDocument.URI, p.Position, p.Context.SelectedCompletionInfo)
	return s.async(ctx, reply, req, p.TextDocument.URI, key, func(ctx context.Context) (any, error) {
		res, err := s.complete(ctx, key, p.TextDocument.URI, p.Position, p.Context.SelectedCompletionInfo)
		if err != nil {
			return nil, err
		}
		list := InlineCompletionList{Items: []InlineCompletionItem{}}
		if res.Text != "" {
			r := protocolRange(res.Range)
			list.Items = append(list.Items, InlineCompletionItem{InsertText: res.Text, Range: &r})
		}
		return list, nil
	})
}
