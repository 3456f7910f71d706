package lsp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/unmask/unmask/completion"
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// answers says which setting decides how many different answers a
// request asks for.
type answers int

const (
	oneAnswer     answers = iota // typing: one
	inlineAnswers                // ghost text asked for explicitly: Config.Alternatives
	menuAnswers                  // the completion menu: Config.MenuAlternatives
)

// complete runs one completion request through package completion. It
// returns an empty result (not an error) when there is no completion: the
// language is off, the model isn't loaded, or the model wrote nothing
// usable. A position outside the document is InvalidParams.
func (s *Server) complete(ctx context.Context, key string, uri protocol.DocumentURI, pos protocol.Position, sel *SelectedCompletionInfo, alternatives answers) (completion.Result, error) {
	// Identical requests share one computation. A follower whose leader
	// was cancelled computes on its own.
	for {
		s.mu.Lock()
		f := s.flights[key]
		if f == nil {
			f = &flight{done: make(chan struct{})}
			s.flights[key] = f
			s.mu.Unlock()
			f.res, f.err = s.completeOnce(ctx, uri, pos, sel, alternatives)
			s.mu.Lock()
			delete(s.flights, key)
			s.mu.Unlock()
			close(f.done)
			return f.res, f.err
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return completion.Result{}, ctx.Err()
		case <-f.done:
		}
		if f.err == nil || !(errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
			return f.res, f.err
		}
	}
}

// A flight is a running completion that identical requests wait for.
type flight struct {
	done chan struct{}
	res  completion.Result
	err  error
}

// requestKey names what a completion request asks: the document at its
// version, the position, the selected item, and which answers are
// wanted (an explicit request must not get a typing request's single
// answer).
func (s *Server) requestKey(uri protocol.DocumentURI, pos protocol.Position, sel *SelectedCompletionInfo, alternatives answers) string {
	s.mu.Lock()
	v := s.versions[uri]
	s.mu.Unlock()
	key := fmt.Sprintf("%s\x00%d\x00%d:%d", uri, v, pos.Line, pos.Character)
	if sel != nil {
		key += fmt.Sprintf("\x00%d:%d-%d:%d\x00%s", sel.Range.Start.Line, sel.Range.Start.Character, sel.Range.End.Line, sel.Range.End.Character, sel.Text)
	}
	if alternatives != oneAnswer {
		key += fmt.Sprintf("\x00answers %d", alternatives)
	}
	return key
}

func (s *Server) completeOnce(ctx context.Context, uri protocol.DocumentURI, pos protocol.Position, sel *SelectedCompletionInfo, alternatives answers) (completion.Result, error) {
	s.mu.Lock()
	d := s.docs[uri]
	cfg, enc, model := s.cfg, s.enc, s.model
	var open []*completion.Document
	if d != nil {
		s.touchLocked(uri)
		open = s.openLocked()
	}
	s.mu.Unlock()
	if d == nil {
		return completion.Result{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unmask: document %s is not open", uri)
	}
	if !cfg.enabled(d.LanguageID) {
		return completion.Result{}, nil
	}
	eng := s.waitModel(ctx, model)
	if eng == nil {
		return completion.Result{}, nil
	}
	req := completion.Request{Doc: d, Position: position(pos), Encoding: enc, Settings: cfg.settings(), Open: open}
	switch alternatives {
	case inlineAnswers:
		req.Settings.Alternatives = cfg.Alternatives
	case menuAnswers:
		req.Settings.Alternatives = cfg.MenuAlternatives
	}
	if sel != nil {
		req.Selected = &completion.Selected{
			Range: completion.Range{Start: position(sel.Range.Start), End: position(sel.Range.End)},
			Text:  sel.Text,
		}
	}
	start := time.Now()
	res, err := eng.Complete(ctx, req)
	switch {
	case ctx.Err() != nil:
		return completion.Result{}, ctx.Err()
	case errors.Is(err, completion.ErrPosition):
		return completion.Result{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unmask: %v", err)
	case errors.Is(err, completion.ErrLanguage):
		// Not a failure: said once per language and model, as a warning
		// so that clients which log only warnings (Neovim) show it.
		s.mu.Lock()
		tell := !model.told[d.LanguageID]
		if model.told == nil {
			model.told = map[string]bool{}
		}
		model.told[d.LanguageID] = true
		s.mu.Unlock()
		if tell {
			s.logMessage(protocol.MessageTypeWarning, "%v: no completions in %s documents; the setting \"languages\" lists the languages to complete whatever the model knows", err, d.LanguageID)
		}
		return completion.Result{}, nil
	case err != nil:
		s.stats.failed()
		s.logMessage(protocol.MessageTypeError, "completion: %v", err)
		return completion.Result{}, nil
	}
	s.stats.completed(time.Since(start), req, res)
	s.logf("completion %s %d:%d: %d forwards, %d tokens, context %d (%d reused), prefill %v, denoise %v, stop %s, cached %v, body %v: %q (+%d more in %d forwards, cached %v) in %v",
		uri, pos.Line, pos.Character, res.Fill.Forwards, res.Fill.Tokens, res.Fill.ContextTokens, res.Fill.Reused,
		res.Fill.Prefill, res.Fill.Denoise, res.Fill.Stop, res.Fill.Cached, res.Body, res.Text, len(res.More), res.MoreForwards, res.MoreCached, time.Since(start))
	return res, nil
}

// waitModel returns the loaded model, waiting up to Options.WaitForModel
// while it loads; nil when there is none.
func (s *Server) waitModel(ctx context.Context, m *modelState) *completion.Engine {
	if m == nil {
		return nil
	}
	t := time.NewTimer(s.opts.WaitForModel)
	defer t.Stop()
	select {
	case <-m.ready:
		return m.engine
	case <-t.C:
		return nil
	case <-ctx.Done():
		return nil
	}
}

// touchLocked records that the user works in uri now.
func (s *Server) touchLocked(uri protocol.DocumentURI) {
	s.clock++
	s.used[uri] = s.clock
}

// openLocked returns the open documents, most recently used first: the
// context lookup searches the first few in the request's language
// (completion.Request.Open, which skips the request's own document and
// other languages).
func (s *Server) openLocked() []*completion.Document {
	open := make([]*completion.Document, 0, len(s.docs))
	for _, o := range s.docs {
		open = append(open, o)
	}
	slices.SortFunc(open, func(a, b *completion.Document) int {
		return cmp.Compare(s.used[protocol.DocumentURI(b.URI)], s.used[protocol.DocumentURI(a.URI)])
	})
	return open
}
