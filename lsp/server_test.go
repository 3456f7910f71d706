package lsp

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/unmask/unmask/completion"
	"github.com/unmask/unmask/lsp/lsptest"
	"go.lsp.dev/protocol"
)

// fakeFiller answers a fixed middle; a prefix ending in "SLOW" blocks until
// cancelled, one ending in "PANIC" panics.
type fakeFiller struct {
	text  string
	calls atomic.Int32
	last  atomic.Pointer[completion.FillRequest]
}

func (f *fakeFiller) Fill(ctx context.Context, req completion.FillRequest) (completion.FillResult, error) {
	f.calls.Add(1)
	f.last.Store(&req)
	switch {
	case strings.HasSuffix(req.Prefix, "SLOW"):
		<-ctx.Done()
		return completion.FillResult{}, ctx.Err()
	case strings.HasSuffix(req.Prefix, "PANIC"):
		panic("fake filler panics")
	case strings.HasSuffix(req.Prefix, "WAIT"):
		time.Sleep(100 * time.Millisecond)
	case strings.HasSuffix(req.Prefix, "ALT"):
		// A different answer for each kind of alternative; the context
		// offers one other continuation.
		text := "first"
		switch {
		case req.Settings.LookupRank > 1:
			return completion.FillResult{Stop: completion.StopNoDraft}, nil
		case req.Settings.LookupRank == 1:
			text = "ranked1"
		case req.Settings.Temperature > 0:
			text = fmt.Sprintf("sampled%d", req.Settings.Seed)
		case req.Settings.NoLookup:
			text = "own"
		}
		return completion.FillResult{Text: text, Forwards: 1, Stop: "eos"}, nil
	}
	return completion.FillResult{Text: f.text, Forwards: 2, Tokens: 5, Stop: "eos"}, nil
}

type harness struct {
	t      *testing.T
	c      *lsptest.Client
	ctx    context.Context
	served chan error
	fill   *fakeFiller
}

