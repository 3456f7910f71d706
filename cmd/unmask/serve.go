package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"

	"github.com/unmask/unmask/completion"
	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/engine/rpc"
	"github.com/unmask/unmask/infill"
	"github.com/unmask/unmask/lsp"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/tokenizer"
)

func init() {
	register(command{
		name:    "serve",
		summary: "run the language server on stdin/stdout",
		run:     runServe,
	})
}

func runServe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "", "checkpoint folder (default: the model embedded in the binary); the client's configuration may change it")
	logFile := fs.String("log", "", "write the server's log to `FILE` (default: stderr)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole session to `FILE` when the server exits (go tool pprof reads it)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: unmask serve [--model DIR] [--log FILE] [--cpuprofile FILE]")
		return errUsage
	}
	logw := stderr
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		logw = f
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	workers := spareProc()
	logger := log.New(logw, "unmask: ", log.LstdFlags|log.Lmicroseconds)
	slogger := slog.New(slog.NewTextHandler(logw, nil))
	load := func(ctx context.Context, cfg lsp.Config, progress func(uint32, string)) (*completion.Engine, error) {
		return loadEngine(ctx, cfg, progress, slogger, workers)
	}
	cfg := lsp.DefaultConfig()
	cfg.Model = *dir
	return lsp.Serve(context.Background(), os.Stdin, nopCloser{stdout}, lsp.Options{
		Name:    "unmask",
		Version: buildVersion(),
		Config:  cfg,
		Load:    load,
		Logf:    logger.Printf,
	})
}

// spareProc gives Go one more P than it had and returns how many it had:
// the matrix workers each model session should run (model.SetThreads).
// Without a spare P, a message that arrives while the workers compute (a
// keystroke's request during a background speculation, or during another
// document's completion) is not even read until Go preempts one of them,
// 10 ms or more later; with it, the JSON-RPC reader and the handlers run
// at once and cancel the background work, and the OS shares the cores.
// Only the first call raises GOMAXPROCS.
func spareProc() int {
	spare.once.Do(func() {
		spare.workers = runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(spare.workers + 1)
	})
	return spare.workers
}

var spare struct {
	once    sync.Once
	workers int
}

// openModel opens a checkpoint folder ("" = the embedded default) on the
// CPU engine's fastest arithmetic for it (model.UseFastest: BF16 dot
// products for a BF16 checkpoint where the CPU has them). Every command
// that runs a model opens it here.
func openModel(dir string) (*model.Model, *tokenizer.Tokenizer, error) {
	m, tok, err := model.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	if err := useFastest(m); err != nil {
		return nil, nil, err
	}
	return m, tok, nil
}

// useFastest puts m on its fastest arithmetic (model.UseFastest) and
// closes it if that fails.
func useFastest(m *model.Model) error {
	if _, err := m.UseFastest(); err != nil {
		m.Close()
		return err
	}
	return nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// loadEngine opens the model cfg names: on the in-process CPU engine, or
// on an engine process (device cuda, or a running engine's address) with
// the CPU engine as its fallback.
func loadEngine(ctx context.Context, cfg lsp.Config, progress func(uint32, string), log *slog.Logger, threads int) (*completion.Engine, error) {
	progress(10, "reading weights")
	f, err := openFiller(cfg.Model, threads)
	if err != nil {
		return nil, err
	}
	langs := languagesOf(f.Backend)
	if cfg.Device == "cuda" || cfg.Engine != "" {
		progress(50, "connecting to the engine")
		b, err := rpc.Open(ctx, rpc.Config{Device: cfg.Device, Socket: cfg.Engine, Model: cfg.Model}, f.Backend, log)
		if err != nil {
			f.Close()
			return nil, err
		}
		f.Decoder, f.Backend = infill.New(b, f.Tokenizer()), b
	}
	progress(100, "ready")
	return &completion.Engine{Filler: f, Cache: f.Cache, Neighbors: &completion.Neighbors{}, Languages: langs}, nil
}

// languagesOf returns the languages the checkpoint behind b was trained
// on (model.Config.Languages; nil when it does not say or b is not the
// CPU engine's).
func languagesOf(b engine.Backend) []string {
	if m, ok := b.(interface{ Config() model.Config }); ok {
		return m.Config().Languages
	}
	return nil
}

// openFiller opens a checkpoint folder ("" = the embedded default) as a
// completion Filler: `unmask serve` and `unmask complete` share it.
// Its sessions use threads goroutines each (0: GOMAXPROCS).
func openFiller(dir string, threads int) (*completion.InfillFiller, error) {
	m, tok, err := openModel(dir)
	if errors.Is(err, model.ErrNoDefault) {
		return nil, fmt.Errorf("this build embeds no default model yet; pass --model DIR, a checkpoint folder with config.json, model.safetensors and tokenizer.json (%w)", err)
	}
	if err != nil {
		return nil, err
	}
	m.SetThreads(threads)
	f := completion.NewInfillFiller(m, tok)
	if f.Cache, err = completion.NewCache(m.Info().Name); err != nil {
		m.Close()
		return nil, err
	}
	return f, nil
}
