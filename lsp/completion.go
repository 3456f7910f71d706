package lsp

import (
	"context"
	"strings"

	"github.com/unmask/unmask/completion"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

func (s *Server) completion(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p protocol.CompletionParams
	if err := decode(req, &p); err != nil {
		return reply(ctx, nil, err)
	}
	key := s.requestKey(p.TextDocument.URI, p.Position, nil, false)
	return s.async(ctx, reply, req, p.TextDocument.URI, key, func(ctx context.Context) (any, error) {
		res, err := s.complete(ctx, key, p.TextDocument.URI, p.Position, nil, false)
		if err != nil {
			return nil, err
		}
		// Incomplete: the client asks again as the user types, instead of
		// filtering a stale answer.
		list := &protocol.CompletionList{IsIncomplete: true, Items: []protocol.CompletionItem{}}
		if res.Text != "" {
			list.Items = append(list.Items, completionItem(res))
		}
		return list, nil
	})
}

// completionItem presents a completion as a menu item: the first line as
// label, the whole text in the documentation, inserted by a text edit.
func completionItem(res completion.Result) protocol.CompletionItem {
	label := res.Text
	for i, c := range label {
		if c == '\n' {
			label = label[:i] + " …"
			break
		}
	}
	return protocol.CompletionItem{
		Label:      label,
		Kind:       protocol.CompletionItemKindText,
		Detail:     "unmask",
		FilterText: res.Window.LinePrefix[len(res.Window.LinePrefix)-len(trailingWord(res.Window.LinePrefix)):] + res.Text,
		Documentation: &protocol.MarkupContent{
			Kind:  protocol.Markdown,
			Value: codeBlock(res.Text, res.Language),
		},
		InsertTextFormat: protocol.InsertTextFormatPlainText,
		TextEdit:         &protocol.TextEdit{Range: protocolRange(res.Range), NewText: res.Text},
		SortText:         "0",
		Preselect:        true,
	}
}

// codeBlock fences text as Markdown code in language lang, with a fence
// longer than any run of backticks in text.
func codeBlock(text, lang string) string {
	run, longest := 0, 0
	for _, c := range text {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + lang + "\n" + text + "\n" + fence
}

// trailingWord returns the identifier characters at the end of s: clients
// filter items against the word before the cursor.
func trailingWord(s string) string {
	i := len(s)
	for i > 0 {
		c := s[i-1]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			i--
			continue
		}
		break
	}
	return s[i:]
}
