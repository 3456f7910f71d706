package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"

	"github.com/unmask/unmask/lsp/lsptest"
)

// The integration tests build the real binary and drive `unmask serve`
// over pipes, with a tiny random checkpoint: the text is nonsense, the
// protocol must be right.

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func buildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "unmask-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "unmask")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			builtBin = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, builtBin)
	}
	return builtBin
}

func tinyModel(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tiny")
	if err := lsptest.WriteTinyCheckpoint(dir, 1); err != nil {
		t.Fatal(err)
	}
	return dir
}

// server is a running `unmask serve`.
type server struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	log    string
	exited chan error
}

func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	bin := buildBinary(t)
	s := &server{log: filepath.Join(t.TempDir(), "serve.log"), exited: make(chan error, 1)}
	s.cmd = exec.Command(bin, append([]string{"serve", "--log", s.log}, args...)...)
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if s.stdout, err = s.cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	t.Cleanup(func() {
		s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
		}
		if t.Failed() {
			if data, err := os.ReadFile(s.log); err == nil {
				t.Logf("server log:\n%s", data)
			}
		}
	})
	return s
}

func (s *server) waitExit(t testing.TB) error {
	t.Helper()
	select {
	case err := <-s.exited:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit")
		return nil
	}
}

type pipeRWC struct {
	io.Reader
	io.WriteCloser
}

