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
	// Asked for explicitly (the editor's next/previous suggestion, or its
	// trigger command), it offers alternatives to cycle through.
	alt := oneAnswer
	if p.Context.TriggerKind == InlineCompletionInvoked {
		alt = inlineAnswers
	}
	key := s.requestKey(p.TextDocument.URI, p.Position, p.Context.SelectedCompletionInfo, alt)
	return s.async(ctx, reply, req, p.TextDocument.URI, key, func(ctx context.Context) (any, error) {
		res, err := s.complete(ctx, key, p.TextDocument.URI, p.Position, p.Context.SelectedCompletionInfo, alt)
		if err != nil {
			return nil, err
		}
		list := InlineCompletionList{Items: []InlineCompletionItem{}}
		r := protocolRange(res.Range)
		for _, text := range append([]string{res.Text}, res.More...) {
			if text != "" {
				list.Items = append(list.Items, InlineCompletionItem{InsertText: text, Range: &r,
					Command: acceptedCommand(len(list.Items), false)})
			}
		}
		return list, nil
	})
}