func start(t *testing.T, opts Options) *harness {
	t.Helper()
	cr, sw := io.Pipe() // server -> client
	sr, cw := io.Pipe() // client -> server
	fill := &fakeFiller{text: "Println(\"hi\")"}
	if opts.Load == nil {
		opts.Load = func(ctx context.Context, cfg Config, progress func(uint32, string)) (*completion.Engine, error) {
			progress(50, "half")
			return &completion.Engine{Filler: fill}, nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h := &harness{t: t, c: lsptest.New(cr, cw), ctx: ctx, served: make(chan error, 1), fill: fill}
	go func() { h.served <- Serve(ctx, sr, sw, opts); sw.Close() }()
	t.Cleanup(func() { cancel(); cw.Close() })
	return h
}

func (h *harness) call(method string, params any) lsptest.Message {
	h.t.Helper()
	m, err := h.c.Call(h.ctx, method, params)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) notify(method string, params any) {
	h.t.Helper()
	if err := h.c.Notify(method, params); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) initialize(caps string) json.RawMessage {
	h.t.Helper()
	m := h.call("initialize", json.RawMessage(`{"processId":null,"rootUri":null,"capabilities":`+caps+`}`))
	if m.Error != nil {
		h.t.Fatalf("initialize: %+v", m.Error)
	}
	h.notify("initialized", struct{}{})
	return m.Result
}

func (h *harness) open(uri, lang, text string) {
	h.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": lang, "version": 1, "text": text}})
}

func pos(uri string, line, char int) map[string]any {
	return map[string]any{"textDocument": map[string]any{"uri": uri},
		"position": map[string]any{"line": line, "character": char}}
}

func TestInitialize(t *testing.T) {
	tests := []struct {
		caps, want string
	}{
		{`{}`, `"positionEncoding":"utf-16"`},
		{`{"general":{"positionEncodings":["utf-32","utf-8","utf-16"]}}`, `"positionEncoding":"utf-8"`},
	}
	for _, tt := range tests {
		h := start(t, Options{Name: "unmask"})
		res := string(h.initialize(tt.caps))
		for _, want := range []string{tt.want, `"inlineCompletionProvider":{}`, `"completionProvider":{}`, `"change":2`, `"openClose":true`} {
			if !strings.Contains(res, want) {
				t.Errorf("initialize(%s) = %s, want it to contain %s", tt.caps, res, want)
			}
		}
	}
}

func TestLifecycle(t *testing.T) {
	h := start(t, Options{})
	if m := h.call("textDocument/completion", pos("file:///a.go", 0, 0)); m.Error == nil || m.Error.Code != -32002 {
		t.Errorf("completion before initialize: error = %+v, want code -32002", m.Error)
	}
	h.initialize(`{}`)
	if m := h.call("initialize", json.RawMessage(`{"capabilities":{}}`)); m.Error == nil || m.Error.Code != -32600 {
		t.Errorf("second initialize: error = %+v, want code -32600", m.Error)
	}
	if m := h.call("textDocument/hover", pos("file:///a.go", 0, 0)); m.Error == nil || m.Error.Code != -32601 {
		t.Errorf("unknown method: error = %+v, want code -32601", m.Error)
	}
	if m := h.call("shutdown", nil); m.Error != nil || string(m.Result) != "null" {
		t.Errorf("shutdown = %s, %+v, want null", m.Result, m.Error)
	}
	if m := h.call("textDocument/completion", pos("file:///a.go", 0, 0)); m.Error == nil || m.Error.Code != -32600 {
		t.Errorf("completion after shutdown: error = %+v, want code -32600", m.Error)
	}
	h.notify("exit", nil)
	select {
	case err := <-h.served:
		if err != nil {
			t.Errorf("Serve after shutdown and exit = %v, want nil", err)
		}
	case <-h.ctx.Done():
		t.Fatal("Serve did not return after exit")
	}
}

func TestExitWithoutShutdown(t *testing.T) {
	h := start(t, Options{})
	h.initialize(`{}`)
	h.notify("exit", nil)
	if err := <-h.served; !errors.Is(err, ErrExitWithoutShutdown) {
		t.Errorf("Serve = %v, want ErrExitWithoutShutdown", err)
	}
}

func TestMalformedJSON(t *testing.T) {
	h := start(t, Options{})
	h.c.Write(`{"jsonrpc":"2.0","id":1,"method":`)
	m, err := h.c.WaitError(h.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Error == nil || m.Error.Code != -32700 {
		t.Errorf("malformed JSON: answer %+v, want code -32700", m.Error)
	}
	h.initialize(`{}`) // still serving
}

// TestLateDidChange sends two didChange notifications in the order Helix
// 25.01 once did (version 3 before version 2): the server's copy must end
// as the editor's, and the model sees it.
func TestLateDidChange(t *testing.T) {
	h := start(t, Options{})
	h.initialize(`{}`)
	uri := "file:///late.go"
	h.open(uri, "go", "package main\n\nfunc main() {\n\t\n}\n")
	insert := func(version, char int, text string) {
		h.notify("textDocument/didChange", map[string]any{
			"textDocument": map[string]any{"uri": uri, "version": version},
			"contentChanges": []any{map[string]any{"range": map[string]any{
				"start": map[string]any{"line": 3, "character": char}, "end": map[string]any{"line": 3, "character": char}}, "text": text}},
		})
	}
	insert(3, 3, "t.")
	insert(2, 1, "fm")
	m := h.call("textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 3, "character": 5},
		"context": map[string]any{"triggerKind": 2}})
	if m.Error != nil {
		t.Fatalf("inlineCompletion: %+v", m.Error)
	}
	if got := h.fill.last.Load().Prefix; !strings.HasSuffix(got, "\n\tfmt.") {
		t.Errorf("model prefix = %q, want it to end with the line as the editor has it, \"\\tfmt.\"", got)
	}
}

func TestCompletions(t *testing.T) {
	h := start(t, Options{})
	h.initialize(`{"window":{"workDoneProgress":true}}`)
	if _, err := h.c.WaitNote(h.ctx, "$/progress", `"kind":"end"`); err != nil {
		t.Fatal(err)
	}
	uri := "file:///x.go"
	h.open(uri, "go", "package main\n\nfunc main() {\n\tfmt.\n}\n")
	// An incremental change and a whole-document one.
	h.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"range": map[string]any{"start": map[string]any{"line": 3, "character": 5}, "end": map[string]any{"line": 3, "character": 5}}, "text": ""}},
	})
	h.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 3},
		"contentChanges": []any{map[string]any{"text": "package main\n\nfunc main() {\n\tfmt.\n}\n"}},
	})

	m := h.call("textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 3, "character": 5},
		"context": map[string]any{"triggerKind": 2}})
	accepted := `"command":{"title":"unmask: accepted","command":"unmask.accepted","arguments":[{"index":0}]}`
	want := `{"items":[{"insertText":"Println(\"hi\")","range":{"start":{"line":3,"character":5},"end":{"line":3,"character":5}},` + accepted + `}]}`
	if m.Error != nil || string(m.Result) != want {
		t.Errorf("inlineCompletion = %s, %+v, want %s", m.Result, m.Error, want)
	}
	if got := h.fill.last.Load().Prefix; !strings.HasSuffix(got, "\tfmt.") {
		t.Errorf("model prefix = %q, want it to end at the cursor", got)
	}

	// selectedCompletionInfo: the item extends the selected text, same range.
	m = h.call("textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 3, "character": 5},
		"context": map[string]any{"triggerKind": 2, "selectedCompletionInfo": map[string]any{
			"range": map[string]any{"start": map[string]any{"line": 3, "character": 5}, "end": map[string]any{"line": 3, "character": 5}},
			"text":  "Fprint"}}})
	want = `{"items":[{"insertText":"FprintPrintln(\"hi\")","range":{"start":{"line":3,"character":5},"end":{"line":3,"character":5}},` + accepted + `}]}`
	if m.Error != nil || string(m.Result) != want {
		t.Errorf("inlineCompletion with a selected item = %s, %+v, want %s", m.Result, m.Error, want)
	}
	if got := h.fill.last.Load().Prefix; !strings.HasSuffix(got, "\tfmt.Fprint") {
		t.Errorf("model prefix with a selected item = %q, want it to end with the item", got)
	}

	m = h.call("textDocument/completion", pos(uri, 3, 5))
	var list struct {
		IsIncomplete bool `json:"isIncomplete"`
		Items        []struct {
			Label    string `json:"label"`
			TextEdit struct {
				NewText string `json:"newText"`
			} `json:"textEdit"`
			Documentation struct {
				Value string `json:"value"`
			} `json:"documentation"`
		} `json:"items"`
	}
	if err := json.Unmarshal(m.Result, &list); err != nil || m.Error != nil {
		t.Fatalf("completion = %s, %+v: %v", m.Result, m.Error, err)
	}
	if !list.IsIncomplete || len(list.Items) != 1 || list.Items[0].Label != `Println("hi")` ||
		list.Items[0].TextEdit.NewText != `Println("hi")` || list.Items[0].Documentation.Value != "```go\nPrintln(\"hi\")\n```" {
		t.Errorf("completion = %s", m.Result)
	}

	// Past the end of a line clamps to the line's end; past the last line
	// is an error.
	m = h.call("textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 3, "character": 99},
		"context": map[string]any{"triggerKind": 1}})
	if m.Error != nil || !strings.Contains(string(m.Result), `"start":{"line":3,"character":5}`) {
		t.Errorf("inlineCompletion past the end of the line = %s, %+v, want a range at 3:5", m.Result, m.Error)
	}
	m = h.call("textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 30, "character": 0},
		"context": map[string]any{"triggerKind": 1}})
	if m.Error == nil || m.Error.Code != -32602 {
		t.Errorf("inlineCompletion past the last line: error %+v, want code -32602", m.Error)
	}

	// Unknown document.
	m = h.call("textDocument/completion", pos("file:///nope.go", 0, 0))
	if m.Error == nil || m.Error.Code != -32602 {
		t.Errorf("completion in an unopened document: error %+v, want code -32602", m.Error)
	}

	// Status counts what happened.
	m = h.call("unmask/status", nil)
	var st Status
	if err := json.Unmarshal(m.Result, &st); err != nil {
		t.Fatal(err)
	}
	if st.Model != "ready" || st.Completions != 4 || st.Requests["textDocument/inlineCompletion"] != 4 || st.LatencyP50 <= 0 {
		t.Errorf("status = %+v", st)
	}
}

