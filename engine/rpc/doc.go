// Package rpc is the engine process protocol: it serves an engine.Backend
// over JSON-RPC 2.0 (go.lsp.dev/jsonrpc2 v0.10.0, Content-Length framing, as
// LSP) and gives it back to a client as an engine.Backend, so the decoder
// (package infill) does not know whether the model runs in its process or in
// `unmask engine`.
//
// # Why a process
//
// The CUDA engine (package gpu, build tag cuda) links gorgonia.org/cu, whose
// package init exits the process when there is no GPU; a GPU fault must not
// take the editor's language server down either. So the CUDA engine runs in
// `unmask engine --device cuda`, and the language server reaches it through
// this package, falling back to its in-process CPU engine (package model)
// when the engine cannot start or dies.
//
// # Protocol
//
// One connection (a unix socket, or an engine process's stdin/stdout) opens
// sessions with engine/newSession and drives them with session/prefill,
// session/denoise, session/truncate, session/tokens and session/close;
// engine/info returns the engine.Info. Sessions belong to their connection
// and close with it. Calls on one session run in order; calls on different
// sessions, of one client or several editor windows, run concurrently. A
// client whose context ends sends $/cancelRequest with the call's (numeric)
// id and the engine cancels the running step. Prefill sends only the tokens
// after the prefix the engine already holds; Denoise returns top-k candidates
// and entropies (never full logits). Prefill, Denoise and Infill carry
// engine.WithBackground's mark as it stands when the call is made, so a
// speculation leaves threads free in the engine process too. The engine's
// sentinel errors (engine.ErrContextFull, ErrBlockSize, ErrToken, ErrClosed)
// come back as error codes, so errors.Is works on the client side; a dead
// connection is ErrUnavailable.
//
// # Using it from the language server
//
// The completion layer takes an engine.Backend. With the server configured
// for the CPU (the default) it gets the *model.Model itself. Configured with
// an engine — device "cuda", or the path of a socket an `unmask engine
// --listen unix:PATH` already serves — it gets a *Fallback instead:
//
//	local, tok, err := model.Open(dir)          // the in-process CPU engine
//	var start rpc.Starter
//	switch {
//	case cfg.EngineSocket != "":                 // shared engine, started by the user
//		start = rpc.DialStarter(cfg.EngineSocket, rpc.WithLogger(log))
//	case cfg.Device == "cuda":                   // our own engine process
//		// unmask-cuda: the binary built with -tags cuda (see Config.Executable)
//		start = rpc.ProcessStarter("unmask-cuda", []string{"engine", "--device", "cuda", "--model", dir, "--listen", "stdio"}, rpc.WithLogger(log))
//	}
//	backend := engine.Backend(local)
//	if start != nil {
//		backend = rpc.NewFallback(local, start, rpc.FallbackOptions{Log: log})
//	}
//	decoder := infill.New(backend, tok)
//
// or, in one call, Open(ctx, Config{Device: "cuda", Model: dir}, local, log)
// (Config{Socket: path} for a shared engine). The fallback starts the
// engine in the background and runs sessions locally until it is up; it logs
// why it is not using the engine, restarts a dead engine with exponential
// back-off, moves a session whose engine died mid-call to the CPU engine
// (re-prefilling its context and retrying the call) and moves it back at its
// next Prefill. Both sides must hold the same checkpoint (same Info): pass
// the engine the model folder the server loads.
package rpc
