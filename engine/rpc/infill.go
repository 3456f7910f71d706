package rpc

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/unmask/unmask/engine"
	"go.lsp.dev/jsonrpc2"
)

// Whole infill requests: besides the step-level session calls, an engine
// that holds a tokenizer can decode a whole fill-in-the-middle request
// itself, streaming partial spans as notifications. One request then costs
// one round trip instead of one per denoising step. The decoder lives above
// this package (package infill); the engine command wires it in as an
// InfillFunc, so this package depends only on the engine contract.
const (
	methodInfill  = "engine/infill"  // infillParams → InfillResult
	methodPartial = "engine/partial" // partialParams, engine → client notification
)

// An InfillRequest is one fill-in-the-middle request.
type InfillRequest struct {
	Prefix string `json:"prefix"`
	Suffix string `json:"suffix"`
	// Wider text for the context lookup (infill.Request's fields of the
	// same names); absent: Prefix and Suffix.
	LookupPrefix string          `json:"lookupPrefix,omitempty"`
	LookupSuffix string          `json:"lookupSuffix,omitempty"`
	LookupOthers []string        `json:"lookupOthers,omitempty"`
	Settings     json.RawMessage `json:"settings,omitempty"` // infill.Settings as JSON; absent = the decoder's defaults
}

// An InfillPartial is the state of a request after a denoising step.
type InfillPartial struct {
	Text      string `json:"text"` // committed text so far, valid UTF-8
	Step      int    `json:"step"`
	Committed int    `json:"committed"`
	Masked    int    `json:"masked"`
}

// An InfillResult is a finished request.
type InfillResult struct {
	Text  string          `json:"text"`
	Stop  string          `json:"stop"`            // "eos" | "max_tokens" | "budget" | "line"
	Stats json.RawMessage `json:"stats,omitempty"` // infill.Stats as JSON
}

// An InfillFunc decodes one request, calling onStep after every step. A
// cancelled ctx must end it with an error.
type InfillFunc func(ctx context.Context, req InfillRequest, onStep func(InfillPartial)) (InfillResult, error)

type infillParams struct {
	InfillRequest
	Stream     string `json:"stream"`               // names the request's partial notifications
	Background bool   `json:"background,omitempty"` // engine.Background of the call, as for prefill and denoise
}

type partialParams struct {
	Stream string `json:"stream"`
	InfillPartial
}

// SetInfill makes the server answer whole infill requests with fn. Without
// it they get an error.
func (s *Server) SetInfill(fn InfillFunc) { s.infill = fn }

func (cs *connState) infill(ctx context.Context, conn jsonrpc2.Conn, p infillParams) (InfillResult, error) {
	fn := cs.srv.infill
	if fn == nil {
		return InfillResult{}, jsonrpc2.Errorf(jsonrpc2.MethodNotFound, "rpc: this engine serves no whole infill requests (no tokenizer loaded)")
	}
	onStep := func(pt InfillPartial) {
		// Partials are written in order, before the reply, on the same
		// stream; a failed write only loses a partial.
		_ = conn.Notify(ctx, methodPartial, partialParams{Stream: p.Stream, InfillPartial: pt})
	}
	return fn(markBackground(ctx, p.Background), p.InfillRequest, onStep)
}

// streams routes partial notifications to the Infill call waiting for them.
type streams struct {
	mu   sync.Mutex
	next uint64
	fns  map[string]func(InfillPartial)
}

func (s *streams) add(fn func(InfillPartial)) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = map[string]func(InfillPartial){}
	}
	s.next++
	id := strconv.FormatUint(s.next, 10)
	s.fns[id] = fn
	return id
}

func (s *streams) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.fns, id)
}

func (s *streams) get(id string) func(InfillPartial) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fns[id]
}

// handle is the client connection's handler: the engine sends only partial
// notifications.
func (c *Client) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	if req.Method() == methodPartial {
		var p partialParams
		if err := json.Unmarshal(req.Params(), &p); err == nil {
			if fn := c.streams.get(p.Stream); fn != nil {
				fn(p.InfillPartial)
			}
		}
		return nil
	}
	return jsonrpc2.MethodNotFoundHandler(ctx, reply, req)
}

// Infill asks the engine to decode a whole request; the engine decodes it
// in the background when ctx carries engine.WithBackground's mark (then
// all its steps do: a promote does not reach a request under way).
// onPartial, when not nil, is called with each step's partial span, in
// order, before Infill returns; it runs on the connection's read loop, so
// it must not block. Cancelling ctx cancels the request in the engine.
func (c *Client) Infill(ctx context.Context, req InfillRequest, onPartial func(InfillPartial)) (InfillResult, error) {
	p := infillParams{InfillRequest: req, Background: engine.Background(ctx)}
	if onPartial != nil {
		p.Stream = c.streams.add(onPartial)
		defer c.streams.remove(p.Stream)
	}
	var r InfillResult
	if err := c.call(ctx, methodInfill, p, &r); err != nil {
		return InfillResult{}, err
	}
	return r, nil
}