func TestCancel(t *testing.T) {
	h := start(t, Options{})
	h.initialize(`{}`)
	uri := "file:///s.go"
	h.open(uri, "go", "package main\n\nSLOW\n\nPANIC\n")
	params := map[string]any{"textDocument": map[string]any{"uri": uri},
		"position": map[string]any{"line": 2, "character": 4}, "context": map[string]any{"triggerKind": 2}}

	for _, id := range []any{1001, "s7"} {
		ch, err := h.c.Send(id, "textDocument/inlineCompletion", params)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		h.notify("$/cancelRequest", map[string]any{"id": id})
		select {
		case m := <-ch:
			if m.Error == nil || m.Error.Code != -32800 {
				t.Errorf("cancelled request %v: answer %s %+v, want code -32800", id, m.Result, m.Error)
			}
		case <-h.ctx.Done():
			t.Fatalf("cancelled request %v never answered", id)
		}
	}

	// A newer completion for the same document cancels the older one.
	older, _ := h.c.Send(2001, "textDocument/inlineCompletion", params)
	time.Sleep(20 * time.Millisecond)
	newer, _ := h.c.Send(2002, "textDocument/completion", pos(uri, 0, 0))
	if m := <-older; m.Error == nil || m.Error.Code != -32800 {
		t.Errorf("superseded request: %s %+v, want code -32800", m.Result, m.Error)
	}
	if m := <-newer; m.Error != nil {
		t.Errorf("newer request: %+v", m.Error)
	}

	// Completion items and ghost text asked at once for the same place
	// share one computation; neither cancels the other.
	calls := h.fill.calls.Load()
	h.c.Notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"text": "package main\n\nWAIT\n"}}})
	a, _ := h.c.Send(3001, "textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": uri},
		"position": map[string]any{"line": 2, "character": 4}, "context": map[string]any{"triggerKind": 2}})
	b, _ := h.c.Send(3002, "textDocument/completion", pos(uri, 2, 4))
	if m := <-a; m.Error != nil || !strings.Contains(string(m.Result), "insertText") {
		t.Errorf("inline completion beside an identical request: %s %+v", m.Result, m.Error)
	}
	if m := <-b; m.Error != nil || !strings.Contains(string(m.Result), "textEdit") {
		t.Errorf("completion beside an identical request: %s %+v", m.Result, m.Error)
	}
	if n := h.fill.calls.Load() - calls; n != 1 {
		t.Errorf("identical requests ran the model %d times, want 1", n)
	}
	h.c.Notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 3},
		"contentChanges": []any{map[string]any{"text": "package main\n\nSLOW\n\nPANIC\n"}}})

	// A panic is answered and the server keeps serving.
	m := h.call("textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": uri},
		"position": map[string]any{"line": 4, "character": 5}, "context": map[string]any{"triggerKind": 2}})
	if m.Error == nil || m.Error.Code != -32603 {
		t.Errorf("panicking request: %s %+v, want code -32603", m.Result, m.Error)
	}
	if m := h.call("unmask/status", nil); m.Error != nil {
		t.Errorf("status after a panic: %+v", m.Error)
	}
}

