package lsp

import (
	"context"
	"strconv"
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
	// Helix, the client this is for, sends triggerKind Invoked for the
	// menu it opens while typing too, so the kind cannot tell an explicit
	// request: the menu has a setting of its own, MenuAlternatives.
	// With one answer (the default) it shares its computation with
	// typing's ghost text at the same place.
	alt := oneAnswer
	s.mu.Lock()
	if s.cfg.MenuAlternatives > 1 {
		alt = menuAnswers
	}
	s.mu.Unlock()
	key := s.requestKey(p.TextDocument.URI, p.Position, nil, alt)
	return s.async(ctx, reply, req, p.TextDocument.URI, key, func(ctx context.Context) (any, error) {
		res, err := s.complete(ctx, key, p.TextDocument.URI, p.Position, nil, alt)
		if err != nil {
			return nil, err
		}
		// Incomplete: the client asks again as the user types, instead of
		// filtering a stale answer.
		list := &protocol.CompletionList{IsIncomplete: true, Items: []protocol.CompletionItem{}}
		for i, text := range append([]string{res.Text}, res.More...) {
			if text != "" {
				it := completionItem(res, text, i)
				it.Command = acceptedCommand(len(list.Items), true)
				list.Items = append(list.Items, it)
			}
		}
		return list, nil
	})
}

// completionItem presents text, res's answer or its i-th alternative (i
// > 0), as a menu item: the first line as label, the whole text in the
// documentation, inserted by a text edit; the first answer sorts first
// and is preselected.
func completionItem(res completion.Result, text string, i int) protocol.CompletionItem {
	label := text
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
		FilterText: res.Window.LinePrefix[len(res.Window.LinePrefix)-len(trailingWord(res.Window.LinePrefix)):] + text,
		Documentation: &protocol.MarkupContent{
			Kind:  protocol.Markdown,
			Value: codeBlock(text, res.Language),
		},
		InsertTextFormat: protocol.InsertTextFormatPlainText,
		TextEdit:         &protocol.TextEdit{Range: protocolRange(res.Range), NewText: text},
		SortText:         strconv.Itoa(i),
		Preselect:        i == 0,
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
