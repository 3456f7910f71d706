package rpc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unmask/unmask/engine"
)

// serveSocket serves b on a fresh unix socket and returns its address.
func serveSocket(t *testing.T, b engine.Backend) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewServer(b, nil).ServeListener(ctx, ln)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return "unix:" + path
}

func dial(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := DialClient(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A step is one call on a session, applied to a remote and a local session
// alike.
type step struct {
	name    string
	prefill []int32
	block   []int32
	from, n int
	trunc   int
}

func runStep(t *testing.T, s engine.Session, st step, k int) (int, []engine.Prediction, error) {
	t.Helper()
	ctx := context.Background()
	switch {
	case st.prefill != nil:
		r, err := s.Prefill(ctx, st.prefill)
		return r, nil, err
	case st.block != nil:
		out := engine.NewPredictions(st.n, k)
		err := s.Denoise(ctx, st.block, st.from, out)
		return 0, out, err
	default:
		return 0, nil, s.Truncate(st.trunc)
	}
}

func TestRemoteMatchesLocal(t *testing.T) {
	b := newFake(7)
	c := dial(t, serveSocket(t, b))
	if got, want := c.Info(), b.Info(); got != want {
		t.Fatalf("Info() = %+v, want %+v", got, want)
	}
	steps := []step{
		{name: "prefill", prefill: []int32{996, 1, 2, 3, 997, 4, 5, 995}},
		{name: "denoise whole block", block: []int32{995, 999, 999, 999, 999}, from: 0, n: 5},
		{name: "denoise from 2", block: []int32{995, 10, 999, 999, 11}, from: 2, n: 3},
		{name: "typing appends", prefill: []int32{996, 1, 2, 3, 997, 4, 5, 6, 995}},
		{name: "edit mid-context", prefill: []int32{996, 1, 9, 3, 997, 995}},
		{name: "truncate", trunc: 3},
		{name: "denoise after truncate", block: []int32{3, 999, 999, 999, 999, 999, 999, 999, 999}, from: 1, n: 8},
		{name: "bad token", prefill: []int32{1, 1000}},
		{name: "context full", prefill: make([]int32, 65)},
		{name: "block too long", block: make([]int32, 10), from: 0, n: 10},
		{name: "denoise past block", block: []int32{1, 2}, from: 1, n: 2},
		{name: "truncate past end", trunc: 100},
		{name: "after errors", block: []int32{1, 999}, from: 0, n: 2},
	}
	for _, k := range []int{0, 3} {
		kk := k
		if kk == 0 {
			kk = engine.DefaultTopK
		}
		rs, err := c.NewSession(engine.SessionOptions{TopK: k})
		if err != nil {
			t.Fatal(err)
		}
		ls, _ := newFake(7).NewSession(engine.SessionOptions{TopK: k})
		for _, st := range steps {
			rr, rout, rerr := runStep(t, rs, st, kk)
			lr, lout, lerr := runStep(t, ls, st, kk)
			if (rerr == nil) != (lerr == nil) {
				t.Fatalf("k=%d %s: remote error %v, local error %v", k, st.name, rerr, lerr)
			}
			for _, sentinel := range []error{engine.ErrToken, engine.ErrContextFull, engine.ErrBlockSize} {
				if errors.Is(lerr, sentinel) != errors.Is(rerr, sentinel) {
					t.Errorf("k=%d %s: errors.Is(%v, %v) = %v, local %v", k, st.name, rerr, sentinel, errors.Is(rerr, sentinel), errors.Is(lerr, sentinel))
				}
			}
			if rr != lr || !reflect.DeepEqual(rout, lout) {
				t.Errorf("k=%d %s: remote (%d, %v), want (%d, %v)", k, st.name, rr, rout, lr, lout)
			}
			if got, want := rs.Tokens(), ls.Tokens(); !slicesEqual(got, want) {
				t.Errorf("k=%d %s: Tokens() = %v, want %v", k, st.name, got, want)
			}
		}
		if err := rs.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
		if err := rs.Denoise(context.Background(), []int32{1}, 0, engine.NewPredictions(1, kk)); !errors.Is(err, engine.ErrClosed) {
			t.Errorf("Denoise after Close = %v, want ErrClosed", err)
		}
	}
}

func slicesEqual(a, b []int32) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// countingConn counts the bytes a client writes.
type countingConn struct {
	net.Conn
	n atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return c.Conn.Write(p) }

func TestPrefillSendsOnlyNewTokens(t *testing.T) {
	addr := serveSocket(t, newFake(1))
	nc, err := net.Dial("unix", strings.TrimPrefix(addr, "unix:"))
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingConn{Conn: nc}
	c, err := NewClient(context.Background(), cc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := c.NewSession(engine.SessionOptions{MaxContext: 1000})
	ctx := context.Background()
	toks := make([]int32, 600)
	for i := range toks {
		toks[i] = int32(100 + i%800)
	}
	before := cc.n.Load()
	if _, err := s.Prefill(ctx, toks[:599]); err != nil {
		t.Fatal(err)
	}
	full := cc.n.Load() - before
	before = cc.n.Load()
	reused, err := s.Prefill(ctx, toks)
	if err != nil {
		t.Fatal(err)
	}
	appended := cc.n.Load() - before
	if reused != 599 {
		t.Errorf("Prefill(one more token) reused %d, want 599", reused)
	}
	if appended*10 > full {
		t.Errorf("appending one token wrote %d bytes, a 599-token prefill %d: the prefix was resent", appended, full)
	}
}

func TestCancelReachesEngine(t *testing.T) {
	b := newFake(1)
	c := dial(t, serveSocket(t, b))
	s, _ := c.NewSession(engine.SessionOptions{})
	entered, release := b.hold()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Denoise(ctx, []int32{holdToken, 999}, 0, engine.NewPredictions(2, 8)) }()
	<-entered
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Denoise = %v, want context.Canceled", err)
	}
	// The engine's step saw its context end (numeric-id $/cancelRequest).
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		seen := b.lastCtx
		b.mu.Unlock()
		if errors.Is(seen, context.Canceled) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the engine's Denoise was not cancelled")
		}
		time.Sleep(time.Millisecond)
	}
	// The session still works.
	out := engine.NewPredictions(2, 8)
	if err := s.Denoise(context.Background(), []int32{1, 999}, 0, out); err != nil {
		t.Fatalf("Denoise after cancel = %v", err)
	}
}