func TestConfigurationReload(t *testing.T) {
	// Loads run in the background, so the initial load and the reload may
	// finish in either order: record which models were loaded, not the last.
	var loadsMu sync.Mutex
	var loaded []string
	fill := &fakeFiller{text: "x"}
	h := start(t, Options{Load: func(ctx context.Context, cfg Config, progress func(uint32, string)) (*completion.Engine, error) {
		loadsMu.Lock()
		loaded = append(loaded, cfg.Model)
		loadsMu.Unlock()
		if cfg.Model == "broken" {
			return nil, errors.New("no such checkpoint")
		}
		return &completion.Engine{Filler: fill}, nil
	}})
	h.initialize(`{}`)
	h.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"unmask": map[string]any{"maxTokens": 9}}})
	h.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"unmask": map[string]any{"model": "broken"}}})
	if _, err := h.c.WaitNote(h.ctx, "window/logMessage", "no such checkpoint"); err != nil {
		t.Fatal(err)
	}
	h.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"maxTokens": -1}})
	if _, err := h.c.WaitNote(h.ctx, "window/logMessage", "maxTokens"); err != nil {
		t.Fatal(err)
	}
	m := h.call("unmask/status", nil)
	if !strings.Contains(string(m.Result), `"model":"failed: no such checkpoint"`) {
		t.Errorf("status after a failed load = %s", m.Result)
	}
	// A setting that is not the model's does not reload it: two loads.
	// The initial load's goroutine may not have reached Load yet (the
	// reload's can run first), so wait for two.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		loadsMu.Lock()
		got = slices.Sorted(slices.Values(loaded))
		loadsMu.Unlock()
		if len(got) >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, []string{"", "broken"}) {
		t.Errorf("loaded models %q, want the default and \"broken\" once each", got)
	}
	// With no model, completions are empty answers, not errors.
	h.open("file:///e.go", "go", "package e\n")
	m = h.call("textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": "file:///e.go"},
		"position": map[string]any{"line": 0, "character": 9}, "context": map[string]any{"triggerKind": 1}})
	if m.Error != nil || string(m.Result) != `{"items":[]}` {
		t.Errorf("completion without a model = %s, %+v, want an empty list", m.Result, m.Error)
	}
}

