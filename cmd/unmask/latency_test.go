package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/unmask/unmask/completion"
	"github.com/unmask/unmask/lsp/lsptest"
	"github.com/unmask/unmask/model"
)

// benchModel returns the checkpoint the latency benchmark runs: the folder
// in $UNMASK_BENCH_MODEL, else the embedded default, else (until a default
// model is embedded) the tiny random test checkpoint, named in the metric.
func benchModel(b *testing.B) (dir, name string) {
	if d := os.Getenv("UNMASK_BENCH_MODEL"); d != "" {
		return d, filepath.Base(d)
	}
	if m, _, err := model.Open(""); err == nil {
		m.Close()
		return "", "default"
	} else if !errors.Is(err, model.ErrNoDefault) {
		b.Fatal(err)
	}
	return tinyModel(b), "tiny-random"
}

func percentiles(samples []time.Duration) (p50, p95 float64) {
	slices.Sort(samples)
	p := func(q int) float64 {
		return float64(samples[min(len(samples)*q/100, len(samples)-1)].Microseconds()) / 1000
	}
	return p(50), p(95)
}

// BenchmarkInlineCompletion (README, Benchmarks/Latency) drives the built server over pipes: each
// iteration types a new line at the cursor in a 4,000-line Go file
// (a cache miss: a context no completion was made for) and asks for an
// inline completion, with the default settings. The reference beside it,
// in-process, is the same completion.Engine call without JSON-RPC; and
// in-process without the context lookup, which drafts each answer from
// the line typed before it (the typed lines repeat a pattern, as code
// often does), the model alone.
func BenchmarkInlineCompletion(b *testing.B) {
	dir, name := benchModel(b)
	data, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "src", "net", "http", "server.go"))
	if err != nil {
		b.Skip(err)
	}
	src := string(data)
	// The cursor: an empty line opened in the body of conn.serve.
	off := strings.Index(src, "func (c *conn) serve(ctx context.Context) {")
	off += strings.Index(src[off:], "\n") + 1
	src = src[:off] + "\t\n" + src[off:]
	// Each run opens src afresh, so each starts its typing at this line
	// (runs must not share a cursor: -count and the framework's first
	// one-iteration run would otherwise ask at lines of code, mid-line).
	line0 := strings.Count(src[:off], "\n")

	// Automatic is a keystroke's request; Invoked is an explicit one
	// (Alt+\\ in VS Code), which also asks for the alternatives.
	for _, trigger := range []int{2, 1} {
		sub := "server/" + name
		if trigger == 1 {
			sub += "/invoked"
		}
		b.Run(sub, func(b *testing.B) { benchServer(b, dir, src, line0, trigger) })
	}
	for _, lookup := range []bool{true, false} {
		sub := "in-process/" + name
		if !lookup {
			sub += "/no-lookup"
		}
		b.Run(sub, func(b *testing.B) { benchInProcess(b, dir, src, line0, lookup) })
	}
}

// benchServer types through the built server and times its answers to
// inline completion requests of the given trigger kind.
func benchServer(b *testing.B, dir, src string, line0, trigger int) {
	line := line0
	s := startServer(b, "--model", dir)
	c := lsptest.New(s.stdout, s.stdin)
	ctx := context.Background()
	if m, err := c.Call(ctx, "initialize", map[string]any{"processId": nil, "capabilities": map[string]any{}}); err != nil || m.Error != nil {
		b.Fatal(err, m.Error)
	}
	c.Notify("initialized", struct{}{})
	uri := "file:///bench/server.go"
	c.Notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "go", "version": 1, "text": src}})
	items := 0 // suggestions offered, over all timed requests
	ask := func(l int) time.Duration {
		start := time.Now()
		m, err := c.Call(ctx, "textDocument/inlineCompletion", map[string]any{"textDocument": map[string]any{"uri": uri},
			"position": map[string]any{"line": l, "character": 1}, "context": map[string]any{"triggerKind": trigger}})
		if err != nil || m.Error != nil {
			b.Fatal(err, m.Error)
		}
		d := time.Since(start)
		var list struct{ Items []json.RawMessage }
		if err := json.Unmarshal(m.Result, &list); err != nil {
			b.Fatal(err)
		}
		items += len(list.Items)
		return d
	}
	ask(line) // the model loads in the background: wait for it
	items = 0
	var samples []time.Duration
	v := 1
	for b.Loop() {
		v++
		c.Notify("textDocument/didChange", map[string]any{
			"textDocument": map[string]any{"uri": uri, "version": v},
			"contentChanges": []any{map[string]any{"range": map[string]any{
				"start": map[string]any{"line": line, "character": 1}, "end": map[string]any{"line": line, "character": 1}},
				"text": fmt.Sprintf("n%d := %d\n\t", v, v)}}})
		line++
		samples = append(samples, ask(line))
	}
	p50, p95 := percentiles(samples)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p95, "p95-ms")
	b.ReportMetric(float64(items)/float64(len(samples)), "items/op")
	c.Call(ctx, "shutdown", nil)
	c.Notify("exit", nil)
}

// benchInProcess is BenchmarkInlineCompletion's in-process reference. Beside
// the latency it reports the forward passes, the context tokens prefilled
// (not reused from the session's KV cache) and the prefill time a request.
func benchInProcess(b *testing.B, dir, src string, line0 int, lookup bool) {
	f, err := openFiller(dir, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	e := &completion.Engine{Filler: f, Cache: f.Cache}
	doc := completion.NewDocument("file:///bench/server.go", "go", 1, src)
	defer doc.Close()
	var samples []time.Duration
	var fw, fresh int
	var pre time.Duration
	v := int32(1)
	l := uint32(line0)
	for b.Loop() {
		v++
		p := completion.Position{Line: l, Character: 1}
		if err := doc.Apply(v, []completion.Change{{Range: &completion.Range{Start: p, End: p}, Text: fmt.Sprintf("n%d := %d\n\t", v, v)}}, completion.UTF16); err != nil {
			b.Fatal(err)
		}
		l++
		s := completion.DefaultSettings()
		s.NoLookup = !lookup
		start := time.Now()
		res, err := e.Complete(context.Background(), completion.Request{Doc: doc,
			Position: completion.Position{Line: l, Character: 1}, Encoding: completion.UTF16,
			Settings: s})
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
		fw += res.Fill.Forwards
		fresh += res.Fill.ContextTokens - res.Fill.Reused
		pre += res.Fill.Prefill
	}
	p50, p95 := percentiles(samples)
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p95, "p95-ms")
	b.ReportMetric(float64(fw)/float64(len(samples)), "forwards/op")
	b.ReportMetric(float64(fresh)/float64(len(samples)), "prefilled/op")
	b.ReportMetric(float64(pre.Microseconds())/1000/float64(len(samples)), "prefill-ms/op")
}