func TestClientsRunConcurrently(t *testing.T) {
	b := newFake(1)
	addr := serveSocket(t, b)
	c1, c2 := dial(t, addr), dial(t, addr)
	s1, _ := c1.NewSession(engine.SessionOptions{})
	s2, _ := c2.NewSession(engine.SessionOptions{})
	s3, _ := c1.NewSession(engine.SessionOptions{}) // a second document of the first client
	entered, release := b.hold()
	errc := make(chan error, 1)
	go func() { errc <- s1.Denoise(context.Background(), []int32{holdToken}, 0, engine.NewPredictions(1, 8)) }()
	<-entered
	// s1 is stuck in a step; other sessions, of both clients, are served.
	for name, s := range map[string]engine.Session{"other client": s2, "same client, other session": s3} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := s.Prefill(ctx, []int32{1, 2, 3}); err != nil {
			t.Errorf("%s: Prefill while another session runs = %v", name, err)
		}
		if err := s.Denoise(ctx, []int32{3, 999}, 0, engine.NewPredictions(2, 8)); err != nil {
			t.Errorf("%s: Denoise while another session runs = %v", name, err)
		}
		cancel()
	}
	release()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestConnectionCloseClosesSessions(t *testing.T) {
	b := newFake(1)
	c, err := DialClient(context.Background(), serveSocket(t, b))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.NewSession(engine.SessionOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := b.open.Load(); n != 3 {
		t.Fatalf("%d sessions open, want 3", n)
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for b.open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions still open after the client went away", b.open.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := c.NewSession(engine.SessionOptions{}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("NewSession on a closed client = %v, want ErrUnavailable", err)
	}
}

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "e.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want a socket with 0600", fi.Mode())
	}
	go func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}(ln)
	if _, err := ListenUnix(path); err == nil || !strings.Contains(err.Error(), "already serving") {
		t.Errorf("ListenUnix on a live socket = %v, want an already-serving error", err)
	}
	ln.Close()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind after Close: %v", err)
	}
	// A stale socket (its engine died without cleaning up) is replaced.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	ln, err = ListenUnix(path)
	if err != nil {
		t.Fatalf("ListenUnix over a stale socket = %v", err)
	}
	ln.Close()
	// A file that is not a socket is left alone.
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ListenUnix(path); err == nil {
		t.Error("ListenUnix over a regular file succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left in %s: %v", dir, entries)
	}
}