// The context lookup searches the other open documents of the request's
// language, most recently used first.
func TestLookupOpenDocuments(t *testing.T) {
	h := start(t, Options{})
	h.initialize(`{}`)
	h.open("file:///a.go", "go", "package a\n\nvar A = 1\n")
	h.open("file:///b.py", "python", "B = 2\n")
	h.open("file:///c.go", "go", "package a\n\nvar C = 3\n")
	h.open("file:///x.go", "go", "package a\n\nfunc f() {\n\t\n}\n")
	// Editing a.go makes it the most recently used.
	h.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": "file:///a.go", "version": 2},
		"contentChanges": []any{map[string]any{"text": "package a\n\nvar A = 10\n"}},
	})
	m := h.call("textDocument/completion", pos("file:///x.go", 3, 1))
	if m.Error != nil {
		t.Fatal(m.Error)
	}
	want := []string{"package a\n\nvar A = 10\n", "package a\n\nvar C = 3\n"}
	if got := h.fill.last.Load().LookupOthers; !slices.Equal(got, want) {
		t.Errorf("LookupOthers = %q, want %q (the other Go documents, the edited one first)", got, want)
	}
	// A closed document is no longer searched.
	h.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": "file:///a.go"}})
	h.call("textDocument/completion", pos("file:///x.go", 3, 1))
	if got := h.fill.last.Load().LookupOthers; !slices.Equal(got, want[1:]) {
		t.Errorf("after closing a.go: LookupOthers = %q, want %q", got, want[1:])
	}
}

