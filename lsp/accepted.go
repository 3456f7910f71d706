package lsp

import (
	"context"
	"encoding/json"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// Acceptance: every item the server offers (ghost text and menu) carries
// the command commandAccepted, which LSP 3.18 clients execute after
// inserting an inline completion, and completion menus after inserting the
// item. The client sends it back as workspace/executeCommand; the server
// counts it (unmask/status: accepted, and how many of those were an
// alternative rather than the first answer). Nothing leaves the machine.
const commandAccepted = "unmask.accepted"

// acceptedArgs is the command's one argument: which of the items offered
// for one request was taken (0 the first answer, 1.. the alternatives in
// the order offered), and whether it came from the menu.
type acceptedArgs struct {
	Index int  `json:"index"`
	Menu  bool `json:"menu,omitempty"`
}

// acceptedCommand is the command attached to the index-th item offered.
func acceptedCommand(index int, menu bool) *protocol.Command {
	return &protocol.Command{Title: "unmask: accepted", Command: commandAccepted,
		Arguments: []any{acceptedArgs{Index: index, Menu: menu}}}
}

func (s *Server) executeCommand(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	var p protocol.ExecuteCommandParams
	if err := decode(req, &p); err != nil {
		return reply(ctx, nil, err)
	}
	if p.Command != commandAccepted {
		return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unmask: unknown command %q", p.Command))
	}
	var a acceptedArgs
	if len(p.Arguments) > 0 {
		// Arguments come back as the client decoded them: a map.
		raw, err := json.Marshal(p.Arguments[0])
		if err == nil {
			err = json.Unmarshal(raw, &a)
		}
		if err != nil || a.Index < 0 {
			return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unmask: %s: bad argument %v", commandAccepted, p.Arguments[0]))
		}
	}
	s.stats.accepted(a.Index)
	s.logf("accepted item %d (menu %v)", a.Index, a.Menu)
	return reply(ctx, nil, nil)
}
