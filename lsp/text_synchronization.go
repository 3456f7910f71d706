package lsp

import (
	"context"
	"errors"

	"github.com/unmask/unmask/completion"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// The didX notifications run on the read loop, in order. Problems are
// reported with window/logMessage: a notification has no answer.

func (s *Server) didOpen(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p protocol.DidOpenTextDocumentParams
	if err := decode(req, &p); err != nil {
		s.logMessage(protocol.MessageTypeError, "%v", err)
		return reply(ctx, nil, nil)
	}
	d := completion.NewDocument(string(p.TextDocument.URI), string(p.TextDocument.LanguageID),
		p.TextDocument.Version, p.TextDocument.Text)
	s.mu.Lock()
	if old := s.docs[p.TextDocument.URI]; old != nil {
		old.Close()
	}
	s.docs[p.TextDocument.URI] = d
	s.versions[p.TextDocument.URI] = p.TextDocument.Version
	s.touchLocked(p.TextDocument.URI)
	s.mu.Unlock()
	return reply(ctx, nil, nil)
}

func (s *Server) didChange(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p didChangeParams
	if err := decode(req, &p); err != nil {
		s.logMessage(protocol.MessageTypeError, "%v", err)
		return reply(ctx, nil, nil)
	}
	s.mu.Lock()
	d := s.docs[p.TextDocument.URI]
	enc := s.enc
	s.mu.Unlock()
	if d == nil {
		s.logMessage(protocol.MessageTypeWarning, "didChange for %s, which is not open", p.TextDocument.URI)
		return reply(ctx, nil, nil)
	}
	changes := make([]completion.Change, len(p.ContentChanges))
	for i, c := range p.ContentChanges {
		changes[i].Text = c.Text
		if c.Range != nil {
			changes[i].Range = &completion.Range{Start: position(c.Range.Start), End: position(c.Range.End)}
		}
	}
	err := d.Apply(p.TextDocument.Version, changes, enc)
	switch {
	case errors.Is(err, completion.ErrHeld) && !errors.Is(err, completion.ErrDropped):
		// Most likely a notification that overtook its predecessor
		// (Helix sends them from separate tasks): log it quietly.
		s.logf("didChange: %v", err)
	case err != nil:
		// The document no longer matches the client's; say so loudly.
		s.logMessage(protocol.MessageTypeError, "%v (the server's copy may differ from the editor's; reopen the file)", err)
	}
	s.mu.Lock()
	if s.docs[p.TextDocument.URI] == d {
		s.versions[p.TextDocument.URI] = d.Version()
		s.touchLocked(p.TextDocument.URI)
	}
	s.mu.Unlock()
	return reply(ctx, nil, nil)
}

func (s *Server) didClose(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p protocol.DidCloseTextDocumentParams
	if err := decode(req, &p); err != nil {
		s.logMessage(protocol.MessageTypeError, "%v", err)
		return reply(ctx, nil, nil)
	}
	s.mu.Lock()
	d := s.docs[p.TextDocument.URI]
	delete(s.docs, p.TextDocument.URI)
	delete(s.versions, p.TextDocument.URI)
	delete(s.used, p.TextDocument.URI)
	if l, ok := s.latest[p.TextDocument.URI]; ok {
		if c := s.inflight[l.id]; c != nil {
			c()
		}
	}
	m := s.model
	s.mu.Unlock()
	if d != nil {
		d.Close()
	}
	if m != nil {
		select {
		case <-m.ready:
			if m.engine != nil {
				m.engine.Forget(string(p.TextDocument.URI))
			}
		default:
		}
	}
	return reply(ctx, nil, nil)
}

// didSave needs nothing: the text is synced by didChange (save is
// advertised without includeText).
func (s *Server) didSave(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	return reply(ctx, nil, nil)
}

// position converts a protocol position; the encoding is the one
// negotiated at initialize.
func position(p protocol.Position) completion.Position {
	return completion.Position{Line: p.Line, Character: p.Character}
}

func protocolRange(r completion.Range) protocol.Range {
	return protocol.Range{
		Start: protocol.Position{Line: r.Start.Line, Character: r.Start.Character},
		End:   protocol.Position{Line: r.End.Line, Character: r.End.Character},
	}
}