// Ghost text asked for explicitly (triggerKind Invoked) offers the
// configured number of different answers; asked for while typing, one.
func TestInlineAlternatives(t *testing.T) {
	h := start(t, Options{})
	h.initialize(`{}`)
	uri := "file:///alt.go"
	h.open(uri, "go", "package main\n\nfunc main() {\n\tALT\n}\n")
	ask := func(kind int) []string {
		t.Helper()
		m := h.call("textDocument/inlineCompletion", map[string]any{
			"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 3, "character": 4},
			"context": map[string]any{"triggerKind": kind}})
		var list InlineCompletionList
		if err := json.Unmarshal(m.Result, &list); err != nil || m.Error != nil {
			t.Fatalf("inlineCompletion = %s, %+v: %v", m.Result, m.Error, err)
		}
		var texts []string
		for _, it := range list.Items {
			if it.Range == nil || it.Range.Start.Line != 3 || it.Range.Start.Character != 4 {
				t.Errorf("item %q: range %+v, want at 3:4", it.InsertText, it.Range)
			}
			texts = append(texts, it.InsertText)
		}
		return texts
	}
	if got, want := ask(2), []string{"first"}; !slices.Equal(got, want) {
		t.Errorf("automatic: %q, want %q", got, want)
	}
	if got, want := ask(1), []string{"first", "own", "ranked1"}; !slices.Equal(got, want) {
		t.Errorf("invoked: %q, want %q", got, want)
	}
	h.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"unmask": map[string]any{"alternatives": 4}}})
	if got, want := ask(1), []string{"first", "own", "ranked1", "sampled1"}; !slices.Equal(got, want) {
		t.Errorf("invoked with alternatives 4: %q, want %q", got, want)
	}
	h.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"unmask": map[string]any{"alternatives": 1}}})
	if got, want := ask(1), []string{"first"}; !slices.Equal(got, want) {
		t.Errorf("invoked with alternatives 1: %q, want %q", got, want)
	}
}

// menuFiller answers by the kind of fill: "first", the model's own answer
// "fig", the context's one other continuation "other", and no samples
// ("" is no answer). It counts fills.
type menuFiller struct{ calls atomic.Int32 }

func (f *menuFiller) Fill(ctx context.Context, req completion.FillRequest) (completion.FillResult, error) {
	f.calls.Add(1)
	text := "first"
	switch {
	case req.Settings.LookupRank > 1:
		return completion.FillResult{Stop: completion.StopNoDraft}, nil
	case req.Settings.LookupRank == 1:
		text = "other"
	case req.Settings.Temperature > 0:
		text = ""
	case req.Settings.NoLookup:
		text = "fig"
	}
	return completion.FillResult{Text: text, Forwards: 1, Stop: "eos"}, nil
}

