package rpc

import (
	"context"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
)

// The test binary doubles as a fake engine process: with this variable set it
// serves a fake backend on stdin/stdout instead of running tests.
const fakeEngineEnv = "UNMASK_RPC_FAKE_ENGINE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEngineEnv) == "1" {
		b := newFake(2)
		b.dieToken = 666
		err := Serve(context.Background(), b, stdio{})
		if err != nil {
			os.Stderr.WriteString("fake engine: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error                { return os.Stdin.Close() }

func fakeProcess(t *testing.T) Starter {
	t.Setenv(fakeEngineEnv, "1")
	return ProcessStarter(os.Args[0], []string{"-test.run=^$"})
}

func TestProcessStarter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fakeProcess(t)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Info(); got != newFake(2).Info() {
		t.Errorf("Info() = %+v", got)
	}
	s, err := c.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prefill(ctx, []int32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	got, want := engine.NewPredictions(2, 8), engine.NewPredictions(2, 8)
	fillFake(2, 1000, []int32{1, 2, 3}, []int32{3, 999}, 0, want)
	if err := s.Denoise(ctx, []int32{3, 999}, 0, got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Denoise = %v, %v; want %v", err, got, want)
	}
	// The process dies mid-request: the call fails with ErrUnavailable and
	// the reason carries the exit status and the process's last words.
	err = s.Denoise(ctx, []int32{666}, 0, got[:1])
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Denoise when the process exits = %v, want ErrUnavailable", err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("client not done after the process died")
	}
	if reason := c.Err().Error(); !strings.Contains(reason, "exit status 3") || !strings.Contains(reason, "dying as asked") {
		t.Errorf("Err() = %q, want the exit status and stderr", reason)
	}
}

func TestProcessStarterCleanClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fakeProcess(t)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	// Closing stdin ends the engine; it is not left for the kill timer.
	if d := time.Since(start); d >= processGrace {
		t.Errorf("Close took %v: the engine did not exit on EOF", d)
	}
}

func TestProcessStarterNotAnEngine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Like gorgonia.org/cu's init without a GPU: prints to stdout, exits 1.
	_, err := ProcessStarter("sh", []string{"-c", "echo 'Error in initialization: NoDevice'; echo no GPU >&2; exit 1"})(ctx)
	if err == nil {
		t.Fatal("starting a process that is not an engine succeeded")
	}
	if !errors.Is(err, ErrUnavailable) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("error: %v", err)
	}
	for _, want := range []string{"NoDevice", "no GPU"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error %q does not mention %q", err, want)
		}
	}
	_, err = ProcessStarter("/nonexistent/unmask", nil)(ctx)
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("starting a missing binary = %v, want ErrUnavailable", err)
	}
}

func TestFallbackProcessDies(t *testing.T) {
	local := newFake(1)
	f, s, ctx := fallbackUp(t, local, fakeProcess(t), fastOptions(nil), 30*time.Second)
	if _, err := s.Prefill(ctx, []int32{4, 5}); err != nil {
		t.Fatal(err)
	}
	got, want := engine.NewPredictions(2, 8), engine.NewPredictions(2, 8)
	fillFake(1, 1000, []int32{4, 5}, []int32{5, 666}, 0, want)
	if err := s.Denoise(ctx, []int32{5, 666}, 0, got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Denoise when the engine process dies = %v, %v; want the local answer %v", err, got, want)
	}
	// A new engine process comes up.
	if err := f.WaitRemote(ctx); err != nil {
		t.Fatal(err)
	}
}