func TestMalformedParams(t *testing.T) {
	c := dial(t, serveSocket(t, newFake(1)))
	// A raw call with params of the wrong shape gets InvalidParams, and
	// the connection keeps serving.
	var r denoiseResult
	err := c.call(context.Background(), methodDenoise, map[string]any{"session": "x"}, &r)
	if !errors.Is(err, ErrProtocol) {
		t.Errorf("malformed denoise = %v, want ErrProtocol", err)
	}
	if err := c.call(context.Background(), "engine/nothing", struct{}{}, nil); !errors.Is(err, ErrProtocol) {
		t.Errorf("unknown method = %v, want ErrProtocol", err)
	}
	if err := c.call(context.Background(), methodPrefill, prefillParams{Session: 12345}, nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("prefill of an unknown session = %v, want ErrClosed", err)
	}
	s, err := c.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatalf("NewSession after bad calls = %v", err)
	}
	s.Close()
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// pipeStarter serves b on an in-memory pipe per start and lets the test kill
// the engine's end.
type pipeStarter struct {
	b      engine.Backend
	starts atomic.Int32
	mu     sync.Mutex
	conns  []io.Closer
	fail   error
}

func (p *pipeStarter) start(ctx context.Context) (*Client, error) {
	p.starts.Add(1)
	p.mu.Lock()
	fail := p.fail
	p.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	cli, srv := net.Pipe()
	p.mu.Lock()
	p.conns = append(p.conns, srv)
	p.mu.Unlock()
	go Serve(context.Background(), p.b, srv)
	return NewClient(ctx, cli)
}

// kill closes the engine side of every connection: the engine "died".
func (p *pipeStarter) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func fastOptions(log *slog.Logger) FallbackOptions {
	return FallbackOptions{Log: log, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, StartTimeout: 5 * time.Second}
}