// Typing through a shown menu (Helix asks again at every keystroke) lists
// the answers that still match, as their rests, with no forward pass; so
// does ghost text asked for explicitly there.
func TestMenuAlternativesTypingThrough(t *testing.T) {
	fill := &menuFiller{}
	h := start(t, Options{Load: func(ctx context.Context, cfg Config, progress func(uint32, string)) (*completion.Engine, error) {
		c, err := completion.NewCache("test")
		if err != nil {
			return nil, err
		}
		return &completion.Engine{Filler: fill, Cache: c}, nil
	}})
	h.initialize(`{}`)
	// No speculation: its background fill would be counted.
	h.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"unmask": map[string]any{"menuAlternatives": 3, "speculate": false}}})
	uri := "file:///menu.go"
	h.open(uri, "go", "package main\n\nfunc main() {\n\t\n}\n")
	menu := func(char int) []string {
		t.Helper()
		m := h.call("textDocument/completion", map[string]any{
			"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 3, "character": char},
			"context": map[string]any{"triggerKind": 1}})
		var list protocol.CompletionList
		if err := json.Unmarshal(m.Result, &list); err != nil || m.Error != nil {
			t.Fatalf("completion = %s, %+v: %v", m.Result, m.Error, err)
		}
		var out []string
		for _, it := range list.Items {
			out = append(out, it.TextEdit.NewText)
		}
		return out
	}
	if got, want := menu(1), []string{"first", "fig", "other"}; !slices.Equal(got, want) {
		t.Fatalf("menu: %q, want %q", got, want)
	}
	calls := fill.calls.Load()
	h.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": 2},
		"contentChanges": []any{map[string]any{"text": "package main\n\nfunc main() {\n\tf\n}\n"}}})
	if got, want := menu(2), []string{"irst", "ig"}; !slices.Equal(got, want) {
		t.Errorf("menu after typing %q: %q, want %q", "f", got, want)
	}
	m := h.call("textDocument/inlineCompletion", map[string]any{
		"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 3, "character": 2},
		"context": map[string]any{"triggerKind": 1}})
	var list InlineCompletionList
	if err := json.Unmarshal(m.Result, &list); err != nil || m.Error != nil {
		t.Fatalf("inlineCompletion = %s, %+v: %v", m.Result, m.Error, err)
	}
	var inline []string
	for _, it := range list.Items {
		inline = append(inline, it.InsertText)
	}
	if want := []string{"irst", "ig"}; !slices.Equal(inline, want) {
		t.Errorf("ghost text asked for after typing %q: %q, want %q", "f", inline, want)
	}
	if n := fill.calls.Load() - calls; n != 0 {
		t.Errorf("typing through the menu ran the model %d times, want 0", n)
	}
	// Three explicit requests offered 2 + 1 + 1 alternatives, the last two
	// from the record of the first.
	var st Status
	if m := h.call("unmask/status", nil); m.Error != nil || json.Unmarshal(m.Result, &st) != nil {
		t.Fatalf("unmask/status = %s, %+v", m.Result, m.Error)
	}
	if st.Explicit != 3 || st.Alternatives != 4 || st.AlternativesCached != 2 {
		t.Errorf("status: explicit %d, alternatives %d, cached %d; want 3, 4, 2", st.Explicit, st.Alternatives, st.AlternativesCached)
	}
}

// The completion menu (Helix) lists one answer, or up to
// menuAlternatives different ones, the first sorted first and
// preselected.
func TestMenuAlternatives(t *testing.T) {
	h := start(t, Options{})
	h.initialize(`{}`)
	uri := "file:///alt.go"
	h.open(uri, "go", "package main\n\nfunc main() {\n\tALT\n}\n")
	ask := func() []protocol.CompletionItem {
		t.Helper()
		m := h.call("textDocument/completion", map[string]any{
			"textDocument": map[string]any{"uri": uri}, "position": map[string]any{"line": 3, "character": 4},
			"context": map[string]any{"triggerKind": 1}})
		var list protocol.CompletionList
		if err := json.Unmarshal(m.Result, &list); err != nil || m.Error != nil {
			t.Fatalf("completion = %s, %+v: %v", m.Result, m.Error, err)
		}
		return list.Items
	}
	texts := func(items []protocol.CompletionItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.TextEdit.NewText)
		}
		return out
	}
	if got, want := texts(ask()), []string{"first"}; !slices.Equal(got, want) {
		t.Errorf("default: %q, want %q", got, want)
	}
	h.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"unmask": map[string]any{"menuAlternatives": 3}}})
	items := ask()
	if got, want := texts(items), []string{"first", "own", "ranked1"}; !slices.Equal(got, want) {
		t.Fatalf("menuAlternatives 3: %q, want %q", got, want)
	}
	for i, it := range items {
		if it.SortText != strconv.Itoa(i) || it.Preselect != (i == 0) || it.Label != it.TextEdit.NewText {
			t.Errorf("item %d: sort %q, preselect %v, label %q", i, it.SortText, it.Preselect, it.Label)
		}
	}
}

