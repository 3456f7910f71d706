package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/engine/rpc"
	"github.com/unmask/unmask/infill"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/tokenizer"
)

func init() {
	register(command{
		name:    "engine",
		summary: "serve the model to language servers (CPU, or CUDA with -tags cuda)",
		run:     runEngine,
	})
}

// engineFlags are the flags of `unmask engine`.
type engineFlags struct {
	device  string // "cpu" or "cuda"
	model   string // checkpoint folder; "" = the embedded default model
	listen  string // "stdio" or "unix:PATH"
	weights string // cuda: "bf16" or "f32"
	matmul  string // cuda: "auto", "kernel" or "cublas"
}

func runEngine(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f engineFlags
	fs.StringVar(&f.device, "device", "cpu", "where the model runs: `cpu` or cuda (cuda needs a binary built with -tags cuda)")
	fs.StringVar(&f.model, "model", "", "checkpoint `DIR` (default: the model embedded in the binary)")
	fs.StringVar(&f.listen, "listen", "stdio", "`stdio` (one client on stdin/stdout) or unix:PATH (a socket only this user can open, for several editors)")
	fs.StringVar(&f.weights, "weights", "bf16", "cuda: weight type on the device, `bf16` or f32")
	fs.StringVar(&f.matmul, "matmul", "auto", "cuda: matrix products by `auto` (cuBLAS for large ones when present), kernel or cublas")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: unmask engine [--device cpu|cuda] [--model DIR] [--listen stdio|unix:PATH]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if f.listen != "stdio" && !strings.HasPrefix(f.listen, "unix:") {
		fmt.Fprintf(stderr, "unmask engine: --listen %q: want stdio or unix:PATH\n", f.listen)
		return errUsage
	}
	// stdout may be the protocol stream: logs go to stderr only.
	log := slog.New(slog.NewTextHandler(stderr, nil))
	b, tok, err := openEngineBackend(f)
	if err != nil {
		return err
	}
	defer b.Close()
	info := b.Info()
	log.Info("engine ready", "device", f.device, "model", info.Name, "vocab", info.VocabSize, "attention", info.Attention, "listen", f.listen, "whole_infill", tok != nil)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := rpc.NewServer(b, log)
	if tok != nil {
		srv.SetInfill(infillFunc(infill.New(b, tok)))
	}
	// After a sticky device fault, exit: the language servers see the
	// engine die, serve from their CPU engines and start a fresh one.
	srv.SetFatal(engineFatal)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-srv.Fatal():
			cancel()
		case <-ctx.Done():
		}
	}()
	err = serveEngine(ctx, srv, f, stdout)
	select {
	case <-srv.Fatal():
		return errDeviceLost
	default:
		return err
	}
}

// errDeviceLost is the engine's exit reason after a sticky device fault.
var errDeviceLost = errors.New("the device failed for good; exiting so that the engine is started afresh")

// serveEngine serves until the client (stdio) or ctx ends.
func serveEngine(ctx context.Context, srv *rpc.Server, f engineFlags, stdout io.Writer) error {
	if f.listen == "stdio" {
		return srv.ServeConn(ctx, stdio{out: stdout})
	}
	ln, err := rpc.ListenUnix(strings.TrimPrefix(f.listen, "unix:"))
	if err != nil {
		return err
	}
	return srv.ServeListener(ctx, ln)
}

// openEngineBackend loads the model on the requested device, and its
// tokenizer when there is one (whole infill requests need it; the session
// calls do not, so a bare checkpoint folder is served too).
func openEngineBackend(f engineFlags) (engine.Backend, *tokenizer.Tokenizer, error) {
	switch f.device {
	case "cpu":
		// Requests from several editors interleave: one P stays free for
		// reading them (spareProc).
		workers := spareProc()
		if f.model == "" {
			m, tok, err := openModel("")
			if err != nil {
				return nil, nil, err
			}
			m.SetThreads(workers)
			return m, tok, nil
		}
		tok, err := tokenizerIn(os.DirFS(f.model))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.model, err)
		}
		m, err := model.Load(f.model)
		if err != nil {
			return nil, nil, err
		}
		if err := useFastest(m); err != nil {
			return nil, nil, err
		}
		m.SetThreads(workers)
		return m, tok, nil
	case "cuda":
		return openCUDA(f)
	}
	return nil, nil, fmt.Errorf("--device %q: want cpu or cuda", f.device)
}

// tokenizerIn reads the tokenizer.json of a checkpoint folder; nil when
// there is none.
func tokenizerIn(fsys fs.FS) (*tokenizer.Tokenizer, error) {
	data, err := fs.ReadFile(fsys, "tokenizer.json")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return tokenizer.Parse(data)
}

// infillFunc answers whole infill requests with the decoder.
func infillFunc(dec *infill.Decoder) rpc.InfillFunc {
	return func(ctx context.Context, req rpc.InfillRequest, onStep func(rpc.InfillPartial)) (rpc.InfillResult, error) {
		set := infill.DefaultSettings()
		if len(req.Settings) > 0 {
			if err := json.Unmarshal(req.Settings, &set); err != nil {
				return rpc.InfillResult{}, fmt.Errorf("engine: infill settings: %w", err)
			}
		}
		res, err := dec.Infill(ctx, infill.Request{
			Prefix: req.Prefix, Suffix: req.Suffix, Settings: set,
			LookupPrefix: req.LookupPrefix, LookupSuffix: req.LookupSuffix, LookupOthers: req.LookupOthers,
			OnStep: func(p infill.Partial) {
				onStep(rpc.InfillPartial{Text: p.Text, Step: p.Step, Committed: p.Committed, Masked: p.Masked})
			},
		})
		if err != nil {
			return rpc.InfillResult{}, err
		}
		stats, _ := json.Marshal(res.Stats)
		return rpc.InfillResult{Text: res.Text, Stop: res.Stop, Stats: stats}, nil
	}
}

// errNoCUDA reports a binary built without the cuda tag.
var errNoCUDA = errors.New("this unmask was built without CUDA support (build with -tags cuda; see the README's GPU engine section)")

// stdio is the process's stdin and stdout as one stream. Closing it closes
// stdin, which ends the read loop.
type stdio struct{ out io.Writer }

func (s stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.out.Write(p) }
func (s stdio) Close() error                { return os.Stdin.Close() }
