package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/unmask/unmask/engine"
)

// Config says which engine the language server uses.
type Config struct {
	// Device is "cpu" (or "": the in-process engine only) or "cuda" (start
	// `unmask engine --device cuda` as a child process).
	Device string
	// Socket, when set, is the address of an engine that is already serving
	// ("unix:PATH" or a path); it wins over Device.
	Socket string
	// Model is the checkpoint folder passed to a started engine ("" = the
	// embedded default model).
	Model string
	// Executable is the unmask binary to start with device cuda. "" looks
	// for CUDAExecutable beside this process's binary, then on PATH, then
	// takes this process's own binary (which, built without -tags cuda,
	// exits saying so: the fallback logs it and stays on the CPU).
	Executable string
}

// Open returns the backend cfg asks for: local itself for the CPU, or a
// Fallback around local that prefers the configured engine.
func Open(ctx context.Context, cfg Config, local engine.Backend, log *slog.Logger) (engine.Backend, error) {
	var start Starter
	switch {
	case cfg.Socket != "":
		if _, err := socketPath(cfg.Socket); err != nil {
			return nil, err
		}
		start = DialStarter(cfg.Socket, WithLogger(log))
	case cfg.Device == "" || cfg.Device == "cpu":
		return local, nil
	case cfg.Device == "cuda":
		exe := cfg.Executable
		if exe == "" {
			var err error
			if exe, err = cudaExecutable(); err != nil {
				return nil, err
			}
		}
		args := []string{"engine", "--device", "cuda", "--listen", "stdio"}
		if cfg.Model != "" {
			args = append(args, "--model", cfg.Model)
		}
		start = ProcessStarter(exe, args, WithLogger(log))
	default:
		return nil, fmt.Errorf("rpc: device %q: want cpu or cuda", cfg.Device)
	}
	return NewFallback(local, start, FallbackOptions{Log: log}), nil
}

// CUDAExecutable is the name of the unmask binary built with -tags cuda. The
// language server's own build must not link CUDA (gorgonia.org/cu exits the
// process on machines without a GPU), so the engine is a second binary.
const CUDAExecutable = "unmask-cuda"

func cudaExecutable() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("rpc: finding the unmask binary: %w", err)
	}
	beside := filepath.Join(filepath.Dir(self), CUDAExecutable)
	if fi, err := os.Stat(beside); err == nil && !fi.IsDir() {
		return beside, nil
	}
	if p, err := exec.LookPath(CUDAExecutable); err == nil {
		return p, nil
	}
	return self, nil
}