// fallbackUp returns a Fallback over local and the engines start starts
// (closed when the test ends) once its engine is up, a session on it, and
// a context that bounds the test's waits to wait.
func fallbackUp(t *testing.T, local engine.Backend, start Starter, opts FallbackOptions, wait time.Duration) (*Fallback, engine.Session, context.Context) {
	t.Helper()
	f := NewFallback(local, start, opts)
	t.Cleanup(func() { f.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	if err := f.WaitRemote(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := f.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f, s, ctx
}

func TestFallbackEngineDiesMidRequest(t *testing.T) {
	local, remote := newFake(1), newFake(2) // different answers show which one ran
	ps := &pipeStarter{b: remote}
	var logs logBuffer
	f, s, ctx := fallbackUp(t, local, ps.start, fastOptions(logs.logger()), 10*time.Second)
	context_ := []int32{996, 5, 6, 997, 7, 995}
	if _, err := s.Prefill(ctx, context_); err != nil {
		t.Fatal(err)
	}
	block := []int32{995, holdToken, 999, 999}
	want := engine.NewPredictions(4, 8)
	fillFake(2, 1000, context_, block, 0, want)
	got := engine.NewPredictions(4, 8)
	if err := s.Denoise(ctx, block, 0, got); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Denoise on the engine = %v, %v; want the engine's answer", err, got)
	}

	entered, release := remote.hold()
	defer release()
	errc := make(chan error, 1)
	go func() { errc <- s.Denoise(ctx, block, 0, got) }()
	<-entered
	ps.kill()
	if err := <-errc; err != nil {
		t.Fatalf("Denoise when the engine died mid-request = %v, want the CPU engine's answer", err)
	}
	fillFake(1, 1000, context_, block, 0, want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Denoise after failover = %v, want the local engine's %v", got, want)
	}
	if toks := s.Tokens(); !reflect.DeepEqual(toks, context_) {
		t.Errorf("Tokens() after failover = %v, want the context rebuilt: %v", toks, context_)
	}
	if !strings.Contains(logs.String(), "engine lost mid-request") {
		t.Errorf("no logged reason for the failover; log:\n%s", logs.String())
	}

	// The engine is restarted, and the session goes back at its next Prefill.
	release()
	for ps.starts.Load() < 2 {
		if ctx.Err() != nil {
			t.Fatal("the dead engine was not restarted")
		}
		time.Sleep(time.Millisecond)
	}
	if err := f.WaitRemote(ctx); err != nil {
		t.Fatal(err)
	}
	before := remote.prefills.Load()
	context_ = append(context_[:len(context_)-1], 8, 995)
	if _, err := s.Prefill(ctx, context_); err != nil {
		t.Fatal(err)
	}
	if remote.prefills.Load() == before {
		t.Error("Prefill after the restart did not go to the engine")
	}
	block = []int32{995, 999, 999}
	got, want = engine.NewPredictions(3, 8), engine.NewPredictions(3, 8)
	fillFake(2, 1000, context_, block, 0, want)
	if err := s.Denoise(ctx, block, 0, got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Denoise after the restart = %v, %v; want the engine's %v", err, got, want)
	}
	if !strings.Contains(logs.String(), "engine died") {
		t.Errorf("the engine's death was not logged; log:\n%s", logs.String())
	}
}

func TestFallbackEngineNeverStarts(t *testing.T) {
	local := newFake(1)
	ps := &pipeStarter{b: newFake(2), fail: errors.New("no GPU here")}
	var logs logBuffer
	f := NewFallback(local, ps.start, fastOptions(logs.logger()))
	defer f.Close()
	s, err := f.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Prefill(ctx, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	got, want := engine.NewPredictions(2, 8), engine.NewPredictions(2, 8)
	fillFake(1, 1000, []int32{1, 2}, []int32{2, 999}, 0, want)
	if err := s.Denoise(ctx, []int32{2, 999}, 0, got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Denoise without an engine = %v, %v; want the local answer", err, got)
	}
	// It keeps trying, with back-off, and says why it is not in use.
	deadline := time.Now().Add(5 * time.Second)
	for ps.starts.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d start attempts, want retries", ps.starts.Load())
		}
		time.Sleep(time.Millisecond)
	}
	if up, reason := f.Remote(); up || reason == nil || !strings.Contains(reason.Error(), "no GPU here") {
		t.Errorf("Remote() = %v, %v; want false with the start error", up, reason)
	}
	if !strings.Contains(logs.String(), "no GPU here") {
		t.Errorf("the reason was not logged; log:\n%s", logs.String())
	}
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := f.WaitRemote(wctx); err == nil {
		t.Error("WaitRemote succeeded without an engine")
	}
}

func TestFallbackRefusesOtherCheckpoint(t *testing.T) {
	other := newFake(2)
	other.info.VocabSize = 2000
	ps := &pipeStarter{b: other}
	f := NewFallback(newFake(1), ps.start, fastOptions(nil))
	defer f.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		up, reason := f.Remote()
		if reason != nil && strings.Contains(reason.Error(), "another checkpoint") {
			if up {
				t.Error("Remote() reports the refused engine in use")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Remote() = %v, %v; want a refused engine", up, reason)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several back-offs: no restart follows
	if n := ps.starts.Load(); n != 1 {
		t.Errorf("%d starts of an engine holding another checkpoint, want 1", n)
	}
	s, err := f.NewSession(engine.SessionOptions{})
	if err != nil {
		t.Fatalf("NewSession with the engine refused = %v", err)
	}
	s.Close()
}

func TestOpenConfig(t *testing.T) {
	local := newFake(1)
	for _, tc := range []struct {
		cfg     Config
		local   bool
		wantErr bool
	}{
		{Config{}, true, false},
		{Config{Device: "cpu"}, true, false},
		{Config{Device: "tpu"}, false, true},
		{Config{Socket: "unix:"}, false, true},
		{Config{Socket: filepath.Join(t.TempDir(), "none.sock")}, false, false},
		{Config{Device: "cuda", Executable: "/nonexistent/unmask"}, false, false},
	} {
		b, err := Open(context.Background(), tc.cfg, local, nil)
		if (err != nil) != tc.wantErr {
			t.Errorf("Open(%+v) error = %v, want error %v", tc.cfg, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got := b == engine.Backend(local); got != tc.local {
			t.Errorf("Open(%+v) returned the local backend: %v, want %v", tc.cfg, got, tc.local)
		}
		if f, ok := b.(*Fallback); ok {
			s, err := f.NewSession(engine.SessionOptions{})
			if err != nil {
				t.Errorf("Open(%+v): NewSession without an engine = %v", tc.cfg, err)
			} else {
				s.Close()
			}
			f.stop()
			f.wg.Wait()
		}
	}
}

func TestPanicIsAnError(t *testing.T) {
	c := dial(t, serveSocket(t, newFake(1)))
	s, _ := c.NewSession(engine.SessionOptions{})
	err := s.Denoise(context.Background(), []int32{panicToken}, 0, engine.NewPredictions(1, 8))
	if err == nil || !strings.Contains(err.Error(), "internal error") {
		t.Errorf("Denoise that panics in the engine = %v, want an internal error", err)
	}
	// The session's lock was released and the engine still serves.
	if err := s.Denoise(context.Background(), []int32{1}, 0, engine.NewPredictions(1, 8)); err != nil {
		t.Errorf("Denoise after a panic = %v", err)
	}
}

func TestFallbackEngineFault(t *testing.T) {
	local, remote := newFake(1), newFake(2)
	remote.faulty = true
	ps := &pipeStarter{b: remote}
	var logs logBuffer
	_, s, ctx := fallbackUp(t, local, ps.start, fastOptions(logs.logger()), 10*time.Second)
	if _, err := s.Prefill(ctx, []int32{7, 8}); err != nil {
		t.Fatal(err)
	}
	// A fault inside the engine: the step is redone on the CPU engine.
	block := []int32{8, faultToken, 999}
	got, want := engine.NewPredictions(3, 8), engine.NewPredictions(3, 8)
	fillFake(1, 1000, []int32{7, 8}, block, 0, want)
	if err := s.Denoise(ctx, block, 0, got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Denoise hitting an engine fault = %v, %v; want the local answer", err, got)
	}
	if !strings.Contains(logs.String(), "device fault") {
		t.Errorf("the fault was not logged; log:\n%s", logs.String())
	}
	// Errors about the request itself are not faults: they come back.
	if err := s.Denoise(ctx, []int32{1000}, 0, engine.NewPredictions(1, 8)); !errors.Is(err, engine.ErrToken) {
		t.Errorf("Denoise with a bad token = %v, want ErrToken", err)
	}
	if n := remote.open.Load(); n != 0 {
		t.Errorf("%d engine sessions left open after the failover", n)
	}
}

func TestServerFatal(t *testing.T) {
	b := newFake(1)
	b.faulty = true
	path := filepath.Join(t.TempDir(), "e.sock")
	ln, err := ListenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(b, nil)
	srv.SetFatal(func(err error) bool { return strings.Contains(err.Error(), "device fault") })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.ServeListener(ctx, ln)
	c := dial(t, "unix:"+path)
	s, _ := c.NewSession(engine.SessionOptions{})
	// A request error is not fatal.
	s.Denoise(ctx, []int32{1000}, 0, engine.NewPredictions(1, 8))
	select {
	case <-srv.Fatal():
		t.Fatal("Fatal closed after a request error")
	default:
	}
	if err := s.Denoise(ctx, []int32{faultToken}, 0, engine.NewPredictions(1, 8)); err == nil {
		t.Fatal("Denoise with a device fault succeeded")
	}
	select {
	case <-srv.Fatal():
	case <-time.After(5 * time.Second):
		t.Fatal("Fatal not closed after a fatal error")
	}
}
