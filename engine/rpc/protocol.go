package rpc

import (
	"errors"
	"fmt"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/unmask/unmask/engine"
)

// Methods of the engine protocol. Every call but engine/info names a
// session; sessions belong to the connection that opened them and close
// with it.
const (
	methodInfo       = "engine/info"       // → engine.Info
	methodNewSession = "engine/newSession" // newSessionParams → newSessionResult
	methodTokens     = "session/tokens"    // sessionParams → []int32
	methodPrefill    = "session/prefill"   // prefillParams → prefillResult
	methodDenoise    = "session/denoise"   // denoiseParams → denoiseResult
	methodTruncate   = "session/truncate"  // truncateParams → null
	methodClose      = "session/close"     // sessionParams → null
	methodCancel     = "$/cancelRequest"   // cancelParams (notification)
)

type newSessionParams struct {
	TopK       int `json:"topK"`
	MaxContext int `json:"maxContext"`
	MaxBlock   int `json:"maxBlock"`
}

type newSessionResult struct {
	Session uint64 `json:"session"`
	TopK    int    `json:"topK"`            // resolved: candidates per position
	Bytes   int64  `json:"bytes,omitempty"` // memory the session holds in the engine, when it says
}

type sessionParams struct {
	Session uint64 `json:"session"`
}

// prefillParams carries the new context as the first Keep tokens the session
// already holds followed by Tokens, so typing sends only what it appended.
// Keep is 0 when the client does not know what the session holds.
type prefillParams struct {
	Session    uint64  `json:"session"`
	Keep       int     `json:"keep"`
	Tokens     []int32 `json:"tokens"`
	Background bool    `json:"background,omitempty"` // engine.Background of the call; see below
}

type prefillResult struct {
	Reused int `json:"reused"`
	Len    int `json:"len"` // context length after the prefill
}

type denoiseParams struct {
	Session    uint64  `json:"session"`
	Block      []int32 `json:"block"`
	From       int     `json:"from"`
	N          int     `json:"n"`                    // predictions wanted: positions from..from+N-1
	Background bool    `json:"background,omitempty"` // engine.Background of the call; see below
}

// The background field of prefill, denoise and infill carries
// engine.WithBackground's mark as engine.Background reported it when the
// client made the call. The engine calls its backend with the mark, so a
// CPU engine process runs a speculation on one thread and leaves the
// others to foreground work, as in process (the CUDA engine ignores it). A
// call keeps the mark it was sent with, as in process: a promote reaches
// the engine with the session's next call (each denoise is one forward
// pass), so it needs no message of its own. The field is omitted when
// false, so old and new clients and engines interoperate: a call without
// it runs in the foreground, and an engine that predates it ignores it
// (JSON decoding skips unknown fields) and runs every call in the
// foreground.

// denoiseResult holds N predictions of K candidates each, flattened:
// candidate j of position i is IDs[i*K+j], LogProbs[i*K+j]. float32 values
// survive the JSON round trip exactly (shortest representation that parses
// back to the same float32), so remote and local decoding agree bit for bit.
type denoiseResult struct {
	K        int       `json:"k"`
	IDs      []int32   `json:"ids"`
	LogProbs []float32 `json:"logProbs"`
	Entropy  []float32 `json:"entropy"`
}

type truncateParams struct {
	Session uint64 `json:"session"`
	N       int    `json:"n"`
}

// The session a call's params name (onSession).
func (p sessionParams) session() uint64  { return p.Session }
func (p prefillParams) session() uint64  { return p.Session }
func (p denoiseParams) session() uint64  { return p.Session }
func (p truncateParams) session() uint64 { return p.Session }

type cancelParams struct {
	ID jsonrpc2.ID `json:"id"`
}

// Error codes of the engine protocol. The engine's sentinel errors travel as
// codes so that errors.Is works on the client side.
const (
	codeCancelled    jsonrpc2.Code = -32800 // LSP's RequestCancelled
	codeContextFull  jsonrpc2.Code = -32010
	codeBlockSize    jsonrpc2.Code = -32011
	codeToken        jsonrpc2.Code = -32012
	codeClosed       jsonrpc2.Code = -32013
	codeUnknownError               = jsonrpc2.UnknownError
)

var sentinels = []struct {
	code jsonrpc2.Code
	err  error
}{
	{codeContextFull, engine.ErrContextFull},
	{codeBlockSize, engine.ErrBlockSize},
	{codeToken, engine.ErrToken},
	{codeClosed, engine.ErrClosed},
}

// Errors of this package.
var (
	// ErrUnavailable reports that the engine connection is gone (the
	// process died, the socket closed). The fallback backend switches to
	// its in-process engine when it sees it.
	ErrUnavailable = errors.New("rpc: engine unavailable")
	// ErrCancelled reports that the engine cancelled a request.
	ErrCancelled = errors.New("rpc: request cancelled")
	// ErrProtocol reports a reply that does not fit the request.
	ErrProtocol = errors.New("rpc: protocol error")
)

// toWire converts a handler error into a JSON-RPC error with a code the
// client maps back to the engine's sentinel errors.
func toWire(err error) error {
	if err == nil {
		return nil
	}
	var we *jsonrpc2.Error
	if errors.As(err, &we) {
		return we
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return jsonrpc2.NewError(s.code, err.Error())
		}
	}
	if errors.Is(err, errCancelledCtx) {
		return jsonrpc2.NewError(codeCancelled, err.Error())
	}
	return jsonrpc2.NewError(codeUnknownError, err.Error())
}

var errCancelledCtx = errors.New("rpc: request cancelled by the client")

// A remoteError is an error the engine replied with.
type remoteError struct {
	method string
	msg    string
	is     error // the sentinel it maps to, or nil
}

func (e *remoteError) Error() string { return fmt.Sprintf("rpc: %s: %s", e.method, e.msg) }
func (e *remoteError) Unwrap() error { return e.is }

// fromWire converts an error returned by jsonrpc2's Call into one the caller
// can test with errors.Is.
func fromWire(method string, err error) error {
	var we *jsonrpc2.Error
	if !errors.As(err, &we) {
		return fmt.Errorf("rpc: %s: %w", method, err)
	}
	re := &remoteError{method: method, msg: we.Message}
	switch we.Code {
	case codeCancelled:
		re.is = ErrCancelled
	case jsonrpc2.InvalidParams, jsonrpc2.MethodNotFound, jsonrpc2.ParseError, jsonrpc2.InvalidRequest:
		re.is = ErrProtocol
	default:
		for _, s := range sentinels {
			if s.code == we.Code {
				re.is = s.err
			}
		}
	}
	return re
}

// cancelSendTimeout bounds the wait for a $/cancelRequest to be written.
const cancelSendTimeout = time.Second

// engineFault reports whether err is a failure inside the engine — not one
// of the engine contract's errors about the request (context full, block
// size, token, closed), not a cancellation, not a protocol misuse: a device
// fault or a bug, which the in-process engine may not share.
func engineFault(err error) bool {
	var re *remoteError
	return errors.As(err, &re) && re.is == nil
}
