package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/engine/rpc"
	"github.com/unmask/unmask/infill"
	"github.com/unmask/unmask/model"
	"github.com/unmask/unmask/tokenizer"
)

const engineFixture = "../../model/testdata/tiny-qwen2"

// buildUnmask builds this command into a temporary folder.
func buildUnmask(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the unmask binary")
	}
	bin := filepath.Join(t.TempDir(), "unmask")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// denoiseSteps runs the same requests on a session and returns what it
// predicted.
func denoiseSteps(t *testing.T, s engine.Session, info engine.Info) [][]engine.Prediction {
	t.Helper()
	ctx := context.Background()
	toks := []int32{info.FIMSuffixID, 5, 9, info.FIMPrefixID, 33, 7, info.FIMMiddleID}
	var all [][]engine.Prediction
	for i, n := range []int{len(toks), len(toks) - 2, len(toks)} {
		if _, err := s.Prefill(ctx, toks[:n]); err != nil {
			t.Fatalf("step %d: Prefill: %v", i, err)
		}
		block := []int32{toks[n-1], info.MaskID, info.MaskID, info.MaskID}
		out := engine.NewPredictions(len(block), 8)
		if err := s.Denoise(ctx, block, 0, out); err != nil {
			t.Fatalf("step %d: Denoise: %v", i, err)
		}
		all = append(all, out)
	}
	return all
}

func TestEngineBinaryServesUnixSocket(t *testing.T) {
	bin := buildUnmask(t)
	sock := filepath.Join(t.TempDir(), "engine.sock")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "engine", "--device", "cpu", "--model", engineFixture, "--listen", "unix:"+sock)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-exited
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(sock); err == nil {
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no socket after 30s; stderr:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	local, err := model.Load(engineFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer local.Close()
	ctx := context.Background()
	remote, err := rpc.Dial(ctx, "unix:"+sock)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := remote.Info(), local.Info(); got != want {
		t.Errorf("engine Info() = %+v, in-process %+v", got, want)
	}
	rs, err := remote.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := local.NewSession(engine.SessionOptions{})
	if got, want := denoiseSteps(t, rs, local.Info()), denoiseSteps(t, ls, local.Info()); !reflect.DeepEqual(got, want) {
		t.Errorf("engine predictions differ from the in-process CPU engine:\n got %v\nwant %v", got, want)
	}
	remote.Close()

	// A language server's fallback: engine first; when the engine process
	// is killed, the same session carries on in process with the same
	// answers.
	f := rpc.NewFallback(local, rpc.DialStarter("unix:"+sock), rpc.FallbackOptions{MinBackoff: 10 * time.Millisecond})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := f.WaitRemote(wctx); err != nil {
		t.Fatal(err)
	}
	fs, err := f.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := denoiseSteps(t, ls, local.Info())
	if got := denoiseSteps(t, fs, local.Info()); !reflect.DeepEqual(got, want) {
		t.Errorf("fallback on the engine: predictions differ")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	exited <- nil // for the deferred Wait
	if got := denoiseSteps(t, fs, local.Info()); !reflect.DeepEqual(got, want) {
		t.Errorf("fallback after the engine died: predictions differ")
	}
	if up, reason := f.Remote(); up || reason == nil {
		t.Errorf("Remote() = %v, %v after the engine died", up, reason)
	}
	fs.Close()
}

func TestEngineCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "tcp:1234"}, "want stdio or unix:PATH"},
		{[]string{"--device", "tpu", "--model", engineFixture}, `--device "tpu"`},
		{[]string{"--device", "cpu", "--model", filepath.Join(os.TempDir(), "no-such-model")}, "no-such-model"},
	} {
		var out, errw bytes.Buffer
		err := runEngine(tc.args, &out, &errw)
		msg := errw.String()
		if err != nil && err != errUsage {
			msg += err.Error()
		}
		if err == nil || !strings.Contains(msg, tc.want) {
			t.Errorf("engine %q = %v, output %q; want an error mentioning %q", tc.args, err, msg, tc.want)
		}
	}
}

// TestEngineWholeInfill serves the CPU engine with a decoder, as
// `unmask engine` does when the model folder has a tokenizer, and checks a
// whole request over the protocol against the decoder run in process.
// (Fixture and tokenizer as infill's tests pair them: a byte-level
// tokenizer whose ids for this text stay inside the fixture's vocabulary.)
func TestEngineWholeInfill(t *testing.T) {
	m, err := model.Load(engineFixture)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.Load("../../infill/testdata/bytes-tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewServer(m, nil)
	srv.SetInfill(infillFunc(infill.New(m, tok)))
	sock := filepath.Join(t.TempDir(), "e.sock")
	ln, err := rpc.ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeListener(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := rpc.DialClient(ctx, "unix:"+sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	set := infill.DefaultSettings()
	set.Schedule, set.PerStep, set.MaxTokens = infill.Count, 1, 6
	raw, _ := json.Marshal(set)
	req := infill.Request{Prefix: "def add(a, b):\n\t", Suffix: "\nprint(add(1, 2))\n", Settings: set}
	want, err := infill.New(m, tok).Infill(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var partials []rpc.InfillPartial
	got, err := c.Infill(ctx, rpc.InfillRequest{Prefix: req.Prefix, Suffix: req.Suffix, Settings: raw},
		func(p rpc.InfillPartial) { partials = append(partials, p) })
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != want.Text || got.Stop != want.Stop {
		t.Errorf("Infill over the engine = %q (%s), in process %q (%s)", got.Text, got.Stop, want.Text, want.Stop)
	}
	if len(partials) != want.Stats.Forwards {
		t.Errorf("%d partials, want one per forward pass (%d)", len(partials), want.Stats.Forwards)
	}
	var stats infill.Stats
	if err := json.Unmarshal(got.Stats, &stats); err != nil || stats.Forwards != want.Stats.Forwards {
		t.Errorf("stats %s (%v), want %d forwards", got.Stats, err, want.Stats.Forwards)
	}
	if _, err := c.Infill(ctx, rpc.InfillRequest{Prefix: "x", Settings: json.RawMessage(`{"Schedule": 3}`)}, nil); err == nil {
		t.Error("Infill with malformed settings succeeded")
	}
}