// TestServeJSONRPC2Client drives the binary with the jsonrpc2 v0.10 client
// that go.lsp.dev/protocol builds on.
func TestServeJSONRPC2Client(t *testing.T) {
	s := startServer(t, "--model", tinyModel(t))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(pipeRWC{s.stdout, s.stdin}))
	var mu sync.Mutex
	var notes []string
	conn.Go(ctx, func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		mu.Lock()
		notes = append(notes, req.Method()+" "+string(req.Params()))
		mu.Unlock()
		return reply(ctx, nil, nil)
	})
	var init json.RawMessage
	if _, err := conn.Call(ctx, "initialize", map[string]any{"processId": nil, "rootUri": nil,
		"capabilities":          map[string]any{"window": map[string]any{"workDoneProgress": true}},
		"initializationOptions": map[string]any{"maxTokens": 8, "contextTokens": 256}}, &init); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(init), `"inlineCompletionProvider"`) || !strings.Contains(string(init), `"positionEncoding":"utf-16"`) {
		t.Errorf("initialize = %s", init)
	}
	if err := conn.Notify(ctx, "initialized", struct{}{}); err != nil {
		t.Fatal(err)
	}
	uri := protocol.DocumentURI("file:///tmp/hello.go")
	text := "package main\n\nimport \"fmt\"\n\nfunc main() {\n\t\n}\n"
	if err := conn.Notify(ctx, "textDocument/didOpen", &protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: uri, LanguageID: "go", Version: 1, Text: text}}); err != nil {
		t.Fatal(err)
	}
	if err := conn.Notify(ctx, "textDocument/didChange", map[string]any{
		"textDocument": map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"range": map[string]any{
			"start": map[string]any{"line": 5, "character": 1}, "end": map[string]any{"line": 5, "character": 1}}, "text": "fmt."}}}); err != nil {
		t.Fatal(err)
	}
	var inline struct {
		Items []struct {
			InsertText string         `json:"insertText"`
			Range      protocol.Range `json:"range"`
		} `json:"items"`
	}
	if _, err := conn.Call(ctx, "textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 5, "character": 5},
		"context": map[string]any{"triggerKind": 2}}, &inline); err != nil {
		t.Fatal(err)
	}
	for _, it := range inline.Items {
		if it.Range.Start != (protocol.Position{Line: 5, Character: 5}) || it.InsertText == "" {
			t.Errorf("inline item %+v, want a text at 5:5", it)
		}
	}
	var list protocol.CompletionList
	if _, err := conn.Call(ctx, "textDocument/completion", &protocol.CompletionParams{
		TextDocumentPositionParams: protocol.TextDocumentPositionParams{
			TextDocument: protocol.TextDocumentIdentifier{URI: uri}, Position: protocol.Position{Line: 5, Character: 5}}}, &list); err != nil {
		t.Fatal(err)
	}
	if !list.IsIncomplete {
		t.Errorf("completion list %+v is not marked incomplete", list)
	}
	var status map[string]any
	if _, err := conn.Call(ctx, "unmask/status", nil, &status); err != nil {
		t.Fatal(err)
	}
	if status["model"] != "ready" || status["completions"].(float64) != 2 {
		t.Errorf("status = %v, want model ready and 2 completions", status)
	}
	if _, err := conn.Call(ctx, "shutdown", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := conn.Notify(ctx, "exit", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.waitExit(t); err != nil {
		t.Errorf("server exit after shutdown: %v, want status 0", err)
	}
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(notes, "\n")
	for _, want := range []string{"window/workDoneProgress/create", `"kind":"begin"`, `"kind":"end"`} {
		if !strings.Contains(all, want) {
			t.Errorf("client never received %s; got:\n%s", want, all)
		}
	}
}

// TestServeBadInput sends what a client should not: it must answer and
// keep serving.
func TestServeBadInput(t *testing.T) {
	s := startServer(t, "--model", tinyModel(t))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := lsptest.New(s.stdout, s.stdin)
	call := func(method string, params any) lsptest.Message {
		t.Helper()
		m, err := c.Call(ctx, method, params)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// A long debounce holds completions until cancelled.
	if m := call("initialize", map[string]any{"processId": nil, "capabilities": map[string]any{},
		"initializationOptions": map[string]any{"unmask": map[string]any{"maxTokens": 4, "contextTokens": 128, "debounceMs": 60000}}}); m.Error != nil {
		t.Fatal(m.Error)
	}
	c.Notify("initialized", struct{}{})

	// Malformed JSON gets a parse error; the server keeps serving.
	c.Write(`{"jsonrpc":"2.0","id":5,"method":"textDocument/completion","params":{`)
	if m, err := c.WaitError(ctx, 1); err != nil || m.Error == nil || m.Error.Code != -32700 {
		t.Errorf("malformed JSON: %+v, %v, want code -32700", m.Error, err)
	}
	if m := call("unknown/method", map[string]any{}); m.Error == nil || m.Error.Code != -32601 {
		t.Errorf("unknown method: %+v, want code -32601", m.Error)
	}

	uri := "file:///tmp/a.py"
	c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "python", "version": 1, "text": "def f():\n    return 1\n"}})
	inline := map[string]any{"textDocument": map[string]any{"uri": uri},
		"position": map[string]any{"line": 1, "character": 4}, "context": map[string]any{"triggerKind": 2}}
	// Cancel by numeric id: answered RequestCancelled.
	ch, err := c.Send(4242, "textDocument/inlineCompletion", inline)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	c.Notify("$/cancelRequest", map[string]any{"id": 4242})
	select {
	case m := <-ch:
		if m.Error == nil || m.Error.Code != -32800 {
			t.Errorf("cancelled request: %s %+v, want code -32800", m.Result, m.Error)
		}
	case <-ctx.Done():
		t.Fatal("cancelled request never answered")
	}

	// No debounce from now on.
	c.Notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"unmask": map[string]any{"debounceMs": 0}}})
	// Past the end of a line: clamped to the line's end.
	inline["position"] = map[string]any{"line": 1, "character": 400}
	m := call("textDocument/inlineCompletion", inline)
	if m.Error != nil || strings.Contains(string(m.Result), `"character":400`) {
		t.Errorf("past the end of a line: %s %+v, want an answer at the line's end", m.Result, m.Error)
	}

	// A 50 MB document: opened, edited at its end, completed (line
	// windows: too big for a syntax tree).
	big := strings.Repeat("x = compute(1, 2, 3)  # a line of python padding\n", 50<<20/50)
	c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": "file:///tmp/big.py", "languageId": "python", "version": 1, "text": big}})
	lines := strings.Count(big, "\n")
	c.Notify("textDocument/didChange", map[string]any{
		"textDocument": map[string]any{"uri": "file:///tmp/big.py", "version": 2},
		"contentChanges": []any{map[string]any{"range": map[string]any{
			"start": map[string]any{"line": lines, "character": 0}, "end": map[string]any{"line": lines, "character": 0}}, "text": "def g():\n    "}}})
	start := time.Now()
	m = call("textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": "file:///tmp/big.py"},
		"position": map[string]any{"line": lines + 1, "character": 4}, "context": map[string]any{"triggerKind": 1}})
	if m.Error != nil {
		t.Errorf("completion in a 50 MB document: %+v", m.Error)
	}
	t.Logf("50 MB document: open + edit + completion answered in %v", time.Since(start))

	if m := call("shutdown", nil); m.Error != nil {
		t.Fatal(m.Error)
	}
	c.Notify("exit", nil)
	if err := s.waitExit(t); err != nil {
		t.Errorf("server exit after shutdown: %v, want status 0", err)
	}
}
