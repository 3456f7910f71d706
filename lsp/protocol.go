package lsp

import (
	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
)

// LSP 3.17/3.18 types that go.lsp.dev/protocol v0.12.0 (LSP 3.16) lacks,
// and our own decodings of types whose v0.12 shape loses information.

// serverCapabilities adds the 3.17 positionEncoding and the 3.18
// inlineCompletionProvider to v0.12's capabilities; embedding flattens
// them into one JSON object.
type serverCapabilities struct {
	protocol.ServerCapabilities
	PositionEncoding         string                   `json:"positionEncoding,omitempty"`
	InlineCompletionProvider *inlineCompletionOptions `json:"inlineCompletionProvider,omitempty"`
}

type inlineCompletionOptions struct {
	WorkDoneProgress bool `json:"workDoneProgress,omitempty"`
}

type initializeResult struct {
	Capabilities serverCapabilities   `json:"capabilities"`
	ServerInfo   *protocol.ServerInfo `json:"serverInfo,omitempty"`
}

// initializeParams is the part of InitializeParams the server reads.
type initializeParams struct {
	ProcessID             *int32 `json:"processId"`
	InitializationOptions any    `json:"initializationOptions"`
	Capabilities          struct {
		General struct {
			PositionEncodings []string `json:"positionEncodings"`
		} `json:"general"`
		Window struct {
			WorkDoneProgress bool `json:"workDoneProgress"`
		} `json:"window"`
	} `json:"capabilities"`
	ClientInfo *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"clientInfo"`
}

// didChangeParams decodes contentChanges with a *Range: in v0.12 Range is
// a value, so a whole-document change (no range) is indistinguishable from
// an insert at 0:0.
type didChangeParams struct {
	TextDocument struct {
		URI     protocol.DocumentURI `json:"uri"`
		Version int32                `json:"version"`
	} `json:"textDocument"`
	ContentChanges []struct {
		Range *protocol.Range `json:"range"`
		Text  string          `json:"text"`
	} `json:"contentChanges"`
}

// InlineCompletionParams are the parameters of textDocument/inlineCompletion
// (LSP 3.18).
type InlineCompletionParams struct {
	protocol.TextDocumentPositionParams
	protocol.WorkDoneProgressParams
	Context InlineCompletionContext `json:"context"`
}

// InlineCompletionTriggerKind says why an inline completion was asked for.
type InlineCompletionTriggerKind int

const (
	InlineCompletionInvoked   InlineCompletionTriggerKind = 1
	InlineCompletionAutomatic InlineCompletionTriggerKind = 2
)

// InlineCompletionContext is the context of an inline completion request.
type InlineCompletionContext struct {
	TriggerKind            InlineCompletionTriggerKind `json:"triggerKind"`
	SelectedCompletionInfo *SelectedCompletionInfo     `json:"selectedCompletionInfo,omitempty"`
}

// SelectedCompletionInfo describes the item selected in the completion menu:
// inline items must extend its text and use its range.
type SelectedCompletionInfo struct {
	Range protocol.Range `json:"range"`
	Text  string         `json:"text"`
}

// InlineCompletionList is the answer to textDocument/inlineCompletion.
type InlineCompletionList struct {
	Items []InlineCompletionItem `json:"items"`
}

// InlineCompletionItem is one ghost-text suggestion.
type InlineCompletionItem struct {
	InsertText string            `json:"insertText"`
	FilterText string            `json:"filterText,omitempty"`
	Range      *protocol.Range   `json:"range,omitempty"`
	Command    *protocol.Command `json:"command,omitempty"`
}

// cancelParams decodes $/cancelRequest with a jsonrpc2 ID, which reads
// numbers and strings alike (v0.12's CancelParams.ID is interface{} and its
// handler drops numeric ids).
type cancelParams struct {
	ID jsonrpc2.ID `json:"id"`
}