// A model that names the languages it was trained on completes only
// those, and says once why it does not complete another; the languages
// the user lists, or "*", are completed whatever the model knows.
func TestModelLanguages(t *testing.T) {
	fill := &fakeFiller{text: "x"}
	h := start(t, Options{Load: func(ctx context.Context, cfg Config, progress func(uint32, string)) (*completion.Engine, error) {
		return &completion.Engine{Filler: fill, Languages: []string{"go", "python"}}, nil
	}})
	h.initialize(`{}`)
	uri := "file:///a.js"
	h.open(uri, "javascript", "function f() {\n  \n}\n")
	ask := func() string {
		m := h.call("textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": uri},
			"position": map[string]any{"line": 1, "character": 2}, "context": map[string]any{"triggerKind": 2}})
		if m.Error != nil {
			t.Fatalf("inlineCompletion: %+v", m.Error)
		}
		return string(m.Result)
	}
	for range 2 {
		if got := ask(); got != `{"items":[]}` || fill.calls.Load() != 0 {
			t.Fatalf("javascript with a go/python model = %s after %d fills, want no items and no fill", got, fill.calls.Load())
		}
	}
	if _, err := h.c.WaitNote(h.ctx, "window/logMessage", `\"javascript\" (it knows go, python)`); err != nil {
		t.Fatal(err)
	}
	told := 0
	for _, m := range h.c.Notes("window/logMessage") {
		if strings.Contains(string(m.Params), "javascript") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("%d log messages about javascript, want 1", told)
	}
	// unmask/status names the languages completed, for clients to show.
	if m := h.call("unmask/status", nil); !strings.Contains(string(m.Result), `"languages":["go","python"]`) {
		t.Errorf("status = %s, want the model's languages", m.Result)
	}
	for _, tc := range []struct {
		langs  []string
		status string
	}{{[]string{"javascript"}, `"languages":["javascript"]`}, {[]string{"*"}, ""}} {
		h.notify("workspace/didChangeConfiguration", map[string]any{"settings": map[string]any{"unmask": map[string]any{"languages": tc.langs}}})
		calls := fill.calls.Load()
		if got := ask(); !strings.Contains(got, `"insertText":"x"`) || fill.calls.Load() != calls+1 {
			t.Errorf("javascript with languages %q = %s, want the model's answer", tc.langs, got)
		}
		m := h.call("unmask/status", nil)
		if tc.status != "" && !strings.Contains(string(m.Result), tc.status) || tc.status == "" && strings.Contains(string(m.Result), `"languages"`) {
			t.Errorf("status with languages %q = %s, want %s", tc.langs, m.Result, cmp.Or(tc.status, "no languages"))
		}
	}
}

// Clients report an inserted item by executing its unmask.accepted
// command; unmask/status counts them, and those that were alternatives.
func TestAcceptedCommand(t *testing.T) {
	h := start(t, Options{})
	res := h.initialize(`{}`)
	if !strings.Contains(string(res), `"executeCommandProvider":{"commands":["unmask.accepted"]}`) {
		t.Errorf("initialize = %s, want the unmask.accepted command offered", res)
	}
	exec := func(args ...any) lsptest.Message {
		return h.call("workspace/executeCommand", map[string]any{"command": "unmask.accepted", "arguments": args})
	}
	for _, args := range [][]any{{map[string]any{"index": 0}}, {map[string]any{"index": 2, "menu": true}}, nil} {
		if m := exec(args...); m.Error != nil {
			t.Errorf("accepted %v: %+v", args, m.Error)
		}
	}
	for _, args := range [][]any{{"zero"}, {map[string]any{"index": -1}}} {
		if m := exec(args...); m.Error == nil || m.Error.Code != -32602 {
			t.Errorf("accepted %v = %+v, want InvalidParams", args, m.Error)
		}
	}
	if m := h.call("workspace/executeCommand", map[string]any{"command": "rm -rf"}); m.Error == nil || m.Error.Code != -32602 {
		t.Errorf("an unknown command = %+v, want InvalidParams", m.Error)
	}
	var st Status
	if m := h.call("unmask/status", nil); m.Error != nil || json.Unmarshal(m.Result, &st) != nil {
		t.Fatalf("unmask/status = %s, %+v", m.Result, m.Error)
	}
	if st.Accepted != 3 || st.AcceptedAlternatives != 1 {
		t.Errorf("status: accepted %d, alternatives %d; want 3, 1", st.Accepted, st.AcceptedAlternatives)
	}
}
