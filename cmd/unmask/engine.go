package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/engine/rpc"
	"github.com/unmask/unmask/model"
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
	b, err := openEngineBackend(f)
	if err != nil {
		return err
	}
	defer b.Close()
	info := b.Info()
	log.Info("engine ready", "device", f.device, "model", info.Name, "vocab", info.VocabSize, "attention", info.Attention, "listen", f.listen)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := rpc.NewServer(b, log)
	if f.listen == "stdio" {
		return srv.ServeConn(ctx, stdio{out: stdout})
	}
	ln, err := rpc.ListenUnix(strings.TrimPrefix(f.listen, "unix:"))
	if err != nil {
		return err
	}
	return srv.ServeListener(ctx, ln)
}

// openEngineBackend loads the model on the requested device.
func openEngineBackend(f engineFlags) (engine.Backend, error) {
	switch f.device {
	case "cpu":
		if f.model != "" {
			// The engine needs no tokenizer: a bare checkpoint will do.
			return model.Load(f.model)
		}
		m, _, err := model.Open("")
		if err != nil {
			return nil, err
		}
		return m, nil
	case "cuda":
		return openCUDA(f)
	}
	return nil, fmt.Errorf("--device %q: want cpu or cuda", f.device)
}

// errNoCUDA reports a binary built without the cuda tag.
var errNoCUDA = errors.New("this unmask was built without CUDA support (build with -tags cuda; see the README's GPU engine section)")

// stdio is the process's stdin and stdout as one stream. Closing it closes
// stdin, which ends the read loop.
type stdio struct{ out io.Writer }

func (s stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (s stdio) Write(p []byte) (int, error) { return s.out.Write(p) }
func (s stdio) Close() error                { return os.Stdin.Close() }
